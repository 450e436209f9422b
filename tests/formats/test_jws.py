"""The compact EdDSA JWS of a record, checked by golden files, by jose in Node and by tampering.

Regenerate the golden tokens with ``AMU_REGENERATE_GOLDEN=1 pytest tests/formats``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from formats import jws
from formats.errors import InvalidSignatureError
from formats.record import CertificateRecord
from tests.formats.test_vc import (
    ASSETS,
    GOLDEN_RECORDS,
    golden_key,
    public_jwk,
    records,
    run_node,
)
from tests.golden import assert_golden

KID = "280727-2026-1"
BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def golden_token(name: str) -> str:
    return jws.sign_record(GOLDEN_RECORDS[name], golden_key(), kid=KID)


def tampered(token: str) -> Iterator[tuple[int, str]]:
    """The token with one character changed, at every position, two ways.

    Flipping the lowest bit of a base64url character catches a decoder that ignores the unused
    bits of a part's last character; flipping the highest bit always changes decoded bytes.
    """
    for i, char in enumerate(token):
        if char == ".":
            yield i, token[:i] + "A" + token[i + 1 :]
            continue
        value = BASE64URL.index(char)
        for flip in (0x01, 0x20):
            yield i, token[:i] + BASE64URL[value ^ flip] + token[i + 1 :]


@pytest.mark.parametrize("name", sorted(GOLDEN_RECORDS))
def test_golden_token(name: str) -> None:
    assert_golden(ASSETS / "jws" / f"{name}.txt", golden_token(name) + "\n")


@pytest.mark.parametrize("name", sorted(GOLDEN_RECORDS))
def test_golden_file_verifies_to_the_canonical_record(name: str) -> None:
    token = (ASSETS / "jws" / f"{name}.txt").read_text("ascii").strip()

    payload = jws.verify_record(token, golden_key().public_key())

    assert payload == GOLDEN_RECORDS[name].canonical_bytes()
    assert jws.read_header(token) == {"alg": "EdDSA", "kid": KID, "typ": jws.MEDIA_TYPE}


@pytest.mark.external
@pytest.mark.parametrize("name", sorted(GOLDEN_RECORDS))
def test_jose_verifies_golden_file(name: str) -> None:
    token = (ASSETS / "jws" / f"{name}.txt").read_text("ascii")

    done = run_node("verify-jws.mjs", public_jwk(golden_key().public_key()), stdin=token)

    assert done.returncode == 0, done.stderr
    assert done.stdout.encode() == GOLDEN_RECORDS[name].canonical_bytes()


@pytest.mark.external
def test_jose_refuses_another_key() -> None:
    other = Ed25519PrivateKey.from_private_bytes(bytes(32)).public_key()

    done = run_node("verify-jws.mjs", public_jwk(other), stdin=golden_token("exam-passed"))

    assert done.returncode == 1
    assert "NOT VERIFIED" in done.stderr


def test_tampering_reaches_every_position() -> None:
    token = golden_token("exam-passed")

    positions = {i for i, _ in tampered(token)}

    assert positions == set(range(len(token)))


@pytest.mark.parametrize("name", sorted(GOLDEN_RECORDS))
def test_any_changed_character_fails_in_python(name: str) -> None:
    key = golden_key().public_key()

    accepted = []
    for i, changed in tampered(golden_token(name)):
        try:
            jws.verify_record(changed, key)
        except InvalidSignatureError:
            continue
        accepted.append(i)

    assert accepted == []


@pytest.mark.external
def test_any_changed_character_fails_in_jose() -> None:
    token = golden_token("exam-passed")
    changed = list(tampered(token))

    done = run_node(
        "verify-jws.mjs",
        public_jwk(golden_key().public_key()),
        "--ndjson",
        stdin="".join(t + "\n" for _, t in changed),
    )

    outcomes = done.stdout.splitlines()
    assert len(outcomes) == len(changed), done.stderr
    accepted = [
        i
        for (i, _), line in zip(changed, outcomes, strict=True)
        if not line.startswith("NOT VERIFIED")
    ]
    assert accepted == []
    assert done.returncode == 1


@pytest.mark.external
def test_jose_verifies_tokens_of_generated_records() -> None:
    # One Node run for a batch: the property test below covers Python across many more.
    key = golden_key()
    tokens = [jws.sign_record(r, key, kid=KID) for r in GOLDEN_RECORDS.values()]
    # Characters that JSON and base64url tooling tend to trip over.
    payload = json.dumps({"name": "Å\u0000\u2028😀"}, ensure_ascii=False).encode()
    tokens.append(jws.sign_payload(payload, key, kid=KID))

    done = run_node(
        "verify-jws.mjs",
        public_jwk(key.public_key()),
        "--ndjson",
        stdin="".join(t + "\n" for t in tokens),
    )

    assert done.stdout.splitlines() == ["verified"] * len(tokens), done.stderr


@given(record=records(), seed=st.binary(min_size=32, max_size=32))
def test_sign_verify_round_trip(record: CertificateRecord, seed: bytes) -> None:
    key = Ed25519PrivateKey.from_private_bytes(seed)

    token = jws.sign_record(record, key, kid=KID)

    assert jws.verify_record(token, key.public_key()) == record.canonical_bytes()
