"""Browser sessions of the pages: Litestar's server-side sessions, kept in a ``Store``.

The cookie ``amu_session`` holds only a random id (256 bits); what the session says lives on the
server (``service.session_store.PostgresSessionStore`` in the app), so logging out deletes it
everywhere and every process sees the same sessions. Cookies are HttpOnly, SameSite=Lax, Path=/
and Secure when the service is served over https.

    config = session_config(secure=True, idle=dt.timedelta(minutes=30))
    Router(..., middleware=[config.middleware])
    request.session["user"] = Session(...).to_data()   # in a handler: see ``Page.log_in``

Our backend differs from Litestar's in three ways. It makes no row for a visitor with an empty
session (a page view by someone not logged in writes nothing). It adopts a cookie's id only when
the store knew it: an id the browser made up is never used (no session fixation by planting a
cookie). And a session that asks for it (``renew_id``, at every login) gets a new id, the old
row deleted, and the store's expired rows purged.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast

from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.middleware.session.server_side import (
    ServerSideSessionBackend,
    ServerSideSessionConfig,
)
from litestar.types import Empty

if TYPE_CHECKING:
    from litestar.connection import ASGIConnection
    from litestar.types import Message, ScopeSession

SESSION_COOKIE = "amu_session"
SESSION_STORE = "sessions"
SessionKind = Literal["person", "school"]
Role = Literal["administrator", "registrar"]
ROLES: tuple[Role, ...] = ("administrator", "registrar")

_NEW_ID = "_new_id"  # in the session's data: give it a new id when it is stored
_LOADED = "amu.session_loaded"  # in the connection's state: the bytes the store gave


@dataclass(frozen=True, slots=True)
class Session:
    """Who is logged in on a browser.

    A person: ``subject`` is their CPR number (sensitive: never log). A school's staff member:
    ``subject`` is the school's institution number, ``role`` theirs at that school, ``actor``
    their identity provider subject (for the audit) and ``name`` their name.
    """

    kind: SessionKind
    subject: str
    login_at: dt.datetime
    role: Role | None = None
    actor: str | None = None
    name: str | None = None
    id_token: str | None = None  # for the provider's logout (id_token_hint): never log

    def to_data(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "subject": self.subject,
            "login_at": int(self.login_at.timestamp()),
            "role": self.role,
            "actor": self.actor,
            "name": self.name,
            "id_token": self.id_token,
        }

    @classmethod
    def from_data(cls, data: object) -> Session | None:
        """The session ``to_data`` made, or None for anything else."""
        if not isinstance(data, dict):
            return None
        kind, subject, login_at = data.get("kind"), data.get("subject"), data.get("login_at")
        role = data.get("role")
        if kind not in ("person", "school") or not isinstance(subject, str) or not subject:
            return None
        if not isinstance(login_at, int) or (role is not None and role not in ROLES):
            return None
        if kind == "school" and role is None:
            return None
        optional = [data.get(k) for k in ("actor", "name", "id_token")]
        if not all(v is None or isinstance(v, str) for v in optional):
            return None
        actor, name, id_token = cast("list[str | None]", optional)
        return cls(
            kind=cast("SessionKind", kind),
            subject=subject,
            login_at=dt.datetime.fromtimestamp(login_at, dt.UTC),
            role=cast("Role | None", role),
            actor=actor,
            name=name,
            id_token=id_token,
        )

    def may(self, role: Role) -> bool:
        """Whether a staff session's role covers ``role`` (an administrator's covers both)."""
        return self.kind == "school" and self.role in {"administrator", role}


def renew_id(session: dict[str, Any]) -> None:
    """Mark ``session`` (the request's session data) to be stored under a new id."""
    session[_NEW_ID] = True


class PagesSessionBackend(ServerSideSessionBackend):
    """Litestar's server-side backend, with the three differences the module names."""

    async def load_from_connection(self, connection: ASGIConnection[Any, Any, Any, Any]) -> Any:
        if session_id := connection.cookies.get(self.config.key):
            store = self.config.get_store_from_app(connection.scope["app"])
            data = await self.get(session_id, store=store)
            if data is not None:
                connection.state[_LOADED] = data
                return self.deserialize_data(data)
        return {}

    def _cookie(self, value: str, *, max_age: int | None = None) -> str:
        c = self.config
        cookie = Cookie(
            key=c.key,
            value=value,
            path=c.path,
            secure=c.secure,
            httponly=c.httponly,
            samesite=c.samesite,
            domain=c.domain,
            max_age=max_age,
        )
        return cookie.to_header(header="")

    async def store_in_message(
        self,
        scope_session: ScopeSession,
        message: Message,
        connection: ASGIConnection[Any, Any, Any, Any],
    ) -> None:
        store = self.config.get_store_from_app(connection.scope["app"])
        headers = MutableScopeHeaders.from_message(message)
        sent = connection.cookies.get(self.config.key)
        loaded = connection.state.get(_LOADED)
        if scope_session is Empty or not scope_session:
            if sent:  # logged out, expired or unknown: the row goes, and the cookie
                await store.delete(sent)
                headers.add("Set-Cookie", self._cookie("", max_age=0))
            return
        data = dict(cast("dict[str, Any]", scope_session))
        new_id = bool(data.pop(_NEW_ID, False))
        serialised = self.serialize_data(data, connection.scope)
        if loaded is not None and sent and not new_id:
            if serialised != loaded:
                await self.set(sent, serialised, store=store)
            return
        if loaded is not None and sent:
            await store.delete(sent)
        if new_id and hasattr(store, "delete_expired"):
            await store.delete_expired()
        session_id = self.generate_session_id()
        await self.set(session_id, serialised, store=store)
        headers.add("Set-Cookie", self._cookie(session_id))


@dataclass
class PagesSessionConfig(ServerSideSessionConfig):
    _backend_class = PagesSessionBackend


def session_config(*, secure: bool, idle: dt.timedelta) -> PagesSessionConfig:
    """The pages' session middleware: ``idle`` without a request ends a session (each request
    renews it); the cookie lasts as long as the browser, the server decides."""
    return PagesSessionConfig(
        key=SESSION_COOKIE,
        store=SESSION_STORE,
        max_age=int(idle.total_seconds()),
        renew_on_access=True,
        secure=secure,
        httponly=True,
        samesite="lax",
        path="/",
    )
