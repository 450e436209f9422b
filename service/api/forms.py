"""Every form of a certificate over HTTP, served the same way to its participant and to its
issuing school (docs/formats.md): ``GET .../certificates/{number}/{form}`` in the participant
router (``participant_handlers``) and in the school router (``school_handlers``).

``form`` is ``signed-record`` (JWS), ``credential`` (VC), ``xml``, ``pdf`` or ``memo``. Only the
signed record is served for a cancelled or revoked certificate: the other forms are signed on
request, and nothing newly signed may say a withdrawn certificate stands.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from enum import StrEnum

import asyncpg
from litestar import Response, get
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, NotFoundException
from litestar.handlers import HTTPRouteHandler

from formats import certificate_xml
from formats.memo import PDF_MEDIA_TYPE
from formats.record import CertificateRecord
from issuers.documents import (
    JWS_MEDIA_TYPE,
    MEMO_MEDIA_TYPE,
    VC_MEDIA_TYPE,
    CertificateDocuments,
)
from registry import certificate_store, codes
from registry.db import Connection
from registry.verification import verified_record
from service.api.openapi import problem_responses
from service.api.parameters import CertificateNumber, SchoolId
from service.identity import Person

PRIVATE = {"Cache-Control": "no-store"}  # personal data: never kept by a shared cache


class Form(StrEnum):
    SIGNED_RECORD = "signed-record"
    CREDENTIAL = "credential"
    XML = "xml"
    PDF = "pdf"
    MEMO = "memo"


_MEDIA_TYPES = {
    Form.SIGNED_RECORD: JWS_MEDIA_TYPE,
    Form.CREDENTIAL: VC_MEDIA_TYPE,
    Form.XML: certificate_xml.MEDIA_TYPE,
    Form.PDF: PDF_MEDIA_TYPE,
    Form.MEMO: MEMO_MEDIA_TYPE,
}
_SUFFIXES = {
    Form.SIGNED_RECORD: "jws",
    Form.CREDENTIAL: "json",
    Form.XML: "xml",
    Form.PDF: "pdf",
    Form.MEMO: "memo.xml",
}

# form, the participant's summary, the school's summary. The signed record is the compact JWS
# (EdDSA) the school signed at issuing, verified with ``/api/keys``; the credential is an Open
# Badges 3.0 credential with an eddsa-jcs-2022 proof, made now.
_ROUTES: tuple[tuple[Form, str, str], ...] = (
    (Form.SIGNED_RECORD, "My certificate's signed record", "A certificate's signed record"),
    (Form.CREDENTIAL, "My certificate as a credential", "A certificate as a credential"),
    (Form.XML, "My certificate as signed XML", "A certificate as signed XML"),
    (Form.PDF, "My certificate as a signed PDF", "A certificate as a signed PDF"),
    (Form.MEMO, "My certificate's Digital Post message", "A certificate's Digital Post message"),
)

Mine = Callable[[certificate_store.StoredCertificate], bool]
"""Whether the caller may see a stored certificate (its participant, or its school)."""


def participant_handlers() -> list[HTTPRouteHandler]:
    """One route per form of the participant's own certificate (for the participant router,
    which provides ``person``)."""
    return [_participant_handler(form, summary) for form, summary, _ in _ROUTES]


def school_handlers() -> list[HTTPRouteHandler]:
    """One route per form of a certificate the school issued (for the school router)."""
    return [_school_handler(form, summary) for form, _, summary in _ROUTES]


def _participant_handler(form: Form, summary: str) -> HTTPRouteHandler:
    async def handler(
        pool: NamedDependency[asyncpg.Pool],
        documents: NamedDependency[CertificateDocuments],
        person: NamedDependency[Person],
        number: CertificateNumber,
    ) -> Response[bytes]:
        return await _serve(pool, documents, number, lambda s: s.cpr == person.cpr, form)

    return _route(handler, form, summary)


def _school_handler(form: Form, summary: str) -> HTTPRouteHandler:
    async def handler(
        pool: NamedDependency[asyncpg.Pool],
        documents: NamedDependency[CertificateDocuments],
        school_id: SchoolId,
        number: CertificateNumber,
    ) -> Response[bytes]:
        return await _serve(pool, documents, number, lambda s: s.school_id == school_id, form)

    return _route(handler, form, summary)


def _route(
    handler: Callable[..., Awaitable[Response[bytes]]],
    form: Form,
    summary: str,
) -> HTTPRouteHandler:
    # The OpenAPI operation id is made from the function's name: name it for its form.
    handler.__name__ = handler.__qualname__ = form.name.lower()
    return get(
        f"/certificates/{{number:str}}/{form.value}",
        media_type=_MEDIA_TYPES[form],
        summary=summary,
        # Only the signed record of a cancelled or revoked certificate is served (_serve).
        responses=None if form is Form.SIGNED_RECORD else problem_responses([410]),
    )(handler)


class GoneError(HTTPException):
    """The certificate was cancelled or revoked (410 Gone)."""

    status_code = 410


async def _serve(
    pool: asyncpg.Pool, documents: CertificateDocuments, number: str, mine: Mine, form: Form
) -> Response[bytes]:
    """The certificate ``number`` in ``form`` as a download; "not found" unless ``mine``."""
    async with pool.acquire() as conn:
        stored = (
            await certificate_store.certificate(conn, number)
            if codes.is_certificate_number(number)
            else None
        )
        # Another person's or school's certificate is "not found": its existence is not ours
        # to tell.
        if stored is None or not mine(stored):
            raise NotFoundException("No certificate with this number is yours to see")
        record = await _verified(conn, stored)
        if form is not Form.SIGNED_RECORD and stored.status is not None:
            raise GoneError(
                f"The certificate was {stored.status.kind}; only its signed record is served"
            )
        body = await _make(documents, conn, form, stored, record)
    filename = f"AMU-bevis-{record.number}.{_SUFFIXES[form]}"
    return Response(
        body,
        media_type=_MEDIA_TYPES[form],
        headers={**PRIVATE, "Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def _verified(
    conn: Connection, stored: certificate_store.StoredCertificate
) -> CertificateRecord:
    record = await verified_record(conn, stored)
    if record is None:
        raise NotFoundException("The certificate failed its signature check")
    return record


async def _make(
    documents: CertificateDocuments,
    conn: Connection,
    form: Form,
    stored: certificate_store.StoredCertificate,
    record: CertificateRecord,
) -> bytes:
    code = codes.display_code(stored.verification_code)
    makers: dict[Form, Callable[[], Awaitable[bytes]]] = {
        Form.SIGNED_RECORD: lambda: _ascii(stored.jws),
        Form.CREDENTIAL: lambda: _credential(documents, conn, record),
        Form.XML: lambda: documents.xml(conn, record),
        Form.PDF: lambda: documents.pdf(conn, record, code=code),
        Form.MEMO: lambda: documents.delivered_memo(conn, record, stored, code=code),
    }
    return await makers[form]()


async def _ascii(text: str) -> bytes:
    return text.encode("ascii")


async def _credential(
    documents: CertificateDocuments, conn: Connection, record: CertificateRecord
) -> bytes:
    credential = await documents.credential(conn, record)
    return (json.dumps(credential, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
