"""SQL for the print-job table: the table print spool and each school's daily print list."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from registry.db import Connection


@dataclass(frozen=True, slots=True)
class PrintJob:
    spool_key: str
    certificate_number: str | None  # a certificate's print job, or
    document_title: str | None  # a participation or combined document's
    participant_name: str
    reason: str
    spool_date: dt.date
    spooled_at: dt.datetime
    printed_at: dt.datetime | None
    id: int


async def insert_print_job(
    conn: Connection,
    *,
    spool_key: str,
    school_id: str,
    certificate_number: str | None,
    participant_name: str,
    reason: str,
    spool_date: dt.date,
    pdf: bytes,
    now: dt.datetime,
    document_id: uuid.UUID | None = None,
    document_title: str | None = None,
) -> int:
    """Spool one print of a certificate or (``document_id`` and ``document_title``) a
    participation or combined document; a second call with the same key returns the first
    one's id."""
    inserted = await conn.fetchval(
        """INSERT INTO print_jobs (spool_key, school_id, certificate_number, participant_name,
                                   reason, spool_date, pdf, spooled_at, document_id,
                                   document_title)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (spool_key) DO NOTHING RETURNING id""",
        spool_key,
        school_id,
        certificate_number,
        participant_name,
        reason,
        spool_date,
        pdf,
        now,
        document_id,
        document_title,
    )
    if inserted is not None:
        return int(inserted)
    existing = await conn.fetchval("SELECT id FROM print_jobs WHERE spool_key = $1", spool_key)
    return int(existing)


async def print_list(conn: Connection, school_id: str, day: dt.date) -> list[PrintJob]:
    rows = await conn.fetch(
        """SELECT id, spool_key, certificate_number, document_title, participant_name, reason,
                  spool_date, spooled_at, printed_at
           FROM print_jobs WHERE school_id = $1 AND spool_date = $2 AND erased_at IS NULL
           ORDER BY id""",
        school_id,
        day,
    )
    return [PrintJob(**dict(r)) for r in rows]
