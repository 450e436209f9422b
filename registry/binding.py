"""What a certificate's 'issued' leaf binds, checked against the certificate's row. Pure: no I/O.

The signed record (the JWS) carries the participant, the course and the result; the leaf
carries the SHA-256 of that JWS and, from entry v2, what answers depend on that the record does
not carry: the status-list position, the retention date, and a salted hash of the verification
code (the salt stays in the database, so the public leaf does not let anyone search the code
space). The audit and every run-time answer compare the row with its leaf the same way::

    bound = read_issued(leaf_entry)              # None: not an 'issued' entry
    problems = mismatches(bound, RowFacts(...))  # [] when the row is what the log recorded

A row that no longer matches its leaf is never handed out: verification answers "invalid",
a participant's list leaves it out.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any

SALT_BYTES = 16


@dataclass(frozen=True, slots=True)
class Bound:
    """What an 'issued' leaf states about its certificate."""

    version: int
    number: str
    record_sha256: str | None
    code_sha256: str | None = None  # v2: sha256(binding_salt || code), hex
    status_list: tuple[int, int] | None = None  # v2: (list, index)
    retain_until: dt.date | None = None  # v2

    @property
    def binds_row(self) -> bool:
        """Whether the leaf binds the code, the status position and the retention date (v2)."""
        return self.version >= 2


@dataclass(frozen=True, slots=True)
class RowFacts:
    """What a certificate's row says, None where retention blanked it (or it was not read)."""

    number: str
    jws: str | None
    payload: bytes | None
    cpr: str | None
    binding_salt: bytes | None
    verification_code: str | None
    status_list: tuple[int, int] | None
    retain_until: dt.date | None


def new_salt() -> bytes:
    return secrets.token_bytes(SALT_BYTES)


def code_digest(salt: bytes, code: str) -> str:
    """The leaf's codeSha256 for a stored-form code (``codes.normalise_code``)."""
    return hashlib.sha256(salt + code.encode()).hexdigest()


def code_is_bound(bound: Bound, salt: bytes | None, code: str) -> bool:
    """Whether ``code`` (stored form) is the code the leaf binds; constant time."""
    if bound.code_sha256 is None or salt is None:
        return False
    return hmac.compare_digest(code_digest(salt, code).encode(), bound.code_sha256.encode())


def read_issued(entry: bytes) -> Bound | None:
    """The binding an 'issued' entry states; None for any other or a malformed entry."""
    try:
        data = json.loads(entry)
        if not isinstance(data, dict) or data.get("event") != "issued":
            return None
        return _bound(data)
    except (ValueError, TypeError, KeyError):
        return None


def _bound(data: dict[str, Any]) -> Bound:
    version = data["v"]
    number = data["certificate"]
    digest = data.get("recordSha256")
    if not isinstance(version, int) or not isinstance(number, str):
        raise TypeError("malformed entry")
    if version < 2:
        return Bound(version, number, digest)
    position = data["statusList"]
    return Bound(
        version,
        number,
        digest,
        code_sha256=str(data["codeSha256"]),
        status_list=(int(position["list"]), int(position["index"])),
        retain_until=dt.date.fromisoformat(data["retainUntil"]),
    )


def mismatches(bound: Bound | None, row: RowFacts) -> list[str]:
    """Every way the row differs from what its 'issued' leaf recorded (empty: it matches).

    Columns retention blanked (cpr, payload, jws) are None and not compared.
    """
    if bound is None:
        return ["the certificate has no readable 'issued' leaf"]
    problems: list[str] = []
    if bound.number != row.number:
        problems.append("the 'issued' leaf names another certificate")
    if row.jws is not None and bound.record_sha256 != hashlib.sha256(row.jws.encode()).hexdigest():
        problems.append("the stored JWS is not the one the log recorded")
    if (row.jws is None) != (row.payload is None) or (row.payload is None) != (row.cpr is None):
        problems.append("the personal columns are partly blanked")
    elif row.jws is not None and row.payload is not None:
        if _signed_payload(row.jws) != row.payload:
            problems.append("the stored record differs from the signed one")
        if _record_cpr(row.payload) != row.cpr:
            problems.append("the stored CPR number differs from the signed record's")
    if bound.binds_row:
        if row.verification_code is None or not code_is_bound(
            bound, row.binding_salt, row.verification_code
        ):
            problems.append("the stored verification code differs from the log entry's")
        if row.status_list != bound.status_list:
            problems.append("the status-list position differs from the log entry's")
        if row.retain_until != bound.retain_until:
            problems.append("the retention date differs from the log entry's")
    return problems


def _signed_payload(jws: str) -> bytes | None:
    """The payload segment of a compact JWS, decoded (the signature is not checked here)."""
    parts = jws.split(".")
    if len(parts) != 3:  # header.payload.signature
        return None
    text = parts[1]
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


def _record_cpr(payload: bytes) -> str | None:
    try:
        cpr = json.loads(payload)["participant"]["cpr"]
    except (ValueError, TypeError, KeyError):
        return None
    return cpr if isinstance(cpr, str) else None
