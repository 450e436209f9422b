"""SQL for the delivery jobs of participation and combined documents (``other_document_jobs``).

The same discipline as ``job_store`` for certificates: a job is claimed with ``FOR UPDATE SKIP
LOCKED`` under a lease, and every write of a worker's result names the lease token it claimed
with, so a worker whose lease was taken over cannot overwrite the new owner's result. There is
no attempt history: these documents are not certificates. A job delivered on paper (channel
'paper', ``note`` the reason) is done; no digital delivery follows it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from issuers.delivery.job_store import Channel, JobState
from registry.db import Connection


@dataclass(frozen=True, slots=True)
class ClaimedDocumentJob:
    id: int
    document_id: uuid.UUID
    school_id: str
    message_uuid: uuid.UUID
    attempt: int  # this claim's number, from 1
    failures: int
    lease_token: uuid.UUID


async def claim(
    conn: Connection, *, now: dt.datetime, lease: dt.timedelta
) -> ClaimedDocumentJob | None:
    """Take the next due job under a lease; None when nothing is due. A running job whose lease
    ran out (its worker died) is due again."""
    token = uuid.uuid4()
    row = await conn.fetchrow(
        """WITH next AS (
               SELECT id FROM other_document_jobs
               WHERE (state = 'pending' AND run_after <= $1)
                  OR (state = 'running' AND leased_until <= $1)
               ORDER BY run_after, id
               LIMIT 1
               FOR UPDATE SKIP LOCKED
           )
           UPDATE other_document_jobs j
           SET state = 'running', lease_token = $2, leased_until = $1 + $3,
               attempts = j.attempts + 1
           FROM next WHERE j.id = next.id
           RETURNING j.id, j.document_id, j.school_id, j.message_uuid, j.attempts, j.failures""",
        now,
        token,
        lease,
    )
    if row is None:
        return None
    return ClaimedDocumentJob(
        id=row["id"],
        document_id=row["document_id"],
        school_id=row["school_id"],
        message_uuid=row["message_uuid"],
        attempt=row["attempts"],
        failures=row["failures"],
        lease_token=token,
    )


async def mark_delivered(
    conn: Connection,
    job: ClaimedDocumentJob,
    *,
    channel: Channel,
    receipt: str,
    now: dt.datetime,
    note: str | None = None,
) -> bool:
    """Record a delivery (``note``: why it went on paper); False if the lease was lost (nothing
    written)."""
    done = await conn.fetchval(
        """UPDATE other_document_jobs
           SET state = 'delivered', channel = $3, receipt = $4, finished_at = $5, note = $6,
               lease_token = NULL, leased_until = NULL, failures = 0
           WHERE id = $1 AND state = 'running' AND lease_token = $2 RETURNING true""",
        job.id,
        job.lease_token,
        channel.value,
        receipt,
        now,
        note,
    )
    return bool(done)


async def mark_failed(
    conn: Connection, job: ClaimedDocumentJob, *, error: str, retry_at: dt.datetime | None
) -> bool:
    """Count a failure: retry at ``retry_at``, or dead-letter when it is None. False if the
    lease was lost."""
    done = await conn.fetchval(
        """UPDATE other_document_jobs
           SET state = $3, run_after = coalesce($4, run_after), last_error = $5,
               failures = failures + 1, lease_token = NULL, leased_until = NULL
           WHERE id = $1 AND state = 'running' AND lease_token = $2 RETURNING true""",
        job.id,
        job.lease_token,
        JobState.PENDING.value if retry_at else JobState.DEAD.value,
        retry_at,
        error,
    )
    return bool(done)


async def wake_waiting(conn: Connection, *, school_id: str, cpr: str, now: dt.datetime) -> int:
    """Make a person's waiting document jobs at one school due now (consent was recorded)."""
    rows = await conn.fetch(
        """UPDATE other_document_jobs j SET run_after = $3
           FROM other_documents d
           WHERE d.id = j.document_id AND d.cpr = $2 AND j.school_id = $1
             AND j.state = 'pending' AND j.run_after > $3
           RETURNING j.id""",
        school_id,
        cpr,
        now,
    )
    return len(rows)


@dataclass(frozen=True, slots=True)
class DocumentJobState:
    state: JobState
    channel: Channel | None
    note: str | None
    attempts: int


async def state_of(conn: Connection, document_id: uuid.UUID) -> DocumentJobState | None:
    """Where a document's delivery stands (tests, and the participant's page)."""
    row = await conn.fetchrow(
        """SELECT state, channel, note, attempts FROM other_document_jobs
           WHERE document_id = $1""",
        document_id,
    )
    if row is None:
        return None
    return DocumentJobState(
        state=JobState(row["state"]),
        channel=Channel(row["channel"]) if row["channel"] else None,
        note=row["note"],
        attempts=row["attempts"],
    )
