"""The pages' session store in PostgreSQL, as the service role: set, get, renew, expire, delete,
and the purge of expired rows, all against the test clock."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import AsyncIterator

import asyncpg
import pytest

from registry import db
from service.session_store import PostgresSessionStore
from tests.conftest import DatabaseRoles, FixedClock


@pytest.fixture
async def pool(database_roles: DatabaseRoles, migrated: str) -> AsyncIterator[asyncpg.Pool]:
    made = await db.create_pool(database_roles.service_url, schema=migrated, size=2)
    try:
        yield made
    finally:
        await made.close()


@pytest.fixture
def store(pool: asyncpg.Pool, clock: FixedClock) -> PostgresSessionStore:
    return PostgresSessionStore(pool, clock)


async def test_set_get_and_replace(store: PostgresSessionStore) -> None:
    assert await store.get("a") is None
    await store.set("a", b"one", expires_in=60)
    assert await store.get("a") == b"one"
    await store.set("a", "two", expires_in=60)
    assert await store.get("a") == b"two"
    assert await store.exists("a")
    assert not await store.exists("b")


async def test_a_value_expires_by_the_apps_clock(
    store: PostgresSessionStore, clock: FixedClock
) -> None:
    await store.set("a", b"v", expires_in=dt.timedelta(minutes=30))
    assert await store.expires_in("a") == 1800
    clock.now += dt.timedelta(minutes=29)
    assert await store.get("a") == b"v"
    clock.now += dt.timedelta(minutes=1)
    assert await store.get("a") is None
    assert await store.expires_in("a") is None
    assert not await store.exists("a")


async def test_renewing_on_access_is_an_idle_timeout(
    store: PostgresSessionStore, clock: FixedClock
) -> None:
    await store.set("a", b"v", expires_in=1800)
    for _ in range(4):  # used every 20 minutes: alive long past the first 30
        clock.now += dt.timedelta(minutes=20)
        assert await store.get("a", renew_for=1800) == b"v"
    clock.now += dt.timedelta(minutes=31)
    assert await store.get("a", renew_for=1800) is None


async def test_a_value_without_expiry_stays(store: PostgresSessionStore, clock: FixedClock) -> None:
    await store.set("a", b"v")
    clock.now += dt.timedelta(days=365)
    assert await store.get("a", renew_for=60) == b"v"
    assert await store.expires_in("a") is None
    assert await store.exists("a")


async def test_delete_and_delete_all(store: PostgresSessionStore) -> None:
    await store.set("a", b"1", expires_in=60)
    await store.set("b", b"2", expires_in=60)
    await store.delete("a")
    await store.delete("never-there")
    assert await store.get("a") is None
    assert await store.get("b") == b"2"
    await store.delete_all()
    assert await store.get("b") is None


async def test_expired_rows_are_purged(
    store: PostgresSessionStore, clock: FixedClock, pool: asyncpg.Pool
) -> None:
    await store.set("old", b"1", expires_in=60)
    await store.set("new", b"2", expires_in=3600)
    await store.set("forever", b"3")
    clock.now += dt.timedelta(minutes=2)
    assert await store.delete_expired() == 1
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM sessions") == 2


async def test_the_table_holds_no_session_id(
    store: PostgresSessionStore, pool: asyncpg.Pool
) -> None:
    """Rows are keyed by the id's SHA-256: reading the table gives no usable cookie."""
    await store.set("the-secret-id", b"v", expires_in=60)
    async with pool.acquire() as conn:
        key = await conn.fetchval("SELECT key_sha256 FROM sessions")
    assert bytes(key) == hashlib.sha256(b"the-secret-id").digest()
