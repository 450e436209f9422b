"""SQL for the goal catalogue as data: the goals with their history, the import log and the
public search. Writes run as the tables' owner (the service may only read, grants.sql); every
function takes the connection it runs on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
import msgspec

from issuers.catalogue import Change, Goal, StoredGoal
from issuers.rules import ExamAttachment
from registry.db import Connection

_GOALS = """
    SELECT g.number, g.title, g.duration_days, g.description, g.valid_from, g.valid_to,
           g.exam_parts, g.ikv, g.authority_certificate, g.closed_at,
           coalesce(array_agg(p.attached_from ORDER BY p.attached_from)
                    FILTER (WHERE p.attached_from IS NOT NULL), '{}') AS starts,
           coalesce(array_agg(p.attached_until ORDER BY p.attached_from)
                    FILTER (WHERE p.attached_from IS NOT NULL), '{}') AS untils
    FROM goals g LEFT JOIN goal_exam_periods p ON p.goal_number = g.number
"""


@dataclass(frozen=True, slots=True)
class ImportRecord:
    imported_at: dt.datetime
    source: str
    sha256: bytes
    full: bool
    added: int
    changed: int
    closed: int
    unchanged: int


def _stored(row: asyncpg.Record) -> StoredGoal:
    goal = Goal(
        number=row["number"],
        title=row["title"],
        duration_days=row["duration_days"],
        # Goals from before catalogue imports have no validity; the epoch of AMU stands in.
        valid_from=row["valid_from"] or dt.date(1985, 1, 1),
        valid_to=row["valid_to"],
        description=row["description"],
        exam_periods=tuple(
            ExamAttachment(start, until)
            for start, until in zip(row["starts"], row["untils"], strict=True)
        ),
        exam_parts=row["exam_parts"],
        ikv=row["ikv"],
        authority_certificate=row["authority_certificate"],
    )
    return StoredGoal(goal, closed=row["closed_at"] is not None)


async def lock_catalogue(conn: Connection) -> None:
    """Hold off other imports (and any other write to goals) until the transaction ends;
    readers carry on."""
    await conn.execute("LOCK TABLE goals IN SHARE ROW EXCLUSIVE MODE")


async def stored_goals(conn: Connection) -> dict[str, StoredGoal]:
    """The whole catalogue with every goal's exam history."""
    rows = await conn.fetch(_GOALS + " GROUP BY g.number")
    return {row["number"]: _stored(row) for row in rows}


async def goal(conn: Connection, number: str) -> StoredGoal | None:
    row = await conn.fetchrow(_GOALS + " WHERE g.number = $1 GROUP BY g.number", number)
    return _stored(row) if row is not None else None


def _like(word: str) -> str:
    """``word`` with LIKE's wildcards escaped (the default escape character is \\)."""
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def search(
    conn: Connection, words: Sequence[str], *, limit: int, after: str | None
) -> list[StoredGoal]:
    """Goals, by number, after the goal number ``after``; each word must start the number or
    occur in the title (case-insensitive)."""
    rows = await conn.fetch(
        _GOALS  # noqa: S608 - constant text
        + """ WHERE g.number > $2
              AND NOT EXISTS (
                  SELECT 1 FROM unnest($1::text[]) AS w(word)
                  WHERE NOT (g.number LIKE w.word || '%' OR g.title ILIKE '%' || w.word || '%'))
              GROUP BY g.number ORDER BY g.number LIMIT $3""",
        [_like(w) for w in words],
        after or "",
        limit,
    )
    return [_stored(row) for row in rows]


async def insert_import(conn: Connection, record: ImportRecord) -> int:
    """Record an import; its id, for the revisions it made."""
    import_id: int = await conn.fetchval(
        """INSERT INTO catalogue_imports
               (imported_at, source, sha256, full_import, added, changed, closed, unchanged)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id""",
        record.imported_at,
        record.source,
        record.sha256,
        record.full,
        record.added,
        record.changed,
        record.closed,
        record.unchanged,
    )
    return import_id


async def save_goals(
    conn: Connection, import_id: int, changes: Sequence[tuple[str, Change]], *, now: dt.datetime
) -> None:
    """Write each (kind, change): kind is 'added', 'changed' or 'closed'. Exam periods are
    added or their ends moved, never deleted (the table's trigger holds to that too)."""
    await conn.executemany(
        """INSERT INTO goals (number, title, duration_days, description, valid_from, valid_to,
                              exam_parts, ikv, authority_certificate, closed_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           ON CONFLICT (number) DO UPDATE
           SET title = excluded.title, duration_days = excluded.duration_days,
               description = excluded.description, valid_from = excluded.valid_from,
               valid_to = excluded.valid_to, exam_parts = excluded.exam_parts,
               ikv = excluded.ikv, authority_certificate = excluded.authority_certificate,
               closed_at = excluded.closed_at, updated_at = excluded.updated_at""",
        [
            (
                c.after.number,
                c.after.title,
                c.after.duration_days,
                c.after.description,
                c.after.valid_from,
                c.after.valid_to,
                c.after.exam_parts,
                c.after.ikv,
                c.after.authority_certificate,
                now if kind == "closed" else None,
                now,
            )
            for kind, c in changes
        ],
    )
    await conn.executemany(
        """INSERT INTO goal_exam_periods (goal_number, attached_from, attached_until)
           VALUES ($1, $2, $3)
           ON CONFLICT (goal_number, attached_from) DO UPDATE
           SET attached_until = excluded.attached_until
           WHERE goal_exam_periods.attached_until IS DISTINCT FROM excluded.attached_until""",
        [
            (c.after.number, p.attached_from, p.detached_on)
            for _kind, c in changes
            for p in c.after.exam_periods
            if c.before is None or p not in c.before.exam_periods
        ],
    )
    await conn.executemany(
        """INSERT INTO goal_revisions (import_id, goal_number, change, before, after)
           VALUES ($1, $2, $3, $4::jsonb, $5::jsonb)""",
        [
            (
                import_id,
                c.after.number,
                kind,
                msgspec.json.encode(c.before).decode() if c.before is not None else None,
                msgspec.json.encode(c.after).decode(),
            )
            for kind, c in changes
        ],
    )
