"""Delt bevis: what an employer sees through a participant's share link.

The certificate and its live verification (signature and log inclusion checked now), never the
CPR number. Each view is written to the holder's access log.
"""

from __future__ import annotations

import asyncpg
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import FromPath
from litestar.response import Template

from registry import access_store, certificate_store
from registry.access_store import Channel
from registry.clock import Clock
from registry.verification import verify_certificate
from service.pages import view
from service.pages.participant import token_digest
from service.pages.web import Page


class SharedPages(Controller):
    path = "/delt"

    @get("/{token:str}")
    async def shared(
        self,
        *,
        token: FromPath[str],
        page: NamedDependency[Page],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
    ) -> Template:
        now = clock()
        if len(token) > 100:
            raise NotFoundException
        async with pool.acquire() as conn:
            link = await access_store.share_link_by_token(conn, token_digest(token))
            if link is None:
                raise NotFoundException
            if not link.is_open(now):
                raise HTTPException(status_code=410)
            stored = await certificate_store.certificate(conn, link.certificate_number)
            if stored is None:
                raise NotFoundException
            result = await verify_certificate(conn, stored.number, stored.verification_code)
            await access_store.record_access(
                conn,
                number=stored.number,
                channel=Channel.SHARE_LINK,
                now=now,
                share_link_id=link.id,
            )
        return page.render(
            "shared.html",
            {
                "c": view.verification_view(result),
                "status": result.status.value,
                "checked": view.is_checked(result),
                "expires": view.when(link.expires_at),
                "checked_at": view.when(now),
            },
        )
