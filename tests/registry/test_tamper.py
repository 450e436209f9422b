# ruff: noqa: E501, S608 - a table of SQL edits reads best one per line; the values are the test's own
"""Tamper evidence: edits made straight in the database as a superuser with triggers off
(``session_replication_role = replica``), one column, row or table at a time.

Each edit is caught by the audit, which names the certificate, key, leaf or checkpoint; and the
running service never hands out a row that no longer matches its leaf (issue 12). The first
tests are the four edits and the CPR swap that passed main's audit as consistent."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from registry import access_store, audit, retention, status_list
from registry.transparency import copies
from registry.transparency.copies import FileCheckpointCopies
from service import cli
from tests.conftest import Demo
from tests.helpers import Client, issue_passing, login


@dataclass(frozen=True)
class Register:
    note: bytes  # a checkpoint the auditor saved early
    victim: dict[str, Any]  # a valid certificate covered by that checkpoint
    other: dict[str, Any]  # another valid one, another person's
    revoked: dict[str, Any]
    corrected: dict[str, Any]  # cancelled and replaced
    cprs: dict[str, str]  # number -> CPR number
    kid: str  # the public school's active key
    log_kid: str


async def _register(client: Client, demo: Demo, conn: asyncpg.Connection) -> Register:
    first = await issue_passing(client, demo.public, 3, reference="H-1")
    note = (await client.get("/api/log/checkpoint")).content
    later = await issue_passing(client, demo.public, 3, reference="H-2")
    school = demo.school(demo.public)
    corrected = await client.post(
        f"/api/schools/751234/certificates/{first[0]['number']}/corrections",
        json={"reason": "participant-data", "name": "Rettet"},
        headers={**school, "Idempotency-Key": "tamper-correction"},
    )
    assert corrected.status_code == 201, corrected.text
    revoked = await client.post(
        f"/api/schools/751234/certificates/{later[0]['number']}/revocation",
        json={"reason": "fraud"},
        headers={**school, "Idempotency-Key": "tamper-revocation"},
    )
    assert revoked.status_code == 201, revoked.text
    # The latest checkpoint, signed now, is also kept outside the database.
    assert (await client.get("/api/log/checkpoint")).status_code == 200
    rows = await conn.fetch("SELECT number, cpr FROM certificates")
    return Register(
        note=note,
        victim=first[1],
        other=first[2],
        revoked=later[0],
        corrected=first[0],
        cprs={r["number"]: r["cpr"] for r in rows},
        kid=await conn.fetchval("SELECT kid FROM school_keys WHERE school_id = '751234'"),
        log_kid=await conn.fetchval("SELECT kid FROM log_keys"),
    )


async def _tamper(conn: asyncpg.Connection, *statements: str) -> None:
    await conn.execute("SET session_replication_role = replica")
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.execute("SET session_replication_role = DEFAULT")


async def _audit(conn: asyncpg.Connection, register: Register, data_dir: Path) -> list[str]:
    outside = FileCheckpointCopies(data_dir / copies.FILE_NAME).notes()
    assert outside, "the service keeps its checkpoints outside the database"
    report = await audit.audit(conn, register.note, outside=outside)
    findings = [str(f) for f in report.findings]
    assert all(cpr not in " ".join(findings) for cpr in register.cprs.values())
    return findings


async def _verify(client: Client, certificate: dict[str, Any], code: str | None = None) -> str:
    response = await client.get(
        f"/api/verify/{certificate['number']}",
        params={"code": code or certificate["verificationCode"]},
    )
    assert response.status_code == 200, response.text
    status: str = response.json()["status"]
    return status


async def _mine(client: Client, cpr: str) -> list[str]:
    response = await client.get("/api/me/certificates", headers=await login(client, cpr))
    assert response.status_code == 200, response.text
    return [c["number"] for c in response.json()]


# -- the edits main's audit passed as consistent ------------------------------------------------


async def test_a_changed_verification_code_is_caught_and_never_verifies(
    client: Client, seeded: Demo, conn: asyncpg.Connection, tmp_path: Path
) -> None:
    register = await _register(client, seeded, conn)
    victim = register.victim["number"]
    await _tamper(
        conn, f"UPDATE certificates SET verification_code = 'ZZZZ2222' WHERE number = '{victim}'"
    )
    findings = await _audit(conn, register, tmp_path)
    assert f"certificate {victim}" in " ".join(findings)
    assert any("verification code differs" in f for f in findings if victim in f), findings
    # The forged code is refused as tampering; the printed one is not "valid" either.
    assert await _verify(client, register.victim, "ZZZZ-2222") == "invalid"
    assert await _verify(client, register.victim) != "valid"


async def test_swapped_status_positions_are_caught_and_the_revoked_bit_stays_set(
    client: Client, seeded: Demo, conn: asyncpg.Connection, tmp_path: Path
) -> None:
    register = await _register(client, seeded, conn)
    victim, revoked = register.victim["number"], register.revoked["number"]
    before = await conn.fetch(
        "SELECT number, status_list_index FROM certificates WHERE number = ANY($1::text[])",
        [victim, revoked],
    )
    index = {r["number"]: r["status_list_index"] for r in before}
    await _tamper(
        conn,
        "ALTER TABLE certificates DROP CONSTRAINT certificates_status_position",
        f"UPDATE certificates SET status_list_index = {index[revoked]} WHERE number = '{victim}'",
        f"UPDATE certificates SET status_list_index = {index[victim]} WHERE number = '{revoked}'",
    )
    findings = await _audit(conn, register, tmp_path)
    for number in (victim, revoked):
        assert any(number in f and "status-list position differs" in f for f in findings), findings
    response = await client.get("/api/status/1")
    assert response.status_code == 200
    bits = status_list.decode_list(response.json()["credentialSubject"]["encodedList"])
    assert status_list.is_set(bits, index[revoked])
    assert not status_list.is_set(bits, index[victim])
    assert await _verify(client, register.revoked) == "invalid"
    assert await _verify(client, register.victim) == "invalid"


async def test_a_moved_retention_date_is_caught_and_erases_nothing(
    client: Client, seeded: Demo, conn: asyncpg.Connection, tmp_path: Path
) -> None:
    register = await _register(client, seeded, conn)
    victim = register.victim["number"]
    await _tamper(
        conn, f"UPDATE certificates SET retain_until = '2001-01-01' WHERE number = '{victim}'"
    )
    findings = await _audit(conn, register, tmp_path)
    assert any(victim in f and "retention date differs" in f for f in findings), findings
    assert await retention.due(conn, dt.date(2030, 1, 1)) == []


async def test_a_truncated_checkpoints_table_is_caught_by_the_copy_kept_outside(
    client: Client, seeded: Demo, conn: asyncpg.Connection, tmp_path: Path
) -> None:
    register = await _register(client, seeded, conn)
    size = await conn.fetchval("SELECT max(size) FROM log_checkpoints")
    await _tamper(conn, "TRUNCATE log_checkpoints")
    findings = await _audit(conn, register, tmp_path)
    assert (
        f"the checkpoint of size {size} kept outside the database is missing from log_checkpoints"
        in findings
    )
    assert any("log_checkpoints ends at size 0" in f for f in findings), findings


async def test_a_changed_cpr_column_hands_the_certificate_to_nobody(
    client: Client, seeded: Demo, conn: asyncpg.Connection, tmp_path: Path
) -> None:
    register = await _register(client, seeded, conn)
    victim, other = register.victim["number"], register.other["number"]
    thief = register.cprs[other]
    before = await _mine(client, thief)
    assert other in before
    assert victim not in before
    assert await _verify(client, register.victim) == "valid"  # an access the victim can read
    assert [
        e.certificate_number for e in await access_store.access_log_of(conn, register.cprs[victim])
    ] == [victim]
    await _tamper(conn, f"UPDATE certificates SET cpr = '{thief}' WHERE number = '{victim}'")
    assert await _mine(client, thief) == before
    assert await access_store.access_log_of(conn, thief) == []
    headers = await login(client, thief)
    response = await client.get(f"/api/me/certificates/{victim}", headers=headers)
    assert response.status_code == 404, response.text
    findings = await _audit(conn, register, tmp_path)
    assert any(victim in f and "CPR number differs" in f for f in findings), findings


# -- every column, row and table ----------------------------------------------------------------
# {victim}, {other}, {revoked}, {corrected}: certificate numbers; {kid}: the public school's key;
# {log_kid}: the log key. Each edit lists what the audit's findings must name.

EDITS: list[tuple[str, list[str], str]] = [
    # certificates
    ("certificates.number", ["UPDATE certificates SET number = '2099-0000001' WHERE number = '{victim}'"], "{victim}"),
    ("certificates.school_id", ["UPDATE certificates SET school_id = '863410' WHERE number = '{victim}'"], "{victim}"),
    ("certificates.cpr", ["UPDATE certificates SET cpr = '311299-9999' WHERE number = '{victim}'"], "{victim}"),
    ("certificates.kid", ["UPDATE certificates SET kid = (SELECT kid FROM school_keys WHERE school_id = '863410') WHERE number = '{victim}'"], "{victim}"),
    ("certificates.payload", ["UPDATE certificates SET payload = (SELECT payload FROM certificates WHERE number = '{other}') WHERE number = '{victim}'"], "{victim}"),
    ("certificates.jws", ["UPDATE certificates SET jws = (SELECT jws FROM certificates WHERE number = '{other}') WHERE number = '{victim}'"], "{victim}"),
    ("certificates.verification_code", ["UPDATE certificates SET verification_code = 'ZZZZ2222' WHERE number = '{victim}'"], "{victim}"),
    ("certificates.issued_at", ["UPDATE certificates SET issued_at = issued_at - interval '1 day' WHERE number = '{victim}'"], "{victim}"),
    ("certificates.status_list_id", ["UPDATE certificates SET status_list_id = 2 WHERE number = '{victim}'"], "{victim}"),
    ("certificates.status_list_index", ["UPDATE certificates SET status_list_index = 99999 WHERE number = '{victim}'"], "{victim}"),
    ("certificates.retain_until", ["UPDATE certificates SET retain_until = '2001-01-01' WHERE number = '{victim}'"], "{victim}"),
    ("certificates.erased_at", ["UPDATE certificates SET cpr = NULL, payload = NULL, jws = NULL, erased_at = now() WHERE number = '{victim}'"], "{victim}"),
    ("certificates.binding_salt", ["UPDATE certificates SET binding_salt = decode(repeat('00', 16), 'hex') WHERE number = '{victim}'"], "{victim}"),
    ("certificates: a row deleted", ["DELETE FROM certificates WHERE number = '{victim}'"], "{victim}"),
    ("certificates: a row forged", ["INSERT INTO certificates (number, school_id, cpr, kid, payload, jws, verification_code, issued_at, status_list_id, status_list_index, retain_until) SELECT '2099-0000002', school_id, cpr, kid, payload, jws, verification_code, issued_at, 1, 99998, retain_until FROM certificates WHERE number = '{victim}'"], "2099-0000002"),
    # CASCADE takes the events and the leaves too: only the head and the checkpoints remember.
    ("certificates: truncated", ["TRUNCATE certificates CASCADE"], "are missing"),
    # certificate_events
    ("certificate_events.id", ["UPDATE certificate_events SET id = id + 1000 WHERE certificate_number = '{victim}'"], "{victim}"),
    ("certificate_events.certificate_number", ["UPDATE certificate_events SET certificate_number = '{other}' WHERE certificate_number = '{victim}'"], "{victim}"),
    ("certificate_events.kind", ["UPDATE certificate_events SET kind = 'cancelled', reason = 'other-error' WHERE certificate_number = '{revoked}' AND kind = 'revoked'"], "{revoked}"),
    ("certificate_events.reason", ["UPDATE certificate_events SET reason = 'other' WHERE certificate_number = '{revoked}' AND kind = 'revoked'"], "{revoked}"),
    ("certificate_events.replaced_by", ["UPDATE certificate_events SET replaced_by = '{victim}' WHERE certificate_number = '{corrected}' AND kind = 'cancelled'"], "{corrected}"),
    ("certificate_events.at", ["UPDATE certificate_events SET at = at + interval '1 day' WHERE certificate_number = '{revoked}' AND kind = 'revoked'"], "{revoked}"),
    ("certificate_events: a row deleted", ["DELETE FROM certificate_events WHERE certificate_number = '{revoked}' AND kind = 'revoked'"], "{revoked}"),
    ("certificate_events: a row forged", ["INSERT INTO certificate_events (certificate_number, kind, reason, at) VALUES ('{victim}', 'revoked', 'fraud', now())"], "{victim}"),
    ("certificate_events: truncated", ["TRUNCATE certificate_events CASCADE"], "{victim}"),
    # school_keys (algorithm: CHECK (algorithm = 'Ed25519') allows no other value)
    ("school_keys.kid", ["UPDATE school_keys SET kid = 'k-renamed' WHERE kid = '{kid}'"], "{kid}"),
    ("school_keys.school_id", ["INSERT INTO schools (id, name, cvr, ownership) VALUES ('999999', 'Anden', '12345678', 'public')", "UPDATE school_keys SET school_id = '999999' WHERE kid = '{kid}'"], "{kid}"),
    ("school_keys.public_key", ["UPDATE school_keys SET public_key = decode(repeat('02', 32), 'hex') WHERE kid = '{kid}'"], "{kid}"),
    ("school_keys.valid_from", ["UPDATE school_keys SET valid_from = valid_from - interval '1 day' WHERE kid = '{kid}'"], "{kid}"),
    ("school_keys.retired_at", ["UPDATE school_keys SET retired_at = now() WHERE kid = '{kid}'"], "{kid}"),
    ("school_keys.revoked_from", ["UPDATE school_keys SET revoked_from = now(), revoked_at = now() WHERE kid = '{kid}'"], "{kid}"),
    ("school_keys: a row deleted", ["DELETE FROM school_keys WHERE kid = '{kid}'"], "{kid}"),
    ("school_keys: a row forged", ["INSERT INTO school_keys (kid, school_id, public_key, valid_from, retired_at) VALUES ('k-forged', '863410', decode(repeat('03', 32), 'hex'), now() - interval '1 day', now())"], "k-forged"),
    ("school_keys: truncated", ["TRUNCATE school_keys CASCADE"], "are missing"),
    # log_keys
    ("log_keys.kid", ["UPDATE log_keys SET kid = 'log-renamed' WHERE kid = '{log_kid}'"], "{log_kid}"),
    ("log_keys.name", ["UPDATE log_keys SET name = 'elsewhere' WHERE kid = '{log_kid}'"], "{log_kid}"),
    ("log_keys.public_key", ["UPDATE log_keys SET public_key = decode(repeat('02', 32), 'hex') WHERE kid = '{log_kid}'"], "{log_kid}"),
    ("log_keys.valid_from", ["UPDATE log_keys SET valid_from = valid_from - interval '1 day' WHERE kid = '{log_kid}'"], "{log_kid}"),
    ("log_keys.retired_at", ["UPDATE log_keys SET retired_at = now() WHERE kid = '{log_kid}'"], "{log_kid}"),
    ("log_keys.revoked_from", ["UPDATE log_keys SET revoked_from = now(), revoked_at = now() WHERE kid = '{log_kid}'"], "{log_kid}"),
    ("log_keys: a row deleted", ["DELETE FROM log_keys WHERE kid = '{log_kid}'"], "{log_kid}"),
    ("log_keys: a row forged", ["INSERT INTO log_keys (kid, name, public_key, valid_from, retired_at) VALUES ('log-forged', 'x', decode(repeat('03', 32), 'hex'), now() - interval '1 day', now())"], "log-forged"),
    ("log_keys: truncated", ["TRUNCATE log_keys CASCADE"], "{log_kid}"),
    # log_leaves
    ("log_leaves.idx", ["UPDATE log_leaves SET idx = idx + 1000 WHERE certificate_number = '{victim}'"], "missing"),
    ("log_leaves.entry", ["UPDATE log_leaves SET entry = entry || ' '::bytea WHERE certificate_number = '{victim}'"], "{victim}"),
    ("log_leaves.leaf_hash", ["UPDATE log_leaves SET leaf_hash = decode(repeat('00', 32), 'hex') WHERE certificate_number = '{victim}'"], "{victim}"),
    ("log_leaves.certificate_number", ["UPDATE log_leaves SET certificate_number = '{other}' WHERE certificate_number = '{victim}'"], "{victim}"),
    ("log_leaves.event_id", ["UPDATE log_leaves SET event_id = event_id + 1000 WHERE certificate_number = '{victim}'"], "{victim}"),
    ("log_leaves.key_kid", ["UPDATE log_leaves SET key_kid = 'k-other' WHERE key_kid = '{kid}'"], "{kid}"),
    ("log_leaves: a row deleted", ["DELETE FROM log_leaves WHERE certificate_number = '{victim}'"], "{victim}"),
    ("log_leaves: a row forged", ["INSERT INTO log_leaves (idx, entry, leaf_hash, certificate_number, key_kid) VALUES (1000, '{{}}', decode(repeat('00', 32), 'hex'), '{victim}', 'x')"], "leaf 1000"),
    ("log_leaves: truncated", ["TRUNCATE log_leaves CASCADE"], "{victim}"),
    # log_nodes: the victim's own leaf node
    ("log_nodes.level", ["UPDATE log_nodes SET level = 40 WHERE level = 0 AND idx = (SELECT idx FROM log_leaves WHERE certificate_number = '{victim}')"], "{victim}"),
    ("log_nodes.idx", ["UPDATE log_nodes SET idx = idx + 1000 WHERE level = 0 AND idx = (SELECT idx FROM log_leaves WHERE certificate_number = '{victim}')"], "{victim}"),
    ("log_nodes.hash", ["UPDATE log_nodes SET hash = decode(repeat('00', 32), 'hex') WHERE level = 0 AND idx = (SELECT idx FROM log_leaves WHERE certificate_number = '{victim}')"], "{victim}"),
    ("log_nodes: a row deleted", ["DELETE FROM log_nodes WHERE level = 0 AND idx = (SELECT idx FROM log_leaves WHERE certificate_number = '{victim}')"], "{victim}"),
    ("log_nodes: truncated", ["TRUNCATE log_nodes"], "{victim}"),
    # log_head (singleton: CHECK (singleton) and its primary key allow no other value or row)
    ("log_head.size", ["UPDATE log_head SET size = size - 1"], "log head"),
    ("log_head.edge", ["UPDATE log_head SET edge = '{{}}'"], "log head"),
    ("log_head: the row deleted", ["DELETE FROM log_head"], "log head is missing"),
    ("log_head: truncated", ["TRUNCATE log_head"], "log head is missing"),
    # log_checkpoints (signed_at: see docs/registry.md, it is not bound)
    ("log_checkpoints.size", ["UPDATE log_checkpoints SET size = size + 1 WHERE size = (SELECT max(size) FROM log_checkpoints)"], "checkpoint of size"),
    ("log_checkpoints.root_hash", ["UPDATE log_checkpoints SET root_hash = decode(repeat('00', 32), 'hex')"], "checkpoint of size"),
    ("log_checkpoints.kid", ["UPDATE log_checkpoints SET kid = 'log-other'"], "not a note log key log-other"),
    ("log_checkpoints.note", ["UPDATE log_checkpoints SET note = note || 'x'::bytea"], "checkpoint of size"),
    ("log_checkpoints: a row deleted", ["DELETE FROM log_checkpoints WHERE size = (SELECT max(size) FROM log_checkpoints)"], "missing from log_checkpoints"),
    ("log_checkpoints: a row forged", ["INSERT INTO log_checkpoints (size, root_hash, kid, note, signed_at) VALUES (1, decode(repeat('00', 32), 'hex'), '{log_kid}', 'forged'::bytea, now())"], "checkpoint of size 1"),
    ("log_checkpoints: truncated", ["TRUNCATE log_checkpoints"], "missing from log_checkpoints"),
]  # fmt: skip

# Columns no answer of the register reads: every answer reads the signed record instead. They
# say which document of a participation a certificate fulfils, for the schools' side only.
UNREAD = [
    "UPDATE certificates SET participation_id = NULL WHERE number = '{victim}'",
    "UPDATE certificates SET kind = 'ikv-activity' WHERE number = '{victim}'",
    "UPDATE certificates SET goal_number = NULL WHERE number = '{victim}'",
    # A node outside the tree: no proof reads it.
    "INSERT INTO log_nodes (level, idx, hash) VALUES (30, 5, decode(repeat('00', 32), 'hex'))",
]


def _names(register: Register) -> dict[str, str]:
    return {
        "victim": register.victim["number"],
        "other": register.other["number"],
        "revoked": register.revoked["number"],
        "corrected": register.corrected["number"],
        "kid": register.kid,
        "log_kid": register.log_kid,
    }


@pytest.mark.parametrize(("what", "statements", "named"), EDITS, ids=[e[0] for e in EDITS])
async def test_every_edit_of_a_register_table_is_named_by_the_audit(
    client: Client,
    seeded: Demo,
    conn: asyncpg.Connection,
    tmp_path: Path,
    what: str,
    statements: list[str],
    named: str,
) -> None:
    register = await _register(client, seeded, conn)
    names = _names(register)
    assert await _audit(conn, register, tmp_path) == []
    await _tamper(conn, *(s.format(**names) for s in statements))
    findings = await _audit(conn, register, tmp_path)
    assert any(named.format(**names) in f for f in findings), (what, findings)


@pytest.mark.parametrize("statement", UNREAD)
async def test_a_column_no_answer_reads_changes_no_answer(
    client: Client, seeded: Demo, conn: asyncpg.Connection, statement: str
) -> None:
    register = await _register(client, seeded, conn)
    victim = register.victim
    cpr = register.cprs[victim["number"]]
    before = (await _verify(client, victim), await _mine(client, cpr))
    await _tamper(conn, statement.format(**_names(register)))
    assert (await _verify(client, victim), await _mine(client, cpr)) == before
    assert before[0] == "valid"


async def test_the_cli_audits_against_the_checkpoints_kept_in_the_data_folder(
    client: Client,
    seeded: Demo,
    conn: asyncpg.Connection,
    cli_env: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    register = await _register(client, seeded, conn)
    saved = cli_env / "checkpoint.txt"
    saved.write_bytes(register.note)
    assert await asyncio.to_thread(cli.main, ["audit", "--checkpoint", str(saved)]) == 0
    assert "no checkpoints kept outside" not in capsys.readouterr().out
    await _tamper(conn, "DELETE FROM log_checkpoints WHERE size > 6")
    assert await asyncio.to_thread(cli.main, ["audit", "--checkpoint", str(saved)]) == 1
    printed = " ".join(capsys.readouterr().out.split())  # the console wraps long lines
    assert "kept outside the database is missing from log_checkpoints" in printed
    elsewhere = cli_env / "nothing-here.txt"
    args = ["audit", "--checkpoint", str(saved), "--outside-checkpoints", str(elsewhere)]
    assert await asyncio.to_thread(cli.main, args) == 0
    assert f"no checkpoints kept outside at {elsewhere}" in "".join(
        capsys.readouterr().out.split("\n")
    )
