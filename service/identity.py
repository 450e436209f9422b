"""Who a participant is: the IdentityProvider port and its development adapter.

The port is shaped for an OpenID Connect broker such as MitID: the broker's ID token carries
the person's CPR number, and ``authenticate`` turns a presented token into a ``Person``. A
browser logs in by the authorization-code flow: ``authorization_url`` is where to send it, the
broker sends it back to ``redirect_uri`` with ``code`` and ``state``, and ``redeem`` turns the
code into a ``Person`` (a broker adapter calls its token endpoint there).
``DevelopmentIdentityProvider`` issues such tokens itself for any CPR number (demo and tests
only; the settings never choose it in production); its "broker" is the demo-person page at
``/udvikling/log-ind``. Its tokens are sealed (AES-256-GCM), not merely signed: whoever holds
one, or finds it in a log, cannot read the CPR number inside.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import secrets
from dataclasses import dataclass
from typing import Protocol, runtime_checkable
from urllib.parse import urlencode

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from registry.clock import Clock

_TOKEN_PREFIX = "dev1."  # noqa: S105 - a format tag, not a secret
_TOKEN_AAD = b"amu-bevis development token v1"
_NONCE_BYTES = 12
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
    """Issues and checks short-lived sealed tokens for any CPR number. Never for production."""

    def __init__(
        self,
        secret: bytes,
        clock: Clock,
        *,
        lifetime: dt.timedelta = dt.timedelta(hours=1),
    ) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_TOKEN_AAD).derive(secret)
        self._aead = AESGCM(key)
        self._clock = clock
        self._lifetime = lifetime
        self._codes: dict[str, tuple[str, dt.datetime]] = {}

    def issue(self, cpr: str) -> str:
        """``dev1.<base64url(nonce || AES-GCM(cpr, expiry))>``: opaque to its holder."""
        expires = int((self._clock() + self._lifetime).timestamp())
        payload = json.dumps({"cpr": cpr, "exp": expires}, separators=(",", ":")).encode()
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = nonce + self._aead.encrypt(nonce, payload, _TOKEN_AAD)
        return _TOKEN_PREFIX + base64.urlsafe_b64encode(sealed).rstrip(b"=").decode()

    def authenticate(self, token: str) -> Person | None:
        if not token.startswith(_TOKEN_PREFIX) or len(token) > 512:
            return None
        body = token.removeprefix(_TOKEN_PREFIX)
        try:
            sealed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            payload = self._aead.decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], _TOKEN_AAD)
            claims = json.loads(payload)
        except (binascii.Error, ValueError, InvalidTag):
            return None
        cpr, expires = claims.get("cpr"), claims.get("exp")
        # Expiry is checked against our clock, not the machine's, so tests can move time.
        if not isinstance(expires, int) or expires <= self._clock().timestamp():
            return None
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
