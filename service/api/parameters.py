"""Request parameters several handlers share."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request
from litestar.params import FromPath, HeaderParameter

from issuers.idempotency import IdempotentRequest

IdempotencyKey = Annotated[
    str, HeaderParameter(name="Idempotency-Key", min_length=1, max_length=200)
]
"""A write repeated with the same key returns the first answer (``issuers.idempotency``)."""


async def provide_write(
    request: Request[Any, Any, Any], school_id: FromPath[str], idempotency_key: IdempotencyKey
) -> IdempotentRequest:
    """The ``write`` dependency of a school's idempotent request: the school of the path, the
    Idempotency-Key header (documented and required through this signature) and the body."""
    return IdempotentRequest(school_id, idempotency_key, await request.body())
