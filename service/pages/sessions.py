"""Browser sessions and CSRF tokens for the pages.

A session is a cookie holding who is logged in (a person or a school) and until when, sealed
with AES-256-GCM under a key derived from ``settings.session_secret``: the seal signs it (a
changed byte is refused) and hides it (the CPR number is unreadable in the cookie). Cookies are
HttpOnly, SameSite=Lax, Path=/ and Secure when the service is served over https.

    sessions = SessionSealer(secret)
    value = sessions.seal(Session.for_person(person, now=now, lifetime=dt.timedelta(hours=1)))
    session = sessions.open(value, now=now)   # None when forged, expired or garbled

Every POST form carries a CSRF token bound to a per-browser nonce: the session's own nonce once
logged in, otherwise the nonce of the ``amu_pre`` cookie set with the form. The token is an HMAC
of that nonce, so a page on another site can neither read nor compute it.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SESSION_COOKIE = "amu_session"
PRE_SESSION_COOKIE = "amu_pre"
LOGIN_STATE_COOKIE = "amu_login_state"
SessionKind = Literal["person", "school"]


@dataclass(frozen=True, slots=True)
class Session:
    kind: SessionKind
    subject: str  # a CPR number (sensitive: never log) or a school's institution number
    expires_at: dt.datetime
    nonce: str  # binds CSRF tokens to this session

    @classmethod
    def new(
        cls, kind: SessionKind, subject: str, *, now: dt.datetime, lifetime: dt.timedelta
    ) -> Session:
        return cls(kind, subject, now + lifetime, secrets.token_urlsafe(16))


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionSealer:
    """Seals sessions into cookie values and opens them again; makes and checks CSRF tokens."""

    def __init__(self, secret: bytes) -> None:
        self._aead = AESGCM(_derive(secret, b"amu-bevis session cookie v1"))
        self._csrf_key = _derive(secret, b"amu-bevis csrf v1")

    def seal(self, session: Session) -> str:
        payload = json.dumps(
            {
                "k": session.kind,
                "s": session.subject,
                "e": int(session.expires_at.timestamp()),
                "n": session.nonce,
            },
            separators=(",", ":"),
        ).encode()
        iv = secrets.token_bytes(12)
        return _b64(iv + self._aead.encrypt(iv, payload, SESSION_COOKIE.encode()))

    def open(self, value: str | None, *, now: dt.datetime) -> Session | None:
        """The session a cookie value holds, or None when it is absent, forged or expired."""
        if not value or len(value) > 4096:
            return None
        try:
            raw = _unb64(value)
            payload = json.loads(self._aead.decrypt(raw[:12], raw[12:], SESSION_COOKIE.encode()))
            kind, subject, expires, nonce = payload["k"], payload["s"], payload["e"], payload["n"]
        except (InvalidTag, ValueError, KeyError, TypeError):
            return None
        if kind not in ("person", "school") or not isinstance(subject, str):
            return None
        if not isinstance(expires, int) or not isinstance(nonce, str):
            return None
        expires_at = dt.datetime.fromtimestamp(expires, dt.UTC)
        if expires_at <= now:
            return None
        return Session(kind, subject, expires_at, nonce)

    def seal_data(self, data: dict[str, str]) -> str:
        """Seal a small mapping for a cookie (a login in progress)."""
        iv = secrets.token_bytes(12)
        payload = json.dumps(data, separators=(",", ":")).encode()
        return _b64(iv + self._aead.encrypt(iv, payload, LOGIN_STATE_COOKIE.encode()))

    def open_data(self, value: str | None) -> object:
        """What ``seal_data`` sealed, or None when absent, forged or garbled."""
        if not value or len(value) > 4096:
            return None
        try:
            raw = _unb64(value)
            return json.loads(self._aead.decrypt(raw[:12], raw[12:], LOGIN_STATE_COOKIE.encode()))
        except (InvalidTag, ValueError):
            return None

    def csrf_token(self, nonce: str) -> str:
        return _b64(hmac.new(self._csrf_key, nonce.encode(), hashlib.sha256).digest())

    def csrf_matches(self, nonce: str | None, token: str | None) -> bool:
        if not nonce or not token:
            return False
        return hmac.compare_digest(self.csrf_token(nonce).encode(), token.encode())


def new_nonce() -> str:
    return secrets.token_urlsafe(16)
