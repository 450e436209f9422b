"""Idempotent requests: repeating a request with the same Idempotency-Key returns the first
answer's very bytes and does nothing else; the key used for any other request is refused.

A key belongs to one request of its school: the method, the route template, the target (the
path with its parameters, such as the participation id) and the body's SHA-256. Reusing it for
a request that differs in any of these is an ``IdempotencyConflictError``, never the other
request's answer, so no write is silently dropped.

The key is claimed inside the request's own transaction, so the answer and everything the
request created commit together, and a concurrent repeat waits on the key's row. The answer is
stored as the bytes encoded the first time and handed back as they are::

    write = IdempotentRequest("751234", "H-101", body, "POST", route, "/api/schools/751234/teams")
    issued = await idempotency.run(pool, write, TeamResultsOut, issue)
    issued.body    # the JSON to send, byte for byte the same on every repeat
    issued.answer  # the same answer as a TeamResultsOut
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import asyncpg
import msgspec

from issuers import school_store
from issuers.errors import IdempotencyConflictError
from registry.db import Connection

Answer = TypeVar("Answer", bound=msgspec.Struct)


@dataclass(frozen=True, slots=True)
class IdempotentRequest:
    """A school's write as it arrived: the school, its Idempotency-Key, the body's bytes, and
    what the key is bound to besides: the HTTP method, the route template and the target (the
    request's path, with the query string if it has one)."""

    school_id: str
    key: str
    raw_body: bytes
    method: str
    route: str
    target: str


@dataclass(frozen=True, slots=True)
class Answered(Generic[Answer]):
    """An idempotent request's answer: ``body`` is the JSON to send, the bytes stored with the
    key; ``answer`` is the same value decoded."""

    answer: Answer
    body: bytes


async def run(
    pool: asyncpg.Pool,
    request: IdempotentRequest,
    answer: type[Answer],
    work: Callable[[Connection], Awaitable[Answer]],
) -> Answered[Answer]:
    """``work``'s answer, run once per school and key in one transaction with the key's
    record; a repeat of the same request gets the stored bytes and runs nothing.

    Raises IdempotencyConflictError naming ``Idempotency-Key`` when the key was used for
    another request (method, route, target or body).
    """
    bound = school_store.IdempotentCall(
        method=request.method,
        route=request.route,
        target=request.target,
        request_sha256=hashlib.sha256(request.raw_body).digest(),
    )
    school_id, key = request.school_id, request.key
    async with pool.acquire() as conn, conn.transaction():
        prior = await school_store.claim_idempotency_key(
            conn, school_id=school_id, key=key, call=bound
        )
        if prior is not None:
            differs, stored = _difference(prior.call, bound), prior.response_body
            # A record without its answer is not seen: the claim and the answer commit together.
            if differs or stored is None:
                raise IdempotencyConflictError(
                    f"this Idempotency-Key was used for a different request "
                    f"({differs or 'no stored answer'}); a new request needs a new key",
                    field="Idempotency-Key",
                )
            return Answered(msgspec.json.decode(stored, type=answer), stored)
        done = await work(conn)
        body = msgspec.json.encode(done)
        await school_store.complete_idempotency_key(
            conn, school_id=school_id, key=key, response_body=body
        )
        return Answered(done, body)


def _difference(earlier: school_store.IdempotentCall, now: school_store.IdempotentCall) -> str:
    """What differs between the request a key was first used for and this one, in words (no
    values: the body may hold CPR numbers); empty when it is the same request."""
    parts = [
        ("another method", earlier.method != now.method),
        ("another route", earlier.route != now.route),
        ("another target", earlier.target != now.target),
        ("another body", earlier.request_sha256 != now.request_sha256),
    ]
    return ", ".join(name for name, differs in parts if differs)
