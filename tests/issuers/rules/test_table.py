"""One example test per row of the decision table in docs/rules.md (the test names are the rows)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import holidays
import pytest

from formats.record import Annotations
from issuers.errors import IssuingError
from issuers.rules import (
    NOT_RELEVANT,
    Attempt,
    AttemptDespiteDispensationError,
    AttemptKind,
    AttemptOutcome,
    CatalogueGoal,
    CompositeCourse,
    Dispensation,
    DispensationAfterShorteningError,
    DispensationWithoutApplicationError,
    DispensationWithoutExamError,
    DispensationWithoutReplacingAssessmentError,
    DocumentKind,
    DueDocument,
    Enrolment,
    ExamAttachment,
    ExamCategory,
    ExamResultWithoutExamError,
    FundingMark,
    GoalNotInCompositeCourseError,
    IkvGoalResult,
    IkvOutcomeOutsideIkvGoalError,
    IkvResult,
    Judgement,
    NoExamCategory,
    Participation,
    PartResult,
    Period,
    ResultForPostponedExamError,
    ResultGroup,
    RetakeOutsideWindowError,
    RetakeWithoutComplaintDecisionError,
    RetakeWithoutFailedExamError,
    RuleViolation,
    SecondRetakeWithoutReasonError,
    SpecialCondition,
    UnknownCategoryError,
    UnknownGoalInCatalogueError,
    VocationalElectiveError,
    assess,
    assess_composite,
    category_from_report,
)
from service.api.problems import problem_of

START = dt.date(2024, 3, 4)  # a Monday
END = dt.date(2024, 3, 8)  # the Friday of the same week
TODAY = dt.date(2024, 6, 3)

EXAM_GOAL = "48596"
NO_EXAM_GOAL = "45162"
TWO_PART_GOAL = "47592"
LATE_EXAM_GOAL = "40124"  # exam attached the day after START
AUTHORITY_GOAL = "40979"  # certificate course, exam run by another authority
AUTHORITY_UVM_GOAL = "44365"  # certificate course that uses the UVM exam

SINCE_2020 = (ExamAttachment(dt.date(2020, 1, 1)),)
CATALOGUE = {
    EXAM_GOAL: CatalogueGoal(EXAM_GOAL, "Exam goal", SINCE_2020),
    NO_EXAM_GOAL: CatalogueGoal(NO_EXAM_GOAL, "No exam goal"),
    TWO_PART_GOAL: CatalogueGoal(TWO_PART_GOAL, "Written and oral", SINCE_2020, exam_parts=2),
    LATE_EXAM_GOAL: CatalogueGoal(
        LATE_EXAM_GOAL, "Exam attached late", (ExamAttachment(START + dt.timedelta(days=1)),)
    ),
    AUTHORITY_GOAL: CatalogueGoal(AUTHORITY_GOAL, "Authority", authority_certificate=True),
    AUTHORITY_UVM_GOAL: CatalogueGoal(
        AUTHORITY_UVM_GOAL, "Authority, UVM exam", SINCE_2020, authority_certificate=True
    ),
    "40080": CatalogueGoal("40080", "IKV i AMU"),
    "40081": CatalogueGoal("40081", "IKV i AMU F/I"),
}

PASSED = (PartResult.PASSED,)
FAILED = (PartResult.FAILED,)
ABSENT = (PartResult.ABSENT,)
GRANTED = Dispensation(applied_by_participant=True, assessment_replaces_exam=True)


def participation(goal: str = EXAM_GOAL, **facts: Any) -> Participation:
    facts.setdefault("periods", (Period(START, END),))
    return Participation(goal=goal, team="H-101", **facts)


def attempt(day: dt.date, parts: tuple[PartResult, ...], **facts: Any) -> Attempt:
    return Attempt(held_on=day, parts=parts, **facts)


def retake(day: dt.date, parts: tuple[PartResult, ...], **facts: Any) -> Attempt:
    return Attempt(held_on=day, parts=parts, kind=AttemptKind.RETAKE, **facts)


def wd(n: int, after: dt.date) -> dt.date:
    """The n-th working day after ``after``, counted straight from the ``holidays`` package."""
    days_off = holidays.country_holidays("DK", years=range(after.year, after.year + 2))
    day = after
    while n:
        day += dt.timedelta(days=1)
        if day.weekday() < 5 and day not in days_off:
            n -= 1
    return day


# --- The result group -------------------------------------------------------------------------


def test_exam_attached_on_start_date_gives_group_1() -> None:
    result = assess(participation(attempts=(attempt(END, PASSED),)), CATALOGUE, today=TODAY)
    assert result.group is ResultGroup.EXAM
    assert result.group.report_field == "ResultatProevebelagt"


def test_exam_attached_after_start_date_gives_group_2() -> None:
    facts = participation(LATE_EXAM_GOAL, judgement=Judgement.GOAL_REACHED)
    result = assess(facts, CATALOGUE, today=TODAY)
    assert result.group is ResultGroup.NO_EXAM
    assert result.category is NoExamCategory.GOAL_REACHED
    with pytest.raises(ExamResultWithoutExamError) as refused:
        assess(
            participation(LATE_EXAM_GOAL, attempts=(attempt(END, PASSED),)),
            CATALOGUE,
            today=TODAY,
        )
    assert refused.value.field == "attempts"


def test_split_course_is_one_participation_with_one_result() -> None:
    # The first period starts before the exam was attached: the whole course is group 2.
    periods = (
        Period(START, START),
        Period(START + dt.timedelta(weeks=2), START + dt.timedelta(weeks=2, days=2)),
    )
    split = participation(LATE_EXAM_GOAL, periods=periods, judgement=Judgement.GOAL_REACHED)
    result = assess(split, CATALOGUE, today=TODAY)
    assert result.group is ResultGroup.NO_EXAM
    assert result.report_value == "1"
    assert result.deadlines.certificate_by == wd(10, periods[-1].end)


def test_drivers_eu_module_is_group_2_without_exam() -> None:
    facts = participation(enrolment=Enrolment.DRIVERS_EU_MODULE, judgement=Judgement.GOAL_REACHED)
    result = assess(facts, CATALOGUE, today=TODAY)
    assert result.group is ResultGroup.NO_EXAM
    assert result.category is NoExamCategory.GOAL_REACHED
    assert result.certificate == Annotations(exam_passed=None, dispensation=False, ikv=False)


def test_other_authority_certificate_course_is_group_2_certificate_obtained() -> None:
    facts = participation(AUTHORITY_GOAL, authority_exam_passed=True)
    result = assess(facts, CATALOGUE, today=TODAY)
    assert (result.group, result.category) == (ResultGroup.NO_EXAM, NoExamCategory.GOAL_REACHED)
    assert result.certificate is not None
    failed = assess(
        participation(AUTHORITY_GOAL, authority_exam_passed=False), CATALOGUE, today=TODAY
    )
    assert failed.category is NoExamCategory.GOAL_NOT_REACHED
    assert failed.certificate is None


def test_certificate_course_with_uvm_exam_is_group_1() -> None:
    facts = participation(AUTHORITY_UVM_GOAL, attempts=(attempt(END, PASSED),))
    result = assess(facts, CATALOGUE, today=TODAY)
    assert (result.group, result.category) == (ResultGroup.EXAM, ExamCategory.PASSED)


def test_vocational_elective_pupil_gets_no_amu_certificate() -> None:
    facts = participation(enrolment=Enrolment.VOCATIONAL_ELECTIVE, attempts=(attempt(END, PASSED),))
    with pytest.raises(VocationalElectiveError) as refused:
        assess(facts, CATALOGUE, today=TODAY)
    assert refused.value.rule == "vocational-elective-no-amu-certificate"
    assert refused.value.field == "enrolment"


def test_unknown_goal_is_refused() -> None:
    with pytest.raises(UnknownGoalInCatalogueError) as refused:
        assess(participation("99999"), CATALOGUE, today=TODAY)
    assert refused.value.field == "goal"


# --- Group 1: exam attached on the start date --------------------------------------------------


def test_group_1_passed_exam_is_category_1() -> None:
    result = assess(participation(attempts=(attempt(END, PASSED),)), CATALOGUE, today=TODAY)
    assert result.category is ExamCategory.PASSED
    assert result.report_value == "1"
    assert result.certificate == Annotations(exam_passed=True, dispensation=False, ikv=False)
    assert [d.kind for d in result.documents] == [DocumentKind.AMU_CERTIFICATE]


def test_group_1_dispensation_goal_reached_is_category_2() -> None:
    facts = participation(dispensation=GRANTED, judgement=Judgement.GOAL_REACHED)
    result = assess(facts, CATALOGUE, today=TODAY)
    assert result.category is ExamCategory.DISPENSATION_GOAL_REACHED
    assert result.report_value == "2"
    assert result.certificate == Annotations(exam_passed=False, dispensation=True, ikv=False)


def test_group_1_category_3_is_accepted_from_legacy_systems_only() -> None:
    assert category_from_report(ResultGroup.EXAM, 3) is ExamCategory.IKV_LEGACY
    assert ExamCategory.IKV_LEGACY.certificate
    with pytest.raises(UnknownCategoryError):
        category_from_report(ResultGroup.EXAM, 7)
    # Never produced: see the property test test_property_category_belongs_to_its_group.


def test_group_1_failed_exam_is_category_4() -> None:
    result = assess(participation(attempts=(attempt(END, FAILED),)), CATALOGUE, today=TODAY)
    assert result.category is ExamCategory.FAILED
    assert result.certificate is None


def test_participation_document_for_those_without_certificate() -> None:
    result = assess(participation(attempts=(attempt(END, FAILED),)), CATALOGUE, today=TODAY)
    assert result.documents == (
        DueDocument(DocumentKind.PARTICIPATION_DOCUMENT, (EXAM_GOAL,), optional=True),
    )
    pending = assess(participation(), CATALOGUE, today=TODAY)
    assert pending.documents == ()


def test_group_1_dropped_out_or_absent_is_category_5() -> None:
    dropped = assess(participation(dropped_out=True), CATALOGUE, today=TODAY)
    absent = assess(participation(attempts=(attempt(END, ABSENT),)), CATALOGUE, today=TODAY)
    assert dropped.category is absent.category is ExamCategory.DROPPED_OUT_OR_ABSENT
    assert dropped.report_value == "5"


def test_group_1_one_of_two_exam_parts_missed_is_category_5() -> None:
    parts = (PartResult.PASSED, PartResult.ABSENT)
    result = assess(
        participation(TWO_PART_GOAL, attempts=(attempt(END, parts),)), CATALOGUE, today=TODAY
    )
    assert result.category is ExamCategory.DROPPED_OUT_OR_ABSENT
    assert result.certificate is None


def test_group_1_exam_skipped_in_emergency_teaching_is_category_5() -> None:
    result = assess(participation(exam_skipped=True), CATALOGUE, today=TODAY)
    assert result.category is ExamCategory.DROPPED_OUT_OR_ABSENT


def test_group_1_dispensation_goal_not_reached_is_category_6() -> None:
    facts = participation(dispensation=GRANTED, judgement=Judgement.GOAL_NOT_REACHED)
    result = assess(facts, CATALOGUE, today=TODAY)
    assert result.category is ExamCategory.DISPENSATION_GOAL_NOT_REACHED
    assert result.report_value == "6"
    assert result.certificate is None


def test_postponed_exam_means_no_result_yet() -> None:
    postponed = Attempt(held_on=END, parts=(), postponed=True)
    result = assess(participation(attempts=(postponed,)), CATALOGUE, today=TODAY)
    assert result.category is None
    assert result.report_value == NOT_RELEVANT
    assert result.attempts[0].outcome is AttemptOutcome.POSTPONED
    later = attempt(END + dt.timedelta(weeks=6), PASSED)
    held = assess(participation(attempts=(postponed, later)), CATALOGUE, today=TODAY)
    assert held.category is ExamCategory.PASSED


def test_result_for_postponed_exam_is_refused() -> None:
    postponed = Attempt(held_on=END, parts=PASSED, postponed=True)
    with pytest.raises(ResultForPostponedExamError) as refused:
        assess(participation(attempts=(postponed,)), CATALOGUE, today=TODAY)
    assert refused.value.rule == "result-for-postponed-exam"
    assert refused.value.field == "attempts[0].parts"


# --- Group 2: no exam attached on the start date -----------------------------------------------


def test_group_2_goal_reached_is_category_1() -> None:
    facts = participation(NO_EXAM_GOAL, judgement=Judgement.GOAL_REACHED)
    result = assess(facts, CATALOGUE, today=TODAY)
    assert (result.group, result.report_value) == (ResultGroup.NO_EXAM, "1")
    assert result.group.report_field == "ResultatIkkeProevebelagt"
    assert result.certificate == Annotations(exam_passed=None, dispensation=False, ikv=False)


def test_group_2_goal_not_reached_is_category_3() -> None:
    facts = participation(NO_EXAM_GOAL, judgement=Judgement.GOAL_NOT_REACHED)
    result = assess(facts, CATALOGUE, today=TODAY)
    assert (result.category, result.report_value) == (NoExamCategory.GOAL_NOT_REACHED, "3")
    assert result.certificate is None
    assert result.documents[0].kind is DocumentKind.PARTICIPATION_DOCUMENT


def test_group_2_dropped_out_is_category_4() -> None:
    facts = participation(NO_EXAM_GOAL, dropped_out=True, judgement=Judgement.GOAL_REACHED)
    result = assess(facts, CATALOGUE, today=TODAY)
    assert (result.category, result.report_value) == (NoExamCategory.DROPPED_OUT, "4")


def test_group_2_category_2_is_accepted_from_legacy_systems_only() -> None:
    assert category_from_report(ResultGroup.NO_EXAM, 2) is NoExamCategory.IKV_LEGACY
    with pytest.raises(UnknownCategoryError):
        category_from_report(ResultGroup.NO_EXAM, 5)


def test_group_2_refuses_dispensation_and_exam_attempts() -> None:
    with pytest.raises(DispensationWithoutExamError):
        assess(participation(NO_EXAM_GOAL, dispensation=GRANTED), CATALOGUE, today=TODAY)
    with pytest.raises(ExamResultWithoutExamError):
        assess(
            participation(NO_EXAM_GOAL, attempts=(attempt(END, PASSED),)), CATALOGUE, today=TODAY
        )


def test_no_final_result_yet_is_ej_relevant() -> None:
    result = assess(participation(NO_EXAM_GOAL), CATALOGUE, today=TODAY)
    assert (result.final, result.report_value) == (False, "Ej relevant")


# --- Dispensation and special exam conditions --------------------------------------------------


def test_dispensation_after_collective_shortening_is_refused() -> None:
    facts = participation(
        collective_shortening=True, dispensation=GRANTED, judgement=Judgement.GOAL_REACHED
    )
    with pytest.raises(DispensationAfterShorteningError) as refused:
        assess(facts, CATALOGUE, today=TODAY)
    assert refused.value.rule == "dispensation-after-collective-shortening"
    assert refused.value.field == "dispensation"
    assert isinstance(refused.value, RuleViolation)
    assert isinstance(refused.value, IssuingError)
    assert problem_of(refused.value).slug == refused.value.rule


def test_dispensation_without_application_is_refused() -> None:
    facts = participation(
        dispensation=Dispensation(applied_by_participant=False, assessment_replaces_exam=True)
    )
    with pytest.raises(DispensationWithoutApplicationError) as refused:
        assess(facts, CATALOGUE, today=TODAY)
    assert refused.value.rule == "dispensation-without-application"
    assert refused.value.field == "dispensation.applied_by_participant"


def test_dispensation_without_replacing_assessment_is_refused() -> None:
    facts = participation(
        dispensation=Dispensation(applied_by_participant=True, assessment_replaces_exam=False)
    )
    with pytest.raises(DispensationWithoutReplacingAssessmentError):
        assess(facts, CATALOGUE, today=TODAY)
    with pytest.raises(AttemptDespiteDispensationError):
        assess(
            participation(dispensation=GRANTED, attempts=(attempt(END, PASSED),)),
            CATALOGUE,
            today=TODAY,
        )


def test_special_exam_conditions_never_reach_the_output() -> None:
    plain = participation(attempts=(attempt(END, PASSED),))
    special = participation(
        attempts=(attempt(END, PASSED),), special_conditions=frozenset(SpecialCondition)
    )
    assert assess(special, CATALOGUE, today=TODAY) == assess(plain, CATALOGUE, today=TODAY)
    rendered = repr(assess(special, CATALOGUE, today=TODAY))
    assert not any(condition.value in rendered for condition in SpecialCondition)


# --- Retakes (omprøver) and rescheduled exams ---------------------------------------------------


def test_first_retake_needs_no_reason() -> None:
    facts = participation(attempts=(attempt(END, FAILED), retake(END + dt.timedelta(7), PASSED)))
    result = assess(facts, CATALOGUE, today=TODAY)
    assert result.certificate == Annotations(exam_passed=True, dispensation=False, ikv=False)
    assert result.deadlines.certificate_by == wd(10, END + dt.timedelta(7))


def test_second_retake_without_reason_is_refused() -> None:
    attempts = (
        attempt(END, FAILED),
        retake(END + dt.timedelta(7), FAILED),
        retake(END + dt.timedelta(14), PASSED),
    )
    with pytest.raises(SecondRetakeWithoutReasonError) as refused:
        assess(participation(attempts=attempts), CATALOGUE, today=TODAY)
    assert refused.value.rule == "second-retake-without-reason"
    assert refused.value.field == "attempts[2].retake_reason"
    with_reason = (*attempts[:2], retake(END + dt.timedelta(14), PASSED, retake_reason="tired"))
    result = assess(participation(attempts=with_reason), CATALOGUE, today=TODAY)
    assert result.certificate is not None


def test_third_retake_without_complaint_decision_is_refused() -> None:
    attempts = (
        attempt(END, FAILED),
        retake(END + dt.timedelta(7), FAILED),
        retake(END + dt.timedelta(14), FAILED, retake_reason="held after a full course day"),
        retake(END + dt.timedelta(21), PASSED, retake_reason="still tired"),
    )
    with pytest.raises(RetakeWithoutComplaintDecisionError) as refused:
        assess(participation(attempts=attempts), CATALOGUE, today=TODAY)
    assert refused.value.rule == "retake-without-complaint-decision"
    assert refused.value.field == "attempts[3].complaint_decision"
    decided = (*attempts[:3], retake(END + dt.timedelta(21), PASSED, complaint_decision="K-7"))
    assert assess(participation(attempts=decided), CATALOGUE, today=TODAY).certificate


def test_retake_outside_four_week_window_is_refused() -> None:
    last_day = END + dt.timedelta(weeks=4)
    inside = participation(attempts=(attempt(END, FAILED), retake(last_day, PASSED)))
    assert assess(inside, CATALOGUE, today=TODAY).deadlines.retake_by == last_day
    late = participation(
        attempts=(attempt(END, FAILED), retake(last_day + dt.timedelta(1), PASSED))
    )
    with pytest.raises(RetakeOutsideWindowError) as refused:
        assess(late, CATALOGUE, today=TODAY)
    assert refused.value.rule == "retake-outside-window"
    assert refused.value.field == "attempts[1].held_on"


def test_retake_without_failed_exam_is_refused() -> None:
    with pytest.raises(RetakeWithoutFailedExamError):
        assess(participation(attempts=(retake(END, PASSED),)), CATALOGUE, today=TODAY)


def test_retake_never_overwrites_earlier_attempt() -> None:
    first = assess(participation(attempts=(attempt(END, FAILED),)), CATALOGUE, today=TODAY)
    both = assess(
        participation(attempts=(attempt(END, FAILED), retake(END + dt.timedelta(7), PASSED))),
        CATALOGUE,
        today=TODAY,
    )
    assert both.attempts[0] == first.attempts[0]
    # The participation keeps the result of its own exam; the retake is reported separately.
    assert both.category is first.category is ExamCategory.FAILED
    assert both.attempts[1].category is ExamCategory.PASSED
    assert both.attempts[1].reported_as_retake
    assert both.attempts[1].is_retake
    assert both.attempts[1].funding_marks == frozenset(FundingMark)
    assert {mark.code for mark in FundingMark} == {"OMPPÅ", "OMPÅE"}
    assert not both.attempts[0].reported_as_retake
    assert both.attempts[0].funding_marks == frozenset()


def test_rescheduled_exam_is_reported_like_a_retake_but_keeps_retake_right() -> None:
    ill = attempt(END, ABSENT)
    moved = Attempt(held_on=END + dt.timedelta(weeks=6), parts=FAILED, kind=AttemptKind.RESCHEDULED)
    facts = participation(attempts=(ill, moved))
    result = assess(facts, CATALOGUE, today=END + dt.timedelta(weeks=7))
    report = result.attempts[1]
    assert report.reported_as_retake
    assert not report.is_retake
    assert report.funding_marks == frozenset(FundingMark)
    assert result.category is ExamCategory.FAILED
    assert result.retake_right
    # The retake window runs from the rescheduled exam, so the kept right can be used.
    use_it = retake(END + dt.timedelta(weeks=8), PASSED)
    after = assess(participation(attempts=(ill, moved, use_it)), CATALOGUE, today=TODAY)
    assert after.certificate is not None


# --- IKV: individual competence assessment on 40080/40081 ---------------------------------------


def test_ikv_with_demonstrated_goal_is_category_1() -> None:
    outcomes = (
        IkvGoalResult(EXAM_GOAL, IkvResult.AMU_CERTIFICATE, exam_passed=True),
        IkvGoalResult(NO_EXAM_GOAL, IkvResult.COMPETENCE_CERTIFICATE),
    )
    result = assess(participation("40080", ikv=outcomes), CATALOGUE, today=TODAY)
    assert (result.group, result.category) == (ResultGroup.NO_EXAM, NoExamCategory.GOAL_REACHED)
    due = wd(10, END)
    assert result.documents == (
        DueDocument(
            DocumentKind.IKV_ACTIVITY_CERTIFICATE,
            ("40080",),
            Annotations(exam_passed=None, dispensation=False, ikv=True),
            due,
        ),
        DueDocument(
            DocumentKind.AMU_CERTIFICATE,
            (EXAM_GOAL,),
            Annotations(exam_passed=True, dispensation=False, ikv=True),
            due,
        ),
        DueDocument(DocumentKind.COMPETENCE_CERTIFICATE, (NO_EXAM_GOAL,)),
    )


def test_ikv_without_demonstrated_goal_is_category_3() -> None:
    outcomes = (IkvGoalResult(EXAM_GOAL, IkvResult.EDUCATION_PLAN),)
    result = assess(participation("40081", ikv=outcomes), CATALOGUE, today=TODAY)
    assert result.category is NoExamCategory.GOAL_NOT_REACHED
    kinds = [document.kind for document in result.documents]
    assert kinds == [DocumentKind.IKV_ACTIVITY_CERTIFICATE, DocumentKind.EDUCATION_PLAN]


def test_ikv_dropped_out_is_category_4_without_activity_certificate() -> None:
    result = assess(participation("40080", dropped_out=True), CATALOGUE, today=TODAY)
    assert result.category is NoExamCategory.DROPPED_OUT
    assert result.documents == ()
    assert result.certificate is None


def test_ikv_outcome_outside_ikv_goal_is_refused() -> None:
    outcomes = (IkvGoalResult(EXAM_GOAL, IkvResult.AMU_CERTIFICATE),)
    with pytest.raises(IkvOutcomeOutsideIkvGoalError) as refused:
        assess(participation(EXAM_GOAL, ikv=outcomes), CATALOGUE, today=TODAY)
    assert refused.value.field == "ikv"


# --- Composite courses -------------------------------------------------------------------------

COURSE = CompositeCourse("SAM-1", (EXAM_GOAL, NO_EXAM_GOAL, TWO_PART_GOAL))


def test_composite_course_keeps_a_result_per_goal() -> None:
    together = END  # the exams are held together at the end
    taken = (
        participation(EXAM_GOAL, attempts=(attempt(together, PASSED),)),
        participation(NO_EXAM_GOAL, judgement=Judgement.GOAL_NOT_REACHED),
    )
    result = assess_composite(COURSE, taken, CATALOGUE, today=TODAY)
    assert [a.category for a in result.assessments] == [
        ExamCategory.PASSED,
        NoExamCategory.GOAL_NOT_REACHED,
    ]
    assert result.not_taken == (TWO_PART_GOAL,)  # not examined in a goal not taken
    with pytest.raises(GoalNotInCompositeCourseError):
        assess_composite(COURSE, (participation(AUTHORITY_GOAL),), CATALOGUE, today=TODAY)
    bad = (
        attempt(END, FAILED),
        retake(END + dt.timedelta(1), FAILED),
        retake(END + dt.timedelta(2), FAILED),
    )
    with pytest.raises(SecondRetakeWithoutReasonError) as refused:
        assess_composite(COURSE, (participation(attempts=bad),), CATALOGUE, today=TODAY)
    assert refused.value.field == "participations[0].attempts[2].retake_reason"


def test_composite_course_combined_document_is_due_when_all_goals_are_final() -> None:
    passed = participation(EXAM_GOAL, attempts=(attempt(END, PASSED),))
    pending = participation(NO_EXAM_GOAL)
    assert (
        assess_composite(COURSE, (passed, pending), CATALOGUE, today=TODAY).combined_document
        is None
    )
    reached = participation(NO_EXAM_GOAL, judgement=Judgement.GOAL_REACHED)
    result = assess_composite(COURSE, (reached, passed), CATALOGUE, today=TODAY)
    assert result.combined_document == DueDocument(
        DocumentKind.COMBINED_DOCUMENT, (EXAM_GOAL, NO_EXAM_GOAL), due_by=wd(10, END), optional=True
    )


# --- Deadlines in working days -----------------------------------------------------------------


def test_certificate_after_passed_exam_is_due_within_10_working_days() -> None:
    exam_day = END - dt.timedelta(days=2)
    result = assess(participation(attempts=(attempt(exam_day, PASSED),)), CATALOGUE, today=TODAY)
    assert result.deadlines.certificate_by == wd(10, exam_day) == dt.date(2024, 3, 20)
    christmas = participation(
        periods=(Period(dt.date(2024, 12, 16), dt.date(2024, 12, 20)),),
        attempts=(attempt(dt.date(2024, 12, 20), PASSED),),
    )
    late = assess(christmas, CATALOGUE, today=dt.date(2025, 1, 31))
    assert late.deadlines.certificate_by == dt.date(2025, 1, 8)  # 25, 26 Dec and 1 Jan off


def test_other_certificates_are_due_10_working_days_after_teaching_ends() -> None:
    facts = participation(dispensation=GRANTED, judgement=Judgement.GOAL_REACHED)
    assert assess(facts, CATALOGUE, today=TODAY).deadlines.certificate_by == wd(10, END)
    ikv = participation("40080", ikv=(IkvGoalResult(EXAM_GOAL, IkvResult.AMU_CERTIFICATE),))
    assert assess(ikv, CATALOGUE, today=TODAY).deadlines.certificate_by == wd(10, END)


def test_result_notice_is_due_10_working_days_after_course_end() -> None:
    # Easter 2024: Maundy Thursday 28 March to Easter Monday 1 April.
    facts = participation(periods=(Period(dt.date(2024, 3, 18), dt.date(2024, 3, 22)),))
    result = assess(facts, CATALOGUE, today=TODAY)
    assert result.deadlines.result_notice_by == dt.date(2024, 4, 10)


def test_complaint_window_is_10_working_days_from_receiving_assessment() -> None:
    told = END + dt.timedelta(days=3)
    facts = participation(attempts=(attempt(END, FAILED, notified_on=told),))
    result = assess(facts, CATALOGUE, today=TODAY)
    assert result.deadlines.complaint_by == wd(10, told)
    assert result.attempts[0].complaint_by == wd(10, told)


def test_retake_window_is_four_weeks_from_course_end() -> None:
    facts = participation(attempts=(attempt(END, FAILED),))
    assert assess(facts, CATALOGUE, today=END).deadlines.retake_by == END + dt.timedelta(28)
    assert assess(facts, CATALOGUE, today=END).retake_right
    assert not assess(facts, CATALOGUE, today=END + dt.timedelta(29)).retake_right


# --- Input checks ------------------------------------------------------------------------------

INPUT_CHECKS = {
    "invalid-period": (participation(periods=()), "periods"),
    "invalid-period/end": (participation(periods=(Period(END, START),)), "periods[0].end"),
    "attempts-out-of-order": (
        participation(attempts=(attempt(END, FAILED), retake(START, PASSED))),
        "attempts[1].held_on",
    ),
    "attempt-in-future": (
        participation(attempts=(attempt(TODAY + dt.timedelta(1), PASSED),)),
        "attempts[0]",
    ),
    "exam-parts-mismatch": (
        participation(TWO_PART_GOAL, attempts=(attempt(END, PASSED),)),
        "attempts[0].parts",
    ),
    "skipped-exam-with-attempts": (
        participation(exam_skipped=True, attempts=(attempt(END, PASSED),)),
        "exam_skipped",
    ),
    "authority-exam-not-applicable": (
        participation(NO_EXAM_GOAL, authority_exam_passed=True),
        "authority_exam_passed",
    ),
    "teacher-judgement-on-ikv-goal": (
        participation("40080", judgement=Judgement.GOAL_REACHED),
        "judgement",
    ),
    # Dates against the course, and the register's range of dates (docs/rules.md, D1-D5).
    "result-before-course-end": (
        participation(
            periods=(Period(START, TODAY + dt.timedelta(7)),), attempts=(attempt(END, PASSED),)
        ),
        "attempts[0].parts",
    ),
    "result-before-course-end/judgement": (
        participation(
            NO_EXAM_GOAL,
            periods=(Period(START, TODAY + dt.timedelta(1)),),
            judgement=Judgement.GOAL_REACHED,
        ),
        "judgement",
    ),
    "result-before-course-end/ikv": (
        participation(
            "40080",
            periods=(Period(START, TODAY + dt.timedelta(1)),),
            ikv=(IkvGoalResult(EXAM_GOAL, IkvResult.EDUCATION_PLAN),),
        ),
        "ikv",
    ),
    "exam-before-course-start": (
        participation(attempts=(attempt(START - dt.timedelta(1), PASSED),)),
        "attempts[0].held_on",
    ),
    "exam-outside-window": (
        participation(attempts=(attempt(END + dt.timedelta(29), PASSED),)),
        "attempts[0].held_on",
    ),
    "date-out-of-range": (
        participation(periods=(Period(dt.date(1989, 12, 31), END),)),
        "periods[0].start",
    ),
    "date-out-of-range/future": (
        participation(periods=(Period(START, TODAY + dt.timedelta(367)),)),
        "periods[0].end",
    ),
    "date-out-of-range/year-9999": (
        participation(periods=(Period(START, dt.date(9999, 12, 31)),)),
        "periods[0].end",
    ),
    # IKV outcomes (I5, I6).
    "ikv-outcome-for-ikv-goal": (
        participation("40080", ikv=(IkvGoalResult("40081", IkvResult.AMU_CERTIFICATE),)),
        "ikv[0].goal",
    ),
    "duplicate-ikv-outcome": (
        participation(
            "40080",
            ikv=(
                IkvGoalResult(EXAM_GOAL, IkvResult.AMU_CERTIFICATE, exam_passed=True),
                IkvGoalResult(EXAM_GOAL, IkvResult.EDUCATION_PLAN),
            ),
        ),
        "ikv[1].goal",
    ),
}


def test_dates_at_the_edges_of_the_range_are_accepted() -> None:
    # The first day of 1990 and a course planned a year ahead (no result yet) are both fine.
    oldest = participation(periods=(Period(dt.date(1990, 1, 1), dt.date(1990, 1, 5)),))
    assert assess(oldest, CATALOGUE, today=TODAY).category is None
    planned = participation(periods=(Period(TODAY, TODAY + dt.timedelta(366)),))
    assert assess(planned, CATALOGUE, today=TODAY).category is None


def test_an_ordinary_exam_on_the_last_day_of_the_window_and_a_drop_out_before_the_end() -> None:
    last = participation(attempts=(attempt(END + dt.timedelta(28), PASSED),))
    assert assess(last, CATALOGUE, today=TODAY).category is ExamCategory.PASSED
    running = participation(periods=(Period(START, TODAY + dt.timedelta(7)),), dropped_out=True)
    assert assess(running, CATALOGUE, today=TODAY).category is ExamCategory.DROPPED_OUT_OR_ABSENT


@pytest.mark.parametrize(("case", "rule"), [(case, case.split("/")[0]) for case in INPUT_CHECKS])
def test_input_checks_are_refused_with_rule_and_field(case: str, rule: str) -> None:
    facts, field = INPUT_CHECKS[case]
    with pytest.raises(RuleViolation) as refused:
        assess(facts, CATALOGUE, today=TODAY)
    assert (refused.value.rule, refused.value.field) == (rule, field)
