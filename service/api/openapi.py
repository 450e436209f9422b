"""What the OpenAPI document says each route can answer besides success: problem documents.

Every route lists the statuses the edge can give it (``problems``), each as
``application/problem+json`` with the problem document's schema, so a client (and the
schemathesis run in the tests) sees every answer it can get::

    router = document_problems(schools.router(guard), AUTHENTICATED_SCHOOL)
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec
from litestar import Router
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec

from service.api.problems import MEDIA_TYPE


class InvalidParam(msgspec.Struct):
    name: str  # the field, parameter or header, as the request named it
    reason: str


class ProblemDocument(msgspec.Struct, omit_defaults=True):
    """An RFC 9457 problem document; it never repeats a submitted value."""

    type: str
    title: str
    status: int
    detail: str | None = None
    invalid_params: list[InvalidParam] | None = msgspec.field(default=None, name="invalid-params")
    rule: str | None = None  # an AMU rule's code, when the rules engine refused (docs/rules.md)


WHY = {
    400: "The request is malformed: a parameter or body field of the wrong shape or range",
    401: "No credential, or one that is not valid",
    403: "The credential is valid but not for this school",
    404: "Not found (or another school's or person's, which is not ours to tell)",
    409: "The request clashes with what is stored",
    410: "Gone",
    413: "The body is larger than any request this route takes",
    422: "A value no record may hold (a NUL character), or one the rules or register refuse",
    429: "Too many wrong attempts; see Retry-After",
    503: "The database or a channel cannot be reached now; see Retry-After",
}

EVERY_ROUTE = (400, 404, 422, 503)
WRITES = (409, 413)


def problem_responses(statuses: Iterable[int]) -> dict[int, ResponseSpec]:
    return {
        status: ResponseSpec(
            data_container=ProblemDocument,
            media_type=MEDIA_TYPE,
            description=WHY[status],
            generate_examples=False,
        )
        for status in sorted(set(statuses))
    }


def document_problems(router: Router, statuses: Iterable[int]) -> Router:
    """``router`` with every route listing ``statuses`` and ``EVERY_ROUTE`` as problem
    documents (and, for writes, ``WRITES``); what a handler declares itself is kept."""
    wanted = set(statuses) | set(EVERY_ROUTE)
    for route in router.routes:
        for handler in getattr(route, "route_handlers", []):
            if not isinstance(handler, HTTPRouteHandler):
                continue
            extra = wanted | (set(WRITES) if handler.http_methods - {"GET", "HEAD"} else set())
            handler.responses = {**problem_responses(extra), **(handler.responses or {})}
    return router
