"""Hypothesis properties of the rules engine over arbitrary facts and attempt sequences.

Random facts often break a rule; a typed refusal is then a correct answer, and the properties
are checked on every participation the engine does assess.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from hypothesis import event, given, settings
from hypothesis import strategies as st

from issuers.rules import (
    IKV_GOALS,
    Assessment,
    Attempt,
    AttemptKind,
    AttemptOutcome,
    CatalogueGoal,
    Category,
    Dispensation,
    DocumentKind,
    Enrolment,
    ExamAttachment,
    ExamCategory,
    IkvGoalResult,
    IkvResult,
    Judgement,
    NoExamCategory,
    Participation,
    PartResult,
    Period,
    ResultGroup,
    RuleViolation,
    SpecialCondition,
    assess,
    category_from_report,
)

START = dt.date(2024, 3, 4)
END = dt.date(2024, 3, 8)
TODAY = dt.date(2024, 9, 2)
SINCE_2020 = (ExamAttachment(dt.date(2020, 1, 1)),)
CATALOGUE = {
    "48596": CatalogueGoal("48596", "One-part exam", SINCE_2020),
    "47592": CatalogueGoal("47592", "Two-part exam", SINCE_2020, exam_parts=2),
    "45162": CatalogueGoal("45162", "No exam"),
    "40979": CatalogueGoal("40979", "Authority certificate", authority_certificate=True),
    "40080": CatalogueGoal("40080", "IKV i AMU"),
    "40081": CatalogueGoal("40081", "IKV i AMU F/I"),
}
EXAM_GOALS = ("48596", "47592")
GRANTED = Dispensation(applied_by_participant=True, assessment_replaces_exam=True)

# Weighted towards what schools mostly record, so every category shows up.
PART_RESULTS = st.sampled_from(
    [PartResult.PASSED] * 3 + [PartResult.FAILED] * 2 + [PartResult.ABSENT]
)
ATTEMPT_KINDS = st.sampled_from(
    [AttemptKind.ORDINARY, AttemptKind.RETAKE, AttemptKind.RETAKE, AttemptKind.RESCHEDULED]
)

FIRST_KINDS = st.sampled_from([AttemptKind.ORDINARY] * 4 + [AttemptKind.RETAKE])

# The IKV categories are accepted from legacy systems but never produced.
ALLOWED: dict[ResultGroup, frozenset[Category]] = {
    ResultGroup.EXAM: frozenset(c for c in ExamCategory if c is not ExamCategory.IKV_LEGACY),
    ResultGroup.NO_EXAM: frozenset(c for c in NoExamCategory if c is not NoExamCategory.IKV_LEGACY),
}


@st.composite
def attempt_sequences(draw: st.DrawFn, parts: int) -> tuple[Attempt, ...]:
    """Attempts in the order held, mostly shaped like real retake histories."""
    attempts: list[Attempt] = []
    day = END - dt.timedelta(days=draw(st.integers(0, 2)))
    for _ in range(draw(st.integers(0, 5))):
        postponed = draw(st.integers(0, 5)) == 0
        results = () if postponed else draw(st.tuples(*[PART_RESULTS] * parts))
        attempts.append(
            Attempt(
                held_on=day,
                parts=results,
                kind=draw(ATTEMPT_KINDS if attempts else FIRST_KINDS),
                postponed=postponed,
                notified_on=draw(st.none() | st.just(day + dt.timedelta(days=1))),
                retake_reason=draw(st.none() | st.just("særlige forhold")),
                complaint_decision=draw(st.none() | st.just("klage-1")),
            )
        )
        day += dt.timedelta(days=draw(st.integers(0, 12)))
    return tuple(attempts)


@st.composite
def participations(draw: st.DrawFn) -> Participation:
    """Any participation, group 1 or 2, with any combination of facts."""
    goal = draw(st.sampled_from(EXAM_GOALS) | st.sampled_from(sorted(CATALOGUE)))
    periods = draw(
        st.sampled_from(
            [
                (Period(START, END),),
                (Period(START, START), Period(END - dt.timedelta(days=1), END)),
            ]
        )
    )
    in_ikv = goal in IKV_GOALS
    ikv = None
    if in_ikv and draw(st.booleans()):
        ikv = tuple(
            draw(
                st.lists(
                    st.builds(
                        IkvGoalResult,
                        goal=st.sampled_from(EXAM_GOALS),
                        result=st.sampled_from(IkvResult),
                        exam_passed=st.none() | st.booleans(),
                    ),
                    max_size=3,
                )
            )
        )
    exam = goal in EXAM_GOALS
    return Participation(
        goal=goal,
        team="H-1",
        periods=periods,
        enrolment=draw(
            st.sampled_from([Enrolment.AMU, Enrolment.AMU, Enrolment.DRIVERS_EU_MODULE])
        ),
        collective_shortening=draw(st.integers(0, 3)) == 0,
        special_conditions=draw(st.frozensets(st.sampled_from(SpecialCondition))),
        dispensation=draw(
            st.none()
            | st.none()
            | st.builds(Dispensation, st.booleans(), st.booleans())
            | st.just(Dispensation(applied_by_participant=True, assessment_replaces_exam=True))
        )
        if exam
        else draw(st.none() | st.none() | st.none() | st.just(GRANTED)),
        judgement=None if in_ikv else draw(st.none() | st.sampled_from(Judgement)),
        attempts=draw(attempt_sequences(CATALOGUE[goal].exam_parts))
        if exam
        else draw(st.just(()) | st.just(()) | st.just(()) | attempt_sequences(1)),
        dropped_out=draw(st.integers(0, 3)) == 0,
        exam_skipped=exam and draw(st.booleans()) and draw(st.booleans()),
        authority_exam_passed=draw(st.none() | st.booleans()) if goal == "40979" else None,
        ikv=ikv,
    )


def _assess_or_refuse(participation: Participation) -> Assessment | None:
    try:
        result = assess(participation, CATALOGUE, today=TODAY)
    except RuleViolation as refusal:
        event(f"refused: {refusal.rule}")
        return None
    event(f"group {result.group.number}: {result.report_value}")
    return result


@settings(max_examples=400)
@given(participations())
def test_property_category_belongs_to_its_group(participation: Participation) -> None:
    result = _assess_or_refuse(participation)
    if result is None:
        return
    if result.category is not None:
        assert result.category in ALLOWED[result.group]
        assert category_from_report(result.group, result.category.number) is result.category
        # A passed retake earns the certificate while the participation keeps its own result;
        # on 40080/40081 the certificate is the IKV activity's own, whatever the outcome.
        # (Regression, found by this property: a no-show followed by a passed retake keeps
        # category 5 and still earns the certificate, just as a fail followed by one keeps 4.)
        retake_passed = any(
            a.is_retake and a.outcome is AttemptOutcome.PASSED for a in result.attempts
        )
        assert result.category.certificate is (result.certificate is not None) or (
            (
                retake_passed
                and result.category in {ExamCategory.FAILED, ExamCategory.DROPPED_OUT_OR_ABSENT}
            )
            or participation.goal in IKV_GOALS
        )
    if participation.goal in IKV_GOALS:
        assert result.group is ResultGroup.NO_EXAM


@settings(max_examples=400)
@given(participations())
def test_property_no_certificate_without_pass_or_judgement(participation: Participation) -> None:
    result = _assess_or_refuse(participation)
    if result is None or result.certificate is None:
        return
    if result.group is ResultGroup.EXAM:
        passed = any(a.outcome is AttemptOutcome.PASSED for a in result.attempts)
        exempted = (
            participation.dispensation is not None
            and participation.judgement is Judgement.GOAL_REACHED
        )
        assert passed or exempted
        assert result.certificate.exam_passed is passed
        assert result.certificate.dispensation is exempted
    elif participation.goal in IKV_GOALS:
        assert participation.ikv is not None
        assert not participation.dropped_out
    else:
        assert participation.judgement is Judgement.GOAL_REACHED or (
            participation.authority_exam_passed is True
        )
    own = [d for d in result.documents if d.goals == (participation.goal,)]
    assert DocumentKind.PARTICIPATION_DOCUMENT not in {d.kind for d in own}


@settings(max_examples=300)
@given(participations())
def test_property_special_conditions_never_reach_the_output(participation: Participation) -> None:
    result = _assess_or_refuse(participation)
    plain = dataclasses.replace(participation, special_conditions=frozenset())
    assert result == _assess_or_refuse(plain)


@settings(max_examples=400)
@given(goal=st.sampled_from(EXAM_GOALS), data=st.data())
def test_property_retakes_never_change_an_earlier_attempt(goal: str, data: st.DataObject) -> None:
    attempts = data.draw(attempt_sequences(CATALOGUE[goal].exam_parts))
    participation = Participation(goal=goal, team="H-1", periods=(Period(START, END),))
    full = _assess_or_refuse(dataclasses.replace(participation, attempts=attempts))
    if full is None:
        return
    assert len(full.attempts) == len(attempts)
    for cut in range(len(attempts)):
        earlier = _assess_or_refuse(dataclasses.replace(participation, attempts=attempts[:cut]))
        assert earlier is not None  # a prefix of a valid history is valid
        assert full.attempts[:cut] == earlier.attempts
        # The participation's own result moves only with its own (non-retake) exam.
        if attempts[cut].kind is AttemptKind.RETAKE and earlier.category is not None:
            later = _assess_or_refuse(
                dataclasses.replace(participation, attempts=attempts[: cut + 1])
            )
            assert later is not None
            assert later.category is earlier.category
    for report, attempt in zip(full.attempts, attempts, strict=True):
        assert report.held_on == attempt.held_on
        assert report.is_retake is (attempt.kind is AttemptKind.RETAKE)
        assert report.reported_as_retake is (attempt.kind is not AttemptKind.ORDINARY)
