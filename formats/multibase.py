"""Multibase base58btc text and the Ed25519 ``did:key`` built on it.

Data Integrity proofs write signatures and keys as multibase base58btc (a ``z`` followed by
Bitcoin-alphabet base58); Multikey and ``did:key`` prefix the key bytes with their multicodec
code. Only what eddsa-jcs-2022 needs is here::

    did = did_key(public_key)                        # "did:key:z6Mk..."
    vm = did_key_verification_method(public_key)     # "did:key:z6Mk...#z6Mk..."
    key = public_key_from_did_key(vm)                # Ed25519PublicKey, or MalformedDocumentError
"""

from __future__ import annotations

import base58
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from formats.errors import MalformedDocumentError

BASE58BTC = "z"
# Multicodec codes as unsigned varints: ed25519-pub is 0xed, ed25519-priv is 0x1300.
ED25519_PUB = b"\xed\x01"
ED25519_PRIV = b"\x80\x26"
_KEY_LENGTH = 32


def encode_base58btc(data: bytes) -> str:
    """Multibase base58btc text of ``data``: ``z`` and the base58 Bitcoin alphabet."""
    return BASE58BTC + base58.b58encode(data).decode("ascii")


def decode_base58btc(text: str) -> bytes:
    """The bytes of multibase base58btc text.

    Raises MalformedDocumentError if the text does not start with ``z`` or is not base58.
    """
    if not text.startswith(BASE58BTC):
        raise MalformedDocumentError("multibase value is not base58btc (no 'z' prefix)")
    try:
        return base58.b58decode(text[1:].encode("ascii"))
    except (ValueError, UnicodeEncodeError) as e:
        raise MalformedDocumentError("multibase value is not valid base58") from e


def public_key_multibase(key: Ed25519PublicKey) -> str:
    """The Multikey ``publicKeyMultibase`` of an Ed25519 public key (``z6Mk...``)."""
    raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return encode_base58btc(ED25519_PUB + raw)


def public_key_from_multibase(text: str) -> Ed25519PublicKey:
    """The Ed25519 public key of a Multikey ``publicKeyMultibase``.

    Raises MalformedDocumentError if it is not a multicodec-prefixed Ed25519 public key.
    """
    data = decode_base58btc(text)
    if not data.startswith(ED25519_PUB) or len(data) != len(ED25519_PUB) + _KEY_LENGTH:
        raise MalformedDocumentError("not an Ed25519 Multikey public key")
    return Ed25519PublicKey.from_public_bytes(data[len(ED25519_PUB) :])


def private_key_from_multibase(text: str) -> Ed25519PrivateKey:
    """The Ed25519 private key of a Multikey ``secretKeyMultibase`` (the 32-byte seed).

    Raises MalformedDocumentError if it is not a multicodec-prefixed Ed25519 private key.
    """
    data = decode_base58btc(text)
    if not data.startswith(ED25519_PRIV) or len(data) != len(ED25519_PRIV) + _KEY_LENGTH:
        raise MalformedDocumentError("not an Ed25519 Multikey private key")
    return Ed25519PrivateKey.from_private_bytes(data[len(ED25519_PRIV) :])


def did_key(key: Ed25519PublicKey) -> str:
    """The ``did:key`` DID of an Ed25519 public key."""
    return "did:key:" + public_key_multibase(key)


def did_key_verification_method(key: Ed25519PublicKey) -> str:
    """The verification method URL of a ``did:key``: the DID, ``#`` and the key again."""
    multibase = public_key_multibase(key)
    return f"did:key:{multibase}#{multibase}"


def public_key_from_did_key(url: str) -> Ed25519PublicKey:
    """The Ed25519 public key a ``did:key`` DID or verification method URL names.

    Raises MalformedDocumentError if ``url`` is not an Ed25519 ``did:key``, or if its
    fragment names a different key than the DID itself.
    """
    did, _, fragment = url.partition("#")
    if not did.startswith("did:key:"):
        raise MalformedDocumentError("not a did:key")
    multibase = did.removeprefix("did:key:")
    if fragment and fragment != multibase:
        raise MalformedDocumentError("did:key fragment names another key")
    return public_key_from_multibase(multibase)
