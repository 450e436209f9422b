"""Request parameters several handlers share, and the answer of an idempotent write."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Request, Response
from litestar.enums import MediaType
from litestar.params import HeaderParameter, PathParameter

from issuers.idempotency import Answered, IdempotentRequest

SchoolId = Annotated[
    str,
    PathParameter(description="The school's institution number (6 digits, e.g. 751234)"),
]
CertificateNumber = Annotated[
    str,
    PathParameter(description="The certificate number, YYYY-NNNNNNN (e.g. 2026-0000001)"),
]
ParticipationId = Annotated[
    uuid.UUID,
    PathParameter(description="The participation's id (a UUID, from POST /teams)"),
]

IdempotencyKey = Annotated[
    str,
    HeaderParameter(
        name="Idempotency-Key",
        min_length=1,
        max_length=200,
        description=(
            "Required on every state-changing school request. The key is bound to the school, "
            "the method, the route and its target (the path with its parameters) and the body: "
            "the same request again gets the first answer, byte for byte, and does nothing; the "
            "key reused for any other request is refused with 422."
        ),
    ),
]
"""A write repeated with the same key returns the first answer (``issuers.idempotency``)."""


async def provide_write(
    request: Request[Any, Any, Any], school_id: SchoolId, idempotency_key: IdempotencyKey
) -> IdempotentRequest:
    """The ``write`` dependency of a school's idempotent request: the school of the path, the
    Idempotency-Key header (documented and required through this signature), the body, and
    what the key is bound to besides: the method, the route template and the target."""
    query = request.scope.get("query_string", b"").decode("latin-1")
    return IdempotentRequest(
        school_id=school_id,
        key=idempotency_key,
        raw_body=await request.body(),
        method=request.method,
        route=str(request.scope.get("path_template", "")),
        target=request.url.path + (f"?{query}" if query else ""),
    )


def answered(answer: Answered[Any], status_code: int) -> Response[bytes]:
    """The stored answer as it was first sent: its bytes, not encoded again."""
    return Response(answer.body, status_code=status_code, media_type=MediaType.JSON)
