"""The delivery desk: what a school or a participant asks of delivery, and paper on request.

    desk = DeliveryDesk(pool, clock, spool, max_failures=8, warn_working_days=3)
    dead = await desk.deliveries("751234", state=JobState.DEAD, limit=200)
    await desk.retry("751234", number)                       # a dead letter back in the queue
    job = await desk.order_paper("751234", number, key="k-1", reason="Politiet")

The school sees its deliveries with their reasons and attempts, retries dead letters, sees the
certificates whose issue deadline is near or past, records e-Boks consents, reads its daily
print list and orders paper an authority demands. The participant sees where their own
certificate went and may order paper for it as well. Refusals are ``IssuingError`` subtypes
naming the offending field; "not yours" is ``None``, so the caller decides what to tell.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from issuers import school_store
from issuers.corrections import CertificateNotFoundError
from issuers.cpr import parse_cpr
from issuers.delivery import consent_store, history_store, job_store
from issuers.delivery.deadlines import Risk, at_risk_from, deadline_risk, due_after
from issuers.delivery.errors import DeliveryError
from issuers.delivery.ports import PrintListEntry, PrintSpool
from issuers.delivery.worker import EXEMPT, NO_CONSENT, ON_REQUEST
from issuers.errors import IdempotencyConflictError, InvalidInputError
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


@dataclass(frozen=True, slots=True)
class ConsentRecorded:
    consented: bool
    recorded_at: dt.datetime
    deliveries_resumed: int  # certificates on paper now due to go to e-Boks as well


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

    async def retry(self, school_id: str, number: str) -> int:
        """Put the certificate's dead-lettered jobs back in the queue with a fresh count of
        failures (the message UUID stays); returns how many.

        Raises DeliveryError naming ``number`` when nothing is dead-lettered.
        """
        async with self._pool.acquire() as conn:
            requeued = await job_store.retry_dead(
                conn, school_id=school_id, number=number, now=self._clock()
            )
        if not requeued:
            raise DeliveryError("has no dead-lettered delivery to retry", field="number")
        return requeued

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

    async def record_consent(self, school_id: str, cpr: str, *, consented: bool) -> ConsentRecorded:
        """Record a participant's e-Boks consent at a private school. A consent makes the
        certificates that went on paper for want of it go to e-Boks as well.

        Raises InvalidInputError naming ``cpr`` for a malformed CPR number, DeliveryError
        naming ``school_id`` for a public school (it delivers through Digital Post).
        """
        person = parse_cpr(cpr, field="cpr")
        now = self._clock()
        async with self._pool.acquire() as conn, conn.transaction():
            school = await school_store.school(conn, school_id)
            if school is None or school.ownership != "private":
                raise DeliveryError(
                    "is a public school: it delivers through Digital Post, not e-Boks",
                    field="school_id",
                )
            await consent_store.record_consent(
                conn, school_id=school_id, cpr=person, consented=consented, now=now
            )
            resumed = (
                await job_store.wake_digital_after_paper(
                    conn, school_id=school_id, cpr=person, now=now
                )
                if consented
                else 0
            )
        return ConsentRecorded(consented=consented, recorded_at=now, deliveries_resumed=resumed)

    async def print_list(self, school_id: str, day: dt.date | None) -> list[PrintListEntry]:
        """The school's print list of paper certificates for ``day`` (today, Copenhagen,
        when None)."""
        return await self._spool.daily_list(school_id, day or self._today())

    async def order_paper(
        self, school_id: str, number: str, *, key: str, reason: str
    ) -> history_store.Job:
        """Queue a paper copy of one of the school's certificates for an authority.

        The same ``key`` returns the same job. Raises InvalidInputError naming ``reason``,
        CertificateNotFoundError naming ``number`` (not the school's), DeliveryError naming
        ``number`` (cancelled or revoked), IdempotencyConflictError (the key, another reason).
        """
        wanted = paper_reason(reason)
        async with self._pool.acquire() as conn, conn.transaction():
            stored = await certificate_store.certificate(conn, number)
            if stored is None or stored.school_id != school_id:
                raise CertificateNotFoundError(
                    "the school has no certificate with this number", field="number"
                )
            return await self._order_paper(
                conn, stored, requested_by=job_store.Requester.SCHOOL, key=key, reason=wanted
            )

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
