"""SQL for the school view: a school's teams with each participant's result and certificate.

Reads only the school's own rows; every query names the school.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from registry.db import Connection


@dataclass(frozen=True, slots=True)
class ParticipantLine:
    participation_id: uuid.UUID
    name: str
    cpr: str  # the school's own participant: shown masked all the same
    result_group: int | None
    result_category: int | None
    certificate_number: str | None
    certificate_status: str | None  # valid, cancelled, revoked; None without a certificate


@dataclass(frozen=True, slots=True)
class TeamLine:
    id: uuid.UUID
    reference: str
    goal_number: str
    goal_title: str
    start_date: dt.date
    end_date: dt.date
    participants: tuple[ParticipantLine, ...]


async def teams_of(conn: Connection, school_id: str, *, limit: int = 50) -> list[TeamLine]:
    """The school's latest teams (by end date) with their participants, by name."""
    teams = await conn.fetch(
        """SELECT t.id, t.reference, t.goal_number, g.title, t.start_date, t.end_date
           FROM teams t JOIN goals g ON g.number = t.goal_number
           WHERE t.school_id = $1 ORDER BY t.end_date DESC, t.created_at DESC LIMIT $2""",
        school_id,
        limit,
    )
    rows = await conn.fetch(
        """SELECT p.id, p.team_id, p.name, p.cpr, p.result_group, p.result_category,
                  c.number, coalesce(e.kind, CASE WHEN c.number IS NOT NULL THEN 'valid' END)
                      AS status
           FROM participations p
           LEFT JOIN certificates c ON c.participation_id = p.id
           LEFT JOIN LATERAL (
               SELECT kind FROM certificate_events
               WHERE certificate_number = c.number AND kind <> 'issued'
               ORDER BY id DESC LIMIT 1
           ) e ON true
           WHERE p.team_id = ANY($1::uuid[])
           ORDER BY p.name, p.id, c.issued_at""",
        [t["id"] for t in teams],
    )
    by_team: dict[uuid.UUID, list[ParticipantLine]] = {}
    for r in rows:
        by_team.setdefault(r["team_id"], []).append(
            ParticipantLine(
                participation_id=r["id"],
                name=r["name"],
                cpr=r["cpr"],
                result_group=r["result_group"],
                result_category=r["result_category"],
                certificate_number=r["number"],
                certificate_status=r["status"],
            )
        )
    return [
        TeamLine(
            id=t["id"],
            reference=t["reference"],
            goal_number=t["goal_number"],
            goal_title=t["title"],
            start_date=t["start_date"],
            end_date=t["end_date"],
            participants=tuple(by_team.get(t["id"], [])),
        )
        for t in teams
    ]
