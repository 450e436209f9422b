"""Signed notes and checkpoints: the Go reference's known answers, round trips, tampering."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from registry.errors import CheckpointError
from registry.transparency.checkpoint import (
    MAX_SIGNATURES,
    Checkpoint,
    NoteSigner,
    NoteVerifier,
    key_id,
    open_checkpoint,
    open_note,
    sign_checkpoint,
    sign_note,
)
from registry.transparency.merkle import Hash, leaf_hash, tree_hash

# The key, text and signatures of golang.org/x/mod/sumdb/note's note_test.go.
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = (
    b"If you think cryptography is the answer to your problem,\n"
    b"then you don't know what your problem is.\n"
)
PETER_SIG = (
    "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdn"
    "gotpRZb6KE6RyyBwJnAM=\n"
).encode()
ENOCH_SIG = (
    "\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwn"
    "WLox33WWd1RvMc+QQ=\n"
).encode()

ORIGIN = "amu.example/log"
ROOT = tree_hash([leaf_hash(b"bevis 1"), leaf_hash(b"bevis 2"), leaf_hash(b"bevis 3")])


def _peter_signer() -> NoteSigner:
    # The Go signer key string is PRIVATE+KEY+<name>+<id>+base64(0x01 || seed).
    seed = base64.b64decode(PETER_SKEY.split("+", 4)[4])
    return NoteSigner("PeterNeumann", Ed25519PrivateKey.from_private_bytes(seed[1:]))


def _log_signer() -> NoteSigner:
    return NoteSigner(ORIGIN, Ed25519PrivateKey.from_private_bytes(bytes(range(32))))


# -- the Go reference's known answers -----------------------------------------------------------


def test_signing_reproduces_the_go_reference_note_byte_for_byte() -> None:
    signer = _peter_signer()
    assert signer.verifier().vkey() == PETER_VKEY
    assert sign_note(TEXT, signer) == TEXT + b"\n" + PETER_SIG


def test_the_go_reference_notes_open_with_their_keys() -> None:
    peter, enoch = NoteVerifier.parse(PETER_VKEY), NoteVerifier.parse(ENOCH_VKEY)
    note = TEXT + b"\n" + PETER_SIG + ENOCH_SIG
    assert open_note(note, peter) == TEXT
    assert open_note(note, enoch) == TEXT
    assert peter.key_id == bytes.fromhex("c74f20a3")
    assert key_id("EnochRoot", enoch.public_key) == bytes.fromhex("af0cfe78")


def test_every_mangling_of_a_verifier_key_is_refused() -> None:
    # As note_test.go's TestNewVerifier: every proper substring and every byte bumped by one.
    manglings = {
        PETER_VKEY[i:j]
        for i in range(len(PETER_VKEY))
        for j in range(i + 1, len(PETER_VKEY) + 1)
        if (i, j) != (0, len(PETER_VKEY))
    }
    manglings |= {
        PETER_VKEY[:i] + chr(ord(PETER_VKEY[i]) + 1) + PETER_VKEY[i + 1 :]
        for i in range(len(PETER_VKEY))
    }
    manglings.add("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
    for mangled in manglings:
        with pytest.raises(CheckpointError):
            NoteVerifier.parse(mangled)


@pytest.mark.parametrize(
    "note",
    [
        TEXT,
        TEXT + b"\n",
        TEXT + b"\n" + PETER_SIG[:-1],
        b"\x01" + TEXT + b"\n" + PETER_SIG,
        b"\xff" + TEXT + b"\n" + PETER_SIG,
        TEXT + b"\n" + "\u2014 Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pA=\n".encode(),
        TEXT + b"\n" + PETER_SIG + b"Unexpected line.\n",
        TEXT + b"\n" + PETER_SIG * (MAX_SIGNATURES + 1),
        TEXT + b"\n" + PETER_SIG[:60] + b"ABCD" + PETER_SIG[60:],
        TEXT + b"\n" + ENOCH_SIG,
    ],
    ids=[
        "no-signatures",
        "blank-line-only",
        "no-final-newline",
        "control-character",
        "not-utf8",
        "space-in-name",
        "line-after-signatures",
        "too-many-signatures",
        "invalid-signature",
        "signed-by-another-key-only",
    ],
)
def test_malformed_or_unverified_notes_are_refused(note: bytes) -> None:
    with pytest.raises(CheckpointError):
        open_note(note, NoteVerifier.parse(PETER_VKEY))


def test_a_good_signature_does_not_excuse_a_bad_one_by_the_same_key() -> None:
    note = TEXT + b"\n" + PETER_SIG + PETER_SIG[:60] + b"ABCD" + PETER_SIG[60:]
    with pytest.raises(CheckpointError, match="does not verify"):
        open_note(note, NoteVerifier.parse(PETER_VKEY))


# -- checkpoints --------------------------------------------------------------------------------


def test_a_checkpoint_note_has_the_c2sp_layout() -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, 3, ROOT), _log_signer())
    lines = note.decode().split("\n")
    assert lines[:4] == [ORIGIN, "3", base64.b64encode(ROOT).decode(), ""]
    assert lines[4].startswith(f"\u2014 {ORIGIN} ")
    signature = base64.b64decode(lines[4].split(" ")[2])
    assert signature[:4] == _log_signer().verifier().key_id
    assert len(signature) == 4 + 64
    assert lines[5:] == [""]


@given(
    size=st.integers(0, 2**63),
    root=st.binary(min_size=32, max_size=32),
    # Notes are UTF-8 text: lone surrogates cannot be written at all (found by this property).
    extensions=st.lists(
        st.text(st.characters(min_codepoint=0x20, exclude_categories=["Cs"]), min_size=1),
        max_size=3,
    ),
)
def test_checkpoints_round_trip(size: int, root: bytes, extensions: list[str]) -> None:
    checkpoint = Checkpoint(ORIGIN, size, Hash(root), tuple(extensions))
    signer = _log_signer()
    vkey = signer.verifier().vkey()
    assert open_checkpoint(sign_checkpoint(checkpoint, signer), NoteVerifier.parse(vkey)) == (
        checkpoint
    )


@given(st.data())
def test_any_changed_byte_of_a_signed_checkpoint_is_refused(data: st.DataObject) -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, 3, ROOT), _log_signer())
    position = data.draw(st.integers(0, len(note) - 1))
    bit = data.draw(st.sampled_from([0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80]))
    tampered = note[:position] + bytes([note[position] ^ bit]) + note[position + 1 :]
    with pytest.raises(CheckpointError):
        open_checkpoint(tampered, _log_signer().verifier())


def test_cosignatures_by_other_keys_are_ignored() -> None:
    checkpoint = Checkpoint(ORIGIN, 3, ROOT)
    witness = NoteSigner("witness.example/w1", Ed25519PrivateKey.from_private_bytes(b"w" * 32))
    note = sign_checkpoint(checkpoint, _log_signer(), witness)
    assert open_checkpoint(note, _log_signer().verifier()) == checkpoint
    assert open_checkpoint(note, witness.verifier(), origin=ORIGIN) == checkpoint


def test_a_checkpoint_of_another_log_is_refused() -> None:
    note = sign_checkpoint(Checkpoint("other.example/log", 3, ROOT), _log_signer())
    with pytest.raises(CheckpointError, match="of log"):
        open_checkpoint(note, _log_signer().verifier())


def test_a_key_with_the_same_name_but_another_secret_is_refused() -> None:
    impostor = NoteSigner(ORIGIN, Ed25519PrivateKey.from_private_bytes(b"x" * 32))
    note = sign_checkpoint(Checkpoint(ORIGIN, 3, ROOT), impostor)
    with pytest.raises(CheckpointError, match="not signed by"):
        open_checkpoint(note, _log_signer().verifier())


@pytest.mark.parametrize(
    "text",
    [
        b"amu.example/log\n3\n",
        b"amu.example/log\n03\n" + base64.b64encode(ROOT) + b"\n",
        b"amu.example/log\n+3\n" + base64.b64encode(ROOT) + b"\n",
        b"amu.example/log\n3\n" + base64.b64encode(ROOT[:31]) + b"\n",
        b"amu.example/log\n3\n" + base64.b64encode(ROOT).rstrip(b"=") + b"\n",
        b"amu.example/log\n3\n" + base64.b64encode(ROOT) + b"\n\nextension\n",
        b"\n3\n" + base64.b64encode(ROOT) + b"\n",
    ],
    ids=[
        "no-root",
        "leading-zero",
        "plus-sign",
        "short-root",
        "unpadded-root",
        "empty-extension-line",
        "empty-origin",
    ],
)
def test_malformed_checkpoint_texts_are_refused(text: bytes) -> None:
    with pytest.raises(CheckpointError):
        Checkpoint.parse(text)


@pytest.mark.parametrize(
    "checkpoint",
    [
        Checkpoint("", 3, ROOT),
        Checkpoint("amu.example/log\nforged", 3, ROOT),
        Checkpoint(ORIGIN, -1, ROOT),
        Checkpoint(ORIGIN, 3, Hash(ROOT[:16])),
        Checkpoint(ORIGIN, 3, ROOT, ("",)),
    ],
)
def test_checkpoints_that_cannot_be_written_are_refused(checkpoint: Checkpoint) -> None:
    with pytest.raises(CheckpointError):
        checkpoint.text()


@pytest.mark.parametrize("name", ["", "a b", "a+b", "tab\there", "nbsp\u00a0here"])
def test_key_names_have_no_spaces_or_plus(name: str) -> None:
    with pytest.raises(CheckpointError):
        NoteSigner(name, Ed25519PrivateKey.from_private_bytes(bytes(32)))
