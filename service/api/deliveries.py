"""A school's deliveries over HTTP: where each certificate went, dead letters, deadlines,
e-Boks consent, the daily print list and paper on request (``issuers.delivery.desk``).

Mounted in the school router, which checks the credential against the path; the participant's
side is in ``participants``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec
from litestar import Router, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import JSONBody, QueryParameter

from issuers.delivery import history_store, job_store
from issuers.delivery.desk import DeliveryDesk, reason_text
from service.api.parameters import CertificateNumber, IdempotencyKey, SchoolId


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
    # Missing or blank is refused by ``desk.paper_reason``, which names the field.
    reason: Annotated[
        str,
        msgspec.Meta(
            max_length=200,
            description="The authority or organisation that demands paper (required, not blank)",
        ),
    ] = ""


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
    cpr: Annotated[
        str,
        msgspec.Meta(
            min_length=10,
            max_length=11,
            description="The participant's CPR number, DDMMYY-SSSS (the hyphen may be left out)",
        ),
    ]
    consented: Annotated[
        bool, msgspec.Meta(description="true records consent, false its withdrawal")
    ] = True


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


def delivered_at(job: history_store.Job) -> dt.datetime | None:
    return job.finished_at if job.state is job_store.JobState.DELIVERED else None


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


@get("/deliveries", summary="The school's deliveries, nearest deadline first")
async def list_deliveries(
    delivery_desk: NamedDependency[DeliveryDesk],
    school_id: SchoolId,
    job_state: Annotated[
        job_store.JobState | None,
        QueryParameter(
            name="state", description="Only deliveries in this state (dead: dead letters)"
        ),
    ] = None,
    limit: Annotated[
        int,
        QueryParameter(name="limit", ge=1, le=1000, description="At most this many, 1 to 1000"),
    ] = 200,
) -> list[DeliveryOut]:
    """``state=dead`` lists the dead letters, each with its last error."""
    jobs = await delivery_desk.deliveries(school_id, state=job_state, limit=limit)
    return [_delivery(job) for job in jobs]


@get("/deliveries/{number:str}", summary="Where one certificate went, attempt by attempt")
async def certificate_deliveries(
    delivery_desk: NamedDependency[DeliveryDesk], school_id: SchoolId, number: CertificateNumber
) -> list[DeliveryOut]:
    histories = await delivery_desk.certificate_deliveries(school_id, number)
    if not histories:
        raise NotFoundException("The school has no delivery of this certificate")
    return [_delivery(h.job, h.attempts) for h in histories]


@post("/deliveries/{number:str}/retry", status_code=202, summary="Retry a dead-lettered delivery")
async def retry(
    delivery_desk: NamedDependency[DeliveryDesk], school_id: SchoolId, number: CertificateNumber
) -> RetryOut:
    """Puts the certificate's dead-lettered jobs back in the queue with a fresh count of
    failures; the message UUID stays the same. 409 when nothing is dead-lettered."""
    requeued = await delivery_desk.retry(school_id, number)
    return RetryOut(certificate_number=number, requeued=requeued)


@get(
    "/delivery-deadlines",
    summary="The overdue list: certificates not yet delivered whose deadline is near or past",
)
async def delivery_deadlines(
    delivery_desk: NamedDependency[DeliveryDesk], school_id: SchoolId
) -> list[AtRiskOut]:
    """At risk from ``warn_working_days`` working days before the 10-working-day deadline
    (Danish working days), overdue after it."""
    return [
        AtRiskOut(
            certificate_number=a.job.certificate_number,
            due_on=a.job.due_on,
            risk=a.risk.value,
            working_days_left=a.working_days_left,
            state=a.job.state.value,
            channel=a.job.channel.value if a.job.channel else None,
            last_error=a.job.last_error,
        )
        for a in await delivery_desk.at_risk(school_id)
    ]


@post("/eboks-consents", status_code=201, summary="Record a participant's e-Boks consent")
async def record_consent(
    delivery_desk: NamedDependency[DeliveryDesk],
    school_id: SchoolId,
    data: JSONBody[ConsentIn],
) -> ConsentOut:
    """Private schools only. The CPR number goes in the body, never in the URL. Recording a
    consent makes certificates that went on paper for want of it go to e-Boks as well."""
    recorded = await delivery_desk.record_consent(school_id, data.cpr, consented=data.consented)
    return ConsentOut(
        consented=recorded.consented,
        recorded_at=recorded.recorded_at,
        deliveries_resumed=recorded.deliveries_resumed,
    )


@get("/print-list", summary="The school's daily print list of paper certificates")
async def print_list(
    delivery_desk: NamedDependency[DeliveryDesk],
    school_id: SchoolId,
    day: Annotated[
        dt.date | None,
        QueryParameter(name="date", description="The day (ISO date); default today in Denmark"),
    ] = None,
) -> list[PrintListEntryOut]:
    """``date`` defaults to today (Copenhagen)."""
    return [
        PrintListEntryOut(
            certificate_number=e.certificate_number,
            participant_name=e.participant_name,
            reason=e.reason,
            spooled_at=e.spooled_at,
            receipt=e.receipt,
        )
        for e in await delivery_desk.print_list(school_id, day)
    ]


@post(
    "/certificates/{number:str}/paper",
    status_code=202,
    summary="Order a paper copy an authority demands",
)
async def order_paper(
    delivery_desk: NamedDependency[DeliveryDesk],
    school_id: SchoolId,
    number: CertificateNumber,
    idempotency_key: IdempotencyKey,
    data: JSONBody[PaperRequestIn],
) -> DeliveryOut:
    """Queues a 'paper-on-request' delivery: the worker puts the school's signed PDF on
    today's print list. A cancelled or revoked certificate is 409; another school's is 404.
    Repeating the request with the same Idempotency-Key returns the same job."""
    job = await delivery_desk.order_paper(
        school_id, number, key=idempotency_key, reason=data.reason
    )
    return _delivery(job)


def router() -> Router:
    """The school's delivery routes, for the school router (which carries path, guard and
    security)."""
    return Router(
        path="/",
        tags=["Delivery"],
        route_handlers=[
            list_deliveries,
            certificate_deliveries,
            retry,
            delivery_deadlines,
            record_consent,
            print_list,
            order_paper,
        ],
    )
