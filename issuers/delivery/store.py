"""SQL for delivery: jobs, attempts, e-Boks consents and the print-job table.

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

import asyncpg

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


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    certificate_number: str
    school_id: str
    purpose: Purpose
    state: JobState
    channel: Channel | None
    note: str | None
    due_on: dt.date
    attempts: int
    failures: int
    max_failures: int
    run_after: dt.datetime
    last_error: str | None
    receipt: str | None
    created_at: dt.datetime
    finished_at: dt.datetime | None
    requested_by: Requester | None = None  # paper on request only
    request_key: str | None = None
    request_reason: str | None = None


@dataclass(frozen=True, slots=True)
class PaperRequest:
    """A paper copy ordered because an authority or organisation demands paper."""

    certificate_number: str
    school_id: str
    requested_by: Requester
    key: str  # the request's Idempotency-Key
    reason: str
    message_uuid: uuid.UUID  # not used on paper; the column wants one
    due_on: dt.date
    max_failures: int


@dataclass(frozen=True, slots=True)
class Attempt:
    job_id: int
    number: int
    worker: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    outcome: str | None  # None: still running, or its worker died and no one claimed it since
    channel: Channel | None
    detail: str | None
    receipt: str | None


@dataclass(frozen=True, slots=True)
class PrintJob:
    spool_key: str
    certificate_number: str
    participant_name: str
    reason: str
    spool_date: dt.date
    spooled_at: dt.datetime
    printed_at: dt.datetime | None
    id: int


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


_JOB_COLUMNS = """id, certificate_number, school_id, purpose, state, channel, note, due_on,
                  attempts, failures, max_failures, run_after, last_error, receipt, created_at,
                  finished_at, requested_by, request_key, request_reason"""


def _job(row: asyncpg.Record) -> Job:
    return Job(
        id=row["id"],
        certificate_number=row["certificate_number"],
        school_id=row["school_id"],
        purpose=Purpose(row["purpose"]),
        state=JobState(row["state"]),
        channel=Channel(row["channel"]) if row["channel"] else None,
        note=row["note"],
        due_on=row["due_on"],
        attempts=row["attempts"],
        failures=row["failures"],
        max_failures=row["max_failures"],
        run_after=row["run_after"],
        last_error=row["last_error"],
        receipt=row["receipt"],
        created_at=row["created_at"],
        finished_at=row["finished_at"],
        requested_by=Requester(row["requested_by"]) if row["requested_by"] else None,
        request_key=row["request_key"],
        request_reason=row["request_reason"],
    )


async def request_paper(
    conn: Connection, request: PaperRequest, *, now: dt.datetime
) -> tuple[Job, bool]:
    """Queue a paper copy, due now; True when this call created the job.

    The same requester repeating the same key gets the job the first call made (a concurrent
    repeat waits on the unique index until the first commits); the caller compares the reason.
    """
    row = await conn.fetchrow(
        f"""INSERT INTO delivery_jobs (certificate_number, school_id, purpose, message_uuid,
                                       due_on, max_failures, run_after, created_at,
                                       requested_by, request_key, request_reason)
            VALUES ($1, $2, 'paper-on-request', $3, $4, $5, $6, $6, $7, $8, $9)
            ON CONFLICT (certificate_number, requested_by, request_key)
                WHERE purpose = 'paper-on-request'
            DO NOTHING
            RETURNING {_JOB_COLUMNS}""",  # noqa: S608 - constant columns
        request.certificate_number,
        request.school_id,
        request.message_uuid,
        request.due_on,
        request.max_failures,
        now,
        request.requested_by.value,
        request.key,
        request.reason,
    )
    if row is not None:
        return _job(row), True
    row = await conn.fetchrow(
        f"""SELECT {_JOB_COLUMNS} FROM delivery_jobs
            WHERE certificate_number = $1 AND purpose = 'paper-on-request'
              AND requested_by = $2 AND request_key = $3""",  # noqa: S608 - constant columns
        request.certificate_number,
        request.requested_by.value,
        request.key,
    )
    if row is None:  # the conflicting job is gone: jobs are never deleted, so a bug
        raise RuntimeError("a paper request conflicted with a job that does not exist")
    return _job(row), False


async def jobs_of_school(
    conn: Connection, school_id: str, *, state: JobState | None, limit: int
) -> list[Job]:
    """A school's jobs, most urgent deadline first."""
    rows = await conn.fetch(
        f"""SELECT {_JOB_COLUMNS} FROM delivery_jobs
            WHERE school_id = $1 AND ($2::text IS NULL OR state = $2)
            ORDER BY due_on, id LIMIT $3""",  # noqa: S608 - constant columns
        school_id,
        state.value if state else None,
        limit,
    )
    return [_job(row) for row in rows]


async def jobs_of_certificate(conn: Connection, number: str) -> list[Job]:
    rows = await conn.fetch(
        f"""SELECT {_JOB_COLUMNS} FROM delivery_jobs WHERE certificate_number = $1
            ORDER BY id""",  # noqa: S608 - constant columns
        number,
    )
    return [_job(row) for row in rows]


async def undelivered_due_by(conn: Connection, school_id: str, day: dt.date) -> list[Job]:
    """A school's first deliveries not yet made whose deadline is ``day`` or earlier."""
    rows = await conn.fetch(
        f"""SELECT {_JOB_COLUMNS} FROM delivery_jobs
            WHERE school_id = $1 AND purpose = 'issue' AND state <> 'delivered'
              AND due_on <= $2
            ORDER BY due_on, id""",  # noqa: S608 - constant columns
        school_id,
        day,
    )
    return [_job(row) for row in rows]


async def attempts_of(conn: Connection, job_ids: Sequence[int]) -> list[Attempt]:
    rows = await conn.fetch(
        """SELECT job_id, number, worker, started_at, finished_at, outcome, channel, detail,
                  receipt
           FROM delivery_attempts WHERE job_id = ANY($1::bigint[]) ORDER BY job_id, number""",
        list(job_ids),
    )
    return [
        Attempt(
            job_id=r["job_id"],
            number=r["number"],
            worker=r["worker"],
            started_at=r["started_at"],
            finished_at=r["finished_at"],
            outcome=r["outcome"],
            channel=Channel(r["channel"]) if r["channel"] else None,
            detail=r["detail"],
            receipt=r["receipt"],
        )
        for r in rows
    ]


async def insert_print_job(
    conn: Connection,
    *,
    spool_key: str,
    school_id: str,
    certificate_number: str,
    participant_name: str,
    reason: str,
    spool_date: dt.date,
    pdf: bytes,
    now: dt.datetime,
) -> int:
    """Spool one print; a second call with the same key returns the first one's id."""
    inserted = await conn.fetchval(
        """INSERT INTO print_jobs (spool_key, school_id, certificate_number, participant_name,
                                   reason, spool_date, pdf, spooled_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (spool_key) DO NOTHING RETURNING id""",
        spool_key,
        school_id,
        certificate_number,
        participant_name,
        reason,
        spool_date,
        pdf,
        now,
    )
    if inserted is not None:
        return int(inserted)
    existing = await conn.fetchval("SELECT id FROM print_jobs WHERE spool_key = $1", spool_key)
    return int(existing)


async def print_list(conn: Connection, school_id: str, day: dt.date) -> list[PrintJob]:
    rows = await conn.fetch(
        """SELECT id, spool_key, certificate_number, participant_name, reason, spool_date,
                  spooled_at, printed_at
           FROM print_jobs WHERE school_id = $1 AND spool_date = $2 AND erased_at IS NULL
           ORDER BY id""",
        school_id,
        day,
    )
    return [PrintJob(**dict(r)) for r in rows]
