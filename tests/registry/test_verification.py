"""Verification in one round trip: the proof is built from the nodes one statement reads, and
nothing it skips weakens it: a tampered node, edge, leaf or record still reads invalid, a
revoked key still reads key-revoked, and the guessing limit still holds its budget."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import json
from typing import Any

import asyncpg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from registry import certificate_store, keyhistory
from registry.access_store import Channel
from registry.keys import MemoryKeyStore
from registry.ratelimit import (
    RateLimitedError,
    VerifyLimits,
    checked_verification,
    client_key,
    window_start,
)
from registry.transparency import log, merkle
from registry.transparency.merkle import Hash, NodeId
from registry.verification import VerificationStatus, is_included, verify_certificate
from tests.conftest import NOW, Demo, FixedClock
from tests.helpers import Client, issue_passing

HOUR = dt.timedelta(hours=1)


# -- the nodes one statement reads cover every inclusion proof ----------------------------------


def _read_by_lookup(index: int, size: int) -> set[NodeId]:
    """What certificate_store.VERIFICATION_LOOKUP reads: the sibling of every level inside the tree,
    and the head's right edge."""
    siblings = {
        NodeId(level, (index >> level) ^ 1)
        for level in range(size.bit_length())
        if (index >> level) ^ 1 < size >> level
    }
    return siblings | set(merkle.right_edge(size))


@pytest.mark.parametrize("size", range(1, 80))
def test_siblings_and_edge_cover_every_proof(size: int) -> None:
    for index in range(size):
        assert set(merkle.inclusion_plan(index, size).node_ids) <= _read_by_lookup(index, size)


@given(size=st.integers(min_value=1, max_value=2**40), data=st.data())
def test_siblings_and_edge_cover_proofs_in_large_trees(size: int, data: st.DataObject) -> None:
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    assert set(merkle.inclusion_plan(index, size).node_ids) <= _read_by_lookup(index, size)


def _stored(number: str, jws: str) -> certificate_store.StoredCertificate:
    return certificate_store.StoredCertificate(
        number=number,
        school_id="751234",
        cpr="010190-1234",
        kid="k",
        payload=b"{}",
        jws=jws,
        verification_code="ABCDEFGH",
        issued_at=NOW,
        status=None,
    )


def _memory_log(
    size: int,
) -> tuple[merkle.MemoryNodeStore, list[bytes], list[certificate_store.StoredCertificate]]:
    nodes = merkle.MemoryNodeStore()
    entries, certificates = [], []
    for i in range(size):
        certificate = _stored(f"2026-{i:07d}", f"jws-{i}")
        event = log.Event(i, certificate.number, "issued", NOW, jws=certificate.jws, kid="k")
        entries.append(log.entry_bytes(event))
        certificates.append(certificate)
        nodes.append(merkle.leaf_hash(entries[-1]))
    return nodes, entries, certificates


def _lookup(
    nodes: merkle.MemoryNodeStore, entries: list[bytes], index: int
) -> certificate_store.VerificationLookup:
    size = nodes.size
    edge = merkle.right_edge(size)
    stored = nodes._nodes  # the in-process adapter's own table, read as the SQL reads it
    return certificate_store.VerificationLookup(
        certificate=None,
        key=None,
        leaf=log.Leaf(index, entries[index], merkle.leaf_hash(entries[index]), None),
        log_size=size,
        log_edge=tuple(stored[i] for i in edge),
        siblings={i: stored[i] for i in _read_by_lookup(index, size) - set(edge)},
    )


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13])
def test_every_leaf_is_proven_from_what_the_lookup_reads(size: int) -> None:
    nodes, entries, certificates = _memory_log(size)
    for index in range(size):
        assert is_included(certificates[index], _lookup(nodes, entries, index))


def test_a_changed_node_edge_or_leaf_is_not_proven() -> None:
    nodes, entries, certificates = _memory_log(13)
    found = _lookup(nodes, entries, 2)
    bad = Hash(bytes(32))
    some_sibling = next(iter(found.siblings))
    cases: list[dict[str, Any]] = [
        {"siblings": {**found.siblings, some_sibling: bad}},
        {"log_edge": (bad, *found.log_edge[1:])},
        {"log_edge": found.log_edge[:-1]},  # an edge that does not fit the size
        {"log_size": 2, "log_edge": found.log_edge[:1]},  # a tree without the leaf
        {"siblings": {}},  # the nodes are missing
        {"leaf": log.Leaf(3, entries[3], merkle.leaf_hash(entries[3]), None)},  # another leaf
        {"leaf": log.Leaf(2, entries[2] + b" ", merkle.leaf_hash(entries[2]), None)},
    ]
    for changes in cases:
        assert not is_included(certificates[2], dataclasses.replace(found, **changes)), changes
    # The leaf must name this certificate's signed record, not another one's.
    assert not is_included(_stored(certificates[2].number, "jws-3"), found)
    assert not is_included(_stored("2026-0000003", certificates[2].jws), found)


# -- against the database -----------------------------------------------------------------------


async def _issue(client: Client, demo: Demo, reference: str, n: int) -> list[dict[str, Any]]:
    return await issue_passing(client, demo.public, n, reference=reference)


async def _status(client: Client, certificate: dict[str, Any]) -> str:
    response = await client.get(
        f"/api/verify/{certificate['number']}", params={"code": certificate["verificationCode"]}
    )
    assert response.status_code == 200, response.text
    status: str = response.json()["status"]
    return status


async def _leaf_index(conn: asyncpg.Connection, number: str) -> int:
    leaf = await log.issued_leaf(conn, number)
    assert leaf is not None
    return leaf.index


async def test_every_certificate_of_a_growing_log_verifies(client: Client, seeded: Demo) -> None:
    issued = await _issue(client, seeded, "H-1", 7)
    issued += await _issue(client, seeded, "H-2", 6)
    assert [await _status(client, c) for c in issued] == ["valid"] * len(issued)


async def test_a_tampered_proof_node_reads_invalid(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    issued = await _issue(client, seeded, "H-1", 6)
    index = await _leaf_index(conn, issued[0]["number"])
    # Someone with superuser rights changes the node next to the leaf behind the triggers.
    await conn.execute("SET session_replication_role = replica")
    await conn.execute(
        "UPDATE log_nodes SET hash = $3 WHERE level = $1 AND idx = $2",
        0,
        index ^ 1,
        bytes(32),
    )
    assert await _status(client, issued[0]) == "invalid"


async def test_a_tampered_log_head_reads_invalid(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    issued = await _issue(client, seeded, "H-1", 3)
    await conn.execute("SET session_replication_role = replica")
    await conn.execute("UPDATE log_head SET edge[1] = $1", bytes(32))
    assert [await _status(client, c) for c in issued] == ["invalid"] * 3


async def test_a_tampered_leaf_entry_reads_invalid(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    first, second = await _issue(client, seeded, "H-1", 2)
    await conn.execute("SET session_replication_role = replica")
    entry = await conn.fetchval(
        "SELECT entry FROM log_leaves WHERE certificate_number = $1", first["number"]
    )
    changed = json.loads(entry) | {"certificate": second["number"]}
    await conn.execute(
        "UPDATE log_leaves SET entry = $2, leaf_hash = $3 WHERE certificate_number = $1",
        first["number"],
        json.dumps(changed).encode(),
        merkle.leaf_hash(json.dumps(changed).encode()),
    )
    assert await _status(client, first) == "invalid"
    assert await _status(client, second) == "valid"


async def test_a_swapped_signed_record_reads_invalid(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    first, second = await _issue(client, seeded, "H-1", 2)
    # The other certificate's JWS and payload: a genuine signature by the same key, and the
    # payload matches it, but it is not this number's record nor this number's leaf.
    await conn.execute("SET session_replication_role = replica")
    await conn.execute(
        """UPDATE certificates c SET jws = o.jws, payload = o.payload
           FROM certificates o WHERE c.number = $1 AND o.number = $2""",
        first["number"],
        second["number"],
    )
    assert await _status(client, first) == "invalid"


async def test_a_record_signed_by_another_key_reads_invalid(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    (certificate,) = await _issue(client, seeded, "H-1", 1)
    stranger = Ed25519PrivateKey.generate()
    header, payload, _signature = (
        await conn.fetchval("SELECT jws FROM certificates WHERE number = $1", certificate["number"])
    ).split(".")
    signature = stranger.sign(f"{header}.{payload}".encode())
    forged = f"{header}.{payload}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"
    await conn.execute("SET session_replication_role = replica")
    await conn.execute(
        "UPDATE certificates SET jws = $2 WHERE number = $1", certificate["number"], forged
    )
    assert await _status(client, certificate) == "invalid"


async def test_a_key_revoked_after_a_verification_reads_key_revoked(
    client: Client,
    seeded: Demo,
    conn: asyncpg.Connection,
    keys: MemoryKeyStore,
    clock: FixedClock,
) -> None:
    # The first verification caches the key object; its revocation must still be read fresh.
    (certificate,) = await _issue(client, seeded, "H-1", 1)
    assert await _status(client, certificate) == "valid"
    kid = await conn.fetchval(
        "SELECT kid FROM certificates WHERE number = $1", certificate["number"]
    )
    clock.now += HOUR
    await keyhistory.revoke(conn, keys, kid, revoked_from=NOW - HOUR, now=clock.now)
    assert await _status(client, certificate) == "key-revoked"


async def test_verify_certificate_refuses_what_is_no_number(
    conn: asyncpg.Connection, seeded: Demo
) -> None:
    result = await verify_certificate(conn, "'; DROP TABLE certificates; --", "ABCD-EFGH")
    assert result.status is VerificationStatus.UNKNOWN


# -- the guessing limit in the same statement ---------------------------------------------------


class _CountingConnection:
    """The connection as checked_verification sees it, counting the statements it sends."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn
        self.statements = 0

    async def fetchrow(self, query: str, *args: object) -> asyncpg.Record | None:
        self.statements += 1
        return await self._conn.fetchrow(query, *args)

    async def fetch(self, query: str, *args: object) -> list[asyncpg.Record]:
        self.statements += 1
        return await self._conn.fetch(query, *args)

    async def execute(self, query: str, *args: object) -> str:
        self.statements += 1
        return await self._conn.execute(query, *args)


async def _counts(conn: asyncpg.Connection) -> tuple[int, int]:
    access = await conn.fetchval("SELECT count(*) FROM access_events")
    failures = await conn.fetchval("SELECT coalesce(sum(failures), 0) FROM verify_failures")
    return int(access), int(failures)


async def test_one_statement_per_lookup_and_only_failures_count(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    (certificate,) = await _issue(client, seeded, "H-1", 1)
    number, code = certificate["number"], certificate["verificationCode"]
    counting = _CountingConnection(conn)
    limits = VerifyLimits(per_client=20, per_number=3)

    async def check(typed: str, client_address: str = "192.0.2.1") -> VerificationStatus:
        result = await checked_verification(
            counting,  # type: ignore[arg-type]  # duck-typed like registry.db.Connection
            number,
            typed,
            client=client_address,
            channel=Channel.VERIFY_API,
            now=NOW,
            limits=limits,
        )
        return result.status

    assert await check(code.lower()) is VerificationStatus.VALID
    assert await _counts(conn) == (1, 0)  # the access is logged, nothing counted
    assert await check("AAAA-AAAA") is VerificationStatus.UNKNOWN
    assert await check("AAAA-AAAB", "192.0.2.2") is VerificationStatus.UNKNOWN
    # Per client in the window and the day, and per number, for each failure.
    assert await _counts(conn) == (1, 6)
    assert counting.statements == 3
    assert await check(code) is VerificationStatus.VALID
    assert await check("AAAA-AAAC") is VerificationStatus.UNKNOWN
    # The number's budget is spent: a wrong code is refused, and still counted against the
    # client that sent it; the right code still answers, so guesses cannot lock it out.
    with pytest.raises(RateLimitedError) as refused:
        await check("AAAA-AAAD", "192.0.2.3")
    assert refused.value.retry_after == 15 * 60 - (NOW - window_start(NOW, limits.window)).seconds
    assert await check(code, "192.0.2.4") is VerificationStatus.VALID
    assert await _counts(conn) == (3, 12)
    assert counting.statements == 7


async def test_the_right_code_answers_whatever_others_guessed(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    (certificate,) = await _issue(client, seeded, "H-1", 1)
    number, code = certificate["number"], certificate["verificationCode"]
    limits = VerifyLimits()

    async def check(typed: str, client_address: str) -> VerificationStatus:
        result = await checked_verification(
            conn,
            number,
            typed,
            client=client_address,
            channel=Channel.VERIFY_PAGE,
            now=NOW,
            limits=limits,
        )
        return result.status

    refused = 0
    for i in range(100):  # a botnet: a hundred clients, a guess each
        try:
            assert await check(f"AAAA-{i:04d}", f"198.51.{i}.1") is VerificationStatus.UNKNOWN
        except RateLimitedError:
            refused += 1
    assert refused == 100 - limits.per_number
    key = hashlib.sha256(f"number:{number}".encode()).digest()
    assert await conn.fetchval("SELECT failures FROM verify_failures WHERE key = $1", key) == 100
    assert await check(code, "203.0.113.1") is VerificationStatus.VALID
    assert await conn.fetchval("SELECT count(*) FROM access_events") == 1


async def test_a_client_is_refused_unseen_over_its_window_or_its_day(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    (certificate,) = await _issue(client, seeded, "H-1", 1)
    number, code = certificate["number"], certificate["verificationCode"]
    limits = VerifyLimits(per_client=3, per_client_daily=5)

    async def check(typed: str, now: dt.datetime, address: str = "2001:db8:1:2::1") -> None:
        await checked_verification(
            conn, number, typed, client=address, channel=Channel.VERIFY_API, now=now, limits=limits
        )

    for i in range(3):
        # Each from another address of the same /64: one subscriber, one client.
        await check("AAAA-AAAA", NOW, f"2001:db8:1:2::{i + 10:x}")
    with pytest.raises(RateLimitedError):
        await check(code, NOW)  # even the right code: 200 against 429 would tell
    await check(code, NOW, "2001:db8:1:3::1")  # another /64 is another client
    later = NOW + limits.window
    await check("AAAA-AAAA", later)
    await check("AAAA-AAAA", later)
    with pytest.raises(RateLimitedError) as refused:  # five failures today: until midnight UTC
        await check(code, later + limits.window)
    assert refused.value.retry_after == int(
        (
            window_start(NOW, dt.timedelta(days=1)) + dt.timedelta(days=1) - later - limits.window
        ).total_seconds()
    )
    assert await conn.fetchval("SELECT count(*) FROM access_events") == 1
    await check(code, NOW + dt.timedelta(days=1))


def test_clients_are_counted_by_address_and_by_ipv6_subscriber_prefix() -> None:
    assert client_key("198.51.100.7") == "198.51.100.7"
    assert client_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd") == "2001:db8:1:2::/64"
    assert client_key("::ffff:198.51.100.7") == "198.51.100.7"
    assert client_key("testclient") == "testclient"


async def test_a_failure_forgets_earlier_windows(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    limits = VerifyLimits()

    async def fail(now: dt.datetime) -> None:
        await checked_verification(
            conn,
            "2026-9999999",
            "AAAA-AAAA",
            client="c",
            channel=Channel.VERIFY_API,
            now=now,
            limits=limits,
        )

    await fail(NOW)
    await fail(NOW + limits.window)
    # The day's counter still needs this day's windows; the next day forgets them.
    assert await conn.fetchval("SELECT count(DISTINCT window_start) FROM verify_failures") == 3
    await fail(NOW + dt.timedelta(days=1))
    windows = await conn.fetch("SELECT DISTINCT window_start FROM verify_failures")
    assert len(windows) == 2  # the new window and the new day
    key = hashlib.sha256(b"ip-day:c").digest()
    failures = await conn.fetchval("SELECT failures FROM verify_failures WHERE key = $1", key)
    assert failures == 1
