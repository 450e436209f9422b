"""Tjek et bevis: anyone with a certificate's number and code checks it; the paper
certificate's QR code opens ``/tjek/<number>?kode=<code>`` directly.

Wrong codes are rate-limited (``registry.ratelimit``) and the page says so; the right code
always answers, however many wrong ones others have tried. A successful check is written to
the holder's access log. The CPR number is never shown.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from litestar import Controller, Request, Response, get
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
        if number and code:
            return redirect(f"/tjek/{quote(number, safe='')}?kode={quote(code, safe='')}")
        return page.render(
            "verify.html",
            {
                "number": number,
                "code": code,
                "missing": bool(number or code),
                "limits": verifier.limits,
                "window_minutes": int(verifier.limits.window.total_seconds() // 60),
            },
            status_code=400 if number or code else 200,
        )

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
        context: dict[str, Any] = {
            "number": number,
            "code": kode or "",
            "limits": verifier.limits,
            "window_minutes": int(verifier.limits.window.total_seconds() // 60),
        }
        if not kode:
            return page.render("verify.html", context)
        now = clock()
        outcome = await verifier.verify(
            number, kode, client=client_address(page.request), channel=Channel.VERIFY_PAGE, now=now
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
