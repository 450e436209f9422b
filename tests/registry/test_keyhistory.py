"""Keys over time: rotations never orphan what an old key signed, a compromised key is revoked
from a date and marks only what it signed since, and the log's own key works the same way."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from registry import keyhistory, status_list
from registry.certificate_store import SchoolKey
from registry.errors import NotFoundError
from registry.keyhistory import KeyState, key_state
from registry.keys import MemoryKeyStore
from registry.transparency import proofs
from registry.transparency.checkpoint import NoteVerifier, open_checkpoint
from service import cli
from tests.conftest import NOW, Demo, FixedClock
from tests.helpers import Client, post_team, team_body

HOUR = dt.timedelta(hours=1)
LOG_NAME = "amu-bevis.local/register"


def _key(**changes: Any) -> SchoolKey:
    fields: dict[str, Any] = {
        "kid": "k",
        "school_id": "751234",
        "school_name": "S",
        "public_key": bytes(32),
        "valid_from": NOW,
        "retired_at": None,
        "revoked_from": None,
    }
    fields.update(changes)
    return SchoolKey(**fields)


@pytest.mark.parametrize(
    ("changes", "at", "state"),
    [
        ({}, NOW, KeyState.VALID),
        ({}, NOW - dt.timedelta(seconds=1), KeyState.NOT_YET_VALID),
        # valid_from has microseconds; issued_at is whole seconds of the same instant.
        ({"valid_from": NOW + dt.timedelta(microseconds=500)}, NOW, KeyState.VALID),
        ({"retired_at": NOW + HOUR}, NOW + HOUR, KeyState.VALID),
        ({"retired_at": NOW + HOUR}, NOW + HOUR + keyhistory.ROTATION_GRACE, KeyState.VALID),
        ({"retired_at": NOW + HOUR}, NOW + 2 * HOUR, KeyState.RETIRED),
        ({"revoked_from": NOW + HOUR}, NOW + HOUR - dt.timedelta(seconds=1), KeyState.VALID),
        ({"revoked_from": NOW + HOUR}, NOW + HOUR, KeyState.REVOKED),
        ({"retired_at": NOW + HOUR, "revoked_from": NOW}, NOW + HOUR / 2, KeyState.REVOKED),
    ],
)
def test_key_state(changes: dict[str, Any], at: dt.datetime, state: KeyState) -> None:
    assert key_state(_key(**changes), at=at) is state


async def _issue(client: Client, demo: Demo, reference: str, cpr: str) -> dict[str, Any]:
    body = team_body([{"cpr": cpr, "name": "Deltager", "exam": "passed"}], reference=reference)
    response = await post_team(client, demo.public, body, key=reference)
    assert response.status_code == 201, response.text
    certificate: dict[str, Any] = response.json()["participants"][0]["certificate"]
    return certificate


async def _verify(client: Client, certificate: dict[str, Any]) -> dict[str, Any]:
    response = await client.get(
        f"/api/verify/{certificate['number']}", params={"code": certificate["verificationCode"]}
    )
    body: dict[str, Any] = response.json()
    return body


async def test_old_certificates_verify_after_many_rotations(
    client: Client,
    seeded: Demo,
    conn: asyncpg.Connection,
    keys: MemoryKeyStore,
    clock: FixedClock,
) -> None:
    issued = []
    for round_ in range(5):
        issued.append(await _issue(client, seeded, f"H-{round_}", f"{round_ + 1:02d}0190-1000"))
        clock.now += HOUR
        new = await keyhistory.rotate_key(conn, keys, "school", "751234", now=clock.now)
        assert new.replaced is not None
        clock.now += HOUR
    for certificate in issued:
        assert (await _verify(client, certificate))["status"] == "valid"
    signers = await conn.fetch("SELECT DISTINCT kid FROM certificates")
    assert len(signers) == 5
    jwks = [k for k in (await client.get("/api/keys")).json()["keys"] if k["school"] == "751234"]
    assert len(jwks) == 6
    assert sum(k["retiredAt"] is None for k in jwks) == 1
    # The newest key signs what is issued now.
    latest = await _issue(client, seeded, "H-new", "300190-1000")
    assert (await _verify(client, latest))["status"] == "valid"


async def test_a_compromised_key_marks_only_what_it_signed_from_the_revocation_date(
    client: Client,
    seeded: Demo,
    conn: asyncpg.Connection,
    keys: MemoryKeyStore,
    clock: FixedClock,
) -> None:
    before = await _issue(client, seeded, "H-1", "010190-1000")
    clock.now += 2 * HOUR
    after = await _issue(client, seeded, "H-2", "020190-1000")
    kid = await conn.fetchval("SELECT kid FROM certificates WHERE number = $1", after["number"])
    revocation = await keyhistory.revoke(conn, keys, kid, revoked_from=NOW + HOUR, now=clock.now)
    assert revocation.marked_certificates == [after["number"]]
    assert revocation.successor is not None  # the key was active: a new one took over

    assert (await _verify(client, before))["status"] == "valid"
    marked = await _verify(client, after)
    assert marked["status"] == "key-revoked"
    assert marked["statusReason"] == "key-compromise"
    assert marked["statusAt"].startswith("2026-11-20T10:30")
    jwk = next(k for k in (await client.get("/api/keys")).json()["keys"] if k["kid"] == kid)
    assert jwk["revokedFrom"].startswith("2026-11-20T10:30")

    # The status list marks it too; the certificate signed before stays clear.
    bits = await _status_bits(client)
    rows = await conn.fetch("SELECT number, status_list_index FROM certificates")
    positions: dict[str, int] = {r["number"]: r["status_list_index"] for r in rows}
    assert status_list.is_set(bits, positions[after["number"]])
    assert not status_list.is_set(bits, positions[before["number"]])
    # Issuing goes on with the successor key.
    clock.now += HOUR
    fresh = await _issue(client, seeded, "H-3", "030190-1000")
    assert (await _verify(client, fresh))["status"] == "valid"


async def _status_bits(client: Client) -> bytes:
    credential = (await client.get("/api/status/1")).json()
    return status_list.decode_list(credential["credentialSubject"]["encodedList"])


async def test_a_key_is_revoked_once_and_the_revocation_never_moves(
    seeded: Demo, conn: asyncpg.Connection, keys: MemoryKeyStore, clock: FixedClock
) -> None:
    kid = await conn.fetchval("SELECT kid FROM school_keys WHERE school_id = '751234'")
    await keyhistory.rotate_key(conn, keys, "school", "751234", now=clock.now + HOUR)
    # A retired key can still be revoked (found compromised later), once.
    await keyhistory.revoke(conn, keys, kid, revoked_from=NOW, now=clock.now + 2 * HOUR)
    with pytest.raises(keyhistory.KeyHistoryError):
        await keyhistory.revoke(conn, keys, kid, revoked_from=NOW, now=clock.now + 2 * HOUR)
    for statement in (
        "UPDATE school_keys SET revoked_from = NULL, revoked_at = NULL WHERE kid = $1",
        "UPDATE school_keys SET revoked_from = revoked_from + interval '1 day' WHERE kid = $1",
        "UPDATE school_keys SET public_key = sha256(public_key) WHERE kid = $1",
        "DELETE FROM school_keys WHERE kid = $1",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(statement, kid)


async def test_unknown_keys_and_schools_are_refused(
    seeded: Demo, conn: asyncpg.Connection, keys: MemoryKeyStore
) -> None:
    with pytest.raises(NotFoundError):
        await keyhistory.revoke(conn, keys, "nope", revoked_from=NOW, now=NOW)
    with pytest.raises(NotFoundError):
        await keyhistory.rotate_key(conn, keys, "school", "999999", now=NOW)


async def _checkpoint(client: Client) -> tuple[bytes, list[dict[str, Any]]]:
    return (await client.get("/api/log/checkpoint")).content, (
        await client.get("/api/log/keys")
    ).json()


async def test_the_log_key_rotates_and_old_checkpoints_stay_verifiable(
    client: Client,
    seeded: Demo,
    conn: asyncpg.Connection,
    keys: MemoryKeyStore,
    clock: FixedClock,
) -> None:
    notes = []
    for round_ in range(4):
        await _issue(client, seeded, f"H-{round_}", f"{round_ + 1:02d}0190-1000")
        notes.append(await _checkpoint(client))
        clock.now += HOUR
        await keyhistory.rotate_key(conn, keys, "log", None, now=clock.now, log_name=LOG_NAME)
    note, published = await _checkpoint(client)
    assert len(published) == 5
    assert [k["retiredAt"] is None for k in published] == [False] * 4 + [True]
    latest = open_checkpoint(note, NoteVerifier.parse(published[-1]["verifierKey"]))
    # 3 key leaves to start with; each round adds a certificate, a retirement and a new key.
    sizes = [3 + 1 + 3 * round_ for round_ in range(4)]
    assert latest.size == sizes[-1] + 2
    # Every old checkpoint opens with the key valid then, and is consistent with today's tree.
    for (old_note, keys_then), size in zip(notes, sizes, strict=True):
        old = open_checkpoint(old_note, NoteVerifier.parse(keys_then[-1]["verifierKey"]))
        assert old.size == size
        proof = (
            await client.get(f"/api/log/proof/consistency?first={size}&second={latest.size}")
        ).json()
        proofs.verify_consistency(
            old_size=size,
            new_size=latest.size,
            old_root=old.root_hash,
            new_root=latest.root_hash,
            proof=[base64.b64decode(h) for h in proof["hashes"]],
        )


async def test_the_cli_rotates_and_revokes_keys(
    seeded: Demo, conn: asyncpg.Connection, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = await conn.fetchval("SELECT kid FROM school_keys WHERE school_id = '751234'")
    assert await asyncio.to_thread(cli.main, ["rotate-key", "--school", "751234"]) == 0
    new = await conn.fetchval(
        "SELECT kid FROM school_keys WHERE school_id = '751234' AND retired_at IS NULL"
    )
    assert new != old
    assert (cli_env / "keys" / f"{new}.pem").exists()
    assert await asyncio.to_thread(cli.main, ["rotate-log-key"]) == 0
    assert await conn.fetchval("SELECT count(*) FROM log_keys") == 2
    assert await asyncio.to_thread(cli.main, ["revoke-key", old, "--from", "2026-11-20"]) == 0
    assert await conn.fetchval("SELECT revoked_from FROM school_keys WHERE kid = $1", old) == (
        dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    )
    assert await asyncio.to_thread(cli.main, ["revoke-key", old, "--from", "2026-11-20"]) == 2
    assert await asyncio.to_thread(cli.main, ["rotate-key", "--school", "999999"]) == 2
    out = capsys.readouterr().out
    assert f"retired {old}" in out
    assert "revoked before" in out
