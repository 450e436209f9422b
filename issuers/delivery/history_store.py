"""SQL for what delivery has done, as the school and the participant see it: jobs with their
attempts, and paper copies ordered on request (the worker's side is ``store``)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from issuers.delivery.job_store import Channel, JobState, Purpose, Requester
from registry.db import Connection


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
