"""``StoreDeliveryStatus``: the pages' DeliveryStatus port over ``issuers.delivery``'s stores."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from issuers.delivery import history_store, job_store
from issuers.delivery.desk import job_histories
from registry.db import Connection
from service.pages.deliveries import Delivery, DeliveryAttempt

_LIMIT = 200


async def _with_attempts(conn: Connection, jobs: Sequence[history_store.Job]) -> list[Delivery]:
    return [
        Delivery(
            certificate_number=h.job.certificate_number,
            state=h.job.state.value,
            channel=h.job.channel.value if h.job.channel else None,
            due_on=h.job.due_on,
            finished_at=h.job.finished_at,
            last_error=h.job.last_error,
            attempts=tuple(
                DeliveryAttempt(
                    started_at=a.started_at,
                    outcome=a.outcome,
                    channel=a.channel.value if a.channel else None,
                )
                for a in h.attempts
            ),
        )
        for h in await job_histories(conn, jobs)
    ]


class StoreDeliveryStatus:
    async def of_certificates(
        self, conn: Connection, numbers: Sequence[str]
    ) -> dict[str, list[Delivery]]:
        jobs = [
            job
            for number in numbers
            for job in await history_store.jobs_of_certificate(conn, number)
        ]
        found: dict[str, list[Delivery]] = {}
        for item in await _with_attempts(conn, jobs):
            found.setdefault(item.certificate_number, []).append(item)
        return found

    async def needing_attention(
        self, conn: Connection, school_id: str, today: dt.date
    ) -> tuple[list[Delivery], list[Delivery]]:
        dead = await history_store.jobs_of_school(
            conn, school_id, state=job_store.JobState.DEAD, limit=_LIMIT
        )
        overdue = await history_store.undelivered_due_by(
            conn, school_id, today - dt.timedelta(days=1)
        )
        return await _with_attempts(conn, dead), await _with_attempts(conn, overdue)

    async def retry(self, conn: Connection, school_id: str, number: str, now: dt.datetime) -> int:
        return await job_store.retry_dead(conn, school_id=school_id, number=number, now=now)
