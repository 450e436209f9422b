"""SQL for the register's figures that the metrics read at scrape time (``service.metrics``).

    stats = await stats_store.register_stats(conn)
    stats.events["issued"], stats.log_size, stats.checkpoint_signed_at

Each is one cheap statement: the log's size is its head row, the latest checkpoint the last by
its primary key; only the event counts read their table (one row per issue, cancellation and
revocation).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from registry.db import Connection


@dataclass(frozen=True, slots=True)
class RegisterStats:
    events: dict[str, int]  # issued, cancelled, revoked: how many of each the register holds
    log_size: int
    checkpoint_signed_at: dt.datetime | None  # the latest checkpoint's; None before the first


async def register_stats(conn: Connection) -> RegisterStats:
    rows = await conn.fetch("SELECT kind, count(*) AS n FROM certificate_events GROUP BY kind")
    size: int = await conn.fetchval("SELECT size FROM log_head")
    signed: dt.datetime | None = await conn.fetchval(
        "SELECT signed_at FROM log_checkpoints ORDER BY size DESC LIMIT 1"
    )
    return RegisterStats({r["kind"]: r["n"] for r in rows}, size, signed)
