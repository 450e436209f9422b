"""Delivery over HTTP: where each certificate went and when, for the school and the participant.

The school (its own credential, ``school_guard``) lists its deliveries, sees dead letters with
their reason and retries them, sees certificates whose issue deadline is near or past, records
e-Boks consents, reads its daily print list and orders paper copies an authority demands. The
participant (``participant_guard``) sees where their own certificate went and may order paper
for it as well.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter

from issuers import school_store
from issuers.corrections import CertificateNotFoundError
from issuers.cpr import parse_cpr
from issuers.delivery import consent_store, history_store, job_store
from issuers.delivery.deadlines import Risk, at_risk_from, deadline_risk, due_after
from issuers.delivery.errors import DeliveryError
from issuers.delivery.worker import EXEMPT, NO_CONSENT, ON_REQUEST
from issuers.errors import IdempotencyConflictError, InvalidInputError
from registry import certificate_store
from registry.clock import today_in_denmark
from registry.db import Connection
from service.adapters import print_spool_for
from service.api.participants import participant_guard
from service.api.schools import school_guard
from service.services import Services, services_of

REASONS = {
    EXEMPT: "The participant is exempt from Digital Post, so the certificate went on paper; it "
    "is delivered digitally as well if that becomes possible.",
    NO_CONSENT: "No e-Boks consent is recorded for the participant, so the certificate went on "
    "paper; record the consent to deliver it to e-Boks as well.",
    ON_REQUEST: "A paper copy was ordered because an authority or organisation demands paper.",
}
IdempotencyKey = Annotated[
    str, HeaderParameter(name="Idempotency-Key", min_length=1, max_length=200)
]
# Something shaped like a CPR number has no place in a reason that the print list shows.
_CPR_SHAPED = re.compile(r"\d{6}-?\d{4}")


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


class PaperRequestIn(msgspec.Struct, forbid_unknown_fields=True):
    # The authority or organisation that demands paper, as the print room should read it.
    # Missing or blank is refused by ``_reason``, which names the field.
    reason: Annotated[str, msgspec.Meta(max_length=200)] = ""


class RetryOut(msgspec.Struct, rename="camel"):
    certificate_number: str
    requeued: int


class AtRiskOut(msgspec.Struct, rename="camel", omit_defaults=True):
    certificate_number: str
    due_on: dt.date
    risk: str  # at-risk, overdue
    working_days_left: int  # negative: working days overdue
    state: str
    channel: str | None = None
    last_error: str | None = None


class ConsentIn(msgspec.Struct, forbid_unknown_fields=True):
    cpr: Annotated[str, msgspec.Meta(min_length=10, max_length=11)]
    consented: bool = True


class ConsentOut(msgspec.Struct, rename="camel"):
    consented: bool
    recorded_at: dt.datetime
    deliveries_resumed: int  # certificates on paper now due to go to e-Boks as well


class PrintListEntryOut(msgspec.Struct, rename="camel"):
    certificate_number: str
    participant_name: str
    reason: str
    spooled_at: dt.datetime
    receipt: str


class ParticipantAttemptOut(msgspec.Struct, rename="camel", omit_defaults=True):
    at: dt.datetime
    outcome: str
    channel: str | None = None


class ParticipantDeliveryOut(msgspec.Struct, rename="camel", omit_defaults=True):
    purpose: str
    state: str
    channel: str | None = None
    reason_text: str | None = None
    request_reason: str | None = None
    delivered_at: dt.datetime | None = None
    attempts: list[ParticipantAttemptOut] = msgspec.field(default_factory=list)


def _delivery(
    job: history_store.Job, attempts: list[history_store.Attempt] | None = None
) -> DeliveryOut:
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
        reason_text=REASONS.get(job.note or ""),
        next_attempt_at=job.run_after if job.state is job_store.JobState.PENDING else None,
        last_error=job.last_error,
        receipt=job.receipt,
        delivered_at=job.finished_at if job.state is job_store.JobState.DELIVERED else None,
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
            if a.job_id == job.id
        ],
    )


def _today(services: Services) -> dt.date:
    return today_in_denmark(services.clock())


def _reason(data: PaperRequestIn) -> str:
    reason = " ".join(data.reason.split())
    if not reason:
        raise InvalidInputError("must name the authority or organisation", field="reason")
    if _CPR_SHAPED.search(reason):
        raise InvalidInputError(
            "must name the authority or organisation, not a person's CPR number", field="reason"
        )
    return reason


def _valid(stored: certificate_store.StoredCertificate) -> None:
    if stored.status is not None:
        raise DeliveryError(
            f"was {stored.status.kind}: only a valid certificate is printed", field="number"
        )


async def _order_paper(
    services: Services,
    conn: Connection,
    stored: certificate_store.StoredCertificate,
    *,
    requested_by: job_store.Requester,
    key: str,
    reason: str,
) -> history_store.Job:
    """Queue the paper copy (in the caller's transaction); the same key returns the same job,
    and the same key with another reason is a conflict."""
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
            due_on=due_after(_today(services)),
            max_failures=services.settings.delivery.max_failures,
        ),
        now=services.clock(),
    )
    if not created and job.request_reason != reason:
        raise IdempotencyConflictError(
            "this Idempotency-Key was used for a different request", field="Idempotency-Key"
        )
    return job


class DeliveryController(Controller):
    """A school's deliveries: where each certificate went, dead letters, deadlines, consent,
    paper on request."""

    path = "/api/schools/{school_id:str}"
    guards = [school_guard]  # noqa: RUF012 - Litestar's own class attribute
    tags = ["Delivery"]  # noqa: RUF012
    security = [{"schoolCredential": []}]  # noqa: RUF012

    @get("/deliveries", summary="The school's deliveries, nearest deadline first")
    async def list_deliveries(
        self,
        request: Request[Any, Any, Any],
        school_id: FromPath[str],
        job_state: Annotated[job_store.JobState | None, QueryParameter(name="state")] = None,
        limit: Annotated[int, QueryParameter(name="limit", ge=1, le=1000)] = 200,
    ) -> list[DeliveryOut]:
        """``state=dead`` lists the dead letters, each with its last error."""
        services = services_of(request)
        async with services.pool.acquire() as conn:
            jobs = await history_store.jobs_of_school(conn, school_id, state=job_state, limit=limit)
        return [_delivery(job) for job in jobs]

    @get("/deliveries/{number:str}", summary="Where one certificate went, attempt by attempt")
    async def certificate_deliveries(
        self, request: Request[Any, Any, Any], school_id: FromPath[str], number: FromPath[str]
    ) -> list[DeliveryOut]:
        services = services_of(request)
        async with services.pool.acquire() as conn:
            jobs = [
                j
                for j in await history_store.jobs_of_certificate(conn, number)
                if j.school_id == school_id
            ]
            attempts = await history_store.attempts_of(conn, [j.id for j in jobs])
        if not jobs:
            raise NotFoundException("The school has no delivery of this certificate")
        return [_delivery(job, attempts) for job in jobs]

    @post(
        "/deliveries/{number:str}/retry",
        status_code=202,
        summary="Retry a dead-lettered delivery",
    )
    async def retry(
        self, request: Request[Any, Any, Any], school_id: FromPath[str], number: FromPath[str]
    ) -> RetryOut:
        """Puts the certificate's dead-lettered jobs back in the queue with a fresh count of
        failures; the message UUID stays the same. 409 when nothing is dead-lettered."""
        services = services_of(request)
        async with services.pool.acquire() as conn:
            requeued = await job_store.retry_dead(
                conn, school_id=school_id, number=number, now=services.clock()
            )
        if not requeued:
            raise DeliveryError("has no dead-lettered delivery to retry", field="number")
        return RetryOut(certificate_number=number, requeued=requeued)

    @get(
        "/delivery-deadlines",
        summary="The overdue list: certificates not yet delivered whose deadline is near or past",
    )
    async def delivery_deadlines(
        self, request: Request[Any, Any, Any], school_id: FromPath[str]
    ) -> list[AtRiskOut]:
        """At risk from ``warn_working_days`` working days before the 10-working-day deadline
        (Danish working days), overdue after it."""
        services = services_of(request)
        warn = services.settings.delivery.warn_working_days
        today = _today(services)
        async with services.pool.acquire() as conn:
            jobs = await history_store.undelivered_due_by(
                conn, school_id, at_risk_from(today, warn=warn)
            )
        out = []
        for job in jobs:
            risk, left = deadline_risk(job.due_on, today=today, warn=warn)
            if risk is not Risk.ON_TRACK:
                out.append(
                    AtRiskOut(
                        certificate_number=job.certificate_number,
                        due_on=job.due_on,
                        risk=risk.value,
                        working_days_left=left,
                        state=job.state.value,
                        channel=job.channel.value if job.channel else None,
                        last_error=job.last_error,
                    )
                )
        return out

    @post("/eboks-consents", status_code=201, summary="Record a participant's e-Boks consent")
    async def record_consent(
        self,
        request: Request[Any, Any, Any],
        school_id: FromPath[str],
        data: JSONBody[ConsentIn],
    ) -> ConsentOut:
        """Private schools only. The CPR number goes in the body, never in the URL. Recording a
        consent makes certificates that went on paper for want of it go to e-Boks as well."""
        cpr = parse_cpr(data.cpr, field="cpr")
        services = services_of(request)
        now = services.clock()
        async with services.pool.acquire() as conn, conn.transaction():
            school = await school_store.school(conn, school_id)
            if school is None or school.ownership != "private":
                raise DeliveryError(
                    "is a public school: it delivers through Digital Post, not e-Boks",
                    field="school_id",
                )
            await consent_store.record_consent(
                conn, school_id=school_id, cpr=cpr, consented=data.consented, now=now
            )
            resumed = (
                await job_store.wake_digital_after_paper(
                    conn, school_id=school_id, cpr=cpr, now=now
                )
                if data.consented
                else 0
            )
        return ConsentOut(consented=data.consented, recorded_at=now, deliveries_resumed=resumed)

    @get("/print-list", summary="The school's daily print list of paper certificates")
    async def print_list(
        self,
        request: Request[Any, Any, Any],
        school_id: FromPath[str],
        day: Annotated[dt.date | None, QueryParameter(name="date")] = None,
    ) -> list[PrintListEntryOut]:
        """``date`` defaults to today (Copenhagen)."""
        services = services_of(request)
        spool = print_spool_for(services.settings, services.pool)
        entries = await spool.daily_list(school_id, day or _today(services))
        return [
            PrintListEntryOut(
                certificate_number=e.certificate_number,
                participant_name=e.participant_name,
                reason=e.reason,
                spooled_at=e.spooled_at,
                receipt=e.receipt,
            )
            for e in entries
        ]

    @post(
        "/certificates/{number:str}/paper",
        status_code=202,
        summary="Order a paper copy an authority demands",
    )
    async def order_paper(
        self,
        request: Request[Any, Any, Any],
        school_id: FromPath[str],
        number: FromPath[str],
        idempotency_key: IdempotencyKey,
        data: JSONBody[PaperRequestIn],
    ) -> DeliveryOut:
        """Queues a 'paper-on-request' delivery: the worker puts the school's signed PDF on
        today's print list. A cancelled or revoked certificate is 409; another school's is 404.
        Repeating the request with the same Idempotency-Key returns the same job."""
        reason = _reason(data)
        services = services_of(request)
        async with services.pool.acquire() as conn, conn.transaction():
            stored = await certificate_store.certificate(conn, number)
            if stored is None or stored.school_id != school_id:
                raise CertificateNotFoundError(
                    "the school has no certificate with this number", field="number"
                )
            _valid(stored)
            job = await _order_paper(
                services,
                conn,
                stored,
                requested_by=job_store.Requester.SCHOOL,
                key=idempotency_key,
                reason=reason,
            )
        return _delivery(job)


class ParticipantDeliveryController(Controller):
    """Where my certificate went and when, and paper for an authority; never another person's."""

    path = "/api/me/certificates/{number:str}"
    guards = [participant_guard]  # noqa: RUF012 - Litestar's own class attribute
    tags = ["Participants"]  # noqa: RUF012
    security = [{"participantToken": []}]  # noqa: RUF012

    @get("/deliveries", summary="Where my certificate went and when")
    async def mine(
        self, request: Request[Any, Any, Any], number: FromPath[str]
    ) -> list[ParticipantDeliveryOut]:
        services = services_of(request)
        async with services.pool.acquire() as conn:
            stored = await certificate_store.certificate(conn, number)
            # Another person's certificate is "not found": its existence is not ours to tell.
            if stored is None or stored.cpr != request.state.person.cpr:
                raise NotFoundException("You have no certificate with this number")
            jobs = await history_store.jobs_of_certificate(conn, number)
            attempts = await history_store.attempts_of(conn, [j.id for j in jobs])
        return [
            ParticipantDeliveryOut(
                purpose=job.purpose.value,
                state=job.state.value,
                channel=job.channel.value if job.channel else None,
                reason_text=REASONS.get(job.note or ""),
                request_reason=job.request_reason,
                delivered_at=job.finished_at if job.state is job_store.JobState.DELIVERED else None,
                attempts=[
                    ParticipantAttemptOut(
                        at=a.finished_at or a.started_at,
                        outcome=a.outcome or "running",
                        channel=a.channel.value if a.channel else None,
                    )
                    for a in attempts
                    if a.job_id == job.id
                ],
            )
            for job in jobs
        ]

    @post("/paper", status_code=202, summary="Order a paper copy of my certificate")
    async def order_paper(
        self,
        request: Request[Any, Any, Any],
        number: FromPath[str],
        idempotency_key: IdempotencyKey,
        data: JSONBody[PaperRequestIn],
    ) -> ParticipantDeliveryOut:
        """For an authority or organisation that demands paper: the issuing school prints it.
        Another person's certificate is 404; a cancelled or revoked one is 409."""
        reason = _reason(data)
        services = services_of(request)
        async with services.pool.acquire() as conn, conn.transaction():
            stored = await certificate_store.certificate(conn, number)
            if stored is None or stored.cpr != request.state.person.cpr:
                raise NotFoundException("You have no certificate with this number")
            _valid(stored)
            job = await _order_paper(
                services,
                conn,
                stored,
                requested_by=job_store.Requester.PARTICIPANT,
                key=idempotency_key,
                reason=reason,
            )
        return ParticipantDeliveryOut(
            purpose=job.purpose.value,
            state=job.state.value,
            reason_text=REASONS[ON_REQUEST],
            request_reason=job.request_reason,
        )
