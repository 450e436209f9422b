"""Tjek et bevis: anyone with a certificate's number and code checks it. The form posts them,
so the code is in no URL (and so in no log or browser history); the paper certificate's QR code
opens ``/tjek/<number>?kode=<code>`` directly, which the access log prints without its query.

Wrong codes are rate-limited (``registry.ratelimit``) and the page says so; the right code
always answers, however many wrong ones others have tried. A successful check is written to
the holder's access log. The CPR number is never shown.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from registry.access_store import Channel
from registry.clock import Clock
from registry.ratelimit import GuardedVerifier
from service.pages import view
from service.pages.web import Page, redirect


def client_address(request: Request[Any, Any, Any]) -> str:
    """The caller's address: the peer, or behind a proxy named in ``AMU_TRUSTED_PROXIES`` the
    client it forwarded for (``service.proxies`` rewrites the scope before this runs)."""
    return request.client.host if request.client else "unknown"


class VerifyPages(Controller):
    path = "/tjek"

    @get("/")
    async def form(
        self,
        *,
        page: NamedDependency[Page],
        verifier: NamedDependency[GuardedVerifier],
        nummer: Annotated[str | None, QueryParameter(name="nummer", max_length=40)] = None,
        kode: Annotated[str | None, QueryParameter(name="kode", max_length=40)] = None,
    ) -> Response[Any]:
        number, code = (nummer or "").strip(), (kode or "").strip()
        if number and code:  # links made when the form used GET; the form now posts
            return redirect(f"/tjek/{quote(number, safe='')}?kode={quote(code, safe='')}")
        context = {**_context(verifier, number, code), "missing": bool(number or code)}
        return page.render("verify.html", context, status_code=400 if number or code else 200)

    @post("/", status_code=200)
    async def check(
        self,
        *,
        page: NamedDependency[Page],
        verifier: NamedDependency[GuardedVerifier],
        clock: NamedDependency[Clock],
    ) -> Template:
        """The form's answer, at ``/tjek`` itself: the code stays in the request body."""
        form = await page.form()
        number, code = form.get("nummer", "").strip()[:40], form.get("kode", "").strip()[:40]
        if not number or not code:
            context = {**_context(verifier, number, code), "missing": True}
            return page.render("verify.html", context, status_code=400)
        return await _checked(page, verifier, clock, number, code)

    @get("/{number:str}")
    async def result(
        self,
        *,
        number: FromPath[str],
        page: NamedDependency[Page],
        verifier: NamedDependency[GuardedVerifier],
        clock: NamedDependency[Clock],
        kode: Annotated[str | None, QueryParameter(name="kode", max_length=40)] = None,
    ) -> Template:
        return await _checked(page, verifier, clock, number, kode or "")


def _context(verifier: GuardedVerifier, number: str, code: str) -> dict[str, Any]:
    return {
        "number": number,
        "code": code,
        "limits": verifier.limits,
        "window_minutes": int(verifier.limits.window.total_seconds() // 60),
    }


async def _checked(
    page: Page, verifier: GuardedVerifier, clock: Clock, number: str, code: str
) -> Template:
    """The verification page for ``number``: the form alone without a code, else the answer."""
    context = _context(verifier, number, code)
    if not code:
        return page.render("verify.html", context)
    now = clock()
    outcome = await verifier.verify(
        number, code, client=client_address(page.request), channel=Channel.VERIFY_PAGE, now=now
    )
    return page.render(
        "verify.html",
        {
            **context,
            "status": outcome.status.value,
            "c": view.verification_view(outcome),
            "checked": view.is_checked(outcome),
            "checked_at": view.when(now),
        },
    )
