"""Is it up, is it ready: for load balancers and orchestrators, public and without credentials.

GET /health/live    200 {"status": "live"}: the process answers; nothing else is looked at
GET /health/ready   200 {"status": "ready", "checks": [...]} when every check passes, else a
                    503 ``not-ready`` problem whose ``failing-checks`` names each failing one

The checks themselves are the ``readiness`` collaborator's (``service.readiness``): this module
only says what the answers look like.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import msgspec
from litestar import Response, Router, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec

from service.api.openapi import NO_DATABASE, InvalidParam
from service.api.problems import MEDIA_TYPE, TYPE_BASE

NOT_READY = TYPE_BASE + "not-ready"


class CheckResult(msgspec.Struct, frozen=True):
    name: str  # database, migrations, signing-keys, log-key, delivery-worker
    ok: bool
    detail: str  # a fixed sentence; never a library's message


@runtime_checkable  # Litestar's dependency injection checks the type it hands over
class Readiness(Protocol):
    """The readiness checks, each run once per call."""

    async def checks(self) -> Sequence[CheckResult]:
        """Every check's result; a check that could not run is one that failed."""


class Live(msgspec.Struct):
    status: str


class Ready(msgspec.Struct):
    status: str
    checks: list[CheckResult]


class NotReadyProblem(msgspec.Struct):
    """The 503 problem document: RFC 9457 with the failing checks' names as an extension."""

    type: str
    title: str
    status: int
    failing_checks: list[str] = msgspec.field(name="failing-checks")
    checks: list[CheckResult]
    invalid_params: list[InvalidParam] | None = msgspec.field(default=None, name="invalid-params")


@get("/live", summary="The process is up", opt=NO_DATABASE, cache=False)
async def live() -> Live:
    return Live(status="live")


@get(
    "/ready",
    summary="Ready to serve: database, migrations, keys and a delivery worker",
    cache=False,
    responses={
        503: ResponseSpec(
            data_container=NotReadyProblem,
            media_type=MEDIA_TYPE,
            description="A check failed; failing-checks names each one",
            generate_examples=False,
        )
    },
)
async def ready(readiness: NamedDependency[Readiness]) -> Response[Any]:
    results = list(await readiness.checks())
    failing = [c.name for c in results if not c.ok]
    if not failing:
        return Response(Ready(status="ready", checks=results))
    body = NotReadyProblem(
        type=NOT_READY,
        title="The service is not ready to serve",
        status=503,
        failing_checks=failing,
        checks=results,
    )
    return Response(
        msgspec.json.encode(body),
        status_code=503,
        media_type=MEDIA_TYPE,
        headers={"Retry-After": "5"},
    )


def router() -> Router:
    """The health routes, public and outside /api (orchestrators know them by these paths)."""
    return Router(path="/health", tags=["Health"], route_handlers=[live, ready])
