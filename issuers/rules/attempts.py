"""Exam attempts: checking retakes (omprøver) and describing every attempt for the report.

Attempts are reviewed in the order they were held and each report depends only on that attempt
and the ones before it, so adding a retake never changes what was said about an earlier attempt
(002 §5: "Man må ikke ... lade dette resultat overskrive resultatet af en tidligere prøve").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from issuers.rules.errors import (
    AttemptAfterPassError,
    AttemptInFutureError,
    AttemptsOutOfOrderError,
    ExamOutsideWindowError,
    ExamPartsMismatchError,
    ResultForPostponedExamError,
    RetakeOutsideWindowError,
    RetakeWithoutComplaintDecisionError,
    RetakeWithoutFailedExamError,
    SecondRetakeWithoutReasonError,
)
from issuers.rules.facts import Attempt, AttemptKind, PartResult
from issuers.rules.outcomes import AttemptOutcome, AttemptReport, ExamCategory, FundingMark
from issuers.workdays import WorkCalendar

RETAKE_WINDOW = dt.timedelta(weeks=4)
"""A retake is held within four weeks of the course end (001 "inden for fire uger")."""

WORKING_DAYS_TO_COMPLAIN = 10
"""A complaint is filed within 10 working days of receiving the assessment (001)."""

_CATEGORY = {
    AttemptOutcome.PASSED: ExamCategory.PASSED,
    AttemptOutcome.FAILED: ExamCategory.FAILED,
    AttemptOutcome.ABSENT: ExamCategory.DROPPED_OUT_OR_ABSENT,
}


NOT_PASSED = frozenset({AttemptOutcome.FAILED, AttemptOutcome.ABSENT})
"""Outcomes after which a retake is allowed (001: "Deltagere, der ikke har bestået prøven")."""


@dataclass(frozen=True, slots=True)
class AttemptHistory:
    """The reviewed attempts of one participation.

    ``decisive`` is the latest attempt that is not a retake: the participation's own exam.
    ``passed`` is the first passed attempt, if any (it earns the certificate).
    """

    reports: tuple[AttemptReport, ...]
    decisive: AttemptReport | None
    passed: AttemptReport | None
    retakes_held: int
    retake_by: dt.date


def outcome_of(attempt: Attempt) -> AttemptOutcome:
    """The outcome of an attempt as a whole: every part must be sat and passed (002 §6.2)."""
    if attempt.postponed:
        return AttemptOutcome.POSTPONED
    if PartResult.ABSENT in attempt.parts:
        return AttemptOutcome.ABSENT
    if all(part is PartResult.PASSED for part in attempt.parts):
        return AttemptOutcome.PASSED
    return AttemptOutcome.FAILED


def review_attempts(
    attempts: tuple[Attempt, ...],
    *,
    exam_parts: int,
    course_end: dt.date,
    today: dt.date,
    calendar: WorkCalendar,
) -> AttemptHistory:
    """Check the attempts against the retake rules and describe each one.

    Raises the ``RuleViolation`` subclass of the first broken rule: ``AttemptsOutOfOrderError``,
    ``ResultForPostponedExamError``, ``ExamPartsMismatchError``, ``AttemptInFutureError``,
    ``AttemptAfterPassError``, ``RetakeWithoutFailedExamError``,
    ``SecondRetakeWithoutReasonError``, ``RetakeWithoutComplaintDecisionError``,
    ``RetakeOutsideWindowError`` or ``ExamOutsideWindowError``.
    """
    reports: list[AttemptReport] = []
    decisive: AttemptReport | None = None
    passed: AttemptReport | None = None
    retakes_held = 0
    window_anchor = course_end
    for index, attempt in enumerate(attempts):
        path = f"attempts[{index}]"
        if reports and attempt.held_on < reports[-1].held_on:
            raise AttemptsOutOfOrderError(
                "attempts must be listed in the order they were held", field=f"{path}.held_on"
            )
        _check_shape(attempt, path, exam_parts=exam_parts, today=today)
        if passed is not None:
            raise AttemptAfterPassError("an earlier attempt was already passed", field=path)
        if attempt.kind is AttemptKind.RETAKE and not attempt.postponed:
            if not any(r.outcome in NOT_PASSED for r in reports):
                raise RetakeWithoutFailedExamError(
                    "a retake needs an earlier exam that was not passed", field=f"{path}.kind"
                )
            retakes_held += 1
            _check_retake_permission(attempt, path, number=retakes_held)
            if attempt.held_on > window_anchor + RETAKE_WINDOW:
                raise RetakeOutsideWindowError(
                    f"a retake must be held by {window_anchor + RETAKE_WINDOW}",
                    field=f"{path}.held_on",
                )
        if (
            attempt.kind is AttemptKind.ORDINARY
            and not attempt.postponed
            and attempt.held_on > course_end + RETAKE_WINDOW
            and not any(r.outcome is AttemptOutcome.POSTPONED for r in reports)
        ):
            # The exam closes the course: one held later was postponed first, rescheduled, or
            # is a retake, and each of those says so.
            raise ExamOutsideWindowError(
                f"an ordinary exam must be held by {course_end + RETAKE_WINDOW}; "
                "report a later one as rescheduled or as a retake",
                field=f"{path}.held_on",
            )
        if attempt.kind is AttemptKind.RESCHEDULED and not attempt.postponed:
            # The rescheduled exam keeps the retake right, so the window cannot close before it.
            window_anchor = max(window_anchor, attempt.held_on)
        report = _report(attempt, index, calendar)
        reports.append(report)
        if attempt.kind is not AttemptKind.RETAKE:
            decisive = report
        if report.outcome is AttemptOutcome.PASSED:
            passed = report
    return AttemptHistory(
        reports=tuple(reports),
        decisive=decisive,
        passed=passed,
        retakes_held=retakes_held,
        retake_by=window_anchor + RETAKE_WINDOW,
    )


def _check_shape(attempt: Attempt, path: str, *, exam_parts: int, today: dt.date) -> None:
    if attempt.postponed:
        if attempt.parts:
            raise ResultForPostponedExamError(
                "a postponed exam has not been held and has no result", field=f"{path}.parts"
            )
        return
    if len(attempt.parts) != exam_parts:
        raise ExamPartsMismatchError(
            f"the exam has {exam_parts} part(s); give one result for each", field=f"{path}.parts"
        )
    if attempt.held_on > today:
        raise AttemptInFutureError("an attempt with a result cannot lie in the future", field=path)


def _check_retake_permission(attempt: Attempt, path: str, *, number: int) -> None:
    # 001 "Omprøver": one retake by right, one more for special reasons, more only on complaint.
    if attempt.complaint_decision:
        return
    if number == 2 and not attempt.retake_reason:
        raise SecondRetakeWithoutReasonError(
            "a second retake needs a recorded special reason", field=f"{path}.retake_reason"
        )
    if number >= 3:
        raise RetakeWithoutComplaintDecisionError(
            "a third or later retake needs a complaint decision",
            field=f"{path}.complaint_decision",
        )


def _report(attempt: Attempt, index: int, calendar: WorkCalendar) -> AttemptReport:
    outcome = outcome_of(attempt)
    reported_as_retake = attempt.kind is not AttemptKind.ORDINARY
    sat = not attempt.postponed and any(part is not PartResult.ABSENT for part in attempt.parts)
    marks = frozenset(FundingMark) if reported_as_retake and sat else frozenset[FundingMark]()
    complaint_by = None
    if not attempt.postponed:
        received = attempt.notified_on or attempt.held_on
        complaint_by = calendar.add_working_days(received, WORKING_DAYS_TO_COMPLAIN)
    return AttemptReport(
        index=index,
        held_on=attempt.held_on,
        kind=attempt.kind,
        outcome=outcome,
        category=_CATEGORY.get(outcome),
        reported_as_retake=reported_as_retake,
        is_retake=attempt.kind is AttemptKind.RETAKE,
        funding_marks=marks,
        complaint_by=complaint_by,
    )
