"""Per-school API credentials: ``amu_<id>_<secret>``, stored only as SHA-256 of the secret, and
the one check of a presented credential (``school_of``), for the API guard and the school login.

The secret is 256 random bits, so a fast hash is enough: nobody can brute-force it, and a
slow password hash would only add latency to every request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from issuers import school_store
from registry.db import Connection

_PREFIX = "amu"


@dataclass(frozen=True, slots=True)
class NewCredential:
    id: str
    token: str  # shown to the school once, never stored
    secret_sha256: bytes


def new_credential() -> NewCredential:
    """A fresh credential; keep ``token`` for the school and store ``secret_sha256``."""
    credential_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return NewCredential(
        id=credential_id,
        token=f"{_PREFIX}_{credential_id}_{secret}",
        secret_sha256=hashlib.sha256(secret.encode()).digest(),
    )


def parse_token(token: str) -> tuple[str, str] | None:
    """The (credential id, secret) of a token, or None if it has the wrong shape."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != _PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def secret_matches(secret: str, secret_sha256: bytes) -> bool:
    """Constant-time comparison of a presented secret with the stored hash."""
    return hmac.compare_digest(hashlib.sha256(secret.encode()).digest(), secret_sha256)


async def school_of(conn: Connection, credential_id: str, secret: str) -> str | None:
    """The school whose unrevoked credential this is (as ``parse_token`` splits a token), or
    None when there is no such credential or the secret does not match."""
    found = await school_store.credential(conn, credential_id)
    if found is None or not secret_matches(secret, found[1]):
        return None
    return found[0]
