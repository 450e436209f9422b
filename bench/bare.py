"""The verification baseline: a bare Litestar endpoint doing one primary-key lookup.

Same framework, same server, same pool size and the same certificates table as the product's
``GET /api/verify/{number}``; it does nothing else (no code check, no signature, no log proof).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgspec
from litestar import Litestar, Request, get
from litestar.exceptions import NotFoundException

from registry import db


class BareOut(msgspec.Struct):
    number: str
    school_id: str
    issued_at: dt.datetime


@get("/bare/{number:str}")
async def lookup(request: Request[Any, Any, Any], number: str) -> BareOut:
    async with request.app.state.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT number, school_id, issued_at FROM certificates WHERE number = $1", number
        )
    if row is None:
        raise NotFoundException
    return BareOut(row["number"], row["school_id"], row["issued_at"])


@get("/bare-health")
async def health() -> str:
    return "ok"


def create_bare_app(dsn: str, schema: str, pool_size: int) -> Litestar:
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        pool = await db.create_pool(dsn, schema=schema, size=pool_size)
        app.state.pool = pool
        try:
            yield
        finally:
            await pool.close()

    return Litestar(route_handlers=[lookup, health], lifespan=[lifespan])
