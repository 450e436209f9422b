"""SQL for the documents: the schools' document certificates and their authorities, a
certificate's delivery message UUID (its MeMo message) and a school's quarterly report rows.

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


async def goal_description(conn: Connection, number: str) -> str:
    """The goal's competence description in the catalogue ('' when it has none or is unknown)."""
    found: str | None = await conn.fetchval(
        "SELECT description FROM goals WHERE number = $1", number
    )
    return found or ""


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


async def active_school_certificate(
    conn: Connection, school_id: str
) -> tuple[str, bytes, bytes] | None:
    """The school's current document key id, its certificate and its authority's (DER)."""
    row = await conn.fetchrow(
        """SELECT c.kid, c.certificate, a.certificate AS authority
           FROM school_document_certificates c
           JOIN document_authorities a ON a.kid = c.authority_kid
           WHERE c.school_id = $1 AND c.retired_at IS NULL""",
        school_id,
    )
    if row is None:
        return None
    return row["kid"], bytes(row["certificate"]), bytes(row["authority"])


async def insert_school_certificate(
    conn: Connection,
    *,
    kid: str,
    school_id: str,
    authority_kid: str,
    certificate: bytes,
    now: dt.datetime,
) -> None:
    await conn.execute(
        """INSERT INTO school_document_certificates
               (kid, school_id, authority_kid, certificate, valid_from)
           VALUES ($1, $2, $3, $4, $5)""",
        kid,
        school_id,
        authority_kid,
        certificate,
        now,
    )


async def active_authority(conn: Connection) -> tuple[str, bytes] | None:
    """The newest development authority still in service: its key id and certificate (DER).
    Imported authorities (``ca-…``, issuers/onboarding.py) sign nothing here: no key of
    theirs is ours."""
    row = await conn.fetchrow(
        """SELECT kid, certificate FROM document_authorities
           WHERE retired_at IS NULL AND kid LIKE 'doc-ca-%' ORDER BY valid_from DESC LIMIT 1"""
    )
    return (row["kid"], bytes(row["certificate"])) if row is not None else None


async def insert_authority(
    conn: Connection, *, kid: str, certificate: bytes, now: dt.datetime
) -> None:
    await conn.execute(
        "INSERT INTO document_authorities (kid, certificate, valid_from) VALUES ($1, $2, $3)",
        kid,
        certificate,
        now,
    )


async def authorities(conn: Connection) -> list[bytes]:
    """Every document authority's certificate (DER), oldest first, retired ones included."""
    rows = await conn.fetch("SELECT certificate FROM document_authorities ORDER BY valid_from")
    return [bytes(r["certificate"]) for r in rows]
