"""SQL for the delivery workers' heartbeats (table ``delivery_workers``, migration 0021).

    me = WorkerIdentity(uuid.uuid4(), host="api-1", pid=4242, started_at=now)
    await worker_store.beat(conn, me, now=now)       # at start and every poll
    seen = await worker_store.last_seen(conn)        # /health/ready: the latest of any worker
    await worker_store.forget(conn, me)               # a clean stop

A worker that dies leaves its row; rows older than ``STALE`` are removed by the next worker
that starts (``forget_stale``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from registry.db import Connection

STALE = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class WorkerIdentity:
    """One run of one worker process; ``worker_id`` is fresh per run."""

    worker_id: uuid.UUID
    host: str
    pid: int
    started_at: dt.datetime


async def beat(conn: Connection, me: WorkerIdentity, *, now: dt.datetime) -> None:
    """Record that ``me`` is alive at ``now`` (its row is made on the first beat)."""
    await conn.execute(
        """INSERT INTO delivery_workers (worker_id, host, pid, started_at, last_seen)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (worker_id) DO UPDATE SET last_seen = EXCLUDED.last_seen""",
        me.worker_id,
        me.host[:255],
        me.pid,
        me.started_at,
        max(now, me.started_at),
    )


async def forget(conn: Connection, me: WorkerIdentity) -> None:
    """Remove ``me``: it stopped cleanly."""
    await conn.execute("DELETE FROM delivery_workers WHERE worker_id = $1", me.worker_id)


async def forget_stale(conn: Connection, *, now: dt.datetime) -> int:
    """Remove the rows of workers not seen for ``STALE``; how many there were."""
    removed: str = await conn.execute(
        "DELETE FROM delivery_workers WHERE last_seen < $1", now - STALE
    )
    return int(removed.rsplit(maxsplit=1)[-1])


async def last_seen(conn: Connection) -> dt.datetime | None:
    """When any worker was last seen; None when none ever was (or all stopped cleanly)."""
    seen: dt.datetime | None = await conn.fetchval("SELECT max(last_seen) FROM delivery_workers")
    return seen
