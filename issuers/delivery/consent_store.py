"""SQL for e-Boks consents: append-only answers, the latest one counts."""

from __future__ import annotations

import datetime as dt

from registry.db import Connection


async def record_consent(
    conn: Connection, *, school_id: str, cpr: str, consented: bool, now: dt.datetime
) -> None:
    await conn.execute(
        """INSERT INTO eboks_consents (school_id, cpr, consented, recorded_at)
           VALUES ($1, $2, $3, $4)""",
        school_id,
        cpr,
        consented,
        now,
    )


async def has_consent(conn: Connection, *, school_id: str, cpr: str) -> bool:
    """Whether the person's latest recorded answer to this school is yes."""
    consented = await conn.fetchval(
        """SELECT consented FROM eboks_consents WHERE school_id = $1 AND cpr = $2
           ORDER BY id DESC LIMIT 1""",
        school_id,
        cpr,
    )
    return bool(consented)
