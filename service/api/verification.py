"""Public verification: Tjek et bevis by number and code, the schools' published keys, the
revocation status lists, and what anyone needs to check a credential, an XML or a PDF offline.

Nothing here needs a login, and nothing shows a CPR number. ``GET /api/status/{list}`` is built
from the append-only status events on every request (on the read replica when one is set and
keeps up: current to within ``AMU_REPLICA_MAX_LAG_SECONDS``), and signed
(eddsa-jcs-2022) with the register's active log key, named as a ``did:key`` that
``GET /api/log/keys`` publishes.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Annotated, Any

import asyncpg
import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, TooManyRequestsException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody, PathParameter, QueryParameter

from formats.multibase import did_key_verification_method
from formats.vc import AMU_CONTEXT, load_context, sign_credential
from issuers.documents import (
    CONTEXT_MEDIA_TYPE,
    PEM_CHAIN_MEDIA_TYPE,
    CertificateDocuments,
    authorities_pem,
)
from registry import certificate_store, status_store
from registry.access_store import Channel
from registry.clock import Clock
from registry.db import Connection
from registry.keys import KeyStore, ed25519_key
from registry.ratelimit import GuardedVerifier, RateLimitedError
from registry.reads import Reads
from registry.status_list import encode_list, list_url, status_list_credential
from registry.transparency import log
from registry.transparency.log import LogKey
from registry.verification import Verification
from service.api.openapi import NO_DATABASE, problem_responses
from service.api.parameters import CertificateNumber, SchoolId
from service.api.participants import AnnotationsOut, annotations_out


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
        annotations=annotations_out(r),
        status_at=v.status_at,
        status_reason=v.status_reason,
        replaced_by=v.replaced_by,
    )


class VerifyIn(msgspec.Struct, forbid_unknown_fields=True):
    code: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=20,
            description="The verification code printed on the certificate (e.g. K7QF-2M9X)",
        ),
    ]


async def _verify(
    request: Request[Any, Any, Any], verifier: GuardedVerifier, number: str, code: str
) -> VerificationOut:
    try:
        result = await verifier.verify(
            number,
            code,
            # The peer, or the client a trusted proxy forwarded for (service/proxies.py).
            client=request.client.host if request.client else "unknown",
            channel=Channel.VERIFY_API,
        )
    except RateLimitedError as e:
        raise TooManyRequestsException(
            "Too many wrong codes; try again later",
            headers={"Retry-After": str(e.retry_after)},
        ) from e
    return _verification_out(number, result)


@post(
    "/api/verify/{number:str}",
    status_code=200,
    summary="Verify a certificate by number and verification code (the code in the body)",
    responses=problem_responses([429]),  # too many wrong codes
)
async def verify_posted(
    *,
    request: Request[Any, Any, Any],
    verifier: NamedDependency[GuardedVerifier],
    number: CertificateNumber,
    data: JSONBody[VerifyIn],
) -> VerificationOut:
    """As ``GET``, with the code kept out of the URL (and so out of every access log and proxy
    log on the way). Wrong codes are rate-limited per client and per number (429 with
    Retry-After); the right code always answers unless this client itself has guessed too
    often. A match is written to the holder's access log (docs/pages.md)."""
    return await _verify(request, verifier, number, data.code)


@get(
    "/api/verify/{number:str}",
    summary="Verify a certificate by number and verification code",
    responses=problem_responses([429]),  # too many wrong codes
)
async def verify(
    *,
    request: Request[Any, Any, Any],
    verifier: NamedDependency[GuardedVerifier],
    number: CertificateNumber,
    code: Annotated[
        str,
        QueryParameter(
            name="code",
            min_length=1,
            max_length=20,
            description="The verification code printed on the certificate (e.g. K7QF-2M9X)",
        ),
    ],
) -> VerificationOut:
    """Kept for links and scripts that put the code in the query; prefer ``POST``, which keeps
    the code out of URLs (our access log prints no query string). Rate-limited and recorded
    as ``POST``."""
    return await _verify(request, verifier, number, code)


@get("/api/keys", summary="The schools' published signing keys (JWKS)")
async def keys(pool: NamedDependency[asyncpg.Pool]) -> Jwks:
    """The public halves of every school's keys, retired ones included."""
    async with pool.acquire() as conn:
        found = await certificate_store.all_keys(conn)
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
            for k in found
        ]
    )


@get(
    "/api/status/{list_id:int}",
    summary="A revocation status list (W3C Bitstring Status List)",
)
async def status_list(
    reads: NamedDependency[Reads],
    keys: NamedDependency[KeyStore],
    clock: NamedDependency[Clock],
    public_base_url: NamedDependency[str],
    list_id: Annotated[  # a PostgreSQL integer
        int, PathParameter(le=2**31 - 1, description="The status list's number, from 1")
    ],
) -> dict[str, Any]:
    async def read(conn: Connection) -> tuple[list[int], LogKey | None]:
        if list_id < 1 or not await status_store.status_list_exists(conn, list_id):
            raise NotFoundException("The register has no status list with this number")
        return await status_store.status_bits(conn, list_id), await log.active_log_key(conn)

    # A list opened a moment ago (its first certificate just issued): the primary has it.
    positions, key = await reads.read(read, missing_errors=(NotFoundException,))
    if key is None:
        raise NotFoundException("The register has no log key yet")
    now = clock()
    credential = status_list_credential(
        list_url(public_base_url, list_id),
        encode_list(positions),
        issuer=public_base_url,
        valid_from=now,
    )
    return sign_credential(
        credential,
        ed25519_key(keys, key.kid),
        verification_method=did_key_verification_method(
            Ed25519PublicKey.from_public_bytes(key.public_key)
        ),
        created=now,
    )


@get(
    "/contexts/amu-bevis-v1.jsonld",
    media_type=CONTEXT_MEDIA_TYPE,
    summary="Our JSON-LD context",
    opt=NO_DATABASE,
    responses={
        200: ResponseSpec(
            data_container=dict[str, Any], media_type=CONTEXT_MEDIA_TYPE, description="The context"
        )
    },
)
async def context() -> Response[bytes]:
    """Our terms (annotations, course dates, team) at the URL the credentials name."""
    body = json.dumps(load_context(AMU_CONTEXT), ensure_ascii=False, indent=2).encode()
    return Response(body, media_type=CONTEXT_MEDIA_TYPE)


@get(
    "/issuers/{school_id:str}",
    media_type="application/json",
    summary="A school as a credential issuer",
)
async def issuer(
    pool: NamedDependency[asyncpg.Pool],
    documents: NamedDependency[CertificateDocuments],
    school_id: SchoolId,
) -> dict[str, Any]:
    """The controller document: the Multikey verification methods credential proofs name."""
    async with pool.acquire() as conn:
        return await documents.issuer_document(conn, school_id)


@get(
    "/api/document-authorities",
    media_type=PEM_CHAIN_MEDIA_TYPE,
    summary="Document CA certificates (PEM)",
)
async def document_authorities(pool: NamedDependency[asyncpg.Pool]) -> Response[bytes]:
    """Trust these to validate the PDF (PAdES) and XML (XMLDSig) signatures of every school."""
    async with pool.acquire() as conn:
        body = await authorities_pem(conn)
    return Response(body, media_type=PEM_CHAIN_MEDIA_TYPE)


def router() -> Router:
    """Every public verification route."""
    return Router(
        path="/",
        tags=["Verification"],
        route_handlers=[
            verify,
            verify_posted,
            keys,
            status_list,
            context,
            issuer,
            document_authorities,
        ],
    )
