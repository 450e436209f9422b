"""Every form of a certificate over HTTP, for its participant and its issuing school, and the
public material that lets anyone check them offline (docs/formats.md).

- ``/api/me/certificates/{number}/{form}``: the participant's own certificate (another
  person's is "not found");
- ``/api/schools/{school_id}/certificates/{number}/{form}``: a certificate the school issued,
  and ``/api/schools/{school_id}/reports/2026K4``, its quarterly report;
- public: our JSON-LD context, the schools' controller documents (the keys credentials name)
  and the document authorities' certificates (PEM).

``form`` is ``signed-record`` (JWS), ``credential`` (VC), ``xml``, ``pdf`` or ``memo``. Only the
signed record is served for a cancelled or revoked certificate: the other forms are signed on
request, and nothing newly signed may say a withdrawn certificate stands.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import FromPath

from formats import certificate_xml
from formats.memo import PDF_MEDIA_TYPE
from formats.pdf_text import DANISH_TIME
from formats.record import CertificateRecord
from formats.vc import AMU_CONTEXT, load_context
from issuers import reports
from issuers.documents import (
    CONTEXT_MEDIA_TYPE,
    JWS_MEDIA_TYPE,
    MEMO_MEDIA_TYPE,
    PEM_CHAIN_MEDIA_TYPE,
    VC_MEDIA_TYPE,
    CertificateDocuments,
    authorities_pem,
)
from registry import certificate_store, codes
from registry.db import Connection
from registry.verification import verified_record
from service.api.participants import participant_guard
from service.api.schools import school_guard
from service.identity import Person
from service.services import services_of

_PRIVATE = {"Cache-Control": "no-store"}  # personal data: never kept by a shared cache


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

Mine = Callable[[certificate_store.StoredCertificate], bool]


class GoneError(HTTPException):
    """The certificate was cancelled or revoked (410 Gone)."""

    status_code = 410


async def _serve(
    request: Request[Any, Any, Any], number: str, mine: Mine, form: Form
) -> Response[bytes]:
    services = services_of(request)
    documents = services.documents
    async with services.pool.acquire() as conn:
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
        headers={**_PRIVATE, "Content-Disposition": f'attachment; filename="{filename}"'},
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


def _person_is(request: Request[Any, Any, Any]) -> Mine:
    person: Person = request.state.person
    return lambda stored: stored.cpr == person.cpr


def _school_is(school_id: str) -> Mine:
    return lambda stored: stored.school_id == school_id


class ParticipantFormsController(Controller):
    """A participant's own certificate in every form."""

    path = "/api/me/certificates/{number:str}"
    guards = [participant_guard]  # noqa: RUF012 - Litestar's own class attribute
    tags = ["Participants"]  # noqa: RUF012
    security = [{"participantToken": []}]  # noqa: RUF012

    @get("/signed-record", media_type=JWS_MEDIA_TYPE, summary="My certificate's signed record")
    async def signed_record(
        self, request: Request[Any, Any, Any], number: FromPath[str]
    ) -> Response[bytes]:
        """The compact JWS (EdDSA) the school signed at issuing; verify with ``/api/keys``."""
        return await _serve(request, number, _person_is(request), Form.SIGNED_RECORD)

    @get("/credential", media_type=VC_MEDIA_TYPE, summary="My certificate as a credential")
    async def credential(
        self, request: Request[Any, Any, Any], number: FromPath[str]
    ) -> Response[bytes]:
        """An Open Badges 3.0 credential with an eddsa-jcs-2022 proof, made now."""
        return await _serve(request, number, _person_is(request), Form.CREDENTIAL)

    @get("/xml", media_type=certificate_xml.MEDIA_TYPE, summary="My certificate as signed XML")
    async def xml(self, request: Request[Any, Any, Any], number: FromPath[str]) -> Response[bytes]:
        return await _serve(request, number, _person_is(request), Form.XML)

    @get("/pdf", media_type=PDF_MEDIA_TYPE, summary="My certificate as a signed PDF")
    async def pdf(self, request: Request[Any, Any, Any], number: FromPath[str]) -> Response[bytes]:
        return await _serve(request, number, _person_is(request), Form.PDF)

    @get("/memo", media_type=MEMO_MEDIA_TYPE, summary="My certificate's Digital Post message")
    async def memo(self, request: Request[Any, Any, Any], number: FromPath[str]) -> Response[bytes]:
        return await _serve(request, number, _person_is(request), Form.MEMO)


class SchoolFormsController(Controller):
    """The certificates a school issued, in every form, and its quarterly report."""

    path = "/api/schools/{school_id:str}"
    guards = [school_guard]  # noqa: RUF012 - Litestar's own class attribute
    tags = ["Schools"]  # noqa: RUF012
    security = [{"schoolCredential": []}]  # noqa: RUF012

    @get(
        "/certificates/{number:str}/signed-record",
        media_type=JWS_MEDIA_TYPE,
        summary="A certificate's signed record",
    )
    async def signed_record(
        self, request: Request[Any, Any, Any], school_id: FromPath[str], number: FromPath[str]
    ) -> Response[bytes]:
        return await _serve(request, number, _school_is(school_id), Form.SIGNED_RECORD)

    @get(
        "/certificates/{number:str}/credential",
        media_type=VC_MEDIA_TYPE,
        summary="A certificate as a credential",
    )
    async def credential(
        self, request: Request[Any, Any, Any], school_id: FromPath[str], number: FromPath[str]
    ) -> Response[bytes]:
        return await _serve(request, number, _school_is(school_id), Form.CREDENTIAL)

    @get(
        "/certificates/{number:str}/xml",
        media_type=certificate_xml.MEDIA_TYPE,
        summary="A certificate as signed XML",
    )
    async def xml(
        self, request: Request[Any, Any, Any], school_id: FromPath[str], number: FromPath[str]
    ) -> Response[bytes]:
        return await _serve(request, number, _school_is(school_id), Form.XML)

    @get(
        "/certificates/{number:str}/pdf",
        media_type=PDF_MEDIA_TYPE,
        summary="A certificate as a signed PDF",
    )
    async def pdf(
        self, request: Request[Any, Any, Any], school_id: FromPath[str], number: FromPath[str]
    ) -> Response[bytes]:
        return await _serve(request, number, _school_is(school_id), Form.PDF)

    @get(
        "/certificates/{number:str}/memo",
        media_type=MEMO_MEDIA_TYPE,
        summary="A certificate's Digital Post message",
    )
    async def memo(
        self, request: Request[Any, Any, Any], school_id: FromPath[str], number: FromPath[str]
    ) -> Response[bytes]:
        return await _serve(request, number, _school_is(school_id), Form.MEMO)

    @get(
        "/reports/{quarter:str}",
        media_type=reports.MEDIA_TYPE,
        summary="The quarterly results report, e.g. 2026K4",
    )
    async def report(
        self, request: Request[Any, Any, Any], school_id: FromPath[str], quarter: FromPath[str]
    ) -> Response[bytes]:
        """Every participation ended in the quarter and the three before it, retakes as rows of
        their own (docs/formats.md, "Quarterly results report")."""
        services = services_of(request)
        wanted = reports.parse_quarter(quarter)
        async with services.pool.acquire() as conn:
            body = await reports.quarterly_report(
                conn, school_id, wanted, today=_today(services.clock())
            )
        return Response(
            body,
            media_type="text/csv",  # Litestar adds "; charset=utf-8" to text types
            headers={
                **_PRIVATE,
                "Content-Disposition": f'attachment; filename="{wanted}-{school_id}.csv"',
            },
        )


def _today(now: dt.datetime) -> dt.date:
    return now.astimezone(DANISH_TIME).date()


class PublishedController(Controller):
    """What anyone needs to check a credential, an XML or a PDF offline. No personal data."""

    tags = ["Verification"]  # noqa: RUF012

    @get(
        "/contexts/amu-bevis-v1.jsonld",
        media_type=CONTEXT_MEDIA_TYPE,
        summary="Our JSON-LD context",
    )
    async def context(self) -> Response[bytes]:
        """Our terms (annotations, course dates, team) at the URL the credentials name."""
        body = json.dumps(load_context(AMU_CONTEXT), ensure_ascii=False, indent=2).encode()
        return Response(body, media_type=CONTEXT_MEDIA_TYPE)

    @get(
        "/issuers/{school_id:str}",
        media_type="application/json",
        summary="A school as a credential issuer",
    )
    async def issuer(
        self, request: Request[Any, Any, Any], school_id: FromPath[str]
    ) -> dict[str, Any]:
        """The controller document: the Multikey verification methods credential proofs name."""
        services = services_of(request)
        async with services.pool.acquire() as conn:
            return await services.documents.issuer_document(conn, school_id)

    @get(
        "/api/document-authorities",
        media_type=PEM_CHAIN_MEDIA_TYPE,
        summary="Document CA certificates (PEM)",
    )
    async def document_authorities(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """Trust these to validate the PDF (PAdES) and XML (XMLDSig) signatures of every school."""
        async with services_of(request).pool.acquire() as conn:
            body = await authorities_pem(conn)
        return Response(body, media_type=PEM_CHAIN_MEDIA_TYPE)
