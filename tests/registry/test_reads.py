"""Reads go to a real streaming replica while it keeps up, to the primary while it lags, and to
the primary again for what the replica does not have yet (tests/replica.py's replica)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from registry import db
from registry.reads import Reads
from registry.replica_store import primary_position, replica_state
from tests.conftest import DatabaseRoles
from tests.replica import Replica


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def pools(
    conn: asyncpg.Connection,
    database_roles: DatabaseRoles,
    migrated: str,
    streaming_replica: Replica,
) -> AsyncIterator[tuple[asyncpg.Pool, asyncpg.Pool]]:
    """The service role's pools on the primary and on the replica, in the test's schema, with a
    table ``probe`` it may read."""
    await conn.execute("CREATE TABLE probe (n int)")
    await conn.execute(f"GRANT SELECT ON probe TO {database_roles.service}")
    await streaming_replica.wait_caught_up()  # the schema and the table are there too
    primary = await db.create_pool(database_roles.service_url, schema=migrated, size=2)
    replica_url = streaming_replica.url_for(database_roles.service_url)
    replica = await db.create_pool(replica_url, schema=migrated, size=2)
    try:
        yield primary, replica
    finally:
        await replica.close()
        await primary.close()


async def _on_replica(c: db.Connection) -> bool:
    return bool(await c.fetchval("SELECT pg_is_in_recovery()"))


async def test_the_fixture_streams_and_pauses(
    streaming_replica: Replica, conn: asyncpg.Connection, migrated: str
) -> None:
    replica = await asyncpg.connect(
        streaming_replica.url, server_settings={"search_path": migrated}
    )
    try:
        assert await replica.fetchval("SELECT pg_is_in_recovery()")
        await conn.execute("CREATE TABLE seen (n int)")
        await streaming_replica.wait_caught_up()
        async with streaming_replica.paused():
            await conn.execute("INSERT INTO seen VALUES (1)")
            assert not await streaming_replica.caught_up()
            assert await replica.fetchval("SELECT count(*) FROM seen") == 0
        assert await streaming_replica.caught_up()
        assert await replica.fetchval("SELECT count(*) FROM seen") == 1
    finally:
        await replica.close()


async def test_a_fresh_replica_serves_the_reads(
    pools: tuple[asyncpg.Pool, asyncpg.Pool],
) -> None:
    primary, replica = pools
    reads = Reads(primary, replica, max_lag_seconds=2.0)
    assert await reads.pool() is replica
    assert await reads.read(_on_replica) is True
    async with primary.acquire() as c:
        state = await replica_state(c, await primary_position(c))
    assert state.reached is False  # the primary is no replica: it has replayed nothing
    assert state.behind_seconds is None


async def test_without_a_replica_every_read_is_the_primarys(
    pools: tuple[asyncpg.Pool, asyncpg.Pool],
) -> None:
    primary, _replica = pools
    reads = Reads(primary)
    assert await reads.pool() is primary
    assert await reads.read(_on_replica) is False


async def test_a_lagging_replica_sends_reads_to_the_primary_checked_once_a_second(
    pools: tuple[asyncpg.Pool, asyncpg.Pool],
    streaming_replica: Replica,
    conn: asyncpg.Connection,
) -> None:
    primary, replica = pools
    ticks = Ticks()
    reads = Reads(primary, replica, max_lag_seconds=0.2, recheck_seconds=1.0, monotonic=ticks)
    await conn.execute("INSERT INTO probe VALUES (0)")  # a recent transaction to replay
    await streaming_replica.wait_caught_up()
    assert await reads.pool() is replica
    async with streaming_replica.paused():
        await conn.execute("INSERT INTO probe VALUES (1)")
        async with replica.acquire() as c:
            await c.execute("SELECT pg_sleep(0.3)")  # longer than the allowed lag
        ticks.now += 0.5
        assert await reads.pool() is replica  # not checked again within the second
        ticks.now += 0.5
        assert await reads.pool() is primary
        assert await reads.read(_on_replica) is False
        async with primary.acquire() as c:
            position = await primary_position(c)
        async with replica.acquire() as c:
            state = await replica_state(c, position)
        assert state.reached is False
        assert state.behind_seconds is not None
        assert state.behind_seconds > 0.2
    ticks.now += 1.0
    assert await reads.pool() is replica  # caught up again


async def test_what_the_replica_has_not_replayed_is_read_on_the_primary(
    pools: tuple[asyncpg.Pool, asyncpg.Pool],
    streaming_replica: Replica,
    conn: asyncpg.Connection,
) -> None:
    primary, replica = pools
    reads = Reads(primary, replica, max_lag_seconds=60.0)
    await reads.pool()

    async def probe(c: db.Connection) -> tuple[int | None, bool]:
        return await c.fetchval("SELECT max(n) FROM probe WHERE n = 7"), await _on_replica(c)

    class MissingError(Exception):
        pass

    async def probe_or_raise(c: db.Connection) -> bool:
        if await c.fetchval("SELECT max(n) FROM probe WHERE n = 7") is None:
            raise MissingError
        return await _on_replica(c)

    async with streaming_replica.paused():
        await conn.execute("INSERT INTO probe VALUES (7)")
        assert await reads.pool() is replica  # still within the allowed lag
        assert await reads.read(probe) == (None, True)  # the replica has no 7 yet
        assert await reads.read(probe, missing=lambda found: found[0] is None) == (7, False)
        assert await reads.read(probe_or_raise, missing_errors=(MissingError,)) is False
    assert await reads.read(probe, missing=lambda found: found[0] is None) == (7, True)
    assert await reads.read(probe_or_raise, missing_errors=(MissingError,)) is True


async def test_a_replica_that_fails_a_read_counts_as_stale(
    pools: tuple[asyncpg.Pool, asyncpg.Pool],
) -> None:
    primary, replica = pools
    ticks = Ticks()
    reads = Reads(primary, replica, monotonic=ticks)
    assert await reads.pool() is replica
    await replica.close()  # gone: every read on it fails
    assert await reads.read(_on_replica) is False
    assert await reads.pool() is primary  # until the next check
    ticks.now += 1.0
    assert await reads.pool() is primary  # the check fails too
