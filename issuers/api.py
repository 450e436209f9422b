"""The school API: a school authenticates with its own credential and acts only for itself."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, post
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, HeaderParameter, JSONBody

from issuers import credentials, store
from issuers.requests import TeamResultsIn, TeamResultsOut
from registry.services import services_of

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
        found = await store.credential(conn, credential_id)
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
        idempotency_key: Annotated[
            str, HeaderParameter(name="Idempotency-Key", min_length=1, max_length=200)
        ],
    ) -> Response[bytes]:
        """Repeating a request with the same Idempotency-Key returns the first answer."""
        services = services_of(request)
        status, body = await services.issuer.issue_team(
            school_id, idempotency_key, await request.body(), data
        )
        return Response(body, status_code=status, media_type="application/json")
