"""A school's deliveries over HTTP: where each certificate went, dead letters, deadlines,
e-Boks consent, the daily print list and paper on request (``issuers.delivery.desk``).

Mounted in the school router, which checks the credential against the path; the participant's
side is in ``participants``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec
from litestar import Response, Router, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody, QueryParameter

from issuers.delivery import job_store
from issuers.delivery.desk import ConsentOut, DeliveryDesk, DeliveryOut, RetryOut, delivery_out
from issuers.idempotency import IdempotentRequest
from service.api.parameters import CertificateNumber, SchoolId, answered, provide_write


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


class PrintListEntryOut(msgspec.Struct, rename="camel", omit_defaults=True):
    # A certificate has its number; a participation or combined document its title instead.
    participant_name: str
    reason: str
    spooled_at: dt.datetime
    receipt: str
    certificate_number: str | None = None
    document_title: str | None = None


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
    return [delivery_out(job) for job in jobs]


@get("/deliveries/{number:str}", summary="Where one certificate went, attempt by attempt")
async def certificate_deliveries(
    delivery_desk: NamedDependency[DeliveryDesk], school_id: SchoolId, number: CertificateNumber
) -> list[DeliveryOut]:
    histories = await delivery_desk.certificate_deliveries(school_id, number)
    if not histories:
        raise NotFoundException("The school has no delivery of this certificate")
    return [delivery_out(h.job, h.attempts) for h in histories]


@post(
    "/deliveries/{number:str}/retry",
    status_code=202,
    summary="Retry a dead-lettered delivery",
    responses={202: ResponseSpec(data_container=RetryOut, description="Requeued")},
)
async def retry(
    delivery_desk: NamedDependency[DeliveryDesk],
    write: NamedDependency[IdempotentRequest],
    number: CertificateNumber,
) -> Response[bytes]:
    """Puts the certificate's dead-lettered jobs back in the queue with a fresh count of
    failures; the message UUID stays the same. 409 when nothing is dead-lettered. Repeating
    the request with the same Idempotency-Key returns the first answer and requeues nothing."""
    return answered(await delivery_desk.retry(write, number), 202)


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


@post(
    "/eboks-consents",
    status_code=201,
    summary="Record a participant's e-Boks consent",
    responses={201: ResponseSpec(data_container=ConsentOut, description="Recorded")},
)
async def record_consent(
    delivery_desk: NamedDependency[DeliveryDesk],
    write: NamedDependency[IdempotentRequest],
    data: JSONBody[ConsentIn],
) -> Response[bytes]:
    """Private schools only. The CPR number goes in the body, never in the URL. Recording a
    consent makes certificates that went on paper for want of it go to e-Boks as well.
    Repeating the request with the same Idempotency-Key returns the first answer."""
    recorded = await delivery_desk.record_consent(write, data.cpr, consented=data.consented)
    return answered(recorded, 201)


@get(
    "/print-list",
    summary="The school's daily print list of paper certificates and other documents",
)
async def print_list(
    delivery_desk: NamedDependency[DeliveryDesk],
    school_id: SchoolId,
    day: Annotated[
        dt.date | None,
        QueryParameter(name="date", description="The day (ISO date); default today in Denmark"),
    ] = None,
) -> list[PrintListEntryOut]:
    """``date`` defaults to today (Copenhagen). A certificate's line has its
    ``certificateNumber``; a participation or combined document's its ``documentTitle``."""
    return [
        PrintListEntryOut(
            certificate_number=e.certificate_number,
            participant_name=e.participant_name,
            reason=e.reason,
            spooled_at=e.spooled_at,
            receipt=e.receipt,
            document_title=e.document_title,
        )
        for e in await delivery_desk.print_list(school_id, day)
    ]


@post(
    "/certificates/{number:str}/paper",
    status_code=202,
    summary="Order a paper copy an authority demands",
    responses={202: ResponseSpec(data_container=DeliveryOut, description="Queued")},
)
async def order_paper(
    delivery_desk: NamedDependency[DeliveryDesk],
    write: NamedDependency[IdempotentRequest],
    number: CertificateNumber,
    data: JSONBody[PaperRequestIn],
) -> Response[bytes]:
    """Queues a 'paper-on-request' delivery: the worker puts the school's signed PDF on
    today's print list. A cancelled or revoked certificate is 409; another school's is 404.
    Repeating the request with the same Idempotency-Key returns the first answer and queues
    nothing; the key used for another certificate or reason is 422."""
    return answered(await delivery_desk.order_paper(write, number, reason=data.reason), 202)


def router() -> Router:
    """The school's delivery routes, for the school router (which carries path, guard and
    security). Its writes are idempotent requests, as the school's other writes: ``write``
    needs the Idempotency-Key header."""
    return Router(
        path="/",
        tags=["Delivery"],
        dependencies={"write": Provide(provide_write)},
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
