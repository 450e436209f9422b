"""Tjek et bevis: anyone with a certificate's number and code checks it; the paper
certificate's QR code opens ``/tjek/<number>?kode=<code>`` directly.

Wrong codes are rate-limited (``registry.pages.ratelimit``) and the page says so. A successful
check is written to the holder's access log. The CPR number is never shown.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import asyncpg
from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from registry.access_store import Channel
from registry.ratelimit import checked_verification
from service.pages import view
from service.pages.web import page, pages_of, redirect


def client_address(request: Request[Any, Any, Any]) -> str:
    """The caller's address as the ASGI server reports it (behind a proxy, run uvicorn with
    ``--proxy-headers`` so this is the real client, not the proxy)."""
    return request.client.host if request.client else "unknown"


class VerifyPages(Controller):
    path = "/tjek"

    @get("/")
    async def form(
        self,
        request: Request[Any, Any, Any],
        nummer: Annotated[str | None, QueryParameter(name="nummer", max_length=40)] = None,
        kode: Annotated[str | None, QueryParameter(name="kode", max_length=40)] = None,
    ) -> Response[Any]:
        number, code = (nummer or "").strip(), (kode or "").strip()
        if number and code:
            return redirect(f"/tjek/{quote(number, safe='')}?kode={quote(code, safe='')}")
        pages = pages_of(request)
        return page(
            request,
            pages,
            "verify.html",
            {
                "number": number,
                "code": code,
                "missing": bool(number or code),
                "limits": pages.limits,
                "window_minutes": int(pages.limits.window.total_seconds() // 60),
            },
            status_code=400 if number or code else 200,
        )

    @get("/{number:str}")
    async def result(
        self,
        request: Request[Any, Any, Any],
        pool: NamedDependency[asyncpg.Pool],
        number: FromPath[str],
        kode: Annotated[str | None, QueryParameter(name="kode", max_length=40)] = None,
    ) -> Template:
        pages = pages_of(request)
        context: dict[str, Any] = {
            "number": number,
            "code": kode or "",
            "limits": pages.limits,
            "window_minutes": int(pages.limits.window.total_seconds() // 60),
        }
        if not kode:
            return page(request, pages, "verify.html", context)
        now = pages.clock()
        async with pool.acquire() as conn:
            outcome = await checked_verification(
                conn,
                number,
                kode,
                client=client_address(request),
                channel=Channel.VERIFY_PAGE,
                now=now,
                limits=pages.limits,
            )
        return page(
            request,
            pages,
            "verify.html",
            {
                **context,
                "status": outcome.status.value,
                "c": view.verification_view(outcome),
                "checked": view.is_checked(outcome),
                "checked_at": view.when(now),
            },
        )
