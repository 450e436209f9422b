"""Who a participant is: the IdentityProvider port and its development adapter.

The port is shaped for an OpenID Connect broker such as MitID: the broker's ID token carries
the person's CPR number, and ``authenticate`` turns a presented token into a ``Person``.
``DevelopmentIdentityProvider`` issues such tokens itself for any CPR number (demo and tests
only; the settings never choose it in production).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import jwt

_AUDIENCE = "amu-bevis"


@dataclass(frozen=True, slots=True)
class Person:
    cpr: str  # sensitive: never log


class IdentityProvider(Protocol):
    def authenticate(self, token: str) -> Person | None:
        """The person a bearer token proves, or None when it proves nothing."""


class DevelopmentIdentityProvider:
    """Issues and checks short-lived HS256 tokens for any CPR number. Never for production."""

    def __init__(
        self,
        secret: bytes,
        clock: Callable[[], dt.datetime],
        *,
        lifetime: dt.timedelta = dt.timedelta(hours=1),
    ) -> None:
        self._secret = secret
        self._clock = clock
        self._lifetime = lifetime

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
