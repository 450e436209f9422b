"""SQL for participation and combined documents and their delivery jobs (0019_documents.sql).

Every function takes the connection it runs on and returns our own frozen dataclasses. Nothing
here touches the register's tables: these documents are not certificates.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import msgspec

from registry.db import Connection


@dataclass(frozen=True, slots=True)
class StoredDocument:
    id: uuid.UUID
    kind: str  # formats.document.OtherDocumentKind values
    school_id: str
    school_name: str
    cpr: str
    name: str
    reference: str
    goals: list[dict[str, Any]]  # {number, title, durationDays, start, end}
    issued_at: dt.datetime


async def set_participation_documents(conn: Connection, team_id: uuid.UUID, on: bool) -> None:
    """Record whether the school issues participation documents for this team."""
    await conn.execute(
        "INSERT INTO team_document_settings (team_id, participation_documents) VALUES ($1, $2)",
        team_id,
        on,
    )


async def participation_documents(conn: Connection, team_id: uuid.UUID) -> bool:
    """Whether the school issues participation documents for this team (default: no)."""
    found: bool | None = await conn.fetchval(
        "SELECT participation_documents FROM team_document_settings WHERE team_id = $1", team_id
    )
    return bool(found)


async def insert_document(
    conn: Connection,
    *,
    document_id: uuid.UUID,
    kind: str,
    school_id: str,
    cpr: str,
    name: str,
    reference: str,
    goals: list[dict[str, Any]],
    issued_at: dt.datetime,
    participation_id: uuid.UUID | None = None,
    composite_course_id: uuid.UUID | None = None,
) -> bool:
    """Store a document and its pending delivery job; False (nothing stored) when this
    participation or person and course already has one."""
    inserted = await conn.fetchval(
        """INSERT INTO other_documents (id, kind, school_id, cpr, name, reference, goals,
                                        issued_at, participation_id, composite_course_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10)
           ON CONFLICT DO NOTHING RETURNING id""",
        document_id,
        kind,
        school_id,
        cpr,
        name,
        reference,
        msgspec.json.encode(goals).decode(),
        issued_at,
        participation_id,
        composite_course_id,
    )
    if inserted is None:
        return False
    await conn.execute(
        """INSERT INTO other_document_jobs (document_id, school_id, message_uuid, run_after,
                                            created_at)
           VALUES ($1, $2, $3, $4, $4)""",
        document_id,
        school_id,
        # Random version 4, as MeMo's schema demands; stored, so every retry is one message.
        uuid.uuid4(),
        issued_at,
    )
    return True


async def courses_of_teams(
    conn: Connection, team_ids: list[uuid.UUID]
) -> list[tuple[uuid.UUID, str, str]]:
    """The composite courses any of these teams belongs to: id, school, reference."""
    rows = await conn.fetch(
        """SELECT DISTINCT c.id, c.school_id, c.reference FROM composite_courses c
           JOIN composite_course_goals g ON g.course_id = c.id
           WHERE g.team_id = ANY($1::uuid[]) ORDER BY c.reference""",
        team_ids,
    )
    return [(r["id"], r["school_id"], r["reference"]) for r in rows]


_SELECT = """SELECT d.id, d.kind, d.school_id, s.name AS school_name, d.cpr, d.name,
                    d.reference, d.goals, d.issued_at
             FROM other_documents d JOIN schools s ON s.id = d.school_id"""


async def documents_of(conn: Connection, cpr: str) -> list[StoredDocument]:
    """A person's participation and combined documents, newest first."""
    rows = await conn.fetch(
        _SELECT + " WHERE d.cpr = $1 AND d.erased_at IS NULL ORDER BY d.issued_at DESC, d.id", cpr
    )
    return [_stored(r) for r in rows]


async def document(conn: Connection, document_id: uuid.UUID) -> StoredDocument | None:
    """The document, None when there is none or the retention run erased it."""
    row = await conn.fetchrow(_SELECT + " WHERE d.id = $1 AND d.erased_at IS NULL", document_id)
    return None if row is None else _stored(row)


def _stored(row: Any) -> StoredDocument:
    return StoredDocument(
        id=row["id"],
        kind=row["kind"],
        school_id=row["school_id"],
        school_name=row["school_name"],
        cpr=row["cpr"],
        name=row["name"],
        reference=row["reference"],
        goals=msgspec.json.decode(row["goals"]),
        issued_at=row["issued_at"],
    )
