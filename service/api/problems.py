"""The HTTP edge of every error: RFC 9457 problem documents.

Each package's errors are translated here, once: ``PROBLEMS`` maps every domain error type to
its HTTP status, problem type and title, and the most specific type listed for an error wins
(its class, then its bases in method resolution order). A problem names the offending field in
``invalid-params`` (RFC 9457 §3.2's example extension), an AMU rule's refusal names the rule
in ``rule``, and no problem repeats a submitted value, so no CPR number can leak through an
error body::

    problem_of(ConflictError("...", field="team.reference"))
    # Problem(status=409, slug="conflict", title="The request clashes with what ...")
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

import asyncpg
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from issuers import rules
from issuers.composite import UnknownTeamError
from issuers.corrections import CertificateNotFoundError
from issuers.delivery.errors import (
    ChannelRefusedError,
    ChannelUnavailableError,
    DeliveryError,
    UndeliverableError,
)
from issuers.document_keys import NoDocumentCertificateError
from issuers.errors import (
    ConflictError,
    IdempotencyConflictError,
    InvalidInputError,
    IssuingError,
    NotFoundIssuingError,
    UnknownGoalError,
)
from registry.errors import NotFoundError, RegistryError
from registry.keys import KeyMissingError
from service.api.inputs import UnacceptableInputError
from service.api.invalid_params import invalid_param

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


@dataclass(frozen=True, slots=True)
class Problem:
    """How the edge answers an error type: HTTP status, problem type (after ``TYPE_BASE``)
    and title."""

    status: int
    slug: str
    title: str


PROBLEMS: dict[type[Exception], Problem] = {
    # The schools' side (issuers).
    IssuingError: Problem(422, "issuing-refused", "A school's request could not be carried out"),
    InvalidInputError: Problem(
        422,
        "invalid-input",
        "A value has the wrong shape or is impossible (a CPR number, a date order)",
    ),
    UnknownGoalError: Problem(422, "unknown-goal", "The AMU goal number is not in the catalogue"),
    UnknownTeamError: Problem(
        422,
        "unknown-team",
        "A team id that is not one of this school's teams (unknown, or another school's)",
    ),
    NotFoundIssuingError: Problem(
        404, "not-found", "The participation does not exist, or belongs to another school"
    ),
    CertificateNotFoundError: Problem(
        404, "not-found", "The school has no certificate with this number"
    ),
    # 422, not 409: the request itself is wrong (the key names another request), and resending
    # it cannot succeed; the answer never carries the other request's answer.
    IdempotencyConflictError: Problem(
        422,
        "idempotency-key-reused",
        "The idempotency key was used before for a different request (method, route, target "
        "or body)",
    ),
    ConflictError: Problem(
        409,
        "conflict",
        "The request clashes with what is already stored (a team reported twice)",
    ),
    NoDocumentCertificateError: Problem(
        503, "document-certificate-missing", "The school has no document-signing certificate yet"
    ),
    # Delivery.
    DeliveryError: Problem(409, "delivery-refused", "A certificate could not be delivered"),
    ChannelUnavailableError: Problem(
        503,
        "channel-unavailable",
        "The channel did not answer, or answered that it cannot take messages now; try later",
    ),
    ChannelRefusedError: Problem(
        409,
        "channel-refused",
        "The channel refused this message; sending the same message again cannot help",
    ),
    UndeliverableError: Problem(
        409,
        "undeliverable",
        "The certificate cannot be delivered as it stands (withdrawn, or its signature fails)",
    ),
    # The register.
    RegistryError: Problem(422, "registry-refused", "The register refused the request"),
    NotFoundError: Problem(404, "not-found", "Not found"),
    KeyMissingError: Problem(
        503,
        "signing-key-unavailable",
        "The key store has no private key for a key id the registry lists as active",
    ),
}

# The AMU rules engine's refusals: 422, each problem type the rule's own code (docs/rules.md).
_REFUSALS: dict[type[rules.RuleViolation], str] = {
    rules.RuleViolation: (
        "The facts break an AMU rule; the participation cannot be assessed as given"
    ),
    rules.DispensationAfterShorteningError: (
        "Collective shortening (§ 17 stk. 8) rules out a dispensation from the exam"
    ),
    rules.DispensationWithoutApplicationError: (
        "A dispensation is granted only on the participant's application"
    ),
    rules.DispensationWithoutReplacingAssessmentError: (
        "A dispensation needs the school's judgement that its assessment can replace the exam"
    ),
    rules.DispensationWithoutExamError: (
        "There is no attached exam to be exempted from (result group 2)"
    ),
    rules.AttemptDespiteDispensationError: (
        "An exam attempt is recorded for a participant exempted from the exam"
    ),
    rules.SecondRetakeWithoutReasonError: (
        "The second retake needs a recorded special reason (or a complaint decision)"
    ),
    rules.RetakeWithoutComplaintDecisionError: (
        "A third or later retake is possible only after a complaint decision"
    ),
    rules.RetakeOutsideWindowError: "A retake is held more than four weeks after the course ended",
    rules.RetakeWithoutFailedExamError: "A retake needs an earlier attempt that was not passed",
    rules.AttemptAfterPassError: "An exam attempt follows an attempt that was already passed",
    rules.ResultForPostponedExamError: (
        "A postponed exam has not been held, so it cannot have a result"
    ),
    rules.AttemptsOutOfOrderError: (
        "Attempts must be given in the order they were held; none may be rewritten"
    ),
    rules.AttemptInFutureError: "An attempt with a result is dated after today",
    rules.ExamPartsMismatchError: (
        "An attempt has a different number of exam parts than the goal's exam"
    ),
    rules.ExamResultWithoutExamError: (
        "An exam attempt is recorded for a participation in result group 2"
    ),
    rules.SkippedExamWithAttemptsError: (
        "The exam is recorded both as skipped (emergency teaching) and as attempted"
    ),
    rules.VocationalElectiveError: (
        "A vocational-school pupil taking the goal as an elective gets no AMU certificate (001)"
    ),
    rules.UnknownGoalInCatalogueError: (
        "The goal number is not in the catalogue passed to the engine"
    ),
    rules.AuthorityExamNotApplicableError: (
        "An other-authority exam result is given for a course that has none or uses the UVM exam"
    ),
    rules.IkvOutcomeOutsideIkvGoalError: (
        "An IKV outcome is given for a goal other than 40080/40081"
    ),
    rules.JudgementOnIkvGoalError: (
        "40080/40081 are judged by the IKV outcome, not by a teacher's judgement"
    ),
    rules.IkvOutcomeForIkvGoalError: (
        "An IKV outcome is given for 40080/40081 themselves: an IKV assesses other goals"
    ),
    rules.DuplicateIkvOutcomeError: "An IKV gives two outcomes for one goal",
    rules.ResultBeforeCourseEndError: (
        "A result, judgement or IKV outcome is recorded for a course that ends after today"
    ),
    rules.ExamBeforeCourseStartError: "An exam attempt is dated before the course starts",
    rules.ExamOutsideWindowError: (
        "An ordinary exam is held more than four weeks after the course ended"
    ),
    rules.DateOutOfRangeError: "A date lies before 1990 or more than a year after today",
    rules.InvalidPeriodError: (
        "A participation has no teaching period, or a period ends before it starts"
    ),
    rules.UnknownCategoryError: "A reported category number does not exist in its result group",
    rules.GoalNotInCompositeCourseError: (
        "A participation's goal is not one of the composite course's goals"
    ),
    rules.DuplicateGoalInCompositeCourseError: (
        "A composite course has two participations for the same goal"
    ),
}
PROBLEMS.update({rule: Problem(422, rule.rule, title) for rule, title in _REFUSALS.items()})


def problem_of(exc: Exception) -> Problem:
    """How the edge answers ``exc``: the entry of its most specific type in ``PROBLEMS``.

    Raises KeyError for an error of no listed type (the app answers those as internal errors).
    """
    for cls in type(exc).__mro__:
        if cls in PROBLEMS:
            return PROBLEMS[cls]
    raise KeyError(type(exc).__name__)


def _domain_error(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    answer = problem_of(exc)
    field = exc.field if isinstance(exc, IssuingError) else None
    params = [{"name": field, "reason": str(exc)}] if field else None
    detail = f"{field}: {exc}" if field else str(exc)
    response = problem(
        answer.status, answer.slug, answer.title, detail=detail, invalid_params=params
    )
    if isinstance(exc, rules.RuleViolation):
        response.content["rule"] = exc.rule  # an AMU rule refused it: name it (docs/rules.md)
    return response


def _validation_error(
    request: Request[Any, Any, Any], exc: ValidationException
) -> Response[dict[str, Any]]:
    """400 for a request of the wrong shape; 422 for a value no record may hold (NUL)."""
    # Litestar's extra is a list of {"message", "key", "source"}; ``invalid_param`` names each
    # as the API does and drops whatever the client wrote (an unknown key, an enum value).
    handler = request.scope.get("route_handler")
    params = [
        invalid_param(handler, item)
        for item in (exc.extra if isinstance(exc.extra, list) else [])
        if isinstance(item, dict)
    ]
    missing = _MISSING_PARAMETER.search(str(exc.detail))
    if not params and missing:
        params = [{"name": missing.group(1), "reason": "is required"}]
    detail = "; ".join(f"{p['name']}: {p['reason']}" for p in params) or "the request is malformed"
    if isinstance(exc, UnacceptableInputError):
        slug, title = "unacceptable-input", "A value no record may hold (a NUL character)"
    else:
        slug, title = "invalid-request", "The request is malformed"
    return problem(
        exc.status_code,
        slug,
        title,
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


RETRY_AFTER_SECONDS = 5
"""How long a client should wait when the database is away: about what ``serve``'s
supervisor needs to notice a dead embedded PostgreSQL and start it again."""

DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    OSError,  # refused, reset, no socket file, timed out (TimeoutError is an OSError)
    asyncpg.PostgresConnectionError,  # class 08: the connection is gone or never was
    asyncpg.exceptions.OperatorInterventionError,  # 57P: shutting down, cannot connect now
    asyncpg.TooManyConnectionsError,
    asyncpg.InterfaceError,  # only a closed pool or connection (see _unavailable)
)
"""Errors that mean the database cannot be reached now, not that the request was wrong.

The pool needs no help to recover: each ``acquire`` replaces a closed connection with a new
one, so the first request after the database is back succeeds.
"""


def database_unavailable(exc: Exception) -> bool:
    """Whether ``exc`` (one of ``DATABASE_UNAVAILABLE``) means the database is away, not that
    we misused a live connection (our bug, a 500)."""
    return not isinstance(exc, asyncpg.InterfaceError) or _closed(exc)


def _unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    if not database_unavailable(exc):
        return _unexpected(request, exc)
    log.warning("database unavailable (%s); answering 503", type(exc).__name__)
    return problem(
        503,
        "database-unavailable",
        "The register's database cannot be reached just now; try again shortly",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def _closed(exc: asyncpg.InterfaceError) -> bool:
    # asyncpg has no type for these: "pool is closed", "connection is closed", "... was
    # closed in the middle of operation".
    message = str(exc).lower()
    return "closed" in message or "closing" in message


def _unexpected(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    # Only the type is logged: messages of library errors (asyncpg's DETAIL lines) can carry
    # row values, CPR numbers among them.
    log.error("unexpected %s while handling a request", type(exc).__name__)
    return problem(HTTP_500_INTERNAL_SERVER_ERROR, "internal-error", "Internal error")


exception_handlers: dict[type[Exception] | int, Any] = {
    **dict.fromkeys(PROBLEMS, _domain_error),
    ValidationException: _validation_error,
    HTTPException: _http_error,
    **dict.fromkeys(DATABASE_UNAVAILABLE, _unavailable),
    Exception: _unexpected,
}
