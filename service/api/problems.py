"""The HTTP edge of every error: RFC 9457 problem documents.

Each package's errors are translated here, once. A problem names the offending field in
``invalid-params`` (RFC 9457 §3.2's example extension) and never repeats a submitted value,
so no CPR number can leak through an error body.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from issuers.errors import IssuingError
from registry.errors import NotFoundError, RegistryError

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://amu-bevis.example/problems/"
log = logging.getLogger(__name__)
_MISSING_PARAMETER = re.compile(r"Missing required \w+ parameter '([^']+)'")


def problem(
    status: int,
    slug: str,
    title: str,
    *,
    detail: str | None = None,
    invalid_params: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {"type": TYPE_BASE + slug, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if invalid_params:
        body["invalid-params"] = invalid_params
    return Response(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _issuing_error(_: Request[Any, Any, Any], exc: IssuingError) -> Response[dict[str, Any]]:
    params = [{"name": exc.field, "reason": str(exc)}] if exc.field else None
    detail = f"{exc.field}: {exc}" if exc.field else str(exc)
    response = problem(
        exc.status_code, exc.type_slug, _title(exc), detail=detail, invalid_params=params
    )
    rule = getattr(exc, "rule", None)
    if isinstance(rule, str):  # an AMU rule refused it: name the rule (docs/rules.md)
        response.content["rule"] = rule
    return response


def _registry_error(_: Request[Any, Any, Any], exc: RegistryError) -> Response[dict[str, Any]]:
    if isinstance(exc, NotFoundError):
        return problem(404, "not-found", "Not found", detail=str(exc))
    return problem(422, "registry-refused", "The register refused the request", detail=str(exc))


def _validation_error(
    _: Request[Any, Any, Any], exc: ValidationException
) -> Response[dict[str, Any]]:
    # Litestar's extra is a list of {"message", "key", "source"}; msgspec's messages name the
    # expected type or pattern, never the submitted value.
    params = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            name = str(item.get("key") or item.get("source") or "body")
            params.append({"name": name, "reason": str(item.get("message", "invalid"))})
    missing = _MISSING_PARAMETER.search(str(exc.detail))
    if not params and missing:
        params = [{"name": missing.group(1), "reason": "is required"}]
    detail = "; ".join(f"{p['name']}: {p['reason']}" for p in params) or "the request is malformed"
    return problem(
        400,
        "invalid-request",
        "The request is malformed",
        detail=detail,
        invalid_params=params or [{"name": "body", "reason": "malformed"}],
    )


def _http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    slug = {
        401: "unauthenticated",
        403: "forbidden",
        404: "not-found",
        405: "method-not-allowed",
        409: "conflict",
        410: "gone",
        413: "request-too-large",
        415: "unsupported-media-type",
        429: "too-many-requests",
        503: "unavailable",
    }.get(exc.status_code, "http-error")
    return problem(exc.status_code, slug, str(exc.detail), headers=exc.headers)


def _unexpected(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    # Only the type is logged: messages of library errors (asyncpg's DETAIL lines) can carry
    # row values, CPR numbers among them.
    log.error("unexpected %s while handling a request", type(exc).__name__)
    return problem(HTTP_500_INTERNAL_SERVER_ERROR, "internal-error", "Internal error")


def _title(exc: Exception) -> str:
    doc = (type(exc).__doc__ or "The request was refused.").strip().splitlines()[0]
    return doc.rstrip(".")


exception_handlers: dict[type[Exception] | int, Any] = {
    IssuingError: _issuing_error,
    RegistryError: _registry_error,
    ValidationException: _validation_error,
    HTTPException: _http_error,
    Exception: _unexpected,
}
