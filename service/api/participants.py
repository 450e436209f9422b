"""Mine beviser over HTTP: a participant's own certificates, in every form, and where each went.

One router under ``/api/me``, guarded by ``ParticipantGuard`` (a token the identity provider
proves); handlers receive the admitted ``person``. Another person's certificate is "not found":
its existence is not ours to tell.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from litestar import Router, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import JSONBody
from litestar.types import Guard

from formats.record import CertificateRecord
from issuers.delivery.desk import REASONS, DeliveryDesk, delivered_at, reason_text
from issuers.delivery.worker import ON_REQUEST
from registry import certificate_store, codes
from registry.db import Connection
from registry.reads import Reads
from registry.verification import verified_record, verified_records
from service.api import forms
from service.api.deliveries import PaperRequestIn
from service.api.guards import provide_person
from service.api.parameters import CertificateNumber, IdempotencyKey
from service.identity import Person


class AnnotationsOut(msgspec.Struct, rename="camel"):
    exam_passed: bool | None
    dispensation: bool
    ikv: bool


class CertificateSummary(msgspec.Struct, rename="camel"):
    number: str
    goal_number: str
    goal_title: str
    duration_days: str
    school_id: str
    school_name: str
    course_start: dt.date
    course_end: dt.date
    issued_at: dt.datetime
    annotations: AnnotationsOut
    status: str
    replaced_by: str | None = None


class OwnCertificate(CertificateSummary, rename="camel"):
    participant_name: str = ""
    participant_cpr: str = ""
    verification_code: str = ""
    signed_record: str = ""  # compact JWS


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


def annotations_out(record: CertificateRecord) -> AnnotationsOut:
    a = record.annotations
    return AnnotationsOut(exam_passed=a.exam_passed, dispensation=a.dispensation, ikv=a.ikv)


def _summary_fields(
    record: CertificateRecord, stored: certificate_store.StoredCertificate
) -> dict[str, Any]:
    return {
        "number": record.number,
        "goal_number": record.goal.number,
        "goal_title": record.goal.title,
        "duration_days": record.goal.duration_days,
        "school_id": record.school.id,
        "school_name": record.school.name,
        "course_start": record.course_start,
        "course_end": record.course_end,
        "issued_at": record.issued_at,
        "annotations": annotations_out(record),
        "status": stored.status.kind if stored.status else "valid",
        "replaced_by": stored.status.replaced_by if stored.status else None,
    }


# -- my certificates --------------------------------------------------------------------------


@get("/certificates", summary="All my certificates, newest first")
async def list_mine(
    reads: NamedDependency[Reads], person: NamedDependency[Person]
) -> list[CertificateSummary]:
    async def read(conn: Connection) -> list[CertificateSummary]:
        mine = await certificate_store.certificates_of(conn, person.cpr)
        return [
            CertificateSummary(**_summary_fields(record, stored))
            for stored, record in await verified_records(conn, mine)
        ]

    return await reads.read(read)


@get("/certificates/{number:str}", summary="One of my certificates, with its signed record")
async def get_mine(
    reads: NamedDependency[Reads], person: NamedDependency[Person], number: CertificateNumber
) -> OwnCertificate:
    async def read(
        conn: Connection,
    ) -> tuple[certificate_store.StoredCertificate | None, CertificateRecord | None]:
        stored = await certificate_store.certificate(conn, number)
        return stored, await verified_record(conn, stored) if stored is not None else None

    # Not on the replica (yet): issued a moment ago, so the primary looks.
    stored, record = await reads.read(read, missing=lambda found: found[0] is None)
    if stored is None or stored.cpr != person.cpr:
        raise NotFoundException("You have no certificate with this number")
    if record is None:
        raise NotFoundException("The certificate failed its signature check")
    return OwnCertificate(
        **_summary_fields(record, stored),
        participant_name=record.participant.name,
        participant_cpr=record.participant.cpr,
        verification_code=codes.display_code(stored.verification_code),
        signed_record=stored.jws,
    )


# -- where my certificate went ----------------------------------------------------------------


@get("/certificates/{number:str}/deliveries", summary="Where my certificate went and when")
async def mine(
    delivery_desk: NamedDependency[DeliveryDesk],
    person: NamedDependency[Person],
    number: CertificateNumber,
) -> list[ParticipantDeliveryOut]:
    histories = await delivery_desk.own_deliveries(person.cpr, number)
    if histories is None:
        raise NotFoundException("You have no certificate with this number")
    return [
        ParticipantDeliveryOut(
            purpose=h.job.purpose.value,
            state=h.job.state.value,
            channel=h.job.channel.value if h.job.channel else None,
            reason_text=reason_text(h.job.note),
            request_reason=h.job.request_reason,
            delivered_at=delivered_at(h.job),
            attempts=[
                ParticipantAttemptOut(
                    at=a.finished_at or a.started_at,
                    outcome=a.outcome or "running",
                    channel=a.channel.value if a.channel else None,
                )
                for a in h.attempts
            ],
        )
        for h in histories
    ]


@post(
    "/certificates/{number:str}/paper",
    status_code=202,
    summary="Order a paper copy of my certificate",
)
async def order_paper(
    delivery_desk: NamedDependency[DeliveryDesk],
    person: NamedDependency[Person],
    number: CertificateNumber,
    idempotency_key: IdempotencyKey,
    data: JSONBody[PaperRequestIn],
) -> ParticipantDeliveryOut:
    """For an authority or organisation that demands paper: the issuing school prints it.
    Another person's certificate is 404; a cancelled or revoked one is 409."""
    job = await delivery_desk.order_own_paper(
        person.cpr, number, key=idempotency_key, reason=data.reason
    )
    if job is None:
        raise NotFoundException("You have no certificate with this number")
    return ParticipantDeliveryOut(
        purpose=job.purpose.value,
        state=job.state.value,
        reason_text=REASONS[ON_REQUEST],
        request_reason=job.request_reason,
    )


def router(guard: Guard) -> Router:
    """Every participant route, behind ``guard`` (``ParticipantGuard``)."""
    return Router(
        path="/api/me",
        guards=[guard],
        tags=["Participants"],
        security=[{"participantToken": []}],
        dependencies={"person": Provide(provide_person, sync_to_thread=False)},
        route_handlers=[
            list_mine,
            get_mine,
            mine,
            order_paper,
            *forms.participant_handlers(),
        ],
    )
