"""Idempotent requests: repeating a request with the same Idempotency-Key returns the first
answer and does nothing else; the same key with another body is refused.

The key is claimed inside the request's own transaction, so the answer and everything the
request created commit together, and a concurrent repeat waits on the key's row::

    status, body = await idempotency.run(pool, school_id, key, raw_body, 201, work)
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable

import asyncpg
import msgspec

from issuers import school_store
from issuers.errors import IdempotencyConflictError
from registry.db import Connection


async def run(
    pool: asyncpg.Pool,
    school_id: str,
    *,
    key: str,
    raw_body: bytes,
    status: int,
    work: Callable[[Connection], Awaitable[msgspec.Struct]],
) -> tuple[int, bytes]:
    request_sha256 = hashlib.sha256(raw_body).digest()
    async with pool.acquire() as conn, conn.transaction():
        prior = await school_store.claim_idempotency_key(
            conn, school_id=school_id, key=key, request_sha256=request_sha256
        )
        if prior is not None:
            if prior.request_sha256 != request_sha256 or prior.status_code is None:
                raise IdempotencyConflictError(
                    "this Idempotency-Key was used for a different request",
                    field="Idempotency-Key",
                )
            return prior.status_code, msgspec.json.encode(prior.response)
        encoded = msgspec.json.encode(await work(conn))
        await school_store.complete_idempotency_key(
            conn, school_id=school_id, key=key, status_code=status, response=encoded
        )
        return status, encoded
