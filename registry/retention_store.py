"""SQL for the register's retention: certificates past their retention date, and blanking their
personal columns (the only change the database lets anyone make to a certificate row)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from registry import binding
from registry.db import Connection


@dataclass(frozen=True, slots=True)
class Due:
    """A certificate whose personal data is past its retention date."""

    number: str
    retain_until: dt.date


async def due_certificates(conn: Connection, as_of: dt.date) -> list[Due]:
    """Certificates past their date on ``as_of``, by a date their 'issued' leaf agrees with: a
    retain_until moved behind the register's back does not make a live certificate due (the
    audit names it). Leaves before entry v2 state no date; their column stands."""
    rows = await conn.fetch(
        """SELECT c.number, c.retain_until,
                  (SELECT l.entry FROM log_leaves l WHERE l.certificate_number = c.number
                   ORDER BY l.idx LIMIT 1) AS entry
           FROM certificates c
           WHERE c.erased_at IS NULL AND c.retain_until < $1
           ORDER BY c.retain_until, c.number""",
        as_of,
    )
    due = []
    for r in rows:
        bound = binding.read_issued(bytes(r["entry"])) if r["entry"] is not None else None
        if bound is not None and (not bound.binds_row or bound.retain_until == r["retain_until"]):
            due.append(Due(r["number"], r["retain_until"]))
    return due


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
