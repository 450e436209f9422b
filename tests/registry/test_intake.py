"""How certificates enter the register: rows, delivery jobs through the outbox, and log leaves
last, in one transaction; ``NoDelivery`` registers without queuing anything."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import msgspec
import pytest

from issuers.certifying import Certifier
from issuers.delivery.outbox import PostgresOutbox
from issuers.idempotency import IdempotentRequest
from issuers.issuing import Issuer
from issuers.requests import TeamResultsIn
from registry import db
from registry.intake import NoDelivery, Outbox, StatusChange, enter_status_changes
from registry.keys import MemoryKeyStore
from service import demo
from tests.conftest import NOW, FixedClock
from tests.helpers import team_body


@pytest.fixture
async def pool(database_url: str, schema: str) -> AsyncIterator[asyncpg.Pool]:
    made = await db.create_pool(database_url, schema=schema, size=2)
    try:
        yield made
    finally:
        await made.close()


async def _issue(pool: asyncpg.Pool, keys: MemoryKeyStore, outbox: Outbox, key: str) -> None:
    certifier = Certifier(keys, verify_base_url="http://x/tjek", outbox=outbox)
    issuer = Issuer(pool, certifier, FixedClock())
    raw = msgspec.json.encode(team_body(reference=key))
    write = IdempotentRequest("751234", key, raw, "POST", "/teams", "/teams")
    await issuer.issue_team(write, msgspec.json.decode(raw, type=TeamResultsIn))


async def test_no_delivery_registers_and_logs_but_queues_nothing(
    conn: asyncpg.Connection, pool: asyncpg.Pool, keys: MemoryKeyStore
) -> None:
    await demo.seed_demo(conn, keys, now=NOW)
    leaves = await conn.fetchval("SELECT count(*) FROM log_leaves")
    await _issue(pool, keys, NoDelivery(), "quiet")
    assert await conn.fetchval("SELECT count(*) FROM certificates") == 1
    assert await conn.fetchval("SELECT count(*) FROM log_leaves") == leaves + 1
    assert await conn.fetchval("SELECT count(*) FROM delivery_jobs") == 0
    await _issue(pool, keys, PostgresOutbox(max_failures=3), "sent")
    assert await conn.fetchval("SELECT count(*) FROM delivery_jobs") == 1


async def test_a_status_change_is_recorded_and_logged_after_its_certificate(
    conn: asyncpg.Connection, pool: asyncpg.Pool, keys: MemoryKeyStore
) -> None:
    await demo.seed_demo(conn, keys, now=NOW)
    await _issue(pool, keys, NoDelivery(), "revoked")
    number = await conn.fetchval("SELECT number FROM certificates")
    async with conn.transaction():
        (event_id,) = await enter_status_changes(
            conn, [StatusChange(number, "revoked", "fraud", at=NOW)]
        )
    logged = await conn.fetch(
        "SELECT event_id FROM log_leaves WHERE certificate_number = $1 ORDER BY idx", number
    )
    assert [r["event_id"] for r in logged][-1] == event_id
    assert len(logged) == 2
