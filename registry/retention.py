"""Retention: certificates and what is needed to reissue them are kept 30 years after the exam
(DOMAIN.md, "The central registry"); past that, only the personal data goes.

The job blanks the CPR number, the signed record and its JWS of each certificate past its
retention date (``certificates.retain_until``, set by the database from the signed record), and
the name, CPR number and reported facts of its participation. Everything else stays: the row,
its status events and the log's leaves and nodes, so the log still verifies. The database allows
only exactly this update, only for rows past the date by its own clock, and only inside a
transaction that switched ``amu.retention`` on (migration 0005)::

    report = await run_retention(conn, now=clock(), apply=False)   # what has passed the age
    report = await run_retention(conn, now=clock(), apply=True)    # remove its personal data
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from registry import trust_store
from registry.db import Connection
from registry.trust_store import Due

RETENTION_YEARS = 30


@dataclass(frozen=True, slots=True)
class RetentionReport:
    as_of: dt.date
    applied: bool
    due: list[Due]  # certificates past their retention date with personal data still stored
    participations: int  # participations past it (erased when applied)
    erased: list[str] = field(default_factory=list)  # certificates erased by this run


async def run_retention(conn: Connection, *, now: dt.datetime, apply: bool) -> RetentionReport:
    """Report what has passed the retention age on ``now``'s date; with ``apply``, erase its
    personal data in one transaction. Raises asyncpg.InsufficientPrivilegeError (and erases
    nothing) if the database's clock disagrees that a row is past its date."""
    as_of = now.astimezone(dt.UTC).date()
    async with conn.transaction():
        due = await trust_store.due_certificates(conn, as_of)
        if not apply:
            count = await trust_store.due_participations(conn, as_of)
            return RetentionReport(as_of, applied=False, due=due, participations=count)
        erased = await trust_store.erase_certificates(conn, [d.number for d in due], now)
        count = await trust_store.erase_participations(conn, as_of, now)
        return RetentionReport(as_of, applied=True, due=due, participations=count, erased=erased)
