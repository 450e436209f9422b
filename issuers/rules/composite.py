"""Composite courses (sammensatte forløb): one result per goal, and the combined document.

Each goal taken keeps its own participation and result, even when the exams are held together
at the end (001); a participant is examined only in the goals they took part in. The school may
add a combined document showing which goals were completed together (003).
"""

from __future__ import annotations

import datetime as dt

from issuers.rules.assessment import assess
from issuers.rules.errors import (
    DuplicateGoalInCompositeCourseError,
    GoalNotInCompositeCourseError,
    RuleViolation,
)
from issuers.rules.facts import Catalogue, CompositeCourse, Participation
from issuers.rules.outcomes import Assessment, CompositeAssessment, DocumentKind, DueDocument
from issuers.workdays import DANISH_WORKDAYS, WorkCalendar


def assess_composite(
    course: CompositeCourse,
    participations: tuple[Participation, ...],
    catalogue: Catalogue,
    *,
    today: dt.date,
    calendar: WorkCalendar = DANISH_WORKDAYS,
) -> CompositeAssessment:
    """Assess every goal a participant took in a composite course, and the combined document.

    The combined document is due (optional, "may") once every goal taken has its final result
    and at least one earned a certificate; it lists the certified goals in course order and is
    due with the last of their certificates.

    Raises ``GoalNotInCompositeCourseError`` or ``DuplicateGoalInCompositeCourseError`` for a
    participation that does not fit the course, and any ``RuleViolation`` of :func:`assess`
    with its field prefixed by ``participations[i].``.
    """
    seen: set[str] = set()
    for index, participation in enumerate(participations):
        if participation.goal not in course.goals:
            raise GoalNotInCompositeCourseError(
                f"goal {participation.goal} is not part of course {course.reference}",
                field=f"participations[{index}].goal",
            )
        if participation.goal in seen:
            raise DuplicateGoalInCompositeCourseError(
                f"goal {participation.goal} appears twice", field=f"participations[{index}].goal"
            )
        seen.add(participation.goal)
    assessments = tuple(
        _assess_one(index, participation, catalogue, today=today, calendar=calendar)
        for index, participation in enumerate(participations)
    )
    return CompositeAssessment(
        course=course.reference,
        assessments=assessments,
        not_taken=tuple(goal for goal in course.goals if goal not in seen),
        combined_document=_combined_document(course, assessments),
    )


def _assess_one(
    index: int,
    participation: Participation,
    catalogue: Catalogue,
    *,
    today: dt.date,
    calendar: WorkCalendar,
) -> Assessment:
    try:
        return assess(participation, catalogue, today=today, calendar=calendar)
    except RuleViolation as violation:
        raise type(violation)(
            str(violation), field=f"participations[{index}].{violation.field}"
        ) from violation


def _combined_document(
    course: CompositeCourse, assessments: tuple[Assessment, ...]
) -> DueDocument | None:
    if not assessments or not all(assessment.final for assessment in assessments):
        return None
    certified = {a.goal: a for a in assessments if a.certificate is not None}
    if not certified:
        return None
    dues = [a.deadlines.certificate_by for a in certified.values() if a.deadlines.certificate_by]
    return DueDocument(
        DocumentKind.COMBINED_DOCUMENT,
        tuple(goal for goal in course.goals if goal in certified),
        due_by=max(dues) if dues else None,
        optional=True,
    )
