"""The AMU rules engine: pure functions from a course participation to its result and documents.

No database, no clock, no I/O: today's date, the goal catalogue and the working-day calendar are
arguments. Usage::

    from issuers.rules import Attempt, Participation, Period, PartResult, assess

    participation = Participation(
        goal="48596", team="H-101", periods=(Period(dt.date(2024, 3, 4), dt.date(2024, 3, 6)),),
        attempts=(Attempt(dt.date(2024, 3, 6), (PartResult.PASSED,)),),
    )
    assessment = assess(participation, catalogue, today=dt.date(2024, 3, 7))
    assessment.report_value          # "1": Bevis opnået ved bestået prøve
    assessment.certificate           # Annotations(exam_passed=True, dispensation=False, ikv=False)
    assessment.deadlines.certificate_by  # 2024-03-20, 10 working days after the exam

Every refusal is a :class:`RuleViolation` with a stable ``rule`` code and the offending ``field``.
The decision table with its sources is ``docs/rules.md``.
"""

from issuers.rules.assessment import assess, result_group
from issuers.rules.composite import assess_composite
from issuers.rules.errors import (
    AttemptAfterPassError,
    AttemptDespiteDispensationError,
    AttemptInFutureError,
    AttemptsOutOfOrderError,
    AuthorityExamNotApplicableError,
    DispensationAfterShorteningError,
    DispensationWithoutApplicationError,
    DispensationWithoutExamError,
    DispensationWithoutReplacingAssessmentError,
    DuplicateGoalInCompositeCourseError,
    ExamPartsMismatchError,
    ExamResultWithoutExamError,
    GoalNotInCompositeCourseError,
    IkvOutcomeOutsideIkvGoalError,
    InvalidPeriodError,
    JudgementOnIkvGoalError,
    ResultForPostponedExamError,
    RetakeOutsideWindowError,
    RetakeWithoutComplaintDecisionError,
    RetakeWithoutFailedExamError,
    RuleViolation,
    SecondRetakeWithoutReasonError,
    SkippedExamWithAttemptsError,
    UnknownCategoryError,
    UnknownGoalInCatalogueError,
    VocationalElectiveError,
)
from issuers.rules.facts import (
    IKV_GOALS,
    Attempt,
    AttemptKind,
    Catalogue,
    CatalogueGoal,
    CompositeCourse,
    Dispensation,
    Enrolment,
    ExamAttachment,
    IkvGoalResult,
    IkvResult,
    Judgement,
    Participation,
    PartResult,
    Period,
    SpecialCondition,
)
from issuers.rules.outcomes import (
    NOT_RELEVANT,
    Assessment,
    AttemptOutcome,
    AttemptReport,
    Category,
    CompositeAssessment,
    Deadlines,
    DocumentKind,
    DueDocument,
    ExamCategory,
    FundingMark,
    NoExamCategory,
    ResultGroup,
    category_from_report,
)

__all__ = [
    "IKV_GOALS",
    "NOT_RELEVANT",
    "Assessment",
    "Attempt",
    "AttemptAfterPassError",
    "AttemptDespiteDispensationError",
    "AttemptInFutureError",
    "AttemptKind",
    "AttemptOutcome",
    "AttemptReport",
    "AttemptsOutOfOrderError",
    "AuthorityExamNotApplicableError",
    "Catalogue",
    "CatalogueGoal",
    "Category",
    "CompositeAssessment",
    "CompositeCourse",
    "Deadlines",
    "Dispensation",
    "DispensationAfterShorteningError",
    "DispensationWithoutApplicationError",
    "DispensationWithoutExamError",
    "DispensationWithoutReplacingAssessmentError",
    "DocumentKind",
    "DueDocument",
    "DuplicateGoalInCompositeCourseError",
    "Enrolment",
    "ExamAttachment",
    "ExamCategory",
    "ExamPartsMismatchError",
    "ExamResultWithoutExamError",
    "FundingMark",
    "GoalNotInCompositeCourseError",
    "IkvGoalResult",
    "IkvOutcomeOutsideIkvGoalError",
    "IkvResult",
    "InvalidPeriodError",
    "Judgement",
    "JudgementOnIkvGoalError",
    "NoExamCategory",
    "PartResult",
    "Participation",
    "Period",
    "ResultForPostponedExamError",
    "ResultGroup",
    "RetakeOutsideWindowError",
    "RetakeWithoutComplaintDecisionError",
    "RetakeWithoutFailedExamError",
    "RuleViolation",
    "SecondRetakeWithoutReasonError",
    "SkippedExamWithAttemptsError",
    "SpecialCondition",
    "UnknownCategoryError",
    "UnknownGoalInCatalogueError",
    "VocationalElectiveError",
    "assess",
    "assess_composite",
    "category_from_report",
    "result_group",
]
