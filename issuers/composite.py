"""Composite courses (sammensatte forløb) over the school API.

A school declares which of its teams run as one course, each team one goal of it; the course only
groups them. Every goal keeps its own participations, results and certificates, issued as for any
team (``issuers.issuing``); this module shows them per participant, as the rules engine's
``assess_composite`` sees them, with the goals not taken and whether the optional combined
document is due. The combined document is not an AMU certificate and is never registered::

    courses = CompositeCourses(pool, clock)
    declared = await courses.declare(write, request)  # write: the edge's IdempotentRequest
    view = await courses.view(school_id, "SF-2026-11")
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

import asyncpg

from issuers import idempotency, other_documents, participations, rules, school_store
from issuers.errors import ConflictError, IssuingError, NotFoundIssuingError
from issuers.idempotency import Answered, IdempotentRequest
from issuers.requests import (
    CompositeCourseIn,
    CompositeCourseOut,
    CompositeCourseView,
    CompositeGoalOut,
    CompositeParticipantOut,
    CompositeResultOut,
)
from registry import certificate_store
from registry.clock import Clock, to_the_second, today_in_denmark
from registry.db import Connection


class UnknownTeamError(IssuingError):
    """A team id that is not one of this school's teams (unknown, or another school's)."""


class CompositeCourses:
    """Declares a school's composite courses and shows them as the rules engine assesses them."""

    def __init__(self, pool: asyncpg.Pool, clock: Clock) -> None:
        self._pool = pool
        self._clock = clock

    async def declare(
        self, write: IdempotentRequest, request: CompositeCourseIn
    ) -> Answered[CompositeCourseOut]:
        """Store a composite course of the school's teams, once per idempotency key.

        Raises UnknownTeamError naming ``teams[i]`` for a team that is not this school's,
        DuplicateGoalInCompositeCourseError naming ``teams[i]`` for a goal given twice,
        ConflictError when the reference is taken, IdempotencyConflictError for a reused key.
        """

        async def work(conn: Connection) -> CompositeCourseOut:
            declared = await _declare(conn, write.school_id, request)
            # Results may already make the combined document due.
            await other_documents.combined_due(
                conn,
                school_id=write.school_id,
                team_ids=[g.team for g in declared.goals],
                now=to_the_second(self._clock()),
            )
            return declared

        return await idempotency.run(self._pool, write, CompositeCourseOut, work)

    async def view(self, school_id: str, reference: str) -> CompositeCourseView:
        """Per participant: the result of each goal taken, the goals not taken, and the combined
        document when it is due. Raises NotFoundIssuingError for another school's reference."""
        async with (
            self._pool.acquire() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            found = await school_store.composite_course(conn, school_id, reference)
            if found is None:
                raise NotFoundIssuingError(
                    "this school has no composite course with this reference", field="reference"
                )
            course_id, teams = found
            rows = await school_store.participations_of_teams(conn, [t.id for t in teams])
            subjects = [participations.subject_of(row) for row in rows]
            ikv_goals = [g.goal for s in subjects for g in s.facts.ikv or []]
            catalogue = await school_store.goals(
                conn, [*(t.goal_number for t in teams), *ikv_goals]
            )
            issued = await certificate_store.certificates_of_participations(
                conn, [r.id for r in rows]
            )
        course = rules.CompositeCourse(reference, tuple(t.goal_number for t in teams))
        engine_catalogue = {number: goal.to_catalogue() for number, goal in catalogue.items()}
        today = today_in_denmark(self._clock())
        return CompositeCourseView(
            course=course_id,
            reference=reference,
            goals=_goals_out(teams),
            participants=[
                _participant_out(course, person, engine_catalogue, issued, today=today)
                for person in _by_person(subjects, course.goals)
            ],
        )


async def _declare(
    conn: Connection, school_id: str, request: CompositeCourseIn
) -> CompositeCourseOut:
    own = await school_store.teams_of_school(conn, school_id, request.teams)
    teams: list[school_store.TeamRef] = []
    goals: dict[str, int] = {}
    for index, team_id in enumerate(request.teams):
        team = own.get(team_id)
        if team is None:  # the same answer for unknown and foreign teams: nothing to learn
            raise UnknownTeamError("is not a team of this school", field=f"teams[{index}]")
        if team.goal_number in goals:
            raise rules.DuplicateGoalInCompositeCourseError(
                f"goal {team.goal_number} is already the goal of teams[{goals[team.goal_number]}]",
                field=f"teams[{index}]",
            )
        goals[team.goal_number] = index
        teams.append(team)
    course_id = uuid.uuid4()
    if not await school_store.insert_composite_course(
        conn, course_id=course_id, school_id=school_id, reference=request.reference, teams=teams
    ):
        raise ConflictError(
            "this school already declared a composite course with this reference",
            field="reference",
        )
    return CompositeCourseOut(
        course=course_id, reference=request.reference, goals=_goals_out(teams)
    )


def _goals_out(teams: Sequence[school_store.TeamRef]) -> list[CompositeGoalOut]:
    return [CompositeGoalOut(t.goal_number, t.id, t.reference) for t in teams]


def _by_person(
    subjects: Sequence[participations.Subject], goals: Sequence[str]
) -> list[list[participations.Subject]]:
    """The participations grouped by person (CPR number), each group in course goal order."""
    people: dict[str, list[participations.Subject]] = {}
    for subject in subjects:
        people.setdefault(subject.cpr, []).append(subject)
    return [sorted(taken, key=lambda s: goals.index(s.goal)) for taken in people.values()]


def _participant_out(
    course: rules.CompositeCourse,
    taken: Sequence[participations.Subject],
    catalogue: rules.Catalogue,
    issued: dict[uuid.UUID, list[certificate_store.CertificateRef]],
    *,
    today: dt.date,
) -> CompositeParticipantOut:
    assessed = participations.assess_composite(
        course, [participations.participation_of(s) for s in taken], catalogue, today=today
    )
    results = []
    for subject, assessment in zip(taken, assessed.assessments, strict=True):
        by_document = {(c.kind, c.goal_number): c.number for c in issued.get(subject.id, [])}
        results.append(
            CompositeResultOut(
                goal=subject.goal,
                participation=subject.id,
                team_reference=subject.team_reference,
                result_group=assessment.group.number,
                result_category=participations.category_number(assessment),
                report_value=assessment.report_value,
                final=assessment.final,
                documents=[
                    participations.document_out(d, by_document) for d in assessment.documents
                ],
                deadlines=participations.deadlines_out(assessment),
            )
        )
    combined = assessed.combined_document
    return CompositeParticipantOut(
        name=taken[0].name,
        participations=[s.id for s in taken],
        results=results,
        not_taken=list(assessed.not_taken),
        combined_document=participations.document_out(combined, {}) if combined else None,
    )
