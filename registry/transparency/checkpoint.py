"""Signed checkpoints of the log: C2SP signed notes (c2sp.org/signed-note) whose text is a
transparency-log checkpoint (c2sp.org/tlog-checkpoint), signed with Ed25519.

Pure: keys, origin and tree head are arguments; no clock, no storage::

    signer = NoteSigner("amu.example/log", private_key)
    note = sign_checkpoint(Checkpoint("amu.example/log", size, root), signer)
    vkey = signer.verifier().vkey()  # "amu.example/log+<key id>+<base64 key>", to publish
    checkpoint = open_checkpoint(note, NoteVerifier.parse(vkey))  # or CheckpointError

A signed note is its text (ending in a newline), a blank line, and one line per signature:
``— <key name> base64(key id || Ed25519 signature of the text)``, where the key id is the first
four bytes of SHA-256(key name || 0x0A || 0x01 || public key). Signatures by other keys (a
witness's cosignature, a rotated key) are ignored, as the specification requires.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass, field
from typing import NewType

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from registry.errors import CheckpointError
from registry.transparency.merkle import HASH_SIZE, Hash

SignedNote = NewType("SignedNote", bytes)
"""A signed note's UTF-8 bytes: text, blank line, signature lines."""

MAX_SIGNATURES = 100  # the spec asks verifiers for a limit of at least 16; Go's note uses 100
_ED25519 = b"\x01"  # the signature type byte of Ed25519 note signatures
_SIGNATURE_PREFIX = "\u2014 "  # em dash, space
_SIZE = re.compile(r"0|[1-9][0-9]{0,19}")  # ASCII decimal, no leading zeros, fits 64 bits
_KEY_ID = re.compile(r"[0-9a-f]{8}")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The log's tree head at one size: the text of a signed checkpoint note."""

    origin: str
    size: int
    root_hash: Hash
    # Opaque extra lines; the spec advises against them, but a parser must keep them.
    extensions: tuple[str, ...] = ()

    def text(self) -> bytes:
        """The note text: origin, size, base64 root hash and extension lines, each ending in LF.

        Raises CheckpointError if a field cannot be written as a checkpoint.
        """
        if not all(_is_text_line(line) for line in (self.origin, *self.extensions)):
            raise CheckpointError("the origin and extension lines are non-empty lines of text")
        if self.size < 0 or len(self.root_hash) != HASH_SIZE:
            raise CheckpointError("a checkpoint has a size >= 0 and a 32-byte root hash")
        root = base64.b64encode(self.root_hash).decode("ascii")
        lines = [self.origin, str(self.size), root, *self.extensions]
        return "".join(f"{line}\n" for line in lines).encode()

    @classmethod
    def parse(cls, text: bytes) -> Checkpoint:
        """The checkpoint in a note text (already verified: see `open_checkpoint`).

        Raises CheckpointError if the text is not a checkpoint.
        """
        lines = _decode(text).split("\n")
        if len(lines) < 4 or lines[-1] != "" or not all(lines[:-1]):
            raise CheckpointError("a checkpoint is at least three non-empty lines")
        origin, size, root, *extensions = lines[:-1]
        if not _SIZE.fullmatch(size):
            raise CheckpointError(f"the tree size {size!r} is not a decimal number")
        root_hash = _b64decode(root, "the root hash")
        if len(root_hash) != HASH_SIZE:
            raise CheckpointError(f"the root hash has {len(root_hash)} bytes, not {HASH_SIZE}")
        return cls(origin, int(size), Hash(root_hash), tuple(extensions))


@dataclass(frozen=True, slots=True)
class NoteVerifier:
    """A named Ed25519 public key that note signatures are checked against."""

    name: str
    public_key: Ed25519PublicKey
    key_id: bytes = field(init=False)

    def __post_init__(self) -> None:
        if not _is_key_name(self.name):
            raise CheckpointError(f"{self.name!r} is not a key name (non-empty, no space or +)")
        object.__setattr__(self, "key_id", key_id(self.name, self.public_key))

    def vkey(self) -> str:
        """The verifier key string: ``<name>+<hex key id>+<base64(0x01 || public key)>``."""
        material = base64.b64encode(_ED25519 + _raw(self.public_key)).decode("ascii")
        return f"{self.name}+{self.key_id.hex()}+{material}"

    @classmethod
    def parse(cls, vkey: str) -> NoteVerifier:
        """The verifier in a verifier key string.

        Raises CheckpointError if it is malformed, not Ed25519, or its key id does not match.
        """
        name, _, rest = vkey.partition("+")
        hex_id, _, material = rest.partition("+")
        if not _KEY_ID.fullmatch(hex_id):
            raise CheckpointError("a verifier key is <name>+<8 hex digits>+<base64 key>")
        raw = _b64decode(material, "the verifier key")
        if len(raw) != 33 or raw[:1] != _ED25519:
            raise CheckpointError("the verifier key is not an Ed25519 key")
        verifier = cls(name, Ed25519PublicKey.from_public_bytes(raw[1:]))
        if verifier.key_id.hex() != hex_id:
            raise CheckpointError("the verifier key's id does not match its name and key")
        return verifier


@dataclass(frozen=True, slots=True)
class NoteSigner:
    """A named Ed25519 private key that signs notes."""

    name: str
    private_key: Ed25519PrivateKey

    def __post_init__(self) -> None:
        if not _is_key_name(self.name):
            raise CheckpointError(f"{self.name!r} is not a key name (non-empty, no space or +)")

    def verifier(self) -> NoteVerifier:
        """The matching verifier, to publish."""
        return NoteVerifier(self.name, self.private_key.public_key())

    def signature_line(self, text: bytes) -> str:
        """The signature line for a note text, ending in a newline."""
        signature = key_id(self.name, self.private_key.public_key()) + self.private_key.sign(text)
        return f"{_SIGNATURE_PREFIX}{self.name} {base64.b64encode(signature).decode('ascii')}\n"


def key_id(name: str, public_key: Ed25519PublicKey) -> bytes:
    """The 4-byte key id: SHA-256(name || 0x0A || 0x01 || public key)[:4]."""
    return hashlib.sha256(f"{name}\n".encode() + _ED25519 + _raw(public_key)).digest()[:4]


def sign_note(text: bytes, *signers: NoteSigner) -> SignedNote:
    """The text signed by every signer, in order.

    Raises CheckpointError if the text is not note text (UTF-8 ending in a newline, no other
    control characters) or there is no signer.
    """
    if not text.endswith(b"\n"):
        raise CheckpointError("note text ends in a newline")
    _decode(text)
    if not signers:
        raise CheckpointError("a signed note has at least one signature")
    lines = "".join(signer.signature_line(text) for signer in signers)
    return SignedNote(text + b"\n" + lines.encode())


def open_note(note: bytes, verifier: NoteVerifier) -> bytes:
    """The text of a signed note, once a signature by ``verifier`` checks out.

    Signatures by other keys are ignored. Raises CheckpointError if the note is malformed, has
    no signature by the verifier, or one of its signatures by the verifier does not verify.
    """
    decoded = _decode(note)
    split = decoded.rfind("\n\n")
    if split < 0 or not decoded.endswith("\n"):
        raise CheckpointError("a signed note is text, a blank line and signature lines")
    text = decoded[: split + 1].encode()
    lines = decoded[split + 2 : -1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise CheckpointError(f"a note may carry at most {MAX_SIGNATURES} signatures")
    verified = False
    for line in lines:
        name, signature = _parse_signature_line(line)
        if name != verifier.name or signature[:4] != verifier.key_id:
            continue
        try:
            verifier.public_key.verify(signature[4:], text)
        except InvalidSignature as e:
            raise CheckpointError(f"the signature by {name} does not verify") from e
        verified = True
    if not verified:
        raise CheckpointError(f"the note is not signed by {verifier.vkey()}")
    return text


def sign_checkpoint(checkpoint: Checkpoint, *signers: NoteSigner) -> SignedNote:
    """The checkpoint as a note signed by every signer (the log's key first)."""
    return sign_note(checkpoint.text(), *signers)


def open_checkpoint(
    note: bytes, verifier: NoteVerifier, *, origin: str | None = None
) -> Checkpoint:
    """The checkpoint in a signed note, once a signature by ``verifier`` checks out.

    ``origin`` is the log the checkpoint must be of, by default the verifier's key name (the
    spec's advice), so a key shared by two logs cannot pass one log's tree head off as the
    other's. Raises CheckpointError if the note or the checkpoint is malformed, not validly
    signed, or of another log.
    """
    checkpoint = Checkpoint.parse(open_note(note, verifier))
    expected = verifier.name if origin is None else origin
    if checkpoint.origin != expected:
        raise CheckpointError(f"the checkpoint is of log {checkpoint.origin!r}, not {expected!r}")
    return checkpoint


def _parse_signature_line(line: str) -> tuple[str, bytes]:
    if not line.startswith(_SIGNATURE_PREFIX):
        raise CheckpointError("a signature line starts with an em dash and a space")
    name, _, encoded = line.removeprefix(_SIGNATURE_PREFIX).partition(" ")
    if not _is_key_name(name):
        raise CheckpointError(f"{name!r} is not a key name")
    signature = _b64decode(encoded, "a signature")
    if len(signature) < 5:
        raise CheckpointError("a signature is a key id and at least one byte")
    return name, signature


def _decode(note: bytes) -> str:
    try:
        text = note.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CheckpointError("a note is UTF-8") from e
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise CheckpointError("a note has no control characters but newlines")
    return text


def _b64decode(encoded: str, what: str) -> bytes:
    try:
        decoded = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as e:
        raise CheckpointError(f"{what} is not base64") from e
    if base64.b64encode(decoded).decode("ascii") != encoded:
        raise CheckpointError(f"{what} is not canonical base64")
    return decoded


def _is_key_name(name: str) -> bool:
    return bool(name) and "+" not in name and _is_text_line(name) and not _has_space(name)


def _is_text_line(line: str) -> bool:
    return bool(line) and all(ord(c) >= 0x20 for c in line)


def _has_space(name: str) -> bool:
    return any(c.isspace() for c in name)


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
