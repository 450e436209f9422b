"""SQL for the school view: a school's teams with each participant's result and certificate,
and the searches of its records pages (teams, participants, certificates), a page at a time.

Reads only the school's own rows; every query names the school. Searches page by offset: each
asks for one row more than a page, so the caller knows whether a next page exists
(``Found.more``) without counting.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import asyncpg
import msgspec

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


_TEAM_COLUMNS = """t.id, t.reference, t.goal_number, g.title, t.start_date, t.end_date
           FROM teams t JOIN goals g ON g.number = t.goal_number"""


async def teams_of(conn: Connection, school_id: str, *, limit: int = 50) -> list[TeamLine]:
    """The school's latest teams (by end date) with their participants, by name."""
    teams = await conn.fetch(
        f"""SELECT {_TEAM_COLUMNS}
           WHERE t.school_id = $1 ORDER BY t.end_date DESC, t.created_at DESC LIMIT $2""",
        school_id,
        limit,
    )
    return await _with_participants(conn, teams)


async def team_of(conn: Connection, school_id: str, team_id: uuid.UUID) -> TeamLine | None:
    """One of the school's teams with its participants; None for another school's or none."""
    team = await conn.fetchrow(
        f"SELECT {_TEAM_COLUMNS} WHERE t.school_id = $1 AND t.id = $2", school_id, team_id
    )
    return (await _with_participants(conn, [team]))[0] if team is not None else None


async def _with_participants(conn: Connection, teams: list[asyncpg.Record]) -> list[TeamLine]:
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


T = TypeVar("T")


def _contains(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, its own wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _prefix(text: str) -> str:
    return _contains(text)[1:]


@dataclass(frozen=True, slots=True)
class Found(Generic[T]):
    """One page of a search: its rows, and whether there are more after them."""

    rows: tuple[T, ...]
    more: bool


def _page(rows: list[T], limit: int) -> Found[T]:
    return Found(tuple(rows[:limit]), len(rows) > limit)


@dataclass(frozen=True, slots=True)
class TeamHit:
    id: uuid.UUID
    reference: str
    goal_number: str
    goal_title: str
    start_date: dt.date
    end_date: dt.date
    participants: int


async def search_teams(
    conn: Connection,
    school_id: str,
    text: str = "",
    *,
    day: dt.date | None = None,
    limit: int,
    offset: int = 0,
) -> Found[TeamHit]:
    """The school's teams whose reference or goal title holds ``text``, or whose goal number
    starts with it (all when blank); with ``day``, only those running that day. Latest first."""
    rows = await conn.fetch(
        """SELECT t.id, t.reference, t.goal_number, g.title, t.start_date, t.end_date,
                  (SELECT count(*) FROM participations p WHERE p.team_id = t.id) AS n
           FROM teams t JOIN goals g ON g.number = t.goal_number
           WHERE t.school_id = $1
             AND ($2 = '' OR t.reference ILIKE $3 OR g.title ILIKE $3 OR t.goal_number LIKE $4)
             AND ($5::date IS NULL OR $5::date BETWEEN t.start_date AND t.end_date)
           ORDER BY t.end_date DESC, t.created_at DESC, t.id
           LIMIT $6 OFFSET $7""",
        school_id,
        text,
        _contains(text),
        _prefix(text),
        day,
        limit + 1,
        offset,
    )
    return _page(
        [
            TeamHit(
                r["id"],
                r["reference"],
                r["goal_number"],
                r["title"],
                r["start_date"],
                r["end_date"],
                r["n"],
            )
            for r in rows
        ],
        limit,
    )


@dataclass(frozen=True, slots=True)
class ParticipantHit:
    participation_id: uuid.UUID
    team_id: uuid.UUID
    team_reference: str
    goal_number: str
    name: str
    cpr: str  # shown masked
    result_group: int | None
    result_category: int | None
    certificates: tuple[str, ...]  # numbers, oldest first


async def search_participants(
    conn: Connection,
    school_id: str,
    *,
    name: str | None = None,
    cpr: str | None = None,
    limit: int,
    offset: int = 0,
) -> Found[ParticipantHit]:
    """The school's participations of a person: by a part of the name (any case), or by the
    exact, normalised CPR number (DDMMYY-SSSS, ``issuers.cpr.parse_cpr``), as the register's
    own lookup matches it. Erased participations are never found. By name, then team."""
    if (name is None) == (cpr is None):
        raise ValueError("search by name or by CPR number, one of them")
    rows = await conn.fetch(
        """SELECT p.id, p.team_id, t.reference, t.goal_number, p.name, p.cpr,
                  p.result_group, p.result_category,
                  coalesce((SELECT array_agg(c.number ORDER BY c.issued_at, c.number)
                            FROM certificates c WHERE c.participation_id = p.id),
                           '{}') AS numbers
           FROM participations p JOIN teams t ON t.id = p.team_id
           WHERE t.school_id = $1 AND p.cpr IS NOT NULL AND p.name IS NOT NULL
             AND (($2::text IS NOT NULL AND p.name ILIKE $2) OR p.cpr = $3)
           ORDER BY p.name, t.end_date DESC, p.id
           LIMIT $4 OFFSET $5""",
        school_id,
        _contains(name) if name is not None else None,
        cpr,
        limit + 1,
        offset,
    )
    return _page(
        [
            ParticipantHit(
                r["id"],
                r["team_id"],
                r["reference"],
                r["goal_number"],
                r["name"],
                r["cpr"],
                r["result_group"],
                r["result_category"],
                tuple(r["numbers"]),
            )
            for r in rows
        ],
        limit,
    )


@dataclass(frozen=True, slots=True)
class CertificateHit:
    number: str
    kind: str
    goal_number: str | None
    name: str | None  # as the certificate names them; None once erased
    issued_at: dt.datetime
    status: str  # valid, cancelled, revoked
    participation_id: uuid.UUID | None


async def search_certificates(
    conn: Connection, school_id: str, number: str = "", *, limit: int, offset: int = 0
) -> Found[CertificateHit]:
    """The school's certificates whose number starts with ``number`` (all when blank),
    newest first, with their status."""
    rows = await conn.fetch(
        """SELECT c.number, c.kind, c.goal_number, c.issued_at, c.participation_id,
                   coalesce(convert_from(c.payload, 'UTF8')::jsonb #>> '{participant,name}',
                            p.name) AS name,
                   coalesce((SELECT kind FROM certificate_events
                     WHERE certificate_number = c.number AND kind <> 'issued'
                     ORDER BY id DESC LIMIT 1), 'valid') AS status
            FROM certificates c LEFT JOIN participations p ON p.id = c.participation_id
            WHERE c.school_id = $1 AND c.number LIKE $2
            ORDER BY c.issued_at DESC, c.number DESC
            LIMIT $3 OFFSET $4""",
        school_id,
        _prefix(number),
        limit + 1,
        offset,
    )
    return _page(
        [
            CertificateHit(
                r["number"],
                r["kind"],
                r["goal_number"],
                r["name"],
                r["issued_at"],
                r["status"],
                r["participation_id"],
            )
            for r in rows
        ],
        limit,
    )


async def team_of_participation(
    conn: Connection, school_id: str, participation_id: uuid.UUID
) -> uuid.UUID | None:
    """The team of one of the school's participations; None for another school's or none."""
    found: uuid.UUID | None = await conn.fetchval(
        """SELECT p.team_id FROM participations p JOIN teams t ON t.id = p.team_id
           WHERE p.id = $1 AND t.school_id = $2""",
        participation_id,
        school_id,
    )
    return found


async def facts_of(conn: Connection, school_id: str, participation_id: uuid.UUID) -> Any | None:
    """The recorded facts (JSON, as ``participations.facts_from_json`` reads them) of one of
    the school's participations; None for another school's, an erased one or none."""
    row = await conn.fetchrow(
        """SELECT p.facts FROM participations p JOIN teams t ON t.id = p.team_id
           WHERE p.id = $1 AND t.school_id = $2 AND p.cpr IS NOT NULL""",
        participation_id,
        school_id,
    )
    return msgspec.json.decode(row["facts"]) if row is not None else None
