"""The delivery worker: takes due jobs and delivers each certificate on its channel (and, when
no certificate is due, a participation or combined document: ``document_delivery``).

    worker = Worker(pool, channels, documents, policy, clock, name="host:1234")
    await worker.run(stop_event, concurrency=4)      # until stop_event is set
    await worker.run(stop_event, heartbeat=WorkerIdentity(...))  # seen by /health/ready
    await worker.run_once()                          # one job, if one is due (tests)

Routing, per attempt (exemption and consent can change between attempts):

- public school: ask Digital Post whether the participant can receive digital post; if so send
  the MeMo message, else put the PDF on the print spool (exempt);
- private school: with recorded e-Boks consent send the MeMo message to e-Boks, else paper;
- after paper because digital was impossible, a 'digital-after-paper' job looks again every
  ``policy.recheck`` (and at once when the school records consent) and delivers digitally when
  it can;
- a 'paper-on-request' job (the school or the participant ordered paper for an authority) goes
  to the print spool whatever the digital channels say, and is not followed by a digital one.

A failure that may pass (timeout, 5xx) is retried with exponential backoff and jitter until
``max_failures`` in a row, then the job is dead-lettered for the school to see and retry. A
refused message is dead-lettered at once. Every retry carries the job's fixed message UUID, so
the channel keeps one message however often it was sent. The PDF and the MeMo message come from
``documents`` (``issuers.documents.CertificateDocuments``), as the participant downloads them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from contextlib import suppress
from dataclasses import dataclass

import asyncpg

from formats.memo import MemoMessage, MemoSender
from formats.record import CertificateRecord
from issuers import school_store
from issuers.delivery import consent_store, job_store, worker_store
from issuers.delivery.backoff import Backoff
from issuers.delivery.document_delivery import DocumentDelivery
from issuers.delivery.errors import UndeliverableError
from issuers.delivery.failures import failure_of
from issuers.delivery.ports import DigitalPost, Documents, Eboks, PrintItem, PrintSpool
from issuers.delivery.worker_store import WorkerIdentity
from issuers.school_store import SchoolRow
from registry import certificate_store, codes
from registry.clock import Clock, today_in_denmark
from registry.verification import verified_record

log = logging.getLogger(__name__)
EXEMPT = "exempt-from-digital-post"
NO_CONSENT = "no-eboks-consent"
ON_REQUEST = "paper-on-request"  # an authority or organisation demands paper


@dataclass(frozen=True, slots=True)
class Channels:
    digital_post: DigitalPost
    eboks: Eboks
    spool: PrintSpool


@dataclass(frozen=True, slots=True)
class WorkerPolicy:
    lease: dt.timedelta
    backoff: Backoff
    recheck: dt.timedelta  # how often a digital-after-paper job looks again
    poll: dt.timedelta  # how long an idle slot sleeps before it looks for work again
    # Failures in a row before a participation or combined document's job is dead-lettered
    # (a certificate's job carries its own, from the outbox).
    max_failures: int = 8


@dataclass(frozen=True, slots=True)
class _Delivered:
    channel: job_store.Channel
    receipt: str
    note: str | None
    after_paper: bool  # went on paper because digital was impossible: deliver digitally later


@dataclass(frozen=True, slots=True)
class _Waiting:
    note: str


class Worker:
    """Delivers due jobs; any number of workers (and slots per worker) may run at once."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        channels: Channels,
        documents: Documents,
        policy: WorkerPolicy,
        clock: Clock,
        *,
        name: str,
    ) -> None:
        self._pool = pool
        self._channels = channels
        self._documents = documents
        self._policy = policy
        self._clock = clock
        self._name = name
        self._heartbeat: WorkerIdentity | None = None  # set by run
        self._last_beat: dt.datetime | None = None
        # Participation and combined documents: their own queue, taken when no certificate's
        # job is due (certificates have the legal deadline).
        self._others = DocumentDelivery(
            pool,
            digital_post=channels.digital_post,
            eboks=channels.eboks,
            spool=channels.spool,
            documents=documents,
            lease=policy.lease,
            max_failures=policy.max_failures,
            backoff=policy.backoff,
            clock=clock,
        )

    async def run(
        self,
        stop: asyncio.Event,
        *,
        concurrency: int = 1,
        heartbeat: WorkerIdentity | None = None,
    ) -> None:
        """Work in ``concurrency`` slots until ``stop`` is set; jobs in hand are finished.
        With ``heartbeat``, the worker is recorded as alive every poll (``worker_store``) and
        forgotten when it stops."""
        self._heartbeat = heartbeat
        self._last_beat = None
        await self._beat()
        try:
            async with asyncio.TaskGroup() as group:
                for slot in range(concurrency):
                    group.create_task(self._slot(stop, f"{self._name}/{slot}"))
        finally:
            if heartbeat is not None:
                with suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                    async with self._pool.acquire() as conn:
                        await worker_store.forget(conn, heartbeat)

    async def _beat(self) -> None:
        """Record the heartbeat, at most once per poll interval for all slots together; the
        first also forgets the rows of workers that died long ago."""
        me = self._heartbeat
        if me is None:
            return
        now, last = self._clock(), self._last_beat
        if last is not None and now - last < self._policy.poll:
            return
        self._last_beat = now
        async with self._pool.acquire() as conn:
            await worker_store.beat(conn, me, now=now)
            if last is None:
                await worker_store.forget_stale(conn, now=now)

    async def run_once(self, *, slot: str | None = None) -> bool:
        """Take one due job (a certificate's first, else a participation or combined
        document's) and process it; False when no job was due."""
        async with self._pool.acquire() as conn:
            job = await job_store.claim(
                conn, now=self._clock(), lease=self._policy.lease, worker=slot or self._name
            )
        if job is None:
            return await self._others.run_once()
        await self._process(job)
        return True

    async def _slot(self, stop: asyncio.Event, slot: str) -> None:
        poll = self._policy.poll.total_seconds()
        while not stop.is_set():
            try:
                await self._beat()
                worked = await self.run_once(slot=slot)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as e:
                # The database went away; the lease brings the job back. Only the type is
                # logged: asyncpg's messages can carry row values.
                log.warning("delivery slot %s: database error %s", slot, type(e).__name__)
                worked = False
            if not worked:
                with suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=poll)

    async def _process(self, job: job_store.ClaimedJob) -> None:
        try:
            result = await self._deliver(job)
        except Exception as e:  # one bad job must not take the worker down
            failure = failure_of(e)
            if failure is None:
                log.exception("delivery of %s failed unexpectedly", job.certificate_number)
                failure = (f"unexpected {type(e).__name__}", False)
            await self._failed(job, failure[0], permanent=failure[1])
            return
        now = self._clock()
        async with self._pool.acquire() as conn:
            if isinstance(result, _Waiting):
                kept = await job_store.reschedule(
                    conn, job, run_after=now + self._policy.recheck, note=result.note, now=now
                )
            else:
                kept = await job_store.mark_delivered(
                    conn,
                    job,
                    channel=result.channel,
                    receipt=result.receipt,
                    note=result.note,
                    now=now,
                    follow_up=self._follow_up(job, now) if result.after_paper else None,
                )
        if isinstance(result, _Delivered):
            log.info(
                "delivered %s by %s (%s)%s",
                job.certificate_number,
                result.channel.value,
                job.purpose.value,
                "" if kept else "; another worker had taken the job over",
            )

    def _follow_up(self, job: job_store.ClaimedJob, now: dt.datetime) -> job_store.NewJob:
        return job_store.NewJob(
            certificate_number=job.certificate_number,
            school_id=job.school_id,
            purpose=job_store.Purpose.DIGITAL_AFTER_PAPER,
            message_uuid=job.message_uuid,
            due_on=job.due_on,
            max_failures=job.max_failures,
            run_after=now + self._policy.recheck,
        )

    async def _failed(self, job: job_store.ClaimedJob, error: str, *, permanent: bool) -> None:
        now = self._clock()
        failures = job.failures + 1
        retry_at = (
            None
            if permanent or failures >= job.max_failures
            else now + self._policy.backoff.delay(failures)
        )
        async with self._pool.acquire() as conn:
            await job_store.mark_failed(conn, job, error=error, retry_at=retry_at, now=now)
        log.log(
            logging.WARNING if retry_at is None else logging.INFO,
            "delivery of %s failed (%d in a row)%s: %s",
            job.certificate_number,
            failures,
            "; dead-lettered" if retry_at is None else "",
            error,
        )

    async def _deliver(self, job: job_store.ClaimedJob) -> _Delivered | _Waiting:
        async with self._pool.acquire() as conn:
            stored = await certificate_store.certificate(conn, job.certificate_number)
            school = await school_store.school(conn, job.school_id)
            record = await verified_record(conn, stored) if stored else None
            consent = (
                stored is not None
                and school is not None
                and school.ownership == "private"
                and await consent_store.has_consent(conn, school_id=school.id, cpr=stored.cpr)
            )
        if stored is None or school is None or record is None:
            raise UndeliverableError("the certificate is missing or fails its signature check")
        if stored.status is not None:
            raise UndeliverableError(f"the certificate was {stored.status.kind} before delivery")
        code = codes.display_code(stored.verification_code)

        if job.purpose is job_store.Purpose.PAPER_ON_REQUEST:
            receipt = await self._spool(job, record, school, code, ON_REQUEST)
            return _Delivered(job_store.Channel.PAPER, receipt, ON_REQUEST, after_paper=False)
        if school.ownership == "public":
            if await self._channels.digital_post.can_receive(stored.cpr):
                message = await self._message(job, record, stored, school, code)
                receipt = await self._channels.digital_post.send(message, job.message_uuid)
                return _Delivered(job_store.Channel.DIGITAL_POST, receipt, None, after_paper=False)
            why = EXEMPT
        elif consent:
            message = await self._message(job, record, stored, school, code)
            receipt = await self._channels.eboks.send(message, job.message_uuid)
            return _Delivered(job_store.Channel.EBOKS, receipt, None, after_paper=False)
        else:
            why = NO_CONSENT

        if job.purpose is job_store.Purpose.DIGITAL_AFTER_PAPER:
            return _Waiting(why)  # it is on paper already; look again later
        receipt = await self._spool(job, record, school, code, why)
        return _Delivered(job_store.Channel.PAPER, receipt, why, after_paper=True)

    async def _spool(
        self,
        job: job_store.ClaimedJob,
        record: CertificateRecord,
        school: SchoolRow,
        code: str,
        why: str,
    ) -> str:
        """Put the school's signed PDF on today's print list; keyed by job, so spooled once."""
        now = self._clock()
        return await self._channels.spool.spool(
            PrintItem(
                spool_key=f"job-{job.id}",
                school_id=school.id,
                certificate_number=record.number,
                participant_name=record.participant.name,
                reason=why,
                day=today_in_denmark(now),
                at=now,
                pdf=await self._pdf(record, code),
            )
        )

    async def _pdf(self, record: CertificateRecord, code: str) -> bytes:
        async with self._pool.acquire() as conn:
            return await self._documents.pdf(conn, record, code=code)

    async def _message(
        self,
        job: job_store.ClaimedJob,
        record: CertificateRecord,
        stored: certificate_store.StoredCertificate,
        school: SchoolRow,
        code: str,
    ) -> MemoMessage:
        async with self._pool.acquire() as conn:
            return await self._documents.memo(
                conn,
                record,
                stored,
                code=code,
                message_uuid=job.message_uuid,
                sender=MemoSender(cvr=school.cvr, name=school.name),
            )
