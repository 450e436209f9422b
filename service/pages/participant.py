"""Mine beviser: a participant's own certificates, their PDFs, share links and access log."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any
from urllib.parse import quote

import asyncpg
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from registry import access_store, certificate_store, codes
from registry.verification import verified_record, verified_records
from service.identity import IdentityProvider
from service.pages import view
from service.pages.deliveries import CHANNEL_TEXT, STATE_TEXT
from service.pages.pdfs import PdfUnavailableError
from service.pages.sessions import LOGIN_STATE_COOKIE, SESSION_COOKIE, Session, new_nonce
from service.pages.web import (
    SECURITY_HEADERS,
    PageServices,
    checked_form,
    error_page,
    page,
    pages_of,
    redirect,
    require,
)

SHARE_DAYS = (7, 30, 90)
CALLBACK_PATH = "/mine-beviser/log-ind/svar"


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
    status = stored.status
    shown = view.certificate_view(
        record,
        status=status.kind if status else "valid",
        status_at=status.at if status else None,
        replaced_by=status.replaced_by if status else None,
    )
    return stored, shown, record


class ParticipantPages(Controller):
    path = "/mine-beviser"

    @get("/log-ind", name="person-login")
    async def login_page(self, request: Request[Any, Any, Any]) -> Template:
        return page(request, pages_of(request), "login.html")

    @post("/log-ind", status_code=303)
    async def start_login(
        self, request: Request[Any, Any, Any], identity: NamedDependency[IdentityProvider]
    ) -> Redirect:
        """Start the OpenID Connect authorization-code flow at the identity provider."""
        pages = pages_of(request)
        await checked_form(request, pages)
        state = new_nonce()
        url = identity.authorization_url(state=state, redirect_uri=CALLBACK_PATH)
        return redirect(url, cookies=[pages.cookie(LOGIN_STATE_COOKIE, state, max_age=600)])

    @get("/log-ind/svar", status_code=303)
    async def finish_login(
        self, request: Request[Any, Any, Any], identity: NamedDependency[IdentityProvider]
    ) -> Response[Any]:
        pages = pages_of(request)
        state = request.query_params.get("state")
        code = request.query_params.get("code")
        expected = request.cookies.get(LOGIN_STATE_COOKIE)
        if not state or not code or not expected or not secrets.compare_digest(state, expected):
            raise PermissionDeniedException("login state")
        person = await identity.redeem(code, redirect_uri=CALLBACK_PATH)
        if person is None:
            raise PermissionDeniedException("login code")
        session = Session.new(
            "person", person.cpr, now=pages.clock(), lifetime=pages.session_lifetime
        )
        return redirect(
            "/mine-beviser",
            cookies=[
                pages.cookie(SESSION_COOKIE, pages.sealer.seal(session)),
                pages.expired(LOGIN_STATE_COOKIE),
            ],
        )

    @post("/log-ud", status_code=303)
    async def logout(self, request: Request[Any, Any, Any]) -> Redirect:
        pages = pages_of(request)
        await checked_form(request, pages)
        return redirect("/", cookies=[pages.expired(SESSION_COOKIE)])

    @get("/")
    async def overview(
        self, request: Request[Any, Any, Any], pool: NamedDependency[asyncpg.Pool]
    ) -> Template:
        pages = pages_of(request)
        session = require(request, pages, "person")
        shown: list[view.CertificateView] = []
        name = None
        async with pool.acquire() as conn:
            mine = await certificate_store.certificates_of(conn, session.subject)
            for stored, record in await verified_records(conn, mine):
                name = name or record.participant.name
                status = stored.status
                shown.append(
                    view.certificate_view(
                        record,
                        status=status.kind if status else "valid",
                        status_at=status.at if status else None,
                        replaced_by=status.replaced_by if status else None,
                    )
                )
        return page(request, pages, "mine.html", {"certificates": shown, "name": name})

    @get("/adgang")
    async def access_log(
        self, request: Request[Any, Any, Any], pool: NamedDependency[asyncpg.Pool]
    ) -> Template:
        pages = pages_of(request)
        session = require(request, pages, "person")
        async with pool.acquire() as conn:
            events = await access_store.access_log_of(conn, session.subject)
        return page(request, pages, "access.html", {"events": _events(events)})

    @get("/{number:str}")
    async def certificate(
        self,
        request: Request[Any, Any, Any],
        pool: NamedDependency[asyncpg.Pool],
        number: FromPath[str],
    ) -> Template:
        pages = pages_of(request)
        session = require(request, pages, "person")
        return await _certificate_page(request, pool, pages, session, number)

    @get("/{number:str}/pdf")
    async def pdf(
        self,
        request: Request[Any, Any, Any],
        pool: NamedDependency[asyncpg.Pool],
        number: FromPath[str],
    ) -> Response[Any]:
        pages = pages_of(request)
        session = require(request, pages, "person")
        stored, _shown, record = await _own(pool, session, number)
        try:
            async with pool.acquire() as conn:
                body = await pages.pdfs.render(
                    conn,
                    record,
                    code=codes.display_code(stored.verification_code),
                )
        except PdfUnavailableError:
            return error_page(request, 503, reason="pdf")
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
        request: Request[Any, Any, Any],
        pool: NamedDependency[asyncpg.Pool],
        number: FromPath[str],
    ) -> Template:
        pages = pages_of(request)
        session = require(request, pages, "person")
        form = await checked_form(request, pages)
        await _own(pool, session, number)
        try:
            days = int(form.get("dage", ""))
        except ValueError:
            days = 0
        if days not in SHARE_DAYS:
            return await _certificate_page(
                request, pool, pages, session, number, status_code=400, share_error=True
            )
        token = secrets.token_urlsafe(32)
        now = pages.clock()
        async with pool.acquire() as conn:
            await access_store.insert_share_link(
                conn,
                token_sha256=token_digest(token),
                number=number,
                now=now,
                expires_at=now + dt.timedelta(days=days),
            )
        return await _certificate_page(
            request, pool, pages, session, number, new_link=f"{pages.public_base_url}/delt/{token}"
        )

    @post("/delinger/{link_id:int}/tilbagekald", status_code=303)
    async def revoke(
        self,
        request: Request[Any, Any, Any],
        pool: NamedDependency[asyncpg.Pool],
        link_id: FromPath[int],
    ) -> Redirect:
        pages = pages_of(request)
        session = require(request, pages, "person")
        form = await checked_form(request, pages)
        async with pool.acquire() as conn:
            await access_store.revoke_share_link(
                conn, link_id=link_id, cpr=session.subject, now=pages.clock()
            )
        number = form.get("bevis", "")
        back = (
            f"/mine-beviser/{quote(number)}"
            if codes.is_certificate_number(number)
            else "/mine-beviser"
        )
        return redirect(f"{back}#deling")


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
    request: Request[Any, Any, Any],
    pool: asyncpg.Pool,
    pages: PageServices,
    session: Session,
    number: str,
    *,
    status_code: int = 200,
    new_link: str | None = None,
    share_error: bool = False,
) -> Template:
    stored, shown, record = await _own(pool, session, number)
    code = codes.display_code(stored.verification_code)
    now = pages.clock()
    async with pool.acquire() as conn:
        links = await access_store.share_links_of(conn, number)
        events = [
            e
            for e in await access_store.access_log_of(conn, session.subject)
            if e.certificate_number == number
        ]
        deliveries = (await pages.deliveries.of_certificates(conn, [number])).get(number, [])
    return page(
        request,
        pages,
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
