"""Assessing one course participation: result group and category, certificate, documents, deadlines.

The engine is pure: today's date, the goal catalogue and the working-day calendar are arguments.
"""

from __future__ import annotations

import datetime as dt

from formats.record import Annotations
from issuers.rules.attempts import NOT_PASSED, AttemptHistory, review_attempts
from issuers.rules.dates import check_dates
from issuers.rules.errors import (
    AttemptDespiteDispensationError,
    AuthorityExamNotApplicableError,
    DispensationAfterShorteningError,
    DispensationWithoutApplicationError,
    DispensationWithoutExamError,
    DispensationWithoutReplacingAssessmentError,
    DuplicateIkvOutcomeError,
    ExamResultWithoutExamError,
    IkvOutcomeForIkvGoalError,
    IkvOutcomeOutsideIkvGoalError,
    InvalidPeriodError,
    JudgementOnIkvGoalError,
    SkippedExamWithAttemptsError,
    UnknownGoalInCatalogueError,
    VocationalElectiveError,
)
from issuers.rules.facts import (
    IKV_GOALS,
    Catalogue,
    CatalogueGoal,
    Enrolment,
    IkvResult,
    Judgement,
    Participation,
)
from issuers.rules.outcomes import (
    Assessment,
    AttemptOutcome,
    Category,
    Deadlines,
    DocumentKind,
    DueDocument,
    ExamCategory,
    NoExamCategory,
    ResultGroup,
)
from issuers.workdays import DANISH_WORKDAYS, WorkCalendar

WORKING_DAYS_TO_ISSUE = 10
"""A certificate is issued within 10 working days of the exam or end of teaching/IKV (001)."""

WORKING_DAYS_TO_NOTIFY = 10
"""Results are given within 10 working days of the course end (001)."""

_IKV_OUTCOME_DOCUMENTS = {
    IkvResult.COMPETENCE_CERTIFICATE: DocumentKind.COMPETENCE_CERTIFICATE,
    IkvResult.EDUCATION_PLAN: DocumentKind.EDUCATION_PLAN,
}


def result_group(participation: Participation, goal: CatalogueGoal) -> ResultGroup:
    """The result group: 1 if a UVM exam was attached to the goal on the course start date.

    IKV goals (40080/40081) and drivers' EU modules are always group 2 (002 §3.1, §4).
    """
    if participation.goal in IKV_GOALS or participation.enrolment is Enrolment.DRIVERS_EU_MODULE:
        return ResultGroup.NO_EXAM
    if goal.exam_attached_on(participation.start):
        return ResultGroup.EXAM
    return ResultGroup.NO_EXAM


def assess(
    participation: Participation,
    catalogue: Catalogue,
    *,
    today: dt.date,
    calendar: WorkCalendar = DANISH_WORKDAYS,
) -> Assessment:
    """Apply the AMU rules to one participation.

    Returns its result group and category (``None``: no final result yet, "Ej relevant"), the
    annotations of its AMU certificate if one is issued, every document due, every exam attempt
    as the quarterly report sees it, and the deadlines in working days.

    Raises a ``RuleViolation`` subclass naming the rule and the offending field when the facts
    break a rule, e.g. ``DispensationAfterShorteningError``, ``RetakeOutsideWindowError``,
    ``VocationalElectiveError``, ``UnknownGoalInCatalogueError``, ``DateOutOfRangeError`` or
    ``ResultBeforeCourseEndError``.
    """
    _check_periods(participation)
    check_dates(participation, today=today)
    if participation.enrolment is Enrolment.VOCATIONAL_ELECTIVE:
        raise VocationalElectiveError(
            "a vocational-school pupil taking the goal as an elective follows the EUD rules "
            "and gets no AMU certificate",
            field="enrolment",
        )
    goal = catalogue.get(participation.goal)
    if goal is None:
        raise UnknownGoalInCatalogueError(
            f"goal {participation.goal} is not in the catalogue", field="goal"
        )
    if participation.ikv is not None and participation.goal not in IKV_GOALS:
        raise IkvOutcomeOutsideIkvGoalError(
            "IKV outcomes belong on 40080 or 40081 only", field="ikv"
        )
    _check_ikv_outcomes(participation)
    if result_group(participation, goal) is ResultGroup.EXAM:
        return _assess_exam(participation, goal, today=today, calendar=calendar)
    _refuse_exam_facts(participation)
    if participation.goal in IKV_GOALS:
        return _assess_ikv(participation, calendar=calendar)
    return _assess_no_exam(participation, goal, calendar=calendar)


def _check_ikv_outcomes(participation: Participation) -> None:
    seen: set[str] = set()
    for index, outcome in enumerate(participation.ikv or ()):
        if outcome.goal in IKV_GOALS:
            raise IkvOutcomeForIkvGoalError(
                "an IKV assesses other goals, not 40080/40081 themselves",
                field=f"ikv[{index}].goal",
            )
        if outcome.goal in seen:
            raise DuplicateIkvOutcomeError(
                "an IKV gives one outcome per goal", field=f"ikv[{index}].goal"
            )
        seen.add(outcome.goal)


def _check_periods(participation: Participation) -> None:
    if not participation.periods:
        raise InvalidPeriodError("a participation needs at least one period", field="periods")
    for index, period in enumerate(participation.periods):
        if period.end < period.start:
            raise InvalidPeriodError(
                "a period cannot end before it starts", field=f"periods[{index}].end"
            )


def _assess_exam(
    participation: Participation, goal: CatalogueGoal, *, today: dt.date, calendar: WorkCalendar
) -> Assessment:
    _check_dispensation(participation)
    if participation.authority_exam_passed is not None:
        raise AuthorityExamNotApplicableError(
            "the course uses the UVM exam; report its attempts instead",
            field="authority_exam_passed",
        )
    if participation.exam_skipped and participation.attempts:
        raise SkippedExamWithAttemptsError(
            "an exam cannot be both skipped and attempted", field="exam_skipped"
        )
    end = participation.end
    history = review_attempts(
        participation.attempts,
        exam_parts=goal.exam_parts,
        course_end=end,
        today=today,
        calendar=calendar,
    )
    category = _exam_category(participation, history)
    certificate: Annotations | None = None
    certificate_by: dt.date | None = None
    if history.passed is not None:
        certificate = Annotations(exam_passed=True, dispensation=False, ikv=False)
        certificate_by = calendar.add_working_days(history.passed.held_on, WORKING_DAYS_TO_ISSUE)
    elif category is ExamCategory.DISPENSATION_GOAL_REACHED:
        certificate = Annotations(exam_passed=False, dispensation=True, ikv=False)
        certificate_by = calendar.add_working_days(end, WORKING_DAYS_TO_ISSUE)
    held = [report for report in history.reports if report.complaint_by is not None]
    decisive = history.decisive
    retake_right = (
        history.passed is None
        and decisive is not None
        and decisive.outcome in NOT_PASSED
        and history.retakes_held == 0
        and today <= history.retake_by
    )
    return Assessment(
        goal=participation.goal,
        group=ResultGroup.EXAM,
        category=category,
        certificate=certificate,
        documents=_documents(participation.goal, category, certificate, certificate_by),
        attempts=history.reports,
        deadlines=Deadlines(
            certificate_by=certificate_by,
            result_notice_by=calendar.add_working_days(end, WORKING_DAYS_TO_NOTIFY),
            complaint_by=held[-1].complaint_by if held else None,
            retake_by=history.retake_by,
        ),
        retake_right=retake_right,
    )


def _check_dispensation(participation: Participation) -> None:
    dispensation = participation.dispensation
    if dispensation is None:
        return
    if participation.collective_shortening:
        raise DispensationAfterShorteningError(
            "participants whose course was shortened collectively (§ 17 stk. 8) cannot be "
            "exempted from the exam",
            field="dispensation",
        )
    if not dispensation.applied_by_participant:
        raise DispensationWithoutApplicationError(
            "a dispensation is granted only on the participant's application",
            field="dispensation.applied_by_participant",
        )
    if not dispensation.assessment_replaces_exam:
        raise DispensationWithoutReplacingAssessmentError(
            "a dispensation needs the school's judgement that its assessment can replace the exam",
            field="dispensation.assessment_replaces_exam",
        )
    if participation.attempts:
        raise AttemptDespiteDispensationError(
            "a participant exempted from the exam has no exam attempts", field="attempts"
        )


def _exam_category(participation: Participation, history: AttemptHistory) -> ExamCategory | None:
    if participation.dispensation is not None:
        if participation.judgement is Judgement.GOAL_REACHED:
            return ExamCategory.DISPENSATION_GOAL_REACHED
        if participation.judgement is Judgement.GOAL_NOT_REACHED:
            return ExamCategory.DISPENSATION_GOAL_NOT_REACHED
        return ExamCategory.DROPPED_OUT_OR_ABSENT if participation.dropped_out else None
    decisive = history.decisive
    if decisive is None or decisive.outcome is AttemptOutcome.POSTPONED:
        # No exam held yet, or postponed: the course has not ended (002 §6.2).
        if participation.dropped_out or participation.exam_skipped:
            return ExamCategory.DROPPED_OUT_OR_ABSENT
        return None
    return decisive.category


def _refuse_exam_facts(participation: Participation) -> None:
    if participation.dispensation is not None:
        raise DispensationWithoutExamError(
            "no exam was attached on the start date, so there is nothing to exempt from",
            field="dispensation",
        )
    if participation.attempts or participation.exam_skipped:
        raise ExamResultWithoutExamError(
            "no UVM exam was attached on the start date (result group 2)",
            field="attempts" if participation.attempts else "exam_skipped",
        )


def _assess_no_exam(
    participation: Participation, goal: CatalogueGoal, *, calendar: WorkCalendar
) -> Assessment:
    if participation.authority_exam_passed is not None and not goal.authority_certificate:
        raise AuthorityExamNotApplicableError(
            f"goal {goal.number} is not a certificate course with another authority's exam",
            field="authority_exam_passed",
        )
    category: NoExamCategory | None = None
    if participation.dropped_out:
        category = NoExamCategory.DROPPED_OUT
    elif participation.authority_exam_passed is not None:
        # 002 §6.3: the other authority's certificate obtained counts as "Bevis opnået".
        reached = participation.authority_exam_passed
        category = NoExamCategory.GOAL_REACHED if reached else NoExamCategory.GOAL_NOT_REACHED
    elif participation.judgement is Judgement.GOAL_REACHED:
        category = NoExamCategory.GOAL_REACHED
    elif participation.judgement is Judgement.GOAL_NOT_REACHED:
        category = NoExamCategory.GOAL_NOT_REACHED
    end = participation.end
    certificate: Annotations | None = None
    certificate_by: dt.date | None = None
    if category is NoExamCategory.GOAL_REACHED:
        certificate = Annotations(exam_passed=None, dispensation=False, ikv=False)
        certificate_by = calendar.add_working_days(end, WORKING_DAYS_TO_ISSUE)
    return Assessment(
        goal=participation.goal,
        group=ResultGroup.NO_EXAM,
        category=category,
        certificate=certificate,
        documents=_documents(participation.goal, category, certificate, certificate_by),
        attempts=(),
        deadlines=Deadlines(
            certificate_by=certificate_by,
            result_notice_by=calendar.add_working_days(end, WORKING_DAYS_TO_NOTIFY),
            complaint_by=None,
            retake_by=None,
        ),
        retake_right=False,
    )


def _assess_ikv(participation: Participation, *, calendar: WorkCalendar) -> Assessment:
    if participation.judgement is not None:
        raise JudgementOnIkvGoalError(
            "40080/40081 are judged by the IKV outcome per goal", field="judgement"
        )
    if participation.authority_exam_passed is not None:
        raise AuthorityExamNotApplicableError(
            "an IKV has no other-authority exam", field="authority_exam_passed"
        )
    end = participation.end
    issue_by = calendar.add_working_days(end, WORKING_DAYS_TO_ISSUE)
    outcomes = participation.ikv
    category: NoExamCategory | None = None
    certificate: Annotations | None = None
    documents: list[DueDocument] = []
    if participation.dropped_out:
        # 002 §4: category 4, and no certificate for the activity after dropping out.
        category = NoExamCategory.DROPPED_OUT
    elif outcomes is not None:
        demonstrated = [o for o in outcomes if o.result is IkvResult.AMU_CERTIFICATE]
        category = NoExamCategory.GOAL_REACHED if demonstrated else NoExamCategory.GOAL_NOT_REACHED
        certificate = Annotations(exam_passed=None, dispensation=False, ikv=True)
        documents.append(
            DueDocument(
                DocumentKind.IKV_ACTIVITY_CERTIFICATE, (participation.goal,), certificate, issue_by
            )
        )
        for outcome in outcomes:
            if outcome.result is IkvResult.AMU_CERTIFICATE:
                annotations = Annotations(
                    exam_passed=outcome.exam_passed, dispensation=False, ikv=True
                )
                documents.append(
                    DueDocument(
                        DocumentKind.AMU_CERTIFICATE, (outcome.goal,), annotations, issue_by
                    )
                )
            else:
                documents.append(
                    DueDocument(_IKV_OUTCOME_DOCUMENTS[outcome.result], (outcome.goal,))
                )
    return Assessment(
        goal=participation.goal,
        group=ResultGroup.NO_EXAM,
        category=category,
        certificate=certificate,
        documents=tuple(documents),
        attempts=(),
        deadlines=Deadlines(
            certificate_by=issue_by if certificate else None,
            result_notice_by=calendar.add_working_days(end, WORKING_DAYS_TO_NOTIFY),
            complaint_by=None,
            retake_by=None,
        ),
        retake_right=False,
    )


def _documents(
    goal: str,
    category: Category | None,
    certificate: Annotations | None,
    certificate_by: dt.date | None,
) -> tuple[DueDocument, ...]:
    if certificate is not None:
        return (DueDocument(DocumentKind.AMU_CERTIFICATE, (goal,), certificate, certificate_by),)
    if category is not None:
        # 001: the school may issue a document saying when and which parts were attended.
        return (DueDocument(DocumentKind.PARTICIPATION_DOCUMENT, (goal,), optional=True),)
    return ()
