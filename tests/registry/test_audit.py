"""The audit from a saved checkpoint: an intact register passes, and every kind of edit made
behind the register's back (triggers switched off, as a superuser could) is caught and named."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from registry import audit, keyhistory
from registry.keys import MemoryKeyStore
from registry.transparency import log, merkle
from registry.transparency.checkpoint import Checkpoint, NoteSigner, sign_checkpoint
from service import cli
from tests.conftest import Demo, FixedClock
from tests.helpers import Client, issue_passing

HOUR = dt.timedelta(hours=1)


async def _issue(client: Client, demo: Demo, reference: str, n: int) -> list[dict[str, Any]]:
    return await issue_passing(client, demo.public, n, reference=reference)


async def _register(client: Client, demo: Demo) -> tuple[bytes, list[dict[str, Any]]]:
    """A register with a saved checkpoint, more issuing after it, a correction and a revocation."""
    first = await _issue(client, demo, "H-1", 3)
    note = (await client.get("/api/log/checkpoint")).content
    later = await _issue(client, demo, "H-2", 4)
    school = demo.school(demo.public)
    corrected = await client.post(
        f"/api/schools/751234/certificates/{first[0]['number']}/corrections",
        json={"reason": "participant-data", "name": "Rettet"},
        headers={**school, "Idempotency-Key": "correct"},
    )
    assert corrected.status_code == 201
    revoked = await client.post(
        f"/api/schools/751234/certificates/{later[0]['number']}/revocation",
        json={"reason": "fraud"},
        headers={**school, "Idempotency-Key": "revoke"},
    )
    assert revoked.status_code == 201
    return note, first + later


async def test_an_intact_register_passes_the_audit(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    note, _ = await _register(client, seeded)
    seen: list[int] = []
    report = await audit.audit(conn, note, progress=seen.append)
    assert report.ok, [str(f) for f in report.findings]
    assert report.checkpoint is not None
    # Leaves 0-2 are the key history (the log key, the two schools' keys).
    assert report.checkpoint.size == 6
    assert (report.tree_size, report.leaves, report.certificates) == (13, 13, 8)
    assert sum(seen) == 13
    assert report.warnings == []


async def test_the_audit_survives_rotations_of_both_keys(
    client: Client,
    seeded: Demo,
    conn: asyncpg.Connection,
    keys: MemoryKeyStore,
    clock: FixedClock,
) -> None:
    note = b""
    for round_ in range(3):
        await _issue(client, seeded, f"H-{round_}", 2)
        if round_ == 0:
            note = (await client.get("/api/log/checkpoint")).content
        clock.now += HOUR
        await keyhistory.rotate_key(conn, keys, "school", "751234", now=clock.now)
        await keyhistory.rotate_key(conn, keys, "log", None, now=clock.now)
        clock.now += HOUR
    report = await audit.audit(conn, note)
    assert report.ok, [str(f) for f in report.findings]
    assert report.certificates == 6


async def test_a_certificate_signed_after_its_keys_compromise_is_a_warning(
    client: Client,
    seeded: Demo,
    conn: asyncpg.Connection,
    keys: MemoryKeyStore,
    clock: FixedClock,
) -> None:
    (certificate,) = await _issue(client, seeded, "H-1", 1)
    note = (await client.get("/api/log/checkpoint")).content
    kid = await conn.fetchval("SELECT kid FROM certificates")
    await keyhistory.revoke(conn, keys, kid, revoked_from=clock.now, now=clock.now + HOUR)
    report = await audit.audit(conn, note)
    assert report.ok
    assert [w.certificate for w in report.warnings] == [certificate["number"]]


TAMPERING = [
    # Another signed record swapped in for a certificate's.
    (
        (
            "UPDATE certificates SET jws = (SELECT jws FROM certificates WHERE number = $2), "
            "payload = (SELECT payload FROM certificates WHERE number = $2) WHERE number = $1"
        ),
        "is not the one the log recorded",
    ),
    # The certificate handed to another person: the row's CPR number changed.
    (
        "UPDATE certificates SET cpr = '311299-9999' WHERE number = $1 AND $2 <> ''",
        "CPR number differs",
    ),
    # The stored record edited (the JWS left alone).
    (
        (
            "UPDATE certificates SET payload = convert_to(replace(convert_from(payload, 'UTF8'), "
            "'Deltager', 'Deltagex'), 'UTF8') WHERE number = $1 AND $2 <> ''"
        ),
        "stored record differs",
    ),
    # A status event's reason edited.
    (
        (
            "UPDATE certificate_events SET reason = 'other-error' "
            "WHERE certificate_number = $1 AND kind = 'cancelled' AND $2 <> ''"
        ),
        "reason differs",
    ),
    # A log entry rewritten, with its leaf hash recomputed to match.
    (
        (
            "UPDATE log_leaves SET entry = convert_to(replace(convert_from(entry, 'UTF8'), "
            "'\"issued\"', '\"issueD\"'), 'UTF8'), leaf_hash = sha256('\\x00'::bytea || "
            "convert_to(replace(convert_from(entry, 'UTF8'), '\"issued\"', '\"issueD\"'), 'UTF8')) "
            "WHERE certificate_number = $1 AND $2 <> ''"
        ),
        "does not recompute",
    ),
    # The issuing event deleted together with its leaf.
    (
        (
            "DELETE FROM log_leaves WHERE certificate_number = $1 AND $2 <> '' AND idx = "
            "(SELECT min(idx) FROM log_leaves WHERE certificate_number = $1)"
        ),
        "not in the log",
    ),
]


@pytest.mark.parametrize(("statement", "expected"), TAMPERING)
async def test_an_edit_behind_the_registers_back_is_caught_and_named(
    client: Client,
    seeded: Demo,
    conn: asyncpg.Connection,
    statement: str,
    expected: str,
) -> None:
    note, issued = await _register(client, seeded)
    victim, other = issued[0]["number"], issued[1]["number"]
    await conn.execute("SET session_replication_role = replica")
    await conn.execute(statement, victim, other)
    await conn.execute("SET session_replication_role = DEFAULT")
    report = await audit.audit(conn, note)
    assert not report.ok
    named = [f for f in report.findings if f.certificate == victim]
    assert any(expected in f.problem for f in named), [str(f) for f in report.findings]
    assert all("0190-" not in str(f) for f in report.findings)  # never a CPR number


async def test_a_forged_or_foreign_checkpoint_is_a_finding(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    await _register(client, seeded)
    forged = sign_checkpoint(
        Checkpoint("amu-bevis.local/register", 3, merkle.Hash(hashlib.sha256(b"x").digest())),
        NoteSigner("amu-bevis.local/register", Ed25519PrivateKey.generate()),
    )
    report = await audit.audit(conn, forged)
    assert [f.problem for f in report.findings] == [
        "the saved checkpoint is not validly signed by a log key of the register"
    ]


async def test_a_rewritten_history_fails_the_saved_checkpoint(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    note, _ = await _register(client, seeded)
    # Rewrite leaf 0 and recompute everything the register stores from it: only the auditor's
    # saved checkpoint still remembers the old root.
    await conn.execute("SET session_replication_role = replica")
    leaves = await conn.fetch("SELECT idx, entry, event_id, key_kid FROM log_leaves ORDER BY idx")
    entries = [bytes(r["entry"]) for r in leaves]
    first_issue = next(i for i, e in enumerate(entries) if b'"issued"' in e)
    entries[first_issue] = entries[first_issue].replace(b"issued", b"issueD")
    await conn.execute("DELETE FROM log_leaves")
    await conn.execute("DELETE FROM log_nodes")
    await conn.execute("UPDATE log_head SET size = 0, edge = '{}'")
    edge = merkle.RightEdge.empty()
    for index, (entry, row) in enumerate(zip(entries, leaves, strict=True)):
        leaf = merkle.leaf_hash(entry)
        edge, nodes = edge.append(leaf)
        await conn.execute(
            "INSERT INTO log_leaves (idx, entry, leaf_hash, event_id, key_kid) "
            "VALUES ($1, $2, $3, $4, $5)",
            index,
            entry,
            leaf,
            row["event_id"],
            row["key_kid"],
        )
        for node in nodes:
            await conn.execute(
                "INSERT INTO log_nodes (level, idx, hash) VALUES ($1, $2, $3)",
                node.level,
                node.index,
                node.hash,
            )
    await conn.execute("UPDATE log_head SET size = $1, edge = $2", edge.size, list(edge.hashes))
    await conn.execute("SET session_replication_role = DEFAULT")
    assert await log.size(conn) == 13
    report = await audit.audit(conn, note)
    problems = " ".join(f.problem for f in report.findings)
    assert "saved checkpoint's root" in problems
    assert "consistency proof" in problems


async def test_the_cli_audits_with_a_progress_bar_and_exit_code(
    client: Client,
    seeded: Demo,
    conn: asyncpg.Connection,
    cli_env: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    note, issued = await _register(client, seeded)
    saved = cli_env / "checkpoint.txt"
    saved.write_bytes(note)
    assert await asyncio.to_thread(cli.main, ["audit", "--checkpoint", str(saved)]) == 0
    out = capsys.readouterr()
    assert "13 leaves of 13 and 8 certificates checked" in out.out
    assert "Auditing leaves" in out.err

    victim = issued[2]["number"]
    await conn.execute("SET session_replication_role = replica")
    await conn.execute("UPDATE certificates SET jws = jws || 'x' WHERE number = $1", victim)
    await conn.execute("SET session_replication_role = DEFAULT")
    assert await asyncio.to_thread(cli.main, ["audit", "--checkpoint", str(saved)]) == 1
    assert f"certificate {victim}" in capsys.readouterr().out


async def test_a_key_added_behind_the_registers_back_is_named_by_the_audit(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    note, _ = await _register(client, seeded)
    # A school key inserted straight into the table has no leaf in the log.
    await conn.execute(
        """INSERT INTO school_keys (kid, school_id, public_key, valid_from, retired_at)
           VALUES ('751234-sneaky', '751234', decode(repeat('01', 32), 'hex'),
                   now() - interval '1 year', now() - interval '1 day')"""
    )
    report = await audit.audit(conn, note)
    assert [f.problem for f in report.findings] == [
        "key 751234-sneaky: its 'key-added' event is not in the log",
        "key 751234-sneaky: its 'key-retired' event is not in the log",
    ]


async def test_a_public_key_swapped_in_sql_is_named_by_the_audit(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    note, _ = await _register(client, seeded)
    kid = await conn.fetchval("SELECT kid FROM school_keys WHERE school_id = '751234'")
    await conn.execute("SET session_replication_role = replica")
    await conn.execute(
        "UPDATE school_keys SET public_key = decode(repeat('02', 32), 'hex') WHERE kid = $1", kid
    )
    await conn.execute("SET session_replication_role = DEFAULT")
    report = await audit.audit(conn, note)
    problems = [f.problem for f in report.findings]
    assert f"key {kid}: the stored publicKey differs from the log entry's" in problems
