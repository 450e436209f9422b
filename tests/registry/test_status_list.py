"""Revocation status: the published Bitstring Status List and the status entry each
certificate's credential carries."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import subprocess
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from formats.multibase import public_key_from_did_key
from formats.vc import verify_credential
from registry import status_list
from registry.status_entry import certificate_status_entry
from registry.status_list import LIST_SIZE, StatusListError
from registry.transparency.checkpoint import NoteVerifier
from tests.conftest import Demo
from tests.externals import require_node_modules
from tests.helpers import Client, issue_passing, login, post_team, team_body

# The example list of the W3C specification (§2.1): 131,072 bits, none set.
SPEC_EXAMPLE = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"


def test_the_specifications_example_list_decodes_to_131072_clear_bits() -> None:
    bits = status_list.decode_list(SPEC_EXAMPLE)
    assert len(bits) * 8 == LIST_SIZE
    assert not any(bits)


def test_index_zero_is_the_left_most_bit() -> None:
    bits = status_list.decode_list(status_list.encode_list([0, 9]))
    assert bits[:2] == b"\x80\x40"


@given(st.sets(st.integers(min_value=0, max_value=LIST_SIZE - 1), max_size=50))
def test_encoding_round_trips(positions: set[int]) -> None:
    encoded = status_list.encode_list(positions)
    assert encoded.startswith("u")
    assert "=" not in encoded
    bits = status_list.decode_list(encoded)
    assert {i for i in range(LIST_SIZE) if status_list.is_set(bits, i)} == positions


@pytest.mark.parametrize(
    "encoded",
    [
        "z" + SPEC_EXAMPLE[1:],  # base58btc, not base64url
        "u!!!",
        "u" + base64.urlsafe_b64encode(b"not gzip").decode().rstrip("="),
        "u" + base64.urlsafe_b64encode(gzip.compress(bytes(1024))).decode().rstrip("="),  # short
    ],
)
def test_a_malformed_or_short_list_is_refused(encoded: str) -> None:
    with pytest.raises(StatusListError):
        status_list.decode_list(encoded)


def test_a_position_outside_the_list_is_refused() -> None:
    with pytest.raises(ValueError, match="outside"):
        status_list.encode_list([LIST_SIZE])


async def _issue(client: Client, demo: Demo, n: int) -> list[dict[str, Any]]:
    # One Idempotency-Key for every call, as each test reports one team (the API's default).
    return await issue_passing(client, demo.public, n, reference="H-101")


async def _published_list(client: Client, url: str) -> bytes:
    response = await client.get(url.removeprefix("http://testserver.local"))
    assert response.status_code == 200, response.text
    credential = response.json()
    assert credential["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    # Signed by the register's log key, named as a did:key that /api/log/keys publishes.
    key = public_key_from_did_key(credential["proof"]["verificationMethod"])
    published = [
        NoteVerifier.parse(k["verifierKey"]).public_key
        for k in (await client.get("/api/log/keys")).json()
    ]
    assert any(key == p for p in published)
    subject = verify_credential(credential, key)["credentialSubject"]
    assert subject["statusPurpose"] == "revocation"
    return status_list.decode_list(subject["encodedList"])


async def test_cancelled_and_revoked_certificates_have_their_bit_set(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    first, second, third = await _issue(client, seeded, 3)
    school = seeded.school(seeded.public)
    await client.post(
        f"/api/schools/751234/certificates/{first['number']}/revocation",
        json={"reason": "issued-in-error"},
        headers={**school, "Idempotency-Key": "revoke"},
    )
    corrected = await client.post(
        f"/api/schools/751234/certificates/{second['number']}/corrections",
        json={"reason": "participant-data", "name": "Rettet Navn"},
        headers={**school, "Idempotency-Key": "correct"},
    )
    replacement = corrected.json()["replacement"]["number"]

    # The entry each certificate's Verifiable Credential carries (registry/status_entry.py).
    entries = {}
    for number in (first["number"], second["number"], third["number"], replacement):
        entry = await certificate_status_entry(conn, "http://testserver.local", number)
        assert entry is not None
        entries[number] = entry.to_json()
    assert all(e["type"] == "BitstringStatusListEntry" for e in entries.values())
    assert len({e["statusListIndex"] for e in entries.values()}) == 4

    bits = await _published_list(client, entries[first["number"]]["statusListCredential"])
    state = {n: status_list.is_set(bits, int(e["statusListIndex"])) for n, e in entries.items()}
    assert state == {
        first["number"]: True,
        second["number"]: True,
        third["number"]: False,
        replacement: False,
    }


async def test_a_credential_carries_its_certificates_status_entry(
    client: Client, seeded: Demo
) -> None:
    (certificate,) = await _issue(client, seeded, 1)
    response = await client.get(
        f"/api/me/certificates/{certificate['number']}/credential",
        headers=await login(client, "010190-1000"),
    )
    assert response.status_code == 200, response.text
    entry = response.json()["credentialStatus"]
    assert entry["type"] == "BitstringStatusListEntry"
    assert entry["statusListCredential"] == "http://testserver.local/api/status/1"
    bits = await _published_list(client, entry["statusListCredential"])
    assert not status_list.is_set(bits, int(entry["statusListIndex"]))


async def test_concurrent_issuing_never_shares_a_position(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    async def issue(i: int) -> None:
        body = team_body(
            [{"cpr": f"{i + 1:02d}0190-{2000 + i:04d}", "name": f"D {i}", "exam": "passed"}],
            reference=f"H-{i}",
        )
        assert (await post_team(client, seeded.public, body, key=f"k{i}")).status_code == 201

    await asyncio.gather(*(issue(i) for i in range(10)))
    rows = await conn.fetch("SELECT status_list_id, status_list_index FROM certificates")
    assert len({(r[0], r[1]) for r in rows}) == 10
    assert {r[0] for r in rows} == {1}


async def test_a_list_that_does_not_exist_is_404(client: Client, seeded: Demo) -> None:
    assert (await client.get("/api/status/1")).status_code == 200
    assert (await client.get("/api/status/2")).status_code == 404
    assert (await client.get("/api/status/0")).status_code == 404


async def test_positions_are_the_databases_to_set(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    await _issue(client, seeded, 1)
    await conn.execute("SELECT setval('status_list_position', $1)", LIST_SIZE - 1)
    body = team_body(
        [
            {"cpr": "050190-3000", "name": "A", "exam": "passed"},
            {"cpr": "060190-3001", "name": "B", "exam": "passed"},
        ],
        reference="H-9",
    )
    assert (await post_team(client, seeded.public, body, key="k9")).status_code == 201
    rows = await conn.fetch(
        "SELECT status_list_id, status_list_index FROM certificates ORDER BY number"
    )
    assert [tuple(r) for r in rows] == [(1, 0), (2, 0), (2, 1)]
    assert (await client.get("/api/status/2")).status_code == 200


# --- The published list, read by Digital Bazaar's libraries (tests/js/status-list.mjs) -------


def _node_status_list(
    jwk: str, status: dict[str, Any], *args: str
) -> subprocess.CompletedProcess[str]:
    """Run tests/js/status-list.mjs on a status list credential; skip loudly without node."""
    modules = require_node_modules()
    return subprocess.run(  # noqa: S603  (fixed script from our own tree)
        ["node", str(modules.parent / "status-list.mjs"), jwk, *args],  # noqa: S607
        input=json.dumps(status),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def _flip(encoded: str, position: int) -> str:
    """The encodedList with one bit flipped, still well-formed GZIP, so only the proof can tell."""
    bits = bytearray(status_list.decode_list(encoded))
    bits[position // 8] ^= 0x80 >> (position % 8)
    compressed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).rstrip(b"=").decode()


@pytest.mark.external
async def test_digital_bazaar_verifies_the_published_list_and_reads_revoked_bits(
    client: Client, seeded: Demo, tmp_path: Path
) -> None:
    revoked, corrected, standing = await _issue(client, seeded, 3)
    cprs = {revoked["number"]: "010190-1000", corrected["number"]: "020190-1001"}
    cprs[standing["number"]] = "030190-1002"

    # Each holder downloads their credential while the certificate stands, as a holder would.
    async def download(number: str, cpr: str) -> Path:
        response = await client.get(
            f"/api/me/certificates/{number}/credential", headers=await login(client, cpr)
        )
        assert response.status_code == 200, response.text
        path = tmp_path / f"{number}.json"
        path.write_text(response.text, "utf-8")
        return path

    files = {number: await download(number, cpr) for number, cpr in cprs.items()}

    school = seeded.school(seeded.public)
    revocation = await client.post(
        f"/api/schools/751234/certificates/{revoked['number']}/revocation",
        json={"reason": "issued-in-error"},
        headers={**school, "Idempotency-Key": "revoke"},
    )
    assert revocation.status_code == 201, revocation.text
    correction = await client.post(
        f"/api/schools/751234/certificates/{corrected['number']}/corrections",
        json={"reason": "participant-data", "name": "Rettet Navn"},
        headers={**school, "Idempotency-Key": "correct"},
    )
    assert correction.status_code == 201, correction.text
    replacement = correction.json()["replacement"]["number"]
    files[replacement] = await download(replacement, "020190-1001")

    # Every credential points at list 1; the index node reads is the one each credential carries.
    entries = {n: json.loads(f.read_text("utf-8"))["credentialStatus"] for n, f in files.items()}
    assert {e["statusListCredential"] for e in entries.values()} == {
        "http://testserver.local/api/status/1"
    }
    response = await client.get("/api/status/1")
    assert response.status_code == 200, response.text
    published = response.json()

    # The key is the register's published log key, not the one the proof names.
    (log_key,) = (await client.get("/api/log/keys")).json()
    raw = NoteVerifier.parse(log_key["verifierKey"]).public_key.public_bytes_raw()
    x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    jwk = json.dumps({"kty": "OKP", "crv": "Ed25519", "x": x})

    indexes = [entries[n]["statusListIndex"] for n in files]
    done = _node_status_list(
        jwk, published, *indexes, *(f"--credential={f}" for f in files.values())
    )
    assert done.returncode == 0, done.stderr
    expected = {revoked["number"]: 1, corrected["number"]: 1, standing["number"]: 0, replacement: 0}
    assert done.stdout.splitlines() == [
        "verified",
        f"length {LIST_SIZE}",
        *(f"index {entries[n]['statusListIndex']}: {expected[n]}" for n in files),
        *(f"credential {files[n]}: {expected[n]}" for n in files),
    ]

    # A list that says the standing certificate was revoked, or that changes any field, must
    # not verify: node prints no bit of it.
    subject = published["credentialSubject"]
    flipped = _flip(subject["encodedList"], int(entries[standing["number"]]["statusListIndex"]))
    assert status_list.is_set(
        status_list.decode_list(flipped), int(entries[standing["number"]]["statusListIndex"])
    )
    tampered = [
        {**published, "credentialSubject": {**subject, "encodedList": flipped}},
        {**published, "credentialSubject": {**subject, "statusPurpose": "suspension"}},
        {**published, "validFrom": "2020-01-01T00:00:00Z"},
        {**published, "id": "http://testserver.local/api/status/2"},
    ]
    for changed in tampered:
        done = _node_status_list(jwk, changed, *indexes)
        assert (done.returncode, done.stdout) == (1, ""), done.stdout
        assert done.stderr.startswith("NOT VERIFIED: "), done.stderr
