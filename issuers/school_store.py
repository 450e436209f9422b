"""SQL for the schools' side: schools, the goal catalogue, teams, participations and
idempotency records (the credentials: ``issuers.credential_store``). Every function takes the
connection it runs on."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import asyncpg
import msgspec

from issuers import rules
from registry.db import Connection


@dataclass(frozen=True, slots=True)
class SchoolRow:
    id: str
    name: str
    cvr: str
    ownership: str
    disabled_at: dt.datetime | None = None  # refused credentials, no issuing (onboarding)


@dataclass(frozen=True, slots=True)
class GoalRow:
    number: str
    title: str
    duration_days: Decimal
    ikv: bool
    exam_periods: tuple[tuple[dt.date, dt.date | None], ...]
    exam_parts: int = 1
    authority_certificate: bool = False

    def to_catalogue(self) -> rules.CatalogueGoal:
        """The goal as the rules engine reads it."""
        return rules.CatalogueGoal(
            number=self.number,
            title=self.title,
            exam_attachments=tuple(
                rules.ExamAttachment(start, until) for start, until in self.exam_periods
            ),
            exam_parts=self.exam_parts,
            authority_certificate=self.authority_certificate,
        )


@dataclass(frozen=True, slots=True)
class IdempotentCall:
    """What an Idempotency-Key is bound to: the request it was first used for."""

    method: str
    route: str  # the route template, e.g. /api/schools/{school_id:str}/teams
    target: str  # the path with its parameters
    request_sha256: bytes


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    call: IdempotentCall
    response_body: bytes | None  # the answer's bytes as sent; None until the first commits


@dataclass(frozen=True, slots=True)
class ParticipationRow:
    id: uuid.UUID
    team_id: uuid.UUID
    cpr: str
    name: str
    facts: str  # JSON of issuers.requests.FactsIn
    result_group: int
    result_category: int | None
    result_due_by: dt.date | None  # when the final result is due, while there is none


@dataclass(frozen=True, slots=True)
class ParticipationState:
    """A participation with its team and every attempt, as the rules engine reassesses it."""

    id: uuid.UUID
    team_id: uuid.UUID
    team_reference: str
    goal_number: str
    start: dt.date
    end: dt.date
    periods: Any  # JSON list of periods; [] = start to end
    cpr: str
    name: str
    facts: Any  # JSON of FactsIn
    attempts: list[Any]  # JSON of AttemptIn, in order


@dataclass(frozen=True, slots=True)
class PendingResult:
    participation: uuid.UUID
    team_reference: str
    goal_number: str
    name: str
    result_due_by: dt.date


async def school(conn: Connection, school_id: str) -> SchoolRow | None:
    row = await conn.fetchrow(
        "SELECT id, name, cvr, ownership, disabled_at FROM schools WHERE id = $1", school_id
    )
    return SchoolRow(**dict(row)) if row else None


async def all_schools(conn: Connection) -> list[SchoolRow]:
    rows = await conn.fetch("SELECT id, name, cvr, ownership, disabled_at FROM schools ORDER BY id")
    return [SchoolRow(**dict(row)) for row in rows]


async def disable_school(
    conn: Connection, school_id: str, *, now: dt.datetime
) -> dt.datetime | None:
    """Mark the school disabled (kept if it already was); when it was, or None if unknown."""
    disabled: dt.datetime | None = await conn.fetchval(
        """UPDATE schools SET disabled_at = coalesce(disabled_at, $2) WHERE id = $1
           RETURNING disabled_at""",
        school_id,
        now,
    )
    return disabled


async def document_authority_kid(conn: Connection, certificate: bytes) -> str | None:
    """The key id under which this authority certificate (DER) is registered, if it is."""
    kid: str | None = await conn.fetchval(
        "SELECT kid FROM document_authorities WHERE certificate = $1", certificate
    )
    return kid


async def insert_school(
    conn: Connection, *, school_id: str, name: str, cvr: str, ownership: str
) -> None:
    await conn.execute(
        "INSERT INTO schools (id, name, cvr, ownership) VALUES ($1, $2, $3, $4)",
        school_id,
        name,
        cvr,
        ownership,
    )


async def goals(conn: Connection, numbers: Iterable[str]) -> dict[str, GoalRow]:
    """The catalogue entries of the given goal numbers (unknown numbers are simply absent)."""
    rows = await conn.fetch(
        """SELECT g.number, g.title, g.duration_days, g.ikv, g.exam_parts, g.authority_certificate,
                  coalesce(array_agg(p.attached_from ORDER BY p.attached_from)
                           FILTER (WHERE p.attached_from IS NOT NULL), '{}') AS starts,
                  coalesce(array_agg(p.attached_until ORDER BY p.attached_from)
                           FILTER (WHERE p.attached_from IS NOT NULL), '{}') AS untils
           FROM goals g LEFT JOIN goal_exam_periods p ON p.goal_number = g.number
           WHERE g.number = ANY($1::text[])
           GROUP BY g.number""",
        sorted(set(numbers)),
    )
    return {
        row["number"]: GoalRow(
            number=row["number"],
            title=row["title"],
            duration_days=row["duration_days"],
            ikv=row["ikv"],
            exam_periods=tuple(zip(row["starts"], row["untils"], strict=True)),
            exam_parts=row["exam_parts"],
            authority_certificate=row["authority_certificate"],
        )
        for row in rows
    }


async def claim_idempotency_key(
    conn: Connection, *, school_id: str, key: str, call: IdempotentCall
) -> IdempotencyRecord | None:
    """Claim ``key`` for ``call`` inside the caller's transaction.

    Returns None when the key is new (the caller goes on and later calls
    ``complete_idempotency_key``), or the earlier record when the key was used before.
    A concurrent request with the same key waits here until the first one commits.
    """
    claimed = await conn.fetchval(
        """INSERT INTO idempotency_keys (school_id, key, method, route, target, request_sha256)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT DO NOTHING RETURNING true""",
        school_id,
        key,
        call.method,
        call.route,
        call.target,
        call.request_sha256,
    )
    if claimed:
        return None
    row = await conn.fetchrow(
        """SELECT method, route, target, request_sha256, response_body FROM idempotency_keys
           WHERE school_id = $1 AND key = $2""",
        school_id,
        key,
    )
    if row is None:  # the other request rolled back between our insert and select
        return await claim_idempotency_key(conn, school_id=school_id, key=key, call=call)
    earlier = IdempotentCall(
        row["method"], row["route"], row["target"], bytes(row["request_sha256"])
    )
    body = row["response_body"]
    return IdempotencyRecord(earlier, bytes(body) if body is not None else None)


async def complete_idempotency_key(
    conn: Connection, *, school_id: str, key: str, response_body: bytes
) -> None:
    """Store the answer of the request that claimed ``key``: the exact bytes sent, so a repeat
    gets them as they are."""
    await conn.execute(
        """UPDATE idempotency_keys SET response_body = $3
           WHERE school_id = $1 AND key = $2""",
        school_id,
        key,
        response_body,
    )


async def insert_team(
    conn: Connection,
    *,
    team_id: uuid.UUID,
    school_id: str,
    reference: str,
    goal_number: str,
    start: dt.date,
    end: dt.date,
    periods: str = "[]",
) -> bool:
    """Insert a team; False when the school already reported this reference for the goal."""
    inserted = await conn.fetchval(
        """INSERT INTO teams (id, school_id, reference, goal_number, start_date, end_date, periods)
           VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)
           ON CONFLICT (school_id, reference, goal_number) DO NOTHING RETURNING true""",
        team_id,
        school_id,
        reference,
        goal_number,
        start,
        end,
        periods,
    )
    return bool(inserted)


async def insert_participations(conn: Connection, rows: Sequence[ParticipationRow]) -> None:
    await conn.execute(
        """INSERT INTO participations
               (id, team_id, cpr, name, facts, result_group, result_category, result_due_by)
           SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::jsonb[],
                                $6::smallint[], $7::smallint[], $8::date[])""",
        [r.id for r in rows],
        [r.team_id for r in rows],
        [r.cpr for r in rows],
        [r.name for r in rows],
        [r.facts for r in rows],
        [r.result_group for r in rows],
        [r.result_category for r in rows],
        [r.result_due_by for r in rows],
    )


async def insert_attempts(
    conn: Connection, rows: Sequence[tuple[uuid.UUID, int, str]], *, recorded_at: dt.datetime
) -> None:
    """Append exam attempts: (participation, sequence number, attempt JSON)."""
    await conn.execute(
        """INSERT INTO exam_attempts (participation_id, seq, attempt, recorded_at)
           SELECT p, s, a, $4 FROM unnest($1::uuid[], $2::smallint[], $3::jsonb[]) AS t(p, s, a)""",
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
        recorded_at,
    )


# A participation with its team and its attempts in order, in one row.
_PARTICIPATION_STATE = """
    SELECT p.id, p.team_id, t.reference, t.goal_number, t.start_date, t.end_date, t.periods,
           p.cpr, p.name, p.facts,
           coalesce((SELECT array_agg(a.attempt ORDER BY a.seq) FROM exam_attempts a
                     WHERE a.participation_id = p.id), '{}') AS attempts
    FROM participations p JOIN teams t ON t.id = p.team_id
"""


def _participation_state(row: asyncpg.Record) -> ParticipationState:
    return ParticipationState(
        id=row["id"],
        team_id=row["team_id"],
        team_reference=row["reference"],
        goal_number=row["goal_number"],
        start=row["start_date"],
        end=row["end_date"],
        periods=msgspec.json.decode(row["periods"]),
        cpr=row["cpr"],
        name=row["name"],
        facts=msgspec.json.decode(row["facts"]),
        attempts=[msgspec.json.decode(a) for a in row["attempts"]],
    )


async def participation_for_update(
    conn: Connection, school_id: str, participation_id: uuid.UUID
) -> ParticipationState | None:
    """A participation of this school with its team and attempts, locked until the commit."""
    row = await conn.fetchrow(
        _PARTICIPATION_STATE + " WHERE p.id = $2 AND t.school_id = $1 FOR UPDATE OF p",
        school_id,
        participation_id,
    )
    return _participation_state(row) if row else None


async def update_participation(
    conn: Connection,
    participation_id: uuid.UUID,
    *,
    facts: str,
    result_group: int,
    result_category: int | None,
    result_due_by: dt.date | None,
) -> None:
    await conn.execute(
        """UPDATE participations
           SET facts = $2::jsonb, result_group = $3, result_category = $4, result_due_by = $5
           WHERE id = $1""",
        participation_id,
        facts,
        result_group,
        result_category,
        result_due_by,
    )


async def pending_results(
    conn: Connection, school_id: str, *, due_until: dt.date
) -> list[PendingResult]:
    """Participations still without a final result whose result is due by ``due_until``."""
    rows = await conn.fetch(
        """SELECT p.id, t.reference, t.goal_number, p.name, p.result_due_by
           FROM participations p JOIN teams t ON t.id = p.team_id
           WHERE t.school_id = $1 AND p.result_due_by <= $2
           ORDER BY p.result_due_by, t.reference, p.name""",
        school_id,
        due_until,
    )
    return [
        PendingResult(r["id"], r["reference"], r["goal_number"], r["name"], r["result_due_by"])
        for r in rows
    ]


# -- composite courses (sammensatte forløb) -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class TeamRef:
    """A team of a school, as a composite course names it."""

    id: uuid.UUID
    reference: str
    goal_number: str


async def teams_of_school(
    conn: Connection, school_id: str, team_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, TeamRef]:
    """The given teams that belong to this school (others, and unknown ids, are absent)."""
    rows = await conn.fetch(
        """SELECT id, reference, goal_number FROM teams
           WHERE school_id = $1 AND id = ANY($2::uuid[])""",
        school_id,
        list(team_ids),
    )
    return {r["id"]: TeamRef(r["id"], r["reference"], r["goal_number"]) for r in rows}


async def insert_composite_course(
    conn: Connection,
    *,
    course_id: uuid.UUID,
    school_id: str,
    reference: str,
    teams: Sequence[TeamRef],
) -> bool:
    """Insert a course and its goals in order; False when the school already used the reference."""
    inserted = await conn.fetchval(
        """INSERT INTO composite_courses (id, school_id, reference) VALUES ($1, $2, $3)
           ON CONFLICT (school_id, reference) DO NOTHING RETURNING true""",
        course_id,
        school_id,
        reference,
    )
    if not inserted:
        return False
    await conn.execute(
        """INSERT INTO composite_course_goals (course_id, school_id, position, team_id, goal_number)
           SELECT $1, $2, pos - 1, t, g
           FROM unnest($3::uuid[], $4::text[]) WITH ORDINALITY AS x(t, g, pos)""",
        course_id,
        school_id,
        [t.id for t in teams],
        [t.goal_number for t in teams],
    )
    return True


async def composite_course(
    conn: Connection, school_id: str, reference: str
) -> tuple[uuid.UUID, list[TeamRef]] | None:
    """A course of this school by its reference: its id and its teams in course order."""
    rows = await conn.fetch(
        """SELECT c.id AS course_id, t.id, t.reference, t.goal_number
           FROM composite_courses c
           JOIN composite_course_goals g ON g.course_id = c.id
           JOIN teams t ON t.id = g.team_id
           WHERE c.school_id = $1 AND c.reference = $2
           ORDER BY g.position""",
        school_id,
        reference,
    )
    if not rows:
        return None
    return rows[0]["course_id"], [TeamRef(r["id"], r["reference"], r["goal_number"]) for r in rows]


async def participations_of_teams(
    conn: Connection, team_ids: Sequence[uuid.UUID]
) -> list[ParticipationState]:
    """The participations on these teams with their attempts, ordered by name; those erased
    after retention (no CPR number left to match them by) are left out."""
    rows = await conn.fetch(
        _PARTICIPATION_STATE
        + """ WHERE p.team_id = ANY($1::uuid[]) AND p.cpr IS NOT NULL
              ORDER BY p.name, p.created_at, p.id""",
        list(team_ids),
    )
    return [_participation_state(r) for r in rows]
