"""The registry's HTTP side: participants' own certificates, verification, published keys."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException, NotFoundException, TooManyRequestsException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath, JSONBody, QueryParameter

from formats.record import CertificateRecord
from issuers.cpr import parse_cpr
from registry import certificate_store, codes
from registry.access_store import Channel
from registry.ratelimit import RateLimitedError, VerifyLimits, checked_verification
from registry.verification import Verification, verified_record, verified_records
from service.identity import DevelopmentIdentityProvider, Person
from service.services import services_of

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="amu-bevis participants"'}


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


class VerificationOut(msgspec.Struct, rename="camel", omit_defaults=True):
    status: str
    number: str
    participant_name: str | None = None
    goal_number: str | None = None
    goal_title: str | None = None
    school_name: str | None = None
    course_end: dt.date | None = None
    issued_at: dt.datetime | None = None
    annotations: AnnotationsOut | None = None
    status_at: dt.datetime | None = None
    status_reason: str | None = None
    replaced_by: str | None = None


class Jwk(msgspec.Struct):
    kty: str
    crv: str
    x: str
    kid: str
    school: str
    validFrom: dt.datetime  # noqa: N815 - JWK members are camelCase on the wire
    retiredAt: dt.datetime | None  # noqa: N815
    # Compromised from this moment: what the key signed since is marked (docs/registry.md).
    revokedFrom: dt.datetime | None = None  # noqa: N815


class Jwks(msgspec.Struct):
    keys: list[Jwk]


class DevLoginIn(msgspec.Struct, forbid_unknown_fields=True):
    cpr: Annotated[str, msgspec.Meta(min_length=10, max_length=11)]


class DevLoginOut(msgspec.Struct):
    token: str


def _annotations(record: CertificateRecord) -> AnnotationsOut:
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
        "annotations": _annotations(record),
        "status": stored.status.kind if stored.status else "valid",
        "replaced_by": stored.status.replaced_by if stored.status else None,
    }


async def participant_guard(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Admit a participant proven by the identity provider; remember who they are."""
    scheme, _sep, token = connection.headers.get("authorization", "").partition(" ")
    person = (
        services_of(connection).identity.authenticate(token.strip())
        if scheme.lower() == "bearer"
        else None
    )
    if person is None:
        raise NotAuthorizedException("Log in to see your certificates", headers=_CHALLENGE)
    connection.state.person = person


def _person(request: Request[Any, Any, Any]) -> Person:
    person: Person = request.state.person
    return person


class ParticipantController(Controller):
    """Mine beviser: a participant's own certificates, never another person's."""

    path = "/api/me/certificates"
    guards = [participant_guard]  # noqa: RUF012 - Litestar's own class attribute
    tags = ["Participants"]  # noqa: RUF012
    security = [{"participantToken": []}]  # noqa: RUF012

    @get("/", summary="All my certificates, newest first")
    async def list_mine(self, request: Request[Any, Any, Any]) -> list[CertificateSummary]:
        services = services_of(request)
        out = []
        async with services.pool.acquire() as conn:
            mine = await certificate_store.certificates_of(conn, _person(request).cpr)
            for stored, record in await verified_records(conn, mine):
                out.append(CertificateSummary(**_summary_fields(record, stored)))
        return out

    @get("/{number:str}", summary="One of my certificates, with its signed record")
    async def get_mine(
        self, request: Request[Any, Any, Any], number: FromPath[str]
    ) -> OwnCertificate:
        services = services_of(request)
        async with services.pool.acquire() as conn:
            stored = await certificate_store.certificate(conn, number)
            # Another person's certificate is "not found": its existence is not ours to tell.
            if stored is None or stored.cpr != _person(request).cpr:
                raise NotFoundException("You have no certificate with this number")
            record = await verified_record(conn, stored)
        if record is None:
            raise NotFoundException("The certificate failed its signature check")
        return OwnCertificate(
            **_summary_fields(record, stored),
            participant_name=record.participant.name,
            participant_cpr=record.participant.cpr,
            verification_code=codes.display_code(stored.verification_code),
            signed_record=stored.jws,
        )


def _verification_out(number: str, v: Verification) -> VerificationOut:
    if v.record is None:
        return VerificationOut(status=v.status.value, number=number)
    r = v.record
    return VerificationOut(
        status=v.status.value,
        number=number,
        participant_name=r.participant.name,
        goal_number=r.goal.number,
        goal_title=r.goal.title,
        school_name=r.school.name,
        course_end=r.course_end,
        issued_at=r.issued_at,
        annotations=_annotations(r),
        status_at=v.status_at,
        status_reason=v.status_reason,
        replaced_by=v.replaced_by,
    )


class VerificationController(Controller):
    """Tjek et bevis: anyone with the number and code; never shows the CPR number."""

    path = "/api/verify"
    tags = ["Verification"]  # noqa: RUF012

    @get("/{number:str}", summary="Verify a certificate by number and verification code")
    async def verify(
        self,
        request: Request[Any, Any, Any],
        number: FromPath[str],
        code: Annotated[str, QueryParameter(name="code", min_length=1, max_length=20)],
        verify_limits: NamedDependency[VerifyLimits],
    ) -> VerificationOut:
        """Wrong codes are rate-limited per client and per number (429 with Retry-After);
        a match is written to the holder's access log (docs/pages.md)."""
        services = services_of(request)
        try:
            async with services.pool.acquire() as conn:
                result = await checked_verification(
                    conn,
                    number,
                    code,
                    client=request.client.host if request.client else "unknown",
                    channel=Channel.VERIFY_API,
                    now=services.clock(),
                    limits=verify_limits,
                )
        except RateLimitedError as e:
            raise TooManyRequestsException(
                "Too many wrong codes; try again later",
                headers={"Retry-After": str(e.retry_after)},
            ) from e
        return _verification_out(number, result)


class KeysController(Controller):
    """The public halves of every school's keys, retired ones included."""

    path = "/api/keys"
    tags = ["Verification"]  # noqa: RUF012

    @get("/", summary="The schools' published signing keys (JWKS)")
    async def keys(self, request: Request[Any, Any, Any]) -> Jwks:
        services = services_of(request)
        async with services.pool.acquire() as conn:
            keys = await certificate_store.all_keys(conn)
        return Jwks(
            keys=[
                Jwk(
                    kty="OKP",
                    crv="Ed25519",
                    x=base64.urlsafe_b64encode(k.public_key).rstrip(b"=").decode(),
                    kid=k.kid,
                    school=k.school_id,
                    validFrom=k.valid_from,
                    retiredAt=k.retired_at,
                    revokedFrom=k.revoked_from,
                )
                for k in keys
            ]
        )


class DevelopmentLoginController(Controller):
    """Demo only: a token for any CPR number, standing in for MitID. Not mounted otherwise."""

    path = "/api/dev/login"
    tags = ["Development"]  # noqa: RUF012

    @post("/", status_code=201, summary="DEVELOPMENT ONLY: log in as any person")
    async def login(
        self, request: Request[Any, Any, Any], data: JSONBody[DevLoginIn]
    ) -> DevLoginOut:
        services = services_of(request)
        identity = services.identity
        if not isinstance(identity, DevelopmentIdentityProvider):
            raise NotFoundException
        cpr = parse_cpr(data.cpr, field="cpr")
        return DevLoginOut(token=identity.issue(cpr))
