"""Who may call a router: a school with its own credential, or a logged-in participant.

Guards run before the body is read, so an unauthenticated caller learns nothing about it. They
cannot take dependencies, so the app factory builds them with what they need::

    schools = schools.router(SchoolGuard(pool_of, clock))  # pool_of: the app state's pool
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
from registry.clock import Clock
from service.identity import IdentityProvider, Person

_SCHOOL_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="amu-bevis schools"'}
_PARTICIPANT_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="amu-bevis participants"'}


def _bearer(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    scheme, _sep, token = connection.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


class SchoolGuard:
    """Admit only a valid credential of the school named in the path. Every request with a
    known credential id is recorded in its audit trail (``credentials.admit``): ``used`` with
    the route template and client address, or ``refused`` with the reason; the token never."""

    def __init__(self, pool_of: Callable[[State], asyncpg.Pool], clock: Clock) -> None:
        # The pool exists once the app has started; ``pool_of`` finds it in the app's state.
        self._pool_of = pool_of
        self._clock = clock

    def __deepcopy__(self, memo: dict[int, Any]) -> SchoolGuard:
        return self  # Litestar copies a router when it is registered; a guard is shared

    async def __call__(
        self, connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
    ) -> None:
        token = _bearer(connection)
        if token is None or credentials.parse_token(token) is None:
            raise NotAuthorizedException(
                "A school API credential is required", headers=_SCHOOL_CHALLENGE
            )
        # The template (/skoler/{school_id}/...), not the path: it names the route, not data.
        route = connection.scope.get("path_template") or connection.scope["path"]
        client = connection.client.host if connection.client else None
        async with self._pool_of(connection.app.state).acquire() as conn:
            admission, _school = await credentials.admit(
                conn,
                token,
                # A route without a school in its path admits no school.
                school=str(connection.path_params.get("school_id", "")),
                now=self._clock(),
                route=f"{connection.scope.get('method', '')} {route}",
                client=client,
            )
        if admission is credentials.Admission.UNAUTHENTICATED:
            raise NotAuthorizedException(
                "The API credential is not valid", headers=_SCHOOL_CHALLENGE
            )
        if admission is credentials.Admission.OTHER_SCHOOL:
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
