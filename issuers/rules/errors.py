"""Refusals of the AMU rules engine: one root, :class:`RuleViolation`, and a type per rule.

Every refusal carries a stable machine ``rule`` code (the HTTP edge answers with it as the
problem type) and the offending input ``field`` as a path into the participation
(``attempts[2].held_on``). Messages never contain a CPR number: the engine never sees one.
"""

from __future__ import annotations

from typing import ClassVar

from issuers.errors import IssuingError, UnknownGoalError


class RuleViolation(IssuingError):  # noqa: N818 -- the name the rest of the product uses
    """The facts break an AMU rule; the participation cannot be assessed as given."""

    rule: ClassVar[str] = "rule-violation"

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message, field=field)
        self.field: str = field


# Dispensation (fritagelse for prøven), 001 "Særlige prøvevilkår og dispensation".


class DispensationAfterShorteningError(RuleViolation):
    """Collective shortening (§ 17 stk. 8) rules out a dispensation from the exam."""

    rule = "dispensation-after-collective-shortening"


class DispensationWithoutApplicationError(RuleViolation):
    """A dispensation is granted only on the participant's application."""

    rule = "dispensation-without-application"


class DispensationWithoutReplacingAssessmentError(RuleViolation):
    """A dispensation needs the school's judgement that its assessment can replace the exam."""

    rule = "dispensation-without-replacing-assessment"


class DispensationWithoutExamError(RuleViolation):
    """There is no attached exam to be exempted from (result group 2)."""

    rule = "dispensation-without-attached-exam"


class AttemptDespiteDispensationError(RuleViolation):
    """An exam attempt is recorded for a participant exempted from the exam."""

    rule = "attempt-despite-dispensation"


# Attempts, retakes (omprøver) and rescheduled exams, 001 "Omprøver", 002 §5 and §6.2.


class SecondRetakeWithoutReasonError(RuleViolation):
    """The second retake needs a recorded special reason (or a complaint decision)."""

    rule = "second-retake-without-reason"


class RetakeWithoutComplaintDecisionError(RuleViolation):
    """A third or later retake is possible only after a complaint decision."""

    rule = "retake-without-complaint-decision"


class RetakeOutsideWindowError(RuleViolation):
    """A retake is held more than four weeks after the course ended."""

    rule = "retake-outside-window"


class RetakeWithoutFailedExamError(RuleViolation):
    """A retake needs an earlier attempt that was not passed."""

    rule = "retake-without-failed-exam"


class AttemptAfterPassError(RuleViolation):
    """An exam attempt follows an attempt that was already passed."""

    rule = "attempt-after-pass"


class ResultForPostponedExamError(RuleViolation):
    """A postponed exam has not been held, so it cannot have a result."""

    rule = "result-for-postponed-exam"


class AttemptsOutOfOrderError(RuleViolation):
    """Attempts must be given in the order they were held; none may be rewritten."""

    rule = "attempts-out-of-order"


class AttemptInFutureError(RuleViolation):
    """An attempt with a result is dated after today."""

    rule = "attempt-in-future"


class ExamPartsMismatchError(RuleViolation):
    """An attempt has a different number of exam parts than the goal's exam."""

    rule = "exam-parts-mismatch"


class ExamResultWithoutExamError(RuleViolation):
    """An exam attempt is recorded for a participation in result group 2."""

    rule = "exam-result-without-attached-exam"


class SkippedExamWithAttemptsError(RuleViolation):
    """The exam is recorded both as skipped (emergency teaching) and as attempted."""

    rule = "skipped-exam-with-attempts"


class ResultBeforeCourseEndError(RuleViolation):
    """A result, judgement or IKV outcome is recorded for a course that ends after today."""

    rule = "result-before-course-end"


class ExamBeforeCourseStartError(RuleViolation):
    """An exam attempt is dated before the course starts."""

    rule = "exam-before-course-start"


class ExamOutsideWindowError(RuleViolation):
    """An ordinary exam is held more than four weeks after the course ended."""

    rule = "exam-outside-window"


class DateOutOfRangeError(RuleViolation):
    """A date lies before 1990 or more than a year after today (docs/rules.md, "Dates")."""

    rule = "date-out-of-range"


# Who the participant is and which goal they take.


class VocationalElectiveError(RuleViolation):
    """A vocational-school pupil taking the goal as an elective gets no AMU certificate (001)."""

    rule = "vocational-elective-no-amu-certificate"


class UnknownGoalInCatalogueError(RuleViolation, UnknownGoalError):
    """The goal number is not in the catalogue passed to the engine."""

    rule = "unknown-goal"


class AuthorityExamNotApplicableError(RuleViolation):
    """An other-authority exam result is given for a course that has none or uses the UVM exam."""

    rule = "authority-exam-not-applicable"


class IkvOutcomeOutsideIkvGoalError(RuleViolation):
    """An IKV outcome is given for a goal other than 40080/40081."""

    rule = "ikv-outcome-outside-ikv-goal"


class JudgementOnIkvGoalError(RuleViolation):
    """40080/40081 are judged by the IKV outcome, not by a teacher's judgement."""

    rule = "teacher-judgement-on-ikv-goal"


class IkvOutcomeForIkvGoalError(RuleViolation):
    """An IKV outcome is given for 40080/40081 themselves: an IKV assesses other goals."""

    rule = "ikv-outcome-for-ikv-goal"


class DuplicateIkvOutcomeError(RuleViolation):
    """An IKV gives two outcomes for one goal."""

    rule = "duplicate-ikv-outcome"


class InvalidPeriodError(RuleViolation):
    """A participation has no teaching period, or a period ends before it starts."""

    rule = "invalid-period"


class UnknownCategoryError(RuleViolation):
    """A reported category number does not exist in its result group."""

    rule = "unknown-category"


# Composite courses (sammensatte forløb), 001 and 003.


class GoalNotInCompositeCourseError(RuleViolation):
    """A participation's goal is not one of the composite course's goals."""

    rule = "goal-not-in-composite-course"


class DuplicateGoalInCompositeCourseError(RuleViolation):
    """A composite course has two participations for the same goal."""

    rule = "duplicate-goal-in-composite-course"
