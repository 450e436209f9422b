"""Private keys: the KeyStore port, its adapters, and a cache of loaded keys.

The private halves of the schools' keys (Ed25519 for records, ECDSA for documents) and of the
register's log keys live in a key store; the public halves are published by the register
(tables ``school_keys`` and ``log_keys``). Keys are loaded once and cached, never per signature.

Adapters: ``FileKeyStore`` keeps PKCS#8 PEM files (mode 0600) in a folder, for a single-host
deployment; ``MemoryKeyStore`` keeps keys in the process, for development and tests. The
settings choose one (``service.adapters.key_store_for``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol, runtime_checkable

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from registry.errors import RegistryError

# Ed25519 signs records (JWS, VC) and checkpoints; ECDSA P-256 signs PDFs and XML (PAdES and
# XMLDSig validators need X.509 and ECDSA).
PrivateKey = Ed25519PrivateKey | ec.EllipticCurvePrivateKey


class KeyMissingError(RegistryError):
    """The key store has no private key for a key id the registry lists as active."""


@runtime_checkable  # the HTTP edge receives it by dependency injection, which checks types
class KeyStore(Protocol):
    """Where private signing keys are kept."""

    def put(self, kid: str, key: PrivateKey) -> None:
        """Store a new private key under its key id."""

    def get(self, kid: str) -> PrivateKey:
        """The private key for ``kid``; raises KeyMissingError if there is none."""


class MemoryKeyStore:
    """Keys held in this process only."""

    def __init__(self) -> None:
        self._keys: dict[str, PrivateKey] = {}

    def put(self, kid: str, key: PrivateKey) -> None:
        self._keys[kid] = key

    def get(self, kid: str) -> PrivateKey:
        try:
            return self._keys[kid]
        except KeyError as e:
            raise KeyMissingError(f"no private key for {kid}") from e


class FileKeyStore:
    """Keys as PKCS#8 PEM files, one per key id, readable by the owner only; cached once read."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._cache: dict[str, PrivateKey] = {}

    def _path(self, kid: str) -> Path:
        if not kid.replace("-", "").isalnum():
            raise KeyMissingError("key ids are letters, digits and -")
        return self._directory / f"{kid}.pem"

    def put(self, kid: str, key: PrivateKey) -> None:
        self._directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(self._path(kid), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
        self._cache[kid] = key

    def get(self, kid: str) -> PrivateKey:
        if kid in self._cache:
            return self._cache[kid]
        try:
            key = serialization.load_pem_private_key(self._path(kid).read_bytes(), password=None)
        except FileNotFoundError as e:
            raise KeyMissingError(f"no private key for {kid}") from e
        if not isinstance(key, Ed25519PrivateKey | ec.EllipticCurvePrivateKey):
            raise KeyMissingError(f"the key for {kid} is neither Ed25519 nor ECDSA")
        self._cache[kid] = key
        return key


def public_bytes(key: Ed25519PrivateKey) -> bytes:
    """The raw 32-byte public half of a private key."""
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def ed25519_key(keys: KeyStore, kid: str) -> Ed25519PrivateKey:
    """The Ed25519 key ``kid``; KeyMissingError if it is missing or of another kind."""
    key = keys.get(kid)
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyMissingError(f"the key {kid} is not an Ed25519 key")
    return key


def ec_key(keys: KeyStore, kid: str) -> ec.EllipticCurvePrivateKey:
    """The ECDSA key ``kid``; KeyMissingError if it is missing or of another kind."""
    key = keys.get(kid)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise KeyMissingError(f"the key {kid} is not an ECDSA key")
    return key
