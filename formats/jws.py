"""Compact JWS (RFC 7515) with EdDSA over a record's canonical bytes.

The payload is the RFC 8785 canonical JSON of the record, so the same record always signs
the same bytes, and the key id (``kid``) in the protected header names the school's key::

    token = sign_record(record, school_key, kid="280727-2026-1")
    header = read_header(token)                 # {"alg": "EdDSA", "kid": ..., "typ": ...}
    payload = verify_record(token, public_key)  # canonical bytes, or InvalidSignatureError
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any, NewType

import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from formats.errors import InvalidSignatureError, MalformedDocumentError
from formats.record import CertificateRecord

CompactJws = NewType("CompactJws", str)
CanonicalPayload = NewType("CanonicalPayload", bytes)

MEDIA_TYPE = "vnd.amu-bevis.certificate+jws"
_JWS = jwt.api_jws.PyJWS(algorithms=["EdDSA"])


def sign_payload(payload: bytes, key: Ed25519PrivateKey, *, kid: str) -> CompactJws:
    """Sign canonical bytes as a compact JWS with ``alg: EdDSA`` and the given key id."""
    token = _JWS.encode(payload, key, algorithm="EdDSA", headers={"kid": kid, "typ": MEDIA_TYPE})
    return CompactJws(token)


def sign_record(record: CertificateRecord, key: Ed25519PrivateKey, *, kid: str) -> CompactJws:
    """Sign a certificate record's canonical bytes."""
    return sign_payload(record.canonical_bytes(), key, kid=kid)


def read_header(token: str) -> dict[str, Any]:
    """The protected header, unverified: use it only to choose the key to verify with.

    Raises MalformedDocumentError if the token is not a compact JWS.
    """
    try:
        return _JWS.get_unverified_header(token)
    except jwt.exceptions.DecodeError as e:
        raise MalformedDocumentError("not a compact JWS") from e


def verify_record(token: str, key: Ed25519PublicKey) -> CanonicalPayload:
    """Verify a compact JWS and return its payload bytes.

    Strict where RFC 7515 allows leeway, so one signed record has exactly one token: each part
    is unpadded base64url with its unused bits zero, the header names ``alg: EdDSA`` and no
    critical extension or unencoded payload. Raises InvalidSignatureError if the signature does
    not verify, any byte was changed or the token cannot be parsed.
    """
    # Checked here rather than by PyJWT, whose per-character checks of each part cost as much
    # as the Ed25519 verification itself on the verification endpoint's hot path.
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3:
        raise InvalidSignatureError("the token is not a compact JWS")
    header_part, payload_part, signature_part = parts
    try:
        header = json.loads(_base64url(header_part))
    except (ValueError, RecursionError) as e:
        raise InvalidSignatureError("the token's header is not JSON") from e
    if not isinstance(header, dict) or header.get("alg") != "EdDSA":
        raise InvalidSignatureError("unexpected algorithm")
    if "crit" in header or header.get("b64", True) is not True:
        raise InvalidSignatureError("the token asks for extensions we do not support")
    if not isinstance(header.get("kid", ""), str):
        raise InvalidSignatureError("the key id is not a string")
    try:
        key.verify(_base64url(signature_part), f"{header_part}.{payload_part}".encode("ascii"))
    except InvalidSignature as e:
        raise InvalidSignatureError("the signature does not verify") from e
    return CanonicalPayload(_base64url(payload_part))


_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


def _base64url(part: str) -> bytes:
    """Unpadded base64url, refusing other characters and set unused bits (a second spelling
    of the same bytes)."""
    if len(part) % 4 == 1 or not _BASE64URL.fullmatch(part):
        raise InvalidSignatureError("a part of the token is not base64url")
    decoded = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    if base64.urlsafe_b64encode(decoded).rstrip(b"=") != part.encode("ascii"):
        raise InvalidSignatureError("a part of the token is not canonical base64url")
    return decoded
