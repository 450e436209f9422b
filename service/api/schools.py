"""The school API: a school authenticates with its own credential and acts only for itself."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, get, patch, post
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, HeaderParameter, JSONBody

from issuers import credentials, school_store
from issuers.requests import (
    AttemptIn,
    FactsUpdateIn,
    OverdueOut,
    ParticipationOut,
    TeamResultsIn,
    TeamResultsOut,
)
from service.services import services_of

IdempotencyKey = Annotated[
    str, HeaderParameter(name="Idempotency-Key", min_length=1, max_length=200)
]
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="amu-bevis schools"'}


async def school_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Admit only a valid credential of the school named in the path.

    Runs before the body is read, so an unauthenticated caller learns nothing about it.
    """
    header = connection.headers.get("authorization", "")
    scheme, _sep, token = header.partition(" ")
    parsed = credentials.parse_token(token.strip()) if scheme.lower() == "bearer" else None
    if parsed is None:
        raise NotAuthorizedException("A school API credential is required", headers=_CHALLENGE)
    credential_id, secret = parsed
    services = services_of(connection)
    async with services.pool.acquire() as conn:
        found = await school_store.credential(conn, credential_id)
    if found is None or not credentials.secret_matches(secret, found[1]):
        raise NotAuthorizedException("The API credential is not valid", headers=_CHALLENGE)
    if found[0] != connection.path_params.get("school_id"):
        raise PermissionDeniedException("A school can act only for itself")


class SchoolController(Controller):
    path = "/api/schools/{school_id:str}"
    guards = [school_guard]  # noqa: RUF012 - Litestar's own class attribute
    tags = ["Schools"]  # noqa: RUF012
    security = [{"schoolCredential": []}]  # noqa: RUF012

    @post(
        "/teams",
        status_code=201,
        summary="Report a team's results and issue its certificates",
        responses={201: ResponseSpec(data_container=TeamResultsOut, description="Issued")},
    )
    async def post_team(
        self,
        request: Request[Any, Any, Any],
        school_id: FromPath[str],
        data: JSONBody[TeamResultsIn],
        idempotency_key: IdempotencyKey,
    ) -> TeamResultsOut:
        """Repeating a request with the same Idempotency-Key returns the first answer."""
        return await services_of(request).issuer.issue_team(
            school_id, idempotency_key, await request.body(), data
        )

    @get("/participations/{participation:uuid}", summary="A participation as the rules see it")
    async def get_participation(
        self,
        request: Request[Any, Any, Any],
        school_id: FromPath[str],
        participation: FromPath[uuid.UUID],
    ) -> ParticipationOut:
        """The computed result group and category, documents due and deadlines."""
        return await services_of(request).issuer.participation(school_id, participation)

    @post(
        "/participations/{participation:uuid}/attempts",
        status_code=201,
        summary="Record an exam attempt, retake or rescheduled exam",
        responses={201: ResponseSpec(data_container=ParticipationOut, description="Recorded")},
    )
    async def post_attempt(
        self,
        request: Request[Any, Any, Any],
        school_id: FromPath[str],
        participation: FromPath[uuid.UUID],
        data: JSONBody[AttemptIn],
        idempotency_key: IdempotencyKey,
    ) -> ParticipationOut:
        """Attempts are appended, never changed; certificates now due are issued at once."""
        return await services_of(request).issuer.record_attempt(
            school_id, participation, idempotency_key, await request.body(), data
        )

    @patch(
        "/participations/{participation:uuid}",
        summary="Record a dispensation, judgement, IKV outcome or drop-out",
        responses={200: ResponseSpec(data_container=ParticipationOut, description="Recorded")},
    )
    async def patch_participation(
        self,
        request: Request[Any, Any, Any],
        school_id: FromPath[str],
        participation: FromPath[uuid.UUID],
        data: JSONBody[FactsUpdateIn],
        idempotency_key: IdempotencyKey,
    ) -> ParticipationOut:
        """Members left out stay as they were; certificates now due are issued at once."""
        return await services_of(request).issuer.update_facts(
            school_id, participation, idempotency_key, await request.body(), data
        )

    @get("/overdue", summary="Results late or due within three working days")
    async def overdue(
        self, request: Request[Any, Any, Any], school_id: FromPath[str]
    ) -> list[OverdueOut]:
        return await services_of(request).issuer.overdue(school_id)
