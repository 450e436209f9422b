"""SQL for the delivery queues' figures that the metrics read at scrape time
(``service.metrics``): jobs by state and channel, dead letters and the oldest due job, for
certificates' jobs (``delivery_jobs``) and participation and combined documents' jobs
(``other_document_jobs``).

    for queue in await stats_store.queue_stats(conn, now=now):
        queue.queue, queue.counts, queue.dead, queue.oldest_due_seconds

"Oldest due" is the pending job whose run time passed longest ago: a job waiting for its
backoff or its next recheck (digital after paper, daily) is not late, and is not counted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from registry.db import Connection

# The queue label and its table; constants, never input.
_QUEUES = (("certificate", "delivery_jobs"), ("document", "other_document_jobs"))


@dataclass(frozen=True, slots=True)
class JobCount:
    state: str  # pending, running, delivered, dead
    channel: str  # digital-post, eboks, paper; "none" until delivered
    jobs: int


@dataclass(frozen=True, slots=True)
class QueueStats:
    queue: str  # certificate or document
    counts: list[JobCount]
    dead: int
    oldest_due_seconds: float  # 0 when no pending job is due


async def queue_stats(conn: Connection, *, now: dt.datetime) -> list[QueueStats]:
    out = []
    for queue, table in _QUEUES:
        rows = await conn.fetch(
            f"""SELECT state, coalesce(channel, 'none') AS channel, count(*) AS n
                FROM {table} GROUP BY 1, 2 ORDER BY 1, 2"""  # noqa: S608 - constant table
        )
        oldest: dt.datetime | None = await conn.fetchval(
            f"""SELECT min(run_after) FROM {table}
                WHERE state = 'pending' AND run_after <= $1""",  # noqa: S608 - constant table
            now,
        )
        counts = [JobCount(r["state"], r["channel"], r["n"]) for r in rows]
        out.append(
            QueueStats(
                queue,
                counts,
                dead=sum(c.jobs for c in counts if c.state == "dead"),
                oldest_due_seconds=(now - oldest).total_seconds() if oldest else 0.0,
            )
        )
    return out
