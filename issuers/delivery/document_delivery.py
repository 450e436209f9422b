"""Delivery of participation and combined documents, by the certificates' worker.

    delivery = DocumentDelivery(pool, channels, documents, policy, clock)
    await delivery.run_once()      # one due job from other_document_jobs, if any (the Worker
                                   # calls this when no certificate job is due)

The same routing as a certificate's, per attempt: a public school sends the MeMo message by
Digital Post when the participant can receive it, a private school by e-Boks with recorded
consent. Otherwise (exempt from digital post, or no consent) the signed PDF goes on the school's
print list, like a certificate's, titled as the document (it has no certificate number), keyed
by the job so it is spooled once; the job then ends on paper, with no digital delivery after it
(the participant can always download the document from Mine beviser).
Failures that may pass are retried with the worker's backoff until ``policy.max_failures`` in a
row; a refused message, a missing document certificate or an invalid message is dead-lettered.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import asyncpg

from formats.memo import MemoSender
from issuers import other_document_store, school_store
from issuers.delivery import consent_store
from issuers.delivery import document_job_store as jobs
from issuers.delivery.backoff import Backoff
from issuers.delivery.errors import UndeliverableError
from issuers.delivery.failures import failure_of
from issuers.delivery.job_store import Channel
from issuers.delivery.ports import DigitalPost, Documents, Eboks, PrintItem, PrintSpool
from issuers.other_document_store import StoredDocument
from registry.clock import Clock, today_in_denmark

log = logging.getLogger(__name__)
EXEMPT = "exempt-from-digital-post"
NO_CONSENT = "no-eboks-consent"


@dataclass(frozen=True, slots=True)
class _Sent:
    channel: Channel
    receipt: str
    note: str | None = None  # why it went on paper


class DocumentDelivery:
    """Delivers due participation and combined documents through the digital channels."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        digital_post: DigitalPost,
        eboks: Eboks,
        spool: PrintSpool,
        documents: Documents,
        lease: dt.timedelta,
        max_failures: int,
        backoff: Backoff,
        clock: Clock,
    ) -> None:
        self._pool = pool
        self._digital_post = digital_post
        self._eboks = eboks
        self._spool = spool
        self._documents = documents
        self._lease = lease
        self._max_failures = max_failures
        self._backoff = backoff
        self._clock = clock

    async def run_once(self) -> bool:
        """Take one due document job and process it; False when none was due."""
        async with self._pool.acquire() as conn:
            job = await jobs.claim(conn, now=self._clock(), lease=self._lease)
        if job is None:
            return False
        await self._process(job)
        return True

    async def _process(self, job: jobs.ClaimedDocumentJob) -> None:
        try:
            result = await self._deliver(job)
        except Exception as e:  # one bad job must not take the worker down
            failure = failure_of(e)
            if failure is None:
                log.exception("delivery of document %s failed unexpectedly", job.document_id)
                failure = (f"unexpected {type(e).__name__}", False)
            await self._failed(job, failure[0], permanent=failure[1])
            return
        now = self._clock()
        async with self._pool.acquire() as conn:
            kept = await jobs.mark_delivered(
                conn, job, channel=result.channel, receipt=result.receipt, note=result.note, now=now
            )
        log.info(
            "delivered document %s by %s%s",
            job.document_id,
            result.channel.value,
            "" if kept else "; another worker had taken the job over",
        )

    async def _deliver(self, job: jobs.ClaimedDocumentJob) -> _Sent:
        """Send the document digitally, or put it on the print list."""
        async with self._pool.acquire() as conn:
            stored = await other_document_store.document(conn, job.document_id)
            school = await school_store.school(conn, job.school_id)
            consent = (
                stored is not None
                and school is not None
                and school.ownership == "private"
                and await consent_store.has_consent(conn, school_id=school.id, cpr=stored.cpr)
            )
        if stored is None or school is None:
            raise UndeliverableError("the document is missing or was erased")
        if school.ownership == "public":
            if not await self._digital_post.can_receive(stored.cpr):
                return await self._print(job, stored, EXEMPT)
            channel, send = Channel.DIGITAL_POST, self._digital_post.send
        elif consent:
            channel, send = Channel.EBOKS, self._eboks.send
        else:
            return await self._print(job, stored, NO_CONSENT)
        async with self._pool.acquire() as conn:
            message = await self._documents.document_memo(
                conn,
                stored,
                message_uuid=job.message_uuid,
                sender=MemoSender(cvr=school.cvr, name=school.name),
            )
        return _Sent(channel, await send(message, job.message_uuid))

    async def _print(self, job: jobs.ClaimedDocumentJob, stored: StoredDocument, why: str) -> _Sent:
        """Put the document's signed PDF on today's print list; keyed by job, so spooled once."""
        async with self._pool.acquire() as conn:
            pdf = await self._documents.document_pdf(conn, stored)
        now = self._clock()
        receipt = await self._spool.spool(
            PrintItem(
                spool_key=f"document-job-{job.id}",
                school_id=job.school_id,
                certificate_number=None,
                participant_name=stored.name,
                reason=why,
                day=today_in_denmark(now),
                at=now,
                pdf=pdf,
                document_id=stored.id,
                document_title=print_title(stored),
            )
        )
        return _Sent(Channel.PAPER, receipt, why)

    async def _failed(self, job: jobs.ClaimedDocumentJob, error: str, *, permanent: bool) -> None:
        now = self._clock()
        failures = job.failures + 1
        retry_at = (
            None
            if permanent or failures >= self._max_failures
            else now + self._backoff.delay(failures)
        )
        async with self._pool.acquire() as conn:
            await jobs.mark_failed(conn, job, error=error, retry_at=retry_at)
        log.log(
            logging.WARNING if retry_at is None else logging.INFO,
            "delivery of document %s failed (%d in a row)%s: %s",
            job.document_id,
            failures,
            "; dead-lettered" if retry_at is None else "",
            error,
        )


def print_title(document: StoredDocument) -> str:
    """The document's line on the print list, as its MeMo message is titled."""
    if document.kind == "participation":
        first = document.goals[0].get("title") if document.goals else None
        return f"Deltagelsesbevis: {first or document.reference}"
    return f"Samlet bevis for sammensat forløb: {document.reference}"
