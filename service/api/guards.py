"""Who may call a router: a school with its own credential, or a logged-in participant.

Guards run before the body is read, so an unauthenticated caller learns nothing about it. They
cannot take dependencies, so the app factory builds them with what they need::

    schools = schools.router(SchoolGuard(pool_of))       # pool_of: the app state's pool
    participants = participants.router(ParticipantGuard(identity))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncpg
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from issuers import credentials
from service.identity import IdentityProvider, Person

_SCHOOL_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="amu-bevis schools"'}
_PARTICIPANT_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="amu-bevis participants"'}


def _bearer(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    scheme, _sep, token = connection.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


class SchoolGuard:
    """Admit only a valid credential of the school named in the path."""

    def __init__(self, pool_of: Callable[[State], asyncpg.Pool]) -> None:
        # The pool exists once the app has started; ``pool_of`` finds it in the app's state.
        self._pool_of = pool_of

    def __deepcopy__(self, memo: dict[int, Any]) -> SchoolGuard:
        return self  # Litestar copies a router when it is registered; a guard is shared

    async def __call__(
        self, connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
    ) -> None:
        token = _bearer(connection)
        parsed = credentials.parse_token(token) if token is not None else None
        if parsed is None:
            raise NotAuthorizedException(
                "A school API credential is required", headers=_SCHOOL_CHALLENGE
            )
        async with self._pool_of(connection.app.state).acquire() as conn:
            school_id = await credentials.school_of(conn, *parsed)
        if school_id is None:
            raise NotAuthorizedException(
                "The API credential is not valid", headers=_SCHOOL_CHALLENGE
            )
        if school_id != connection.path_params.get("school_id"):
            raise PermissionDeniedException("A school can act only for itself")


class ParticipantGuard:
    """Admit a participant proven by the identity provider; remember who they are (``person``)."""

    def __init__(self, identity: IdentityProvider) -> None:
        self._identity = identity

    def __deepcopy__(self, memo: dict[int, Any]) -> ParticipantGuard:
        return self  # Litestar copies a router when it is registered; a guard is shared

    async def __call__(
        self, connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
    ) -> None:
        token = _bearer(connection)
        person = await self._identity.authenticate(token) if token is not None else None
        if person is None:
            raise NotAuthorizedException(
                "Log in to see your certificates", headers=_PARTICIPANT_CHALLENGE
            )
        connection.state.person = person


def provide_person(request: Request[Any, Any, Any]) -> Person:
    """The participant ``ParticipantGuard`` admitted: the ``person`` dependency."""
    person: Person = request.state.person
    return person
