"""Who a participant is: the IdentityProvider port and its development adapter.

The port is shaped for an OpenID Connect broker such as MitID: the broker's ID token carries
the person's CPR number, and ``authenticate`` turns a presented token into a ``Person``. A
browser logs in by the authorization-code flow: ``authorization_url`` is where to send it, the
broker sends it back to ``redirect_uri`` with ``code`` and ``state``, and ``redeem`` turns the
code into a ``Person`` (a broker adapter calls its token endpoint there).
``DevelopmentIdentityProvider`` issues such tokens itself for any CPR number (demo and tests
only; the settings never choose it in production); its "broker" is the demo-person page at
``/udvikling/log-ind``.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Protocol, runtime_checkable
from urllib.parse import urlencode

import jwt

from registry.clock import Clock

_AUDIENCE = "amu-bevis"
DEVELOPMENT_LOGIN_PATH = "/udvikling/log-ind"


@dataclass(frozen=True, slots=True)
class Person:
    cpr: str  # sensitive: never log


@runtime_checkable  # handed to handlers by dependency injection, which checks types
class IdentityProvider(Protocol):
    def authenticate(self, token: str) -> Person | None:
        """The person a bearer token proves, or None when it proves nothing."""

    def authorization_url(self, *, state: str, redirect_uri: str) -> str:
        """Where to send a browser to log in (an OpenID Connect authorization request); the
        broker sends it back to ``redirect_uri`` with ``code`` and ``state``."""

    async def redeem(self, code: str, *, redirect_uri: str) -> Person | None:
        """The person an authorization code proves, or None (used, expired or unknown)."""


class DevelopmentIdentityProvider:
    """Issues and checks short-lived HS256 tokens for any CPR number. Never for production."""

    def __init__(
        self,
        secret: bytes,
        clock: Clock,
        *,
        lifetime: dt.timedelta = dt.timedelta(hours=1),
    ) -> None:
        self._secret = secret
        self._clock = clock
        self._lifetime = lifetime
        self._codes: dict[str, tuple[str, dt.datetime]] = {}

    def issue(self, cpr: str) -> str:
        now = self._clock()
        claims = {"cpr": cpr, "aud": _AUDIENCE, "exp": int((now + self._lifetime).timestamp())}
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def authenticate(self, token: str) -> Person | None:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                audience=_AUDIENCE,
                options={"verify_exp": False, "require": ["exp", "aud", "cpr"]},
            )
        except jwt.InvalidTokenError:
            return None
        # Expiry is checked against our clock, not the machine's, so tests can move time.
        if not isinstance(claims["exp"], int) or claims["exp"] <= self._clock().timestamp():
            return None
        cpr = claims.get("cpr")
        return Person(cpr) if isinstance(cpr, str) else None

    def authorization_url(self, *, state: str, redirect_uri: str) -> str:
        query = urlencode({"state": state, "redirect_uri": redirect_uri})
        return f"{DEVELOPMENT_LOGIN_PATH}?{query}"

    def issue_code(self, cpr: str) -> str:
        """A one-time authorization code for ``cpr``, valid for five minutes (the demo page's
        stand-in for a broker's login). The code is random: no CPR number in any URL."""
        now = self._clock()
        self._codes = {c: v for c, v in self._codes.items() if v[1] > now}
        code = secrets.token_urlsafe(32)
        self._codes[code] = (cpr, now + dt.timedelta(minutes=5))
        return code

    async def redeem(self, code: str, *, redirect_uri: str) -> Person | None:  # noqa: ARG002
        found = self._codes.pop(code, None)
        if found is None or found[1] <= self._clock():
            return None
        return Person(found[0])
