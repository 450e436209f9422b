"""SQL for delivery jobs and their attempts (consents: ``consent_store``; prints: ``print_store``).

Every function takes the connection it runs on and returns our own frozen dataclasses. Jobs are
claimed with ``FOR UPDATE SKIP LOCKED`` under a lease: a worker that dies leaves a lease that
runs out, and the next claim takes the job again. Every write of a worker's result names the
lease token it claimed with, so a worker whose lease was taken over cannot overwrite the new
owner's result.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from registry.db import Connection


class Purpose(StrEnum):
    ISSUE = "issue"
    DIGITAL_AFTER_PAPER = "digital-after-paper"
    PAPER_ON_REQUEST = "paper-on-request"  # an authority demands paper (migration 0009)


class Requester(StrEnum):
    """Who ordered a paper copy on request."""

    SCHOOL = "school"
    PARTICIPANT = "participant"


class JobState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DELIVERED = "delivered"
    DEAD = "dead"


class Channel(StrEnum):
    DIGITAL_POST = "digital-post"
    EBOKS = "eboks"
    PAPER = "paper"


@dataclass(frozen=True, slots=True)
class NewJob:
    certificate_number: str
    school_id: str
    purpose: Purpose
    message_uuid: uuid.UUID
    due_on: dt.date
    max_failures: int
    run_after: dt.datetime


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    id: int
    certificate_number: str
    school_id: str
    purpose: Purpose
    message_uuid: uuid.UUID
    due_on: dt.date
    attempt: int  # this claim's number, from 1
    failures: int
    max_failures: int
    lease_token: uuid.UUID


async def insert_jobs(conn: Connection, jobs: Sequence[NewJob]) -> None:
    """Insert jobs (in the caller's transaction); a job that exists already is left alone."""
    await conn.execute(
        """INSERT INTO delivery_jobs (certificate_number, school_id, purpose, message_uuid,
                                      due_on, max_failures, run_after, created_at)
           SELECT n, s, p, u, d, m, r, r
           FROM unnest($1::text[], $2::text[], $3::text[], $4::uuid[], $5::date[], $6::int[],
                       $7::timestamptz[]) AS j(n, s, p, u, d, m, r)
           ON CONFLICT (certificate_number, purpose) WHERE purpose <> 'paper-on-request'
           DO NOTHING""",
        [j.certificate_number for j in jobs],
        [j.school_id for j in jobs],
        [j.purpose.value for j in jobs],
        [j.message_uuid for j in jobs],
        [j.due_on for j in jobs],
        [j.max_failures for j in jobs],
        [j.run_after for j in jobs],
    )


async def claim(
    conn: Connection, *, now: dt.datetime, lease: dt.timedelta, worker: str
) -> ClaimedJob | None:
    """Take the next due job under a lease and record the attempt; None when nothing is due.

    A pending job is due when its ``run_after`` has come; a running one when its lease ran out
    (its worker died or hung). Locked rows are skipped, so concurrent workers never wait on
    each other and never take the same job.
    """
    token = uuid.uuid4()
    async with conn.transaction():
        row = await conn.fetchrow(
            """WITH next AS (
                   SELECT id FROM delivery_jobs
                   WHERE (state = 'pending' AND run_after <= $1)
                      OR (state = 'running' AND leased_until <= $1)
                   ORDER BY run_after, id
                   LIMIT 1
                   FOR UPDATE SKIP LOCKED
               )
               UPDATE delivery_jobs j
               SET state = 'running', lease_token = $2, leased_until = $1 + $3,
                   attempts = j.attempts + 1
               FROM next WHERE j.id = next.id
               RETURNING j.id, j.certificate_number, j.school_id, j.purpose, j.message_uuid,
                         j.due_on, j.attempts, j.failures, j.max_failures""",
            now,
            token,
            lease,
        )
        if row is None:
            return None
        await conn.execute(
            """UPDATE delivery_attempts SET outcome = 'abandoned', finished_at = $2,
                      detail = 'the worker stopped before finishing; its lease ran out'
               WHERE job_id = $1 AND outcome IS NULL""",
            row["id"],
            now,
        )
        await conn.execute(
            """INSERT INTO delivery_attempts (job_id, number, worker, started_at)
               VALUES ($1, $2, $3, $4)""",
            row["id"],
            row["attempts"],
            worker,
            now,
        )
    return ClaimedJob(
        id=row["id"],
        certificate_number=row["certificate_number"],
        school_id=row["school_id"],
        purpose=Purpose(row["purpose"]),
        message_uuid=row["message_uuid"],
        due_on=row["due_on"],
        attempt=row["attempts"],
        failures=row["failures"],
        max_failures=row["max_failures"],
        lease_token=token,
    )


async def _close_attempt(
    conn: Connection,
    job: ClaimedJob,
    *,
    outcome: str,
    now: dt.datetime,
    channel: Channel | None = None,
    detail: str | None = None,
    receipt: str | None = None,
) -> None:
    await conn.execute(
        """UPDATE delivery_attempts
           SET outcome = $3, finished_at = $4, channel = $5, detail = $6, receipt = $7
           WHERE job_id = $1 AND number = $2 AND outcome IS NULL""",
        job.id,
        job.attempt,
        outcome,
        now,
        channel.value if channel else None,
        detail,
        receipt,
    )


async def _still_ours(conn: Connection, job: ClaimedJob, now: dt.datetime) -> bool:
    """Lock the job if this claim still owns it; else close the attempt as superseded."""
    owned = await conn.fetchval(
        """SELECT true FROM delivery_jobs
           WHERE id = $1 AND state = 'running' AND lease_token = $2 FOR UPDATE""",
        job.id,
        job.lease_token,
    )
    if not owned:
        await _close_attempt(
            conn,
            job,
            outcome="superseded",
            now=now,
            detail="the lease ran out and another worker took the job over",
        )
    return bool(owned)


async def mark_delivered(
    conn: Connection,
    job: ClaimedJob,
    *,
    channel: Channel,
    receipt: str,
    note: str | None,
    now: dt.datetime,
    follow_up: NewJob | None = None,
) -> bool:
    """Record a delivery (and queue ``follow_up`` with it); False if the lease was lost."""
    async with conn.transaction():
        if not await _still_ours(conn, job, now):
            return False
        await conn.execute(
            """UPDATE delivery_jobs
               SET state = 'delivered', channel = $2, receipt = $3, note = $4,
                   finished_at = $5, lease_token = NULL, leased_until = NULL, failures = 0
               WHERE id = $1""",
            job.id,
            channel.value,
            receipt,
            note,
            now,
        )
        await _close_attempt(
            conn, job, outcome="delivered", now=now, channel=channel, detail=note, receipt=receipt
        )
        if follow_up is not None:
            await insert_jobs(conn, [follow_up])
    return True


async def reschedule(
    conn: Connection, job: ClaimedJob, *, run_after: dt.datetime, note: str, now: dt.datetime
) -> bool:
    """Put the job back to wait without counting a failure; False if the lease was lost."""
    async with conn.transaction():
        if not await _still_ours(conn, job, now):
            return False
        await conn.execute(
            """UPDATE delivery_jobs
               SET state = 'pending', run_after = $2, note = $3,
                   lease_token = NULL, leased_until = NULL
               WHERE id = $1""",
            job.id,
            run_after,
            note,
        )
        await _close_attempt(conn, job, outcome="rescheduled", now=now, detail=note)
    return True


async def mark_failed(
    conn: Connection,
    job: ClaimedJob,
    *,
    error: str,
    retry_at: dt.datetime | None,
    now: dt.datetime,
) -> bool:
    """Count a failure: retry at ``retry_at``, or dead-letter when it is None.

    Returns False if the lease was lost.
    """
    async with conn.transaction():
        if not await _still_ours(conn, job, now):
            return False
        await conn.execute(
            """UPDATE delivery_jobs
               SET state = $2, run_after = coalesce($3, run_after), last_error = $4,
                   failures = failures + 1, lease_token = NULL, leased_until = NULL
               WHERE id = $1""",
            job.id,
            JobState.PENDING.value if retry_at else JobState.DEAD.value,
            retry_at,
            error,
        )
        await _close_attempt(
            conn, job, outcome="failed" if retry_at else "dead", now=now, detail=error
        )
    return True


async def retry_dead(conn: Connection, *, school_id: str, number: str, now: dt.datetime) -> int:
    """Put a certificate's dead-lettered jobs back in the queue; returns how many."""
    rows = await conn.fetch(
        """UPDATE delivery_jobs SET state = 'pending', failures = 0, run_after = $3
           WHERE school_id = $1 AND certificate_number = $2 AND state = 'dead'
           RETURNING id""",
        school_id,
        number,
        now,
    )
    return len(rows)


async def wake_digital_after_paper(
    conn: Connection, *, school_id: str, cpr: str, now: dt.datetime
) -> int:
    """Make a person's waiting digital-after-paper jobs at one school due now."""
    rows = await conn.fetch(
        """UPDATE delivery_jobs j SET run_after = $3
           FROM certificates c
           WHERE c.number = j.certificate_number AND c.cpr = $2 AND j.school_id = $1
             AND j.purpose = 'digital-after-paper' AND j.state = 'pending'
           RETURNING j.id""",
        school_id,
        cpr,
        now,
    )
    return len(rows)
