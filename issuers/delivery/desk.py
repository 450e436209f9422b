"""The delivery desk: what a school or a participant asks of delivery, and paper on request.

    desk = DeliveryDesk(pool, clock, spool, max_failures=8, warn_working_days=3)
    dead = await desk.deliveries("751234", state=JobState.DEAD, limit=200)
    retried = await desk.retry(write, number)  # a dead letter back in the queue, once per key
    ordered = await desk.order_paper(write, number, reason="Politiet")
    ordered.body  # the JSON to send, byte for byte the same when the request is repeated

The school sees its deliveries with their reasons and attempts, retries dead letters, sees the
certificates whose issue deadline is near or past, records e-Boks consents, reads its daily
print list and orders paper an authority demands. Its three writes are idempotent requests
(``issuers.idempotency``): each runs in its Idempotency-Key's transaction, a repeat gets the
first answer's bytes and changes nothing, and the key used for another request is refused.
The participant sees where their own certificate went and may order paper for it as well.
Refusals are ``IssuingError`` subtypes naming the offending field; "not yours" is ``None``, so
the caller decides what to tell.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
import msgspec

from issuers import idempotency, school_store
from issuers.corrections import CertificateNotFoundError
from issuers.cpr import parse_cpr
from issuers.delivery import consent_store, document_job_store, history_store, job_store
from issuers.delivery.deadlines import Risk, at_risk_from, deadline_risk, due_after
from issuers.delivery.errors import DeliveryError
from issuers.delivery.ports import PrintListEntry, PrintSpool
from issuers.delivery.worker import EXEMPT, NO_CONSENT, ON_REQUEST
from issuers.errors import IdempotencyConflictError, InvalidInputError
from issuers.idempotency import Answered, IdempotentRequest
from registry import certificate_store
from registry.clock import Clock, today_in_denmark
from registry.db import Connection

REASONS = {
    EXEMPT: "The participant is exempt from Digital Post, so the certificate went on paper; it "
    "is delivered digitally as well if that becomes possible.",
    NO_CONSENT: "No e-Boks consent is recorded for the participant, so the certificate went on "
    "paper; record the consent to deliver it to e-Boks as well.",
    ON_REQUEST: "A paper copy was ordered because an authority or organisation demands paper.",
}
# Something shaped like a CPR number has no place in a reason that the print list shows.
_CPR_SHAPED = re.compile(r"\d{6}-?\d{4}")


def reason_text(note: str | None) -> str | None:
    """Why a delivery went where it went, in words, for a job's ``note``."""
    return REASONS.get(note or "")


def paper_reason(text: str) -> str:
    """The authority or organisation that demands paper, as the print room should read it.

    Raises InvalidInputError naming ``reason`` when it is blank or holds a CPR number.
    """
    reason = " ".join(text.split())
    if not reason:
        raise InvalidInputError("must name the authority or organisation", field="reason")
    if _CPR_SHAPED.search(reason):
        raise InvalidInputError(
            "must name the authority or organisation, not a person's CPR number", field="reason"
        )
    return reason


@dataclass(frozen=True, slots=True)
class JobHistory:
    """One delivery job and its attempts, oldest first."""

    job: history_store.Job
    attempts: list[history_store.Attempt]


@dataclass(frozen=True, slots=True)
class AtRisk:
    """A certificate not yet delivered whose deadline is near (at risk) or past (overdue)."""

    job: history_store.Job
    risk: Risk
    working_days_left: int  # negative: working days overdue


# -- the school's answers: stored with the Idempotency-Key and sent as stored -------------------


class AttemptOut(msgspec.Struct, rename="camel", omit_defaults=True):
    number: int
    started_at: dt.datetime
    outcome: str  # delivered, failed, dead, rescheduled, abandoned, superseded, running
    finished_at: dt.datetime | None = None
    channel: str | None = None
    detail: str | None = None
    receipt: str | None = None


class DeliveryOut(msgspec.Struct, rename="camel", omit_defaults=True):
    certificate_number: str
    purpose: str  # issue, digital-after-paper, paper-on-request
    state: str  # pending, running, delivered, dead
    due_on: dt.date
    attempts: int
    failures: int
    max_failures: int
    created_at: dt.datetime
    channel: str | None = None
    reason: str | None = None  # why it went where it went (exempt, no consent)
    reason_text: str | None = None
    next_attempt_at: dt.datetime | None = None
    last_error: str | None = None
    receipt: str | None = None
    delivered_at: dt.datetime | None = None
    requested_by: str | None = None  # paper on request: school, participant
    request_reason: str | None = None  # paper on request: who demands paper
    history: list[AttemptOut] | None = None


class RetryOut(msgspec.Struct, rename="camel"):
    certificate_number: str
    requeued: int


class ConsentOut(msgspec.Struct, rename="camel"):
    consented: bool
    recorded_at: dt.datetime
    deliveries_resumed: int  # certificates on paper now due to go to e-Boks as well


def delivered_at(job: history_store.Job) -> dt.datetime | None:
    return job.finished_at if job.state is job_store.JobState.DELIVERED else None


def delivery_out(
    job: history_store.Job, attempts: list[history_store.Attempt] | None = None
) -> DeliveryOut:
    """A job as the school sees it; with ``attempts``, its history as well."""
    return DeliveryOut(
        certificate_number=job.certificate_number,
        purpose=job.purpose.value,
        state=job.state.value,
        due_on=job.due_on,
        attempts=job.attempts,
        failures=job.failures,
        max_failures=job.max_failures,
        created_at=job.created_at,
        channel=job.channel.value if job.channel else None,
        reason=job.note,
        reason_text=reason_text(job.note),
        next_attempt_at=job.run_after if job.state is job_store.JobState.PENDING else None,
        last_error=job.last_error,
        receipt=job.receipt,
        delivered_at=delivered_at(job),
        requested_by=job.requested_by.value if job.requested_by else None,
        request_reason=job.request_reason,
        history=None
        if attempts is None
        else [
            AttemptOut(
                number=a.number,
                started_at=a.started_at,
                outcome=a.outcome or "running",
                finished_at=a.finished_at,
                channel=a.channel.value if a.channel else None,
                detail=a.detail,
                receipt=a.receipt,
            )
            for a in attempts
        ],
    )


class DeliveryDesk:
    """Delivery as schools and participants see it, over the delivery jobs' tables."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        clock: Clock,
        spool: PrintSpool,
        *,
        max_failures: int,
        warn_working_days: int,
    ) -> None:
        self._pool = pool
        self._clock = clock
        self._spool = spool
        self._max_failures = max_failures
        self._warn = warn_working_days

    def _today(self) -> dt.date:
        return today_in_denmark(self._clock())

    # -- the school -----------------------------------------------------------------------

    async def deliveries(
        self, school_id: str, *, state: job_store.JobState | None, limit: int
    ) -> list[history_store.Job]:
        """The school's delivery jobs, nearest deadline first; ``state`` filters."""
        async with self._pool.acquire() as conn:
            return await history_store.jobs_of_school(conn, school_id, state=state, limit=limit)

    async def certificate_deliveries(self, school_id: str, number: str) -> list[JobHistory]:
        """Where one of the school's certificates went, attempt by attempt; empty when the
        school has no delivery of it."""
        async with self._pool.acquire() as conn:
            jobs = [
                j
                for j in await history_store.jobs_of_certificate(conn, number)
                if j.school_id == school_id
            ]
            return await job_histories(conn, jobs)

    async def retry(self, write: IdempotentRequest, number: str) -> Answered[RetryOut]:
        """Put the certificate's dead-lettered jobs back in the queue with a fresh count of
        failures (the message UUID stays), in the Idempotency-Key's transaction: a repeat of
        the request gets the first answer and requeues nothing, even if the job died again.

        Raises DeliveryError naming ``number`` when nothing is dead-lettered (the key stays
        unused), IdempotencyConflictError when the key was used for another request.
        """

        async def work(conn: Connection) -> RetryOut:
            requeued = await job_store.retry_dead(
                conn, school_id=write.school_id, number=number, now=self._clock()
            )
            if not requeued:
                raise DeliveryError("has no dead-lettered delivery to retry", field="number")
            return RetryOut(certificate_number=number, requeued=requeued)

        return await idempotency.run(self._pool, write, RetryOut, work)

    async def at_risk(self, school_id: str) -> list[AtRisk]:
        """Certificates not yet delivered whose 10-working-day deadline is at most
        ``warn_working_days`` working days away (at risk) or past (overdue)."""
        today = self._today()
        async with self._pool.acquire() as conn:
            jobs = await history_store.undelivered_due_by(
                conn, school_id, at_risk_from(today, warn=self._warn)
            )
        out = []
        for job in jobs:
            risk, left = deadline_risk(job.due_on, today=today, warn=self._warn)
            if risk is not Risk.ON_TRACK:
                out.append(AtRisk(job, risk, left))
        return out

    async def record_consent(
        self, write: IdempotentRequest, cpr: str, *, consented: bool
    ) -> Answered[ConsentOut]:
        """Record a participant's e-Boks consent at a private school. A consent makes the
        certificates that went on paper for want of it go to e-Boks as well. Idempotent like
        ``retry``: a repeat gets the first answer (its ``recordedAt``) and records nothing.

        Raises InvalidInputError naming ``cpr`` for a malformed CPR number, DeliveryError
        naming ``school_id`` for a public school (it delivers through Digital Post),
        IdempotencyConflictError when the key was used for another request.
        """
        person = parse_cpr(cpr, field="cpr")
        school_id = write.school_id

        async def work(conn: Connection) -> ConsentOut:
            now = self._clock()
            school = await school_store.school(conn, school_id)
            if school is None or school.ownership != "private":
                raise DeliveryError(
                    "is a public school: it delivers through Digital Post, not e-Boks",
                    field="school_id",
                )
            await consent_store.record_consent(
                conn, school_id=school_id, cpr=person, consented=consented, now=now
            )
            resumed = 0
            if consented:
                resumed = await job_store.wake_digital_after_paper(
                    conn, school_id=school_id, cpr=person, now=now
                )
                # Participation and combined documents waiting for consent go now too; they are
                # not certificates, so they are not counted among the deliveries resumed.
                await document_job_store.wake_waiting(
                    conn, school_id=school_id, cpr=person, now=now
                )
            return ConsentOut(consented=consented, recorded_at=now, deliveries_resumed=resumed)

        return await idempotency.run(self._pool, write, ConsentOut, work)

    async def print_list(self, school_id: str, day: dt.date | None) -> list[PrintListEntry]:
        """The school's print list of paper certificates for ``day`` (today, Copenhagen,
        when None)."""
        return await self._spool.daily_list(school_id, day or self._today())

    async def order_paper(
        self, write: IdempotentRequest, number: str, *, reason: str
    ) -> Answered[DeliveryOut]:
        """Queue a paper copy of one of the school's certificates for an authority.

        Idempotent like ``retry``: the key is bound to this certificate and this reason, so a
        repeat gets the first answer and queues nothing, and the key reused for another
        certificate or reason is refused. Raises InvalidInputError naming ``reason``,
        CertificateNotFoundError naming ``number`` (not the school's), DeliveryError naming
        ``number`` (cancelled or revoked), IdempotencyConflictError (the key, another request).
        """
        wanted = paper_reason(reason)

        async def work(conn: Connection) -> DeliveryOut:
            stored = await certificate_store.certificate(conn, number)
            if stored is None or stored.school_id != write.school_id:
                raise CertificateNotFoundError(
                    "the school has no certificate with this number", field="number"
                )
            job = await self._order_paper(
                conn, stored, requested_by=job_store.Requester.SCHOOL, key=write.key, reason=wanted
            )
            return delivery_out(job)

        return await idempotency.run(self._pool, write, DeliveryOut, work)

    # -- the participant ------------------------------------------------------------------

    async def own_deliveries(self, cpr: str, number: str) -> list[JobHistory] | None:
        """Where the person's certificate went and when; None when they have no certificate
        with this number (another person's included)."""
        async with self._pool.acquire() as conn:
            stored = await certificate_store.certificate(conn, number)
            if stored is None or stored.cpr != cpr:
                return None
            return await job_histories(conn, await history_store.jobs_of_certificate(conn, number))

    async def order_own_paper(
        self, cpr: str, number: str, *, key: str, reason: str
    ) -> history_store.Job | None:
        """Queue a paper copy of the person's own certificate, printed by the issuing school;
        None when they have no certificate with this number. Raises as ``order_paper``."""
        wanted = paper_reason(reason)
        async with self._pool.acquire() as conn, conn.transaction():
            stored = await certificate_store.certificate(conn, number)
            if stored is None or stored.cpr != cpr:
                return None
            return await self._order_paper(
                conn, stored, requested_by=job_store.Requester.PARTICIPANT, key=key, reason=wanted
            )

    async def _order_paper(
        self,
        conn: Connection,
        stored: certificate_store.StoredCertificate,
        *,
        requested_by: job_store.Requester,
        key: str,
        reason: str,
    ) -> history_store.Job:
        """Queue the paper copy (in the caller's transaction); the same key returns the same
        job, and the same key with another reason is a conflict."""
        if stored.status is not None:
            raise DeliveryError(
                f"was {stored.status.kind}: only a valid certificate is printed", field="number"
            )
        now = self._clock()
        job, created = await history_store.request_paper(
            conn,
            history_store.PaperRequest(
                certificate_number=stored.number,
                school_id=stored.school_id,
                requested_by=requested_by,
                key=key,
                reason=reason,
                message_uuid=uuid.uuid4(),
                # Not on the overdue list (that is the first delivery's); the print room's own
                # target, shown with the job: 10 working days from the request, as for issuing.
                due_on=due_after(today_in_denmark(now)),
                max_failures=self._max_failures,
            ),
            now=now,
        )
        if not created and job.request_reason != reason:
            raise IdempotencyConflictError(
                "this Idempotency-Key was used for a different request", field="Idempotency-Key"
            )
        return job


async def job_histories(conn: Connection, jobs: Sequence[history_store.Job]) -> list[JobHistory]:
    """Each job with its attempts, oldest first (one query for all of them)."""
    by_job: dict[int, list[history_store.Attempt]] = {}
    for attempt in await history_store.attempts_of(conn, [j.id for j in jobs]):
        by_job.setdefault(attempt.job_id, []).append(attempt)
    return [JobHistory(job, by_job.get(job.id, [])) for job in jobs]
