"""Retention of the register's rows: certificates and what is needed to reissue them are kept
30 years after the exam (DOMAIN.md, "The central registry"); past that, only the personal data
goes.

This blanks the CPR number, the signed record and its JWS of each certificate past its retention
date (``certificates.retain_until``, set by the database from the signed record). Everything else
stays: the row, its status events and the log's leaves and nodes, so the log still verifies. The
database allows only exactly this update, only for rows past the date by its own clock, and only
inside a transaction that switched ``amu.retention`` on (migration 0005). The schools' side
erases its own personal data in the same run (``issuers.retention``)::

    due = await retention.due(conn, as_of)
    erased = await retention.erase(conn, due, at=now)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from registry import retention_store
from registry.db import Connection
from registry.retention_store import Due

RETENTION_YEARS = 30


async def due(conn: Connection, as_of: dt.date) -> list[Due]:
    """Certificates past their retention date on ``as_of`` whose personal data is still stored."""
    return await retention_store.due_certificates(conn, as_of)


async def erase(conn: Connection, due: Sequence[Due], *, at: dt.datetime) -> list[str]:
    """Blank the personal columns of ``due`` in the caller's transaction; the numbers erased.
    Raises asyncpg.InsufficientPrivilegeError (erasing nothing) if the database's clock
    disagrees that a row is past its date."""
    return await retention_store.erase_certificates(conn, [d.number for d in due], at)
