"""Participation and combined documents: issued with the results, signed like certificates.

Not AMU certificates (DOMAIN.md): no certificate number, nothing in the register, its log, the
quarterly report or /api/verify. They live in their own tables (``other_document_store``), each
with a delivery job made in the same transaction (the outbox)::

    await other_documents.after_results(conn, school=school, assessed=pairs,
                                        catalogue=catalogue, now=now, participation_documents=True)
    pdf = await OtherDocuments(signers).pdf(conn, stored)

- participation document (deltagelsesbevis): when the team's school issues them
  (``TeamIn.participationDocuments``), for a participant whose final result gave no
  certificate and who has no retake right left (the result will not change);
- combined document (samlet bevis): for each person of a declared composite course once the
  rules engine says it is due: every goal taken has its final result and at least one gave a
  certificate; it lists exactly the goals certified, in course order.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from formats.document import DocumentGoal, OtherDocument, OtherDocumentKind
from formats.record import Participant, School
from issuers import other_document_store, participations, rules, school_store
from issuers.document_keys import DocumentSigners
from issuers.school_store import GoalRow, SchoolRow
from registry.clock import today_in_denmark
from registry.db import Connection

Assessed = tuple[participations.Subject, rules.Assessment]


async def after_results(
    conn: Connection,
    *,
    school: SchoolRow,
    assessed: Sequence[Assessed],
    catalogue: dict[str, GoalRow],
    now: dt.datetime,
    participation_documents: bool | None,
) -> None:
    """Issue the documents these results make due. ``participation_documents`` is the team's
    setting when the team is new (stored here), None to read the stored one."""
    team_ids = list(dict.fromkeys(subject.team_id for subject, _ in assessed))
    for team_id in team_ids:
        if participation_documents is None:
            issues = await other_document_store.participation_documents(conn, team_id)
        else:
            issues = participation_documents
            await other_document_store.set_participation_documents(conn, team_id, issues)
        if not issues:
            continue
        for subject, assessment in assessed:
            if subject.team_id == team_id and _participation_document_due(assessment):
                await _issue_participation(conn, school, subject, catalogue, now)
    await combined_due(conn, school_id=school.id, team_ids=team_ids, now=now)


def _participation_document_due(assessment: rules.Assessment) -> bool:
    kinds = {d.kind for d in assessment.documents}
    return (
        assessment.final
        and assessment.certificate is None
        and not assessment.retake_right
        and rules.DocumentKind.PARTICIPATION_DOCUMENT in kinds
    )


async def _issue_participation(
    conn: Connection,
    school: SchoolRow,
    subject: participations.Subject,
    catalogue: dict[str, GoalRow],
    now: dt.datetime,
) -> None:
    goal = catalogue[subject.goal]
    await other_document_store.insert_document(
        conn,
        document_id=uuid.uuid4(),
        kind=OtherDocumentKind.PARTICIPATION.value,
        school_id=school.id,
        cpr=subject.cpr,
        name=subject.name,
        reference=subject.team_reference,
        goals=[_goal_json(goal, subject.start, subject.end)],
        issued_at=now,
        participation_id=subject.id,
    )


async def combined_due(
    conn: Connection, *, school_id: str, team_ids: Sequence[uuid.UUID], now: dt.datetime
) -> None:
    """Issue the combined documents now due in the composite courses these teams belong to."""
    for course_id, course_school, reference in await other_document_store.courses_of_teams(
        conn, list(team_ids)
    ):
        if course_school != school_id:
            continue
        found = await school_store.composite_course(conn, school_id, reference)
        if found is None:
            continue
        _, teams = found
        course = rules.CompositeCourse(reference, tuple(t.goal_number for t in teams))
        rows = await school_store.participations_of_teams(conn, [t.id for t in teams])
        subjects = [participations.subject_of(row) for row in rows]
        ikv = [g.goal for s in subjects for g in s.facts.ikv or []]
        catalogue = await school_store.goals(conn, [*course.goals, *ikv])
        engine = {number: goal.to_catalogue() for number, goal in catalogue.items()}
        people: dict[str, list[participations.Subject]] = {}
        for subject in subjects:
            people.setdefault(subject.cpr, []).append(subject)
        today = today_in_denmark(now)
        for cpr, taken in people.items():
            taken.sort(key=lambda s: course.goals.index(s.goal))
            assessed = participations.assess_composite(
                course, [participations.participation_of(s) for s in taken], engine, today=today
            )
            due = assessed.combined_document
            if due is None:
                continue
            by_goal = {s.goal: s for s in taken}
            await other_document_store.insert_document(
                conn,
                document_id=uuid.uuid4(),
                kind=OtherDocumentKind.COMBINED.value,
                school_id=school_id,
                cpr=cpr,
                name=taken[0].name,
                reference=reference,
                goals=[
                    _goal_json(catalogue[g], by_goal[g].start, by_goal[g].end) for g in due.goals
                ],
                issued_at=now,
                composite_course_id=course_id,
            )


def _goal_json(goal: GoalRow, start: dt.date, end: dt.date) -> dict[str, Any]:
    return {
        "number": goal.number,
        "title": goal.title,
        "durationDays": str(goal.duration_days),
        "start": start.isoformat(),
        "end": end.isoformat(),
    }


def document_of(stored: other_document_store.StoredDocument) -> OtherDocument:
    """The stored document as the PDF code reads it."""
    return OtherDocument(
        id=str(stored.id),
        kind=OtherDocumentKind(stored.kind),
        participant=Participant(cpr=stored.cpr, name=stored.name),
        school=School(id=stored.school_id, name=stored.school_name),
        reference=stored.reference,
        goals=tuple(
            DocumentGoal(
                number=g["number"],
                title=g["title"],
                duration_days=g["durationDays"],
                start=dt.date.fromisoformat(g["start"]),
                end=dt.date.fromisoformat(g["end"]),
            )
            for g in stored.goals
        ),
        issued_at=stored.issued_at,
    )


class OtherDocuments:
    """Makes the signed PDF of a participation or combined document with the school's
    document key, as ``CertificateDocuments`` does for certificates."""

    def __init__(self, signers: DocumentSigners) -> None:
        self._signers = signers

    async def pdf(self, conn: Connection, stored: other_document_store.StoredDocument) -> bytes:
        """The PAdES-signed PDF, dated its issue time. Raises NoDocumentCertificateError when
        the school has no document certificate."""
        signers = await self._signers.for_school(conn, stored.school_id)
        return await asyncio.to_thread(
            signers.pdf.render_document, document_of(stored), stored.issued_at
        )
