"""SQL for the register's retention: certificates past their retention date, and blanking their
personal columns (the only change the database lets anyone make to a certificate row)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from registry.db import Connection


@dataclass(frozen=True, slots=True)
class Due:
    """A certificate whose personal data is past its retention date."""

    number: str
    retain_until: dt.date


async def due_certificates(conn: Connection, as_of: dt.date) -> list[Due]:
    rows = await conn.fetch(
        """SELECT number, retain_until FROM certificates
           WHERE erased_at IS NULL AND retain_until < $1 ORDER BY retain_until, number""",
        as_of,
    )
    return [Due(r["number"], r["retain_until"]) for r in rows]


async def erase_certificates(
    conn: Connection, numbers: Sequence[str], at: dt.datetime
) -> list[str]:
    """Blank the personal columns of these certificates, in the caller's transaction.

    The database allows it only with amu.retention on for the transaction and only for rows
    past their retention date by its own clock (migration 0005); anything else raises.
    """
    await conn.execute("SELECT set_config('amu.retention', 'on', true)")
    rows = await conn.fetch(
        """UPDATE certificates SET cpr = NULL, payload = NULL, jws = NULL, erased_at = $2
           WHERE number = ANY($1::text[]) AND erased_at IS NULL RETURNING number""",
        list(numbers),
        at,
    )
    await conn.execute("SELECT set_config('amu.retention', 'off', true)")
    return sorted(r["number"] for r in rows)
