"""What the OpenAPI document says each route can answer besides success: problem documents.

Every route lists the statuses the edge can give it, each as ``application/problem+json`` with
the problem document's schema, so a client (and the schemathesis run in the tests) sees every
answer it can get. What is the same for a whole audience is given once per router (the
guard's 401 and 403); what every route can answer is added here (a malformed request, a NUL
character, the database away); what only some routes answer is declared by the route
(``responses=problem_responses([429])``)::

    router = document_problems(schools.router(guard), [401, 403])

A route answers 404 only where its own path names something (``/certificates/{number}``), and
503 unless it is marked ``opt=NO_DATABASE``.
"""

from __future__ import annotations

import re
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
    410: "The certificate was cancelled or revoked; only its signed record is served",
    413: "The body is larger than any request this route takes",
    422: "A value no record may hold (a NUL character), or one the rules or register refuse",
    429: "Too many wrong attempts; see Retry-After",
    503: "The database or a channel cannot be reached now; see Retry-After",
}

EVERY_ROUTE = (400, 422)  # a malformed request; a NUL character in a query (service.api.inputs)
DATABASE = 503
NAMED = 404  # a route whose own path names a thing: it may not exist (or not be yours)
WRITES = (409, 413)
NO_DATABASE = {"database": False}
"""A handler's ``opt`` when it never touches the database, so it never answers 503."""

_PARAMETER = re.compile(r"{[^}]*}")


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


def document_problems(
    router: Router, statuses: Iterable[int], *, writes: Iterable[int] = WRITES
) -> Router:
    """``router`` with every route listing ``statuses`` and ``EVERY_ROUTE`` as problem
    documents; 404 where the route's own path has a parameter, 503 unless the handler is
    marked ``NO_DATABASE``, and ``writes`` for writes. What a handler declares itself is kept.
    """
    own = set(_PARAMETER.findall(router.path))  # the router's parameters: the guard's to check
    for route in router.routes:
        named = bool(set(_PARAMETER.findall(route.path)) - own)
        for handler in getattr(route, "route_handlers", []):
            if not isinstance(handler, HTTPRouteHandler):
                continue
            wanted = set(statuses) | set(EVERY_ROUTE)
            if named:
                wanted.add(NAMED)
            if handler.opt.get("database", True):
                wanted.add(DATABASE)
            if handler.http_methods - {"GET", "HEAD"}:
                wanted |= set(writes)
            handler.responses = {**problem_responses(wanted), **(handler.responses or {})}
    return router
