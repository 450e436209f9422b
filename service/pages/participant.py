"""Mine beviser: a participant's own certificates, their PDFs, share links and access log, and
their other documents (participation and combined documents, never AMU certificates)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from typing import Any
from urllib.parse import quote

import asyncpg
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath, SkipValidation
from litestar.response import Redirect, Template

from formats.record import CertificateRecord
from issuers import other_document_store
from issuers.document_keys import NoDocumentCertificateError
from issuers.documents import CertificateDocuments, DocumentUnavailableError
from issuers.other_document_store import StoredDocument
from registry import access_store, certificate_store, codes
from registry.certificate_store import StoredCertificate
from registry.clock import Clock
from registry.db import Connection
from registry.reads import Reads
from registry.verification import verified_record, verified_records
from service.identity import IdentityProvider, IdentityProviderUnavailableError
from service.pages import view
from service.pages.deliveries import CHANNEL_TEXT, STATE_TEXT
from service.pages.sessions import Session
from service.pages.web import SECURITY_HEADERS, Page, form_action_policy, redirect

SHARE_DAYS = (7, 30, 90)
CALLBACK_PATH = "/mine-beviser/log-ind/svar"
_MITID_AWAY = (
    "MitID svarer ikke lige nu",
    "Vi kan ikke nå MitID-login i øjeblikket. Prøv igen om lidt.",
)


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def _own(
    pool: asyncpg.Pool, session: Session, number: str
) -> tuple[certificate_store.StoredCertificate, view.CertificateView, Any]:
    """The person's certificate ``number`` with its verified record; 404 for anyone else's."""
    async with pool.acquire() as conn:
        stored = (
            await certificate_store.certificate(conn, number)
            if codes.is_certificate_number(number)
            else None
        )
        if stored is None or stored.cpr != session.subject:
            raise NotFoundException
        record = await verified_record(conn, stored)
    if record is None:
        raise NotFoundException
    return stored, view.holder_view(stored, record), record


class ParticipantPages(Controller):
    path = "/mine-beviser"

    @get("/log-ind", name="person-login")
    async def login_page(
        self,
        *,
        page: NamedDependency[Page],
        identity: NamedDependency[SkipValidation[IdentityProvider]],
    ) -> Template:
        # The form's answer redirects to the provider: form-action must allow its origin too.
        origin = await identity.login_origin()
        return page.render("login.html", headers=form_action_policy(origin))

    @post("/log-ind", status_code=303)
    async def start_login(
        self,
        *,
        page: NamedDependency[Page],
        identity: NamedDependency[SkipValidation[IdentityProvider]],
    ) -> Response[Any]:
        """Start the OpenID Connect authorization-code flow at the identity provider; its state,
        nonce and PKCE verifier stay in the server-side session."""
        try:
            login = await identity.begin_login(redirect_uri=page.context.absolute(CALLBACK_PATH))
        except IdentityProviderUnavailableError:
            return page.error(503, message=_MITID_AWAY)
        page.begin_login("person", login)
        return redirect(login.url)

    @get("/log-ind/svar", status_code=303)
    async def finish_login(
        self,
        *,
        page: NamedDependency[Page],
        identity: NamedDependency[SkipValidation[IdentityProvider]],
        clock: NamedDependency[Clock],
    ) -> Response[Any]:
        login = page.take_login("person")
        if login is None:
            raise PermissionDeniedException("login state")
        try:
            found = await identity.finish_login(
                params=dict(page.request.query_params),
                request=login,
                redirect_uri=page.context.absolute(CALLBACK_PATH),
            )
        except IdentityProviderUnavailableError:
            return page.error(503, message=_MITID_AWAY)
        if found is None or found.cpr is None:
            raise PermissionDeniedException("login refused")
        page.log_in(Session("person", found.cpr, clock(), id_token=found.id_token))
        return redirect("/mine-beviser")

    @post("/log-ud", status_code=303)
    async def logout(
        self,
        *,
        page: NamedDependency[Page],
        identity: NamedDependency[SkipValidation[IdentityProvider]],
    ) -> Response[Any]:
        return await page.log_out(identity)

    @get("/")
    async def overview(
        self, *, page: NamedDependency[Page], reads: NamedDependency[Reads]
    ) -> Template:
        cpr = page.require("person").subject

        async def read(
            conn: Connection,
        ) -> tuple[list[tuple[StoredCertificate, CertificateRecord]], list[StoredDocument]]:
            mine = await certificate_store.certificates_of(conn, cpr)
            return await verified_records(conn, mine), await other_document_store.documents_of(
                conn, cpr
            )

        # The list may go to the read replica: current to within its allowed lag.
        verified, others = await reads.read(read)
        shown = [view.holder_view(stored, record) for stored, record in verified]
        name = verified[0][1].participant.name if verified else None
        return page.render(
            "mine.html",
            {
                "certificates": shown,
                "name": name or (others[0].name if others else None),
                "documents": [_document_view(d) for d in others],
            },
        )

    @get("/dokumenter/{document_id:str}/pdf")
    async def document_pdf(
        self,
        *,
        document_id: FromPath[str],
        page: NamedDependency[Page],
        pool: NamedDependency[asyncpg.Pool],
        documents: NamedDependency[CertificateDocuments],
    ) -> Response[Any]:
        """The signed PDF of the person's own participation or combined document; 404 for
        anyone else's, as for an unknown one."""
        cpr = page.require("person").subject
        try:
            wanted = uuid.UUID(document_id)
        except ValueError:
            raise NotFoundException from None
        async with pool.acquire() as conn:
            stored = await other_document_store.document(conn, wanted)
            if stored is None or stored.cpr != cpr:
                raise NotFoundException
            try:
                body = await documents.document_pdf(conn, stored)
            except NoDocumentCertificateError:
                return page.error(503, reason="pdf")
        stem = "Deltagelsesbevis" if stored.kind == "participation" else "Samlet-bevis"
        return Response(
            body,
            media_type="application/pdf",
            headers={
                **SECURITY_HEADERS,
                "Content-Disposition": f'attachment; filename="{stem}-{stored.id}.pdf"',
            },
        )

    @get("/adgang")
    async def access_log(
        self, *, page: NamedDependency[Page], pool: NamedDependency[asyncpg.Pool]
    ) -> Template:
        cpr = page.require("person").subject
        async with pool.acquire() as conn:
            events = await access_store.access_log_of(conn, cpr)
        return page.render("access.html", {"events": _events(events)})

    @get("/{number:str}")
    async def certificate(
        self,
        *,
        number: FromPath[str],
        page: NamedDependency[Page],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
    ) -> Template:
        return await _certificate_page(page, number, pool=pool, clock=clock)

    @get("/{number:str}/pdf")
    async def pdf(
        self,
        *,
        number: FromPath[str],
        page: NamedDependency[Page],
        pool: NamedDependency[asyncpg.Pool],
        documents: NamedDependency[CertificateDocuments],
    ) -> Response[Any]:
        stored, _shown, record = await _own(pool, page.require("person"), number)
        try:
            async with pool.acquire() as conn:
                body = await documents.pdf(
                    conn, record, code=codes.display_code(stored.verification_code)
                )
        except (NoDocumentCertificateError, DocumentUnavailableError):
            return page.error(503, reason="pdf")
        return Response(
            body,
            media_type="application/pdf",
            headers={
                **SECURITY_HEADERS,
                "Content-Disposition": f'attachment; filename="AMU-bevis-{quote(number)}.pdf"',
            },
        )

    @post("/{number:str}/del")
    async def share(
        self,
        *,
        number: FromPath[str],
        page: NamedDependency[Page],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
    ) -> Template:
        person = page.require("person")
        form = await page.form()
        await _own(pool, person, number)
        try:
            days = int(form.get("dage", ""))
        except ValueError:
            days = 0
        if days not in SHARE_DAYS:
            return await _certificate_page(
                page, number, pool=pool, clock=clock, status_code=400, share_error=True
            )
        token = secrets.token_urlsafe(32)
        now = clock()
        async with pool.acquire() as conn:
            await access_store.insert_share_link(
                conn,
                token_sha256=token_digest(token),
                number=number,
                now=now,
                expires_at=now + dt.timedelta(days=days),
            )
        new_link = f"{page.context.public_base_url}/delt/{token}"
        return await _certificate_page(page, number, pool=pool, clock=clock, new_link=new_link)

    @post("/delinger/{link_id:int}/tilbagekald", status_code=303)
    async def revoke(
        self,
        *,
        link_id: FromPath[int],
        page: NamedDependency[Page],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
    ) -> Redirect:
        cpr = page.require("person").subject
        form = await page.form()
        async with pool.acquire() as conn:
            await access_store.revoke_share_link(conn, link_id=link_id, cpr=cpr, now=clock())
        number = form.get("bevis", "")
        back = (
            f"/mine-beviser/{quote(number)}"
            if codes.is_certificate_number(number)
            else "/mine-beviser"
        )
        return redirect(f"{back}#deling")


_DOCUMENT_TITLE = {"participation": "Deltagelsesbevis", "combined": "Samlet bevis"}


def _document_view(stored: other_document_store.StoredDocument) -> dict[str, Any]:
    return {
        "title": _DOCUMENT_TITLE.get(stored.kind, "Dokument"),
        "kind": stored.kind,
        "school_name": stored.school_name,
        "reference": stored.reference,
        "goals": [f"{g['number']} {g['title']}" for g in stored.goals],
        "issued": view.when(stored.issued_at),
        "pdf": f"/mine-beviser/dokumenter/{stored.id}/pdf",
    }


def _events(events: list[access_store.AccessEvent]) -> list[dict[str, str]]:
    return [
        {
            "when": view.when(e.at),
            "number": e.certificate_number,
            "channel": view.CHANNEL_TEXT[e.channel],
        }
        for e in events
    ]


async def _certificate_page(
    page: Page,
    number: str,
    *,
    pool: asyncpg.Pool,
    clock: Clock,
    status_code: int = 200,
    new_link: str | None = None,
    share_error: bool = False,
) -> Template:
    """The person's page of certificate ``number``: its facts, code, share links, who has looked
    at it and its delivery; off to the login page without a person's session."""
    person = page.require("person")
    stored, shown, record = await _own(pool, person, number)
    code = codes.display_code(stored.verification_code)
    now = clock()
    async with pool.acquire() as conn:
        links = await access_store.share_links_of(conn, number)
        events = [
            e
            for e in await access_store.access_log_of(conn, person.subject)
            if e.certificate_number == number
        ]
        deliveries = (await page.context.deliveries.of_certificates(conn, [number])).get(number, [])
    return page.render(
        "certificate.html",
        {
            "c": shown,
            "cpr": record.participant.cpr,  # the holder's own page: shown in full
            "code": code,
            "verify_url": f"/tjek/{quote(number)}?kode={quote(code)}",
            "links": [
                {
                    "id": link.id,
                    "created": view.when(link.created_at),
                    "expires": view.when(link.expires_at),
                    "revoked": view.when(link.revoked_at) if link.revoked_at else None,
                    "open": link.is_open(now),
                }
                for link in links
            ],
            "events": _events(events),
            "deliveries": [
                {
                    "state": STATE_TEXT.get(d.state, d.state),
                    "delivered": d.state == "delivered",
                    "channel": CHANNEL_TEXT.get(d.channel or "", None),
                    "when": view.when(d.finished_at) if d.finished_at else None,
                    "due": view.day(d.due_on),
                    "attempts": len(d.attempts),
                }
                for d in deliveries
            ],
            "share_days": SHARE_DAYS,
            "new_link": new_link,
            "share_error": share_error,
        },
        status_code=status_code,
    )
