"""SQL for the schools' side: schools, credentials, the goal catalogue, teams, participations
and idempotency records. Every function takes the connection it runs on."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgspec

from registry.db import Connection


@dataclass(frozen=True, slots=True)
class SchoolRow:
    id: str
    name: str
    cvr: str
    ownership: str


@dataclass(frozen=True, slots=True)
class GoalRow:
    number: str
    title: str
    duration_days: Decimal
    ikv: bool
    exam_periods: tuple[tuple[dt.date, dt.date | None], ...]

    def exam_attached_on(self, day: dt.date) -> bool:
        """Whether an exam was attached to the goal on ``day`` (periods are [from, until))."""
        return any(
            start <= day and (until is None or day < until) for start, until in self.exam_periods
        )


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    request_sha256: bytes
    status_code: int | None
    response: Any


@dataclass(frozen=True, slots=True)
class ParticipationRow:
    id: uuid.UUID
    team_id: uuid.UUID
    cpr: str
    name: str
    facts: dict[str, Any]
    result_group: int | None
    result_category: int | None


async def school(conn: Connection, school_id: str) -> SchoolRow | None:
    row = await conn.fetchrow(
        "SELECT id, name, cvr, ownership FROM schools WHERE id = $1", school_id
    )
    return SchoolRow(**dict(row)) if row else None


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


async def insert_credential(
    conn: Connection,
    *,
    credential_id: str,
    school_id: str,
    secret_sha256: bytes,
    label: str,
) -> None:
    await conn.execute(
        """INSERT INTO api_credentials (id, school_id, secret_sha256, label)
           VALUES ($1, $2, $3, $4)""",
        credential_id,
        school_id,
        secret_sha256,
        label,
    )


async def credential(conn: Connection, credential_id: str) -> tuple[str, bytes] | None:
    """The school and secret hash of an unrevoked credential."""
    row = await conn.fetchrow(
        """SELECT school_id, secret_sha256 FROM api_credentials
           WHERE id = $1 AND revoked_at IS NULL""",
        credential_id,
    )
    return (row["school_id"], bytes(row["secret_sha256"])) if row else None


async def upsert_goal(
    conn: Connection,
    *,
    number: str,
    title: str,
    duration_days: Decimal,
    ikv: bool,
    exam_periods: Sequence[tuple[dt.date, dt.date | None]],
) -> None:
    await conn.execute(
        """INSERT INTO goals (number, title, duration_days, ikv) VALUES ($1, $2, $3, $4)
           ON CONFLICT (number) DO UPDATE
           SET title = excluded.title, duration_days = excluded.duration_days,
               ikv = excluded.ikv""",
        number,
        title,
        duration_days,
        ikv,
    )
    await conn.executemany(
        """INSERT INTO goal_exam_periods (goal_number, attached_from, attached_until)
           VALUES ($1, $2, $3) ON CONFLICT DO NOTHING""",
        [(number, start, until) for start, until in exam_periods],
    )


async def goal(conn: Connection, number: str) -> GoalRow | None:
    row = await conn.fetchrow(
        """SELECT g.number, g.title, g.duration_days, g.ikv,
                  coalesce(array_agg(p.attached_from ORDER BY p.attached_from)
                           FILTER (WHERE p.attached_from IS NOT NULL), '{}') AS starts,
                  coalesce(array_agg(p.attached_until ORDER BY p.attached_from)
                           FILTER (WHERE p.attached_from IS NOT NULL), '{}') AS untils
           FROM goals g LEFT JOIN goal_exam_periods p ON p.goal_number = g.number
           WHERE g.number = $1
           GROUP BY g.number""",
        number,
    )
    if row is None:
        return None
    return GoalRow(
        number=row["number"],
        title=row["title"],
        duration_days=row["duration_days"],
        ikv=row["ikv"],
        exam_periods=tuple(zip(row["starts"], row["untils"], strict=True)),
    )


async def claim_idempotency_key(
    conn: Connection, *, school_id: str, key: str, request_sha256: bytes
) -> IdempotencyRecord | None:
    """Claim ``key`` for this request inside the caller's transaction.

    Returns None when the key is new (the caller goes on and later calls
    ``complete_idempotency_key``), or the earlier record when the key was used before.
    A concurrent request with the same key waits here until the first one commits.
    """
    claimed = await conn.fetchval(
        """INSERT INTO idempotency_keys (school_id, key, request_sha256) VALUES ($1, $2, $3)
           ON CONFLICT DO NOTHING RETURNING true""",
        school_id,
        key,
        request_sha256,
    )
    if claimed:
        return None
    row = await conn.fetchrow(
        """SELECT request_sha256, status_code, response FROM idempotency_keys
           WHERE school_id = $1 AND key = $2""",
        school_id,
        key,
    )
    if row is None:  # the other request rolled back between our insert and select
        return await claim_idempotency_key(
            conn, school_id=school_id, key=key, request_sha256=request_sha256
        )
    response = msgspec.json.decode(row["response"]) if row["response"] is not None else None
    return IdempotencyRecord(bytes(row["request_sha256"]), row["status_code"], response)


async def complete_idempotency_key(
    conn: Connection, *, school_id: str, key: str, status_code: int, response: bytes
) -> None:
    await conn.execute(
        """UPDATE idempotency_keys SET status_code = $3, response = $4::jsonb
           WHERE school_id = $1 AND key = $2""",
        school_id,
        key,
        status_code,
        response.decode(),
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
) -> bool:
    """Insert a team; False when the school already reported this reference for the goal."""
    inserted = await conn.fetchval(
        """INSERT INTO teams (id, school_id, reference, goal_number, start_date, end_date)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (school_id, reference, goal_number) DO NOTHING RETURNING true""",
        team_id,
        school_id,
        reference,
        goal_number,
        start,
        end,
    )
    return bool(inserted)


async def insert_participations(conn: Connection, rows: Sequence[ParticipationRow]) -> None:
    await conn.executemany(
        """INSERT INTO participations
               (id, team_id, cpr, name, facts, result_group, result_category)
           VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7)""",
        [
            (
                r.id,
                r.team_id,
                r.cpr,
                r.name,
                msgspec.json.encode(r.facts).decode(),
                r.result_group,
                r.result_category,
            )
            for r in rows
        ],
    )
