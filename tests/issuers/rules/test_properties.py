"""Hypothesis properties of the rules engine over arbitrary facts and attempt sequences.

Random facts often break a rule; a typed refusal is then a correct answer, and the properties
are checked on every participation the engine does assess. So that a property cannot pass by
skipping (an engine that refused everything, or always answered the same, would skip every
check), each one records what its examples reached and then asserts that every result group,
category and branch it speaks of was reached and that most examples were assessed (``reach.py``).
The strategies are weighted for that: most examples are facts a school could lawfully record,
the rest arbitrary combinations that mostly draw refusals.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from collections.abc import Callable

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from issuers import rules
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
from tests.issuers.rules.reach import Outcome, Reach

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
NO_EXAM_GOALS = ("45162", "40979")
GRANTED = Dispensation(applied_by_participant=True, assessment_replaces_exam=True)

# Weighted towards what schools mostly record, so every category shows up.
PART_RESULTS = st.sampled_from(
    [PartResult.PASSED] * 3 + [PartResult.FAILED] * 2 + [PartResult.ABSENT]
)
ATTEMPT_KINDS = st.sampled_from(
    [AttemptKind.ORDINARY, AttemptKind.RETAKE, AttemptKind.RETAKE, AttemptKind.RESCHEDULED]
)
FIRST_KINDS = st.sampled_from([AttemptKind.ORDINARY] * 4 + [AttemptKind.RETAKE])
LAWFUL_RETAKE_KINDS = st.sampled_from(
    [AttemptKind.RETAKE] * 3 + [AttemptKind.ORDINARY, AttemptKind.RESCHEDULED]
)
NOT_RETAKES = st.sampled_from([AttemptKind.ORDINARY] * 3 + [AttemptKind.RESCHEDULED])
JUDGEMENTS = st.sampled_from([Judgement.GOAL_REACHED, Judgement.GOAL_NOT_REACHED, None])
# Hypothesis favours the ends of a short list: the judgement that earns a certificate sits there.
GROUP_2_JUDGEMENTS = st.sampled_from(
    [Judgement.GOAL_REACHED, None, Judgement.GOAL_NOT_REACHED, Judgement.GOAL_REACHED]
)
PERIODS = st.sampled_from(
    [(Period(START, END),), (Period(START, START), Period(END - dt.timedelta(days=1), END))]
)
SPECIAL_CONDITIONS = st.frozensets(st.sampled_from(SpecialCondition))

# The IKV categories are accepted from legacy systems but never produced.
ALLOWED: dict[ResultGroup, frozenset[Category]] = {
    ResultGroup.EXAM: frozenset(c for c in ExamCategory if c is not ExamCategory.IKV_LEGACY),
    ResultGroup.NO_EXAM: frozenset(c for c in NoExamCategory if c is not NoExamCategory.IKV_LEGACY),
}
EVERY_OUTCOME: frozenset[Outcome] = frozenset(
    (group, category) for group, allowed in ALLOWED.items() for category in (*allowed, None)
)
"""Every category the engine produces in each group, and "no final result yet" in each."""


def _rarely(draw: st.DrawFn, one_in: int) -> bool:
    # Not ``integers(1, n) == 1``: Hypothesis draws the lower bound far more often than 1 in n.
    return draw(st.sampled_from([False] * (one_in - 1) + [True]))


@st.composite
def attempt_sequences(draw: st.DrawFn, parts: int, *, lawful: bool) -> tuple[Attempt, ...]:
    """Attempts in the order held, mostly shaped like real retake histories.

    A ``lawful`` history keeps the retake rules (nothing after a pass, a retake only after an
    exam not passed, each retake with the permission it needs, all within the window), so
    the engine assesses it; otherwise any rule may be broken.
    """
    attempts: list[Attempt] = []
    day = END - dt.timedelta(days=draw(st.integers(0, 2)))
    not_passed_before = False
    # sampled_from, not integers(0, 5): Hypothesis would leave half the histories empty.
    for _ in range(draw(st.sampled_from(range(6)))):
        postponed = _rarely(draw, 6)
        results = () if postponed else draw(st.tuples(*[PART_RESULTS] * parts))
        if not lawful:
            kind = draw(ATTEMPT_KINDS if attempts else FIRST_KINDS)
        else:
            kind = draw(LAWFUL_RETAKE_KINDS if not_passed_before else NOT_RETAKES)
        attempt = Attempt(
            held_on=day,
            parts=results,
            kind=kind,
            postponed=postponed,
            notified_on=draw(st.none() | st.just(day + dt.timedelta(days=1))),
            retake_reason="særlige forhold" if lawful else draw(st.none() | st.just("x")),
            complaint_decision="klage-1" if lawful else draw(st.none() | st.just("klage-1")),
        )
        attempts.append(attempt)
        passed = not postponed and all(part is PartResult.PASSED for part in results)
        if lawful and passed:
            break
        not_passed_before = not_passed_before or not (postponed or passed)
        # Four lawful steps of at most six days stay inside the four-week retake window.
        day += dt.timedelta(days=draw(st.integers(0, 6 if lawful else 12)))
    return tuple(attempts)


@st.composite
def examined_participations(draw: st.DrawFn) -> Participation:
    """Group 1 facts a school could record: the attempts held, maybe none yet."""
    goal = draw(st.sampled_from(EXAM_GOALS))
    attempts = draw(attempt_sequences(CATALOGUE[goal].exam_parts, lawful=True))
    return Participation(
        goal=goal,
        team="H-1",
        periods=draw(PERIODS),
        collective_shortening=_rarely(draw, 4),
        special_conditions=draw(SPECIAL_CONDITIONS),
        judgement=draw(JUDGEMENTS),
        attempts=attempts,
        dropped_out=_rarely(draw, 4),
        exam_skipped=not attempts and _rarely(draw, 2),
    )


@st.composite
def exempted_participations(draw: st.DrawFn, judgement: Judgement | None) -> Participation:
    """Group 1 facts a school could record: a granted dispensation, judged or not yet."""
    return Participation(
        goal=draw(st.sampled_from(EXAM_GOALS)),
        team="H-1",
        periods=draw(PERIODS),
        special_conditions=draw(SPECIAL_CONDITIONS),
        dispensation=GRANTED,
        judgement=judgement,
        dropped_out=_rarely(draw, 4),
    )


@st.composite
def no_exam_participations(draw: st.DrawFn) -> Participation:
    """Group 2 facts a school could record: a goal without an exam, or a drivers' EU module."""
    # The certificate course is the one with most to say (another authority's exam).
    goal = draw(st.sampled_from(["45162", "40979", "40979", *EXAM_GOALS]))
    return Participation(
        goal=goal,
        team="H-1",
        periods=draw(PERIODS),
        enrolment=Enrolment.AMU if goal in NO_EXAM_GOALS else Enrolment.DRIVERS_EU_MODULE,
        collective_shortening=_rarely(draw, 4),
        special_conditions=draw(SPECIAL_CONDITIONS),
        judgement=draw(GROUP_2_JUDGEMENTS),
        dropped_out=_rarely(draw, 4),
        authority_exam_passed=draw(st.sampled_from([True, None, False, True]))
        if goal == "40979"
        else None,
    )


IKV_OUTCOMES = st.lists(
    st.builds(
        IkvGoalResult,
        goal=st.sampled_from(EXAM_GOALS),
        result=st.sampled_from(IkvResult),
        exam_passed=st.none() | st.booleans(),
    ),
    max_size=3,
)


@st.composite
def ikv_participations(draw: st.DrawFn) -> Participation:
    """An individual competence assessment on 40080/40081, finished or not."""
    return Participation(
        goal=draw(st.sampled_from(sorted(IKV_GOALS))),
        team="H-1",
        periods=draw(PERIODS),
        special_conditions=draw(SPECIAL_CONDITIONS),
        dropped_out=_rarely(draw, 4),
        ikv=None if _rarely(draw, 4) else tuple(draw(IKV_OUTCOMES)),
    )


@st.composite
def arbitrary_participations(draw: st.DrawFn) -> Participation:
    """Any participation, group 1 or 2, with any combination of facts."""
    goal = draw(st.sampled_from(EXAM_GOALS) | st.sampled_from(sorted(CATALOGUE)))
    in_ikv = goal in IKV_GOALS
    ikv = None
    if in_ikv and draw(st.booleans()):
        ikv = tuple(draw(IKV_OUTCOMES))
    exam = goal in EXAM_GOALS
    return Participation(
        goal=goal,
        team="H-1",
        periods=draw(PERIODS),
        enrolment=draw(
            st.sampled_from([Enrolment.AMU, Enrolment.AMU, Enrolment.DRIVERS_EU_MODULE])
        ),
        collective_shortening=_rarely(draw, 4),
        special_conditions=draw(SPECIAL_CONDITIONS),
        dispensation=draw(
            st.none()
            | st.none()
            | st.builds(Dispensation, st.booleans(), st.booleans())
            | st.just(GRANTED)
        )
        if exam
        else draw(st.none() | st.none() | st.none() | st.just(GRANTED)),
        judgement=None if in_ikv else draw(JUDGEMENTS),
        attempts=draw(attempt_sequences(CATALOGUE[goal].exam_parts, lawful=False))
        if exam
        else draw(st.just(()) | st.just(()) | st.just(()) | attempt_sequences(1, lawful=False)),
        dropped_out=_rarely(draw, 4),
        exam_skipped=exam and draw(st.booleans()) and draw(st.booleans()),
        authority_exam_passed=draw(st.none() | st.booleans()) if goal == "40979" else None,
        ikv=ikv,
    )


@st.composite
def participations(draw: st.DrawFn) -> Participation:
    """Any participation: nine in ten lawful, one in ten arbitrary (mostly refused).

    Weighted so that every category is reached often. Each judgement after a dispensation has
    its own entry because Hypothesis draws the middle of a short ``sampled_from`` rarely.
    """
    kind = draw(
        st.sampled_from(
            [
                examined_participations(),
                exempted_participations(Judgement.GOAL_REACHED),
                no_exam_participations(),
                examined_participations(),
                exempted_participations(Judgement.GOAL_NOT_REACHED),
                ikv_participations(),
                examined_participations(),
                exempted_participations(None),
                no_exam_participations(),
                arbitrary_participations(),
            ]
        )
    )
    return draw(kind)


def _answer(participation: Participation) -> Assessment | RuleViolation:
    """The engine's assessment, or its typed refusal."""
    try:
        result = assess(participation, CATALOGUE, today=TODAY)
    except RuleViolation as refusal:
        event(f"refused: {refusal.rule}")
        return refusal
    event(f"group {result.group.number}: {result.report_value}")
    return result


def _assess_or_refuse(participation: Participation, reach: Reach | None) -> Assessment | None:
    """The engine's assessment, or ``None`` for a refusal; recorded in ``reach`` if given."""
    answer = _answer(participation)
    if reach is not None:
        reach.record(answer)
    return None if isinstance(answer, RuleViolation) else answer


def check_category_belongs_to_its_group(examples: int) -> None:
    """Every category lies in its group and round-trips; certificates follow the category."""
    reach = Reach()

    @settings(max_examples=examples)
    @given(participations())
    def property_(participation: Participation) -> None:
        result = _assess_or_refuse(participation, reach)
        if result is None:
            return
        if result.category is not None:
            assert result.category in ALLOWED[result.group]
            assert category_from_report(result.group, result.category.number) is result.category
            # A passed retake earns the certificate while the participation keeps its own
            # result; on 40080/40081 the certificate is the IKV activity's own, whatever the
            # outcome. (Regression, found by this property: a no-show followed by a passed
            # retake keeps category 5 and still earns the certificate, just as a fail followed
            # by one keeps 4.)
            retake_passed = any(
                a.is_retake and a.outcome is AttemptOutcome.PASSED for a in result.attempts
            )
            kept = result.category in {ExamCategory.FAILED, ExamCategory.DROPPED_OUT_OR_ABSENT}
            if retake_passed and kept:
                reach.branch("certificate by a retake, own result kept")
            assert result.category.certificate is (result.certificate is not None) or (
                (retake_passed and kept) or participation.goal in IKV_GOALS
            )
        if participation.goal in IKV_GOALS:
            reach.branch("IKV goal")
            assert result.group is ResultGroup.NO_EXAM

    property_()
    reach.assert_reached(
        outcomes=EVERY_OUTCOME, branches={"certificate by a retake, own result kept", "IKV goal"}
    )


def check_no_certificate_without_pass_or_judgement(examples: int) -> None:
    """A certificate needs a pass, an exemption, a finished IKV, a judgement or another exam."""
    reach = Reach()

    @settings(max_examples=examples)
    @given(participations())
    def property_(participation: Participation) -> None:
        result = _assess_or_refuse(participation, reach)
        if result is None or result.certificate is None:
            return
        if result.group is ResultGroup.EXAM:
            passed = any(a.outcome is AttemptOutcome.PASSED for a in result.attempts)
            exempted = (
                participation.dispensation is not None
                and participation.judgement is Judgement.GOAL_REACHED
            )
            reach.branch("exam passed" if passed else "exempted")
            assert passed or exempted
            assert result.certificate.exam_passed is passed
            assert result.certificate.dispensation is exempted
        elif participation.goal in IKV_GOALS:
            reach.branch("IKV finished")
            assert participation.ikv is not None
            assert not participation.dropped_out
        else:
            by_authority = participation.authority_exam_passed is True
            reach.branch("other authority's exam" if by_authority else "judgement")
            assert participation.judgement is Judgement.GOAL_REACHED or by_authority
        own = [d for d in result.documents if d.goals == (participation.goal,)]
        assert DocumentKind.PARTICIPATION_DOCUMENT not in {d.kind for d in own}

    property_()
    reach.assert_reached(
        outcomes={
            (ResultGroup.EXAM, ExamCategory.PASSED),
            (ResultGroup.EXAM, ExamCategory.DISPENSATION_GOAL_REACHED),
            (ResultGroup.NO_EXAM, NoExamCategory.GOAL_REACHED),
        },
        branches={"exam passed", "exempted", "IKV finished", "other authority's exam", "judgement"},
    )


def check_special_conditions_never_reach_the_output(examples: int) -> None:
    """Special exam conditions change neither the assessment nor the refusal."""
    reach = Reach()

    def comparable(answer: Assessment | RuleViolation) -> object:
        if isinstance(answer, RuleViolation):
            return (answer.rule, answer.field, str(answer))
        return answer

    @settings(max_examples=examples)
    @given(participations(), st.frozensets(st.sampled_from(SpecialCondition), min_size=1))
    def property_(participation: Participation, conditions: frozenset[SpecialCondition]) -> None:
        plain = dataclasses.replace(participation, special_conditions=frozenset())
        answer = _answer(dataclasses.replace(plain, special_conditions=conditions))
        reach.record(answer)
        assert comparable(answer) == comparable(_answer(plain))

    property_()
    reach.assert_reached(outcomes=EVERY_OUTCOME)


def check_retakes_never_change_an_earlier_attempt(examples: int) -> None:
    """Adding an attempt never changes what was said about the earlier ones."""
    reach = Reach()

    @settings(max_examples=examples)
    @given(
        goal=st.sampled_from(EXAM_GOALS),
        lawful=st.sampled_from([True, True, False]),
        data=st.data(),
    )
    def property_(goal: str, lawful: bool, data: st.DataObject) -> None:
        attempts = data.draw(attempt_sequences(CATALOGUE[goal].exam_parts, lawful=lawful))
        participation = Participation(goal=goal, team="H-1", periods=(Period(START, END),))
        full = _assess_or_refuse(dataclasses.replace(participation, attempts=attempts), reach)
        if full is None:
            return
        assert len(full.attempts) == len(attempts)
        for cut in range(len(attempts)):
            earlier = _assess_or_refuse(
                dataclasses.replace(participation, attempts=attempts[:cut]), None
            )
            assert earlier is not None  # a prefix of a valid history is valid
            assert full.attempts[:cut] == earlier.attempts
            # The participation's own result moves only with its own (non-retake) exam.
            if attempts[cut].kind is AttemptKind.RETAKE and earlier.category is not None:
                reach.branch("retake after a final result")
                later = _assess_or_refuse(
                    dataclasses.replace(participation, attempts=attempts[: cut + 1]), None
                )
                assert later is not None
                assert later.category is earlier.category
        for report, attempt in zip(full.attempts, attempts, strict=True):
            reach.branch(f"{attempt.kind.value} attempt")
            assert report.held_on == attempt.held_on
            assert report.is_retake is (attempt.kind is AttemptKind.RETAKE)
            assert report.reported_as_retake is (attempt.kind is not AttemptKind.ORDINARY)

    property_()
    reach.assert_reached(
        outcomes={
            (ResultGroup.EXAM, ExamCategory.PASSED),
            (ResultGroup.EXAM, ExamCategory.FAILED),
            (ResultGroup.EXAM, ExamCategory.DROPPED_OUT_OR_ABSENT),
            (ResultGroup.EXAM, None),
        },
        branches={
            "retake after a final result",
            *(f"{kind.value} attempt" for kind in AttemptKind),
        },
    )


def test_property_category_belongs_to_its_group() -> None:
    check_category_belongs_to_its_group(examples=600)


def test_property_no_certificate_without_pass_or_judgement() -> None:
    check_no_certificate_without_pass_or_judgement(examples=600)


def test_property_special_conditions_never_reach_the_output() -> None:
    check_special_conditions_never_reach_the_output(examples=600)


def test_property_retakes_never_change_an_earlier_attempt() -> None:
    check_retakes_never_change_an_earlier_attempt(examples=400)


# The checks above must be able to fail: under a broken engine whose answers every property
# body accepts, the coverage assertion alone has to catch it. A few examples are enough.

CHECKS = [
    check_category_belongs_to_its_group,
    check_no_certificate_without_pass_or_judgement,
    check_special_conditions_never_reach_the_output,
    check_retakes_never_change_an_earlier_attempt,
]


def _refuse_everything(participation: Participation, *_: object, **__: object) -> Assessment:
    raise RuleViolation("refuses every participation", field="goal")


def _everyone_dropped_out(
    participation: Participation, *args: object, **kwargs: object
) -> Assessment:
    """The real assessment, with every participant reported as dropped out and no certificate."""
    result = rules.assess(participation, *args, **kwargs)  # type: ignore[arg-type]
    category = (
        ExamCategory.DROPPED_OUT_OR_ABSENT
        if result.group is ResultGroup.EXAM
        else NoExamCategory.DROPPED_OUT
    )
    return dataclasses.replace(result, category=category, certificate=None, documents=())


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
@pytest.mark.parametrize(
    ("engine", "complaint"),
    [(_refuse_everything, "not reached"), (_everyone_dropped_out, "not reached")],
    ids=["refuses-everything", "one-category"],
)
def test_property_fails_for_an_engine_that_skips_its_checks(
    monkeypatch: pytest.MonkeyPatch,
    check: Callable[[int], None],
    engine: Callable[..., Assessment],
    complaint: str,
) -> None:
    monkeypatch.setattr(sys.modules[__name__], "assess", engine)
    with pytest.raises(AssertionError, match=complaint):
        check(40)
