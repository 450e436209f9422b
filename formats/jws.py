"""Compact JWS (RFC 7515) with EdDSA over a record's canonical bytes.

The payload is the RFC 8785 canonical JSON of the record, so the same record always signs
the same bytes, and the key id (``kid``) in the protected header names the school's key::

    token = sign_record(record, school_key, kid="280727-2026-1")
    header = read_header(token)                 # {"alg": "EdDSA", "kid": ..., "typ": ...}
    payload = verify_record(token, public_key)  # canonical bytes, or InvalidSignatureError
"""

from __future__ import annotations

import base64
import functools
import json
from typing import Any, NewType

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from formats.errors import InvalidSignatureError, MalformedDocumentError
from formats.record import CertificateRecord

CompactJws = NewType("CompactJws", str)
CanonicalPayload = NewType("CanonicalPayload", bytes)

MEDIA_TYPE = "vnd.amu-bevis.certificate+jws"
_JWS = jwt.api_jws.PyJWS(algorithms=["EdDSA"])


def sign_payload(payload: bytes, key: Ed25519PrivateKey, *, kid: str) -> CompactJws:
    """Sign canonical bytes as a compact JWS with ``alg: EdDSA`` and the given key id."""
    # Built here rather than by PyJWT, whose encode doubled the cost of a signature on the bulk
    # path; the bytes are PyJWT's (sorted compact header, unpadded base64url), which the golden
    # tokens in tests/assets/jws pin. Verification stays PyJWT's.
    signing_input = _protected_header(kid) + b"." + _b64url(payload)
    return CompactJws((signing_input + b"." + _b64url(key.sign(signing_input))).decode("ascii"))


@functools.lru_cache(maxsize=256)
def _protected_header(kid: str) -> bytes:
    """The base64url protected header for a key id, as PyJWT writes it (sorted, compact)."""
    header = {"alg": "EdDSA", "kid": kid, "typ": MEDIA_TYPE}
    return _b64url(json.dumps(header, separators=(",", ":"), sort_keys=True).encode())


def _b64url(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


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

    Raises InvalidSignatureError if the signature does not verify or any byte was changed,
    MalformedDocumentError if the token cannot be parsed.
    """
    try:
        decoded = _JWS.decode_complete(token, key, algorithms=["EdDSA"])
    except jwt.exceptions.InvalidSignatureError as e:
        raise InvalidSignatureError("the signature does not verify") from e
    except jwt.exceptions.InvalidTokenError as e:
        # A tampered header or payload byte often breaks the base64 or JSON before the
        # signature check; either way the token is not what was signed.
        raise InvalidSignatureError("the token is not a valid signed record") from e
    header = decoded["header"]
    if header.get("alg") != "EdDSA":
        raise InvalidSignatureError("unexpected algorithm")
    return CanonicalPayload(decoded["payload"])
