"""SQL for the served forms: a certificate's delivery message UUID and a school's report rows.

Every function takes the connection it runs on and returns our own frozen dataclasses.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import msgspec

from registry.db import Connection


@dataclass(frozen=True, slots=True)
class ReportedParticipation:
    """One participation of a school's team, with what the quarterly report needs of it."""

    id: uuid.UUID
    team_reference: str
    goal_number: str
    start: dt.date
    end: dt.date
    periods: Any  # JSON list of periods; [] = start to end
    cpr: str
    facts: Any  # JSON of issuers.requests.FactsIn
    attempts: list[Any]  # JSON of issuers.requests.AttemptIn, in order
    result_group: int
    result_category: int | None


async def message_uuid(conn: Connection, number: str) -> uuid.UUID | None:
    """The MeMo messageUUID delivery fixed for this certificate (issuers/delivery), if any.

    Every delivery job of one certificate carries the same UUID (a follow-up copies it).
    """
    found: uuid.UUID | None = await conn.fetchval(
        """SELECT message_uuid FROM delivery_jobs WHERE certificate_number = $1
           ORDER BY id LIMIT 1""",
        number,
    )
    return found


async def participations_ended(
    conn: Connection, school_id: str, *, first: dt.date, last: dt.date
) -> list[ReportedParticipation]:
    """The school's participations whose team ended between ``first`` and ``last``."""
    rows = await conn.fetch(
        """SELECT p.id, t.reference, t.goal_number, t.start_date, t.end_date, t.periods,
                  p.cpr, p.facts, p.result_group, p.result_category,
                  coalesce(
                      (SELECT jsonb_agg(a.attempt ORDER BY a.seq) FROM exam_attempts a
                       WHERE a.participation_id = p.id),
                      '[]'::jsonb) AS attempts
           FROM participations p JOIN teams t ON t.id = p.team_id
           WHERE t.school_id = $1 AND t.end_date BETWEEN $2 AND $3
           ORDER BY t.goal_number, t.reference, p.cpr""",
        school_id,
        first,
        last,
    )
    return [
        ReportedParticipation(
            id=row["id"],
            team_reference=row["reference"],
            goal_number=row["goal_number"],
            start=row["start_date"],
            end=row["end_date"],
            periods=msgspec.json.decode(row["periods"]),
            cpr=row["cpr"],
            facts=msgspec.json.decode(row["facts"]),
            attempts=msgspec.json.decode(row["attempts"]),
            result_group=row["result_group"],
            result_category=row["result_category"],
        )
        for row in rows
    ]
