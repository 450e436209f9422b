"""Idempotent requests: repeating a request with the same Idempotency-Key returns the first
answer and does nothing else; the same key with another body is refused.

The key is claimed inside the request's own transaction, so the answer and everything the
request created commit together, and a concurrent repeat waits on the key's row. The answer is
stored as JSON and read back into its type, so a repeat gets the first answer's very bytes
once encoded::

    write = IdempotentRequest(school_id="751234", key="H-101", raw_body=body)
    issued = await idempotency.run(pool, write, TeamResultsOut, issue)
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import asyncpg
import msgspec

from issuers import school_store
from issuers.errors import IdempotencyConflictError
from registry.db import Connection

Answer = TypeVar("Answer", bound=msgspec.Struct)


@dataclass(frozen=True, slots=True)
class IdempotentRequest:
    """A school's write as it arrived: the school, its Idempotency-Key and the body's bytes."""

    school_id: str
    key: str
    raw_body: bytes


async def run(
    pool: asyncpg.Pool,
    request: IdempotentRequest,
    answer: type[Answer],
    work: Callable[[Connection], Awaitable[Answer]],
) -> Answer:
    """``work``'s answer, run once per school and key in one transaction with the key's
    record; a repeat with the same body gets the stored answer and runs nothing.

    Raises IdempotencyConflictError naming ``Idempotency-Key`` when the key was used for
    another request body.
    """
    school_id, key = request.school_id, request.key
    request_sha256 = hashlib.sha256(request.raw_body).digest()
    async with pool.acquire() as conn, conn.transaction():
        prior = await school_store.claim_idempotency_key(
            conn, school_id=school_id, key=key, request_sha256=request_sha256
        )
        if prior is not None:
            if prior.request_sha256 != request_sha256 or prior.response is None:
                raise IdempotencyConflictError(
                    "this Idempotency-Key was used for a different request",
                    field="Idempotency-Key",
                )
            return msgspec.convert(prior.response, answer)
        done = await work(conn)
        await school_store.complete_idempotency_key(
            conn, school_id=school_id, key=key, response=msgspec.json.encode(done)
        )
        return done
