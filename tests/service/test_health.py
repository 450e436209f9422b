"""/health/live and /health/ready: ready only when every check passes, and a not-ready answer
names each failing check; the delivery worker's heartbeat that readiness looks for."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import os
import socket
import uuid
from pathlib import Path
from typing import Any

import asyncpg
from litestar.testing import AsyncTestClient

from issuers.delivery import worker_store
from issuers.delivery.digitalpost import MemoryDigitalPost
from issuers.delivery.eboks import MemoryEboks
from issuers.delivery.spool import FolderPrintSpool
from issuers.delivery.worker import Channels, Worker
from issuers.delivery.worker_store import WorkerIdentity
from registry import db
from registry.keys import MemoryKeyStore
from service import demo
from service.api.health import NOT_READY
from service.app import create_app
from service.readiness import ServiceReadiness
from service.settings import Settings, WatchSettings
from tests.conftest import NOW, Demo, FixedClock
from tests.helpers import Client
from tests.service.digitalpost.support import UnsignedPdfDocuments, fast_policy

PROBLEM = "application/problem+json"


def _identity(started: dt.datetime = NOW) -> WorkerIdentity:
    return WorkerIdentity(uuid.uuid4(), socket.gethostname(), os.getpid(), started)


async def _worker_seen(conn: asyncpg.Connection, at: dt.datetime) -> None:
    await worker_store.beat(conn, _identity(at - dt.timedelta(minutes=5)), now=at)


async def _ready(client: Client) -> tuple[int, dict[str, Any]]:
    answer = await client.get("/health/ready")
    body: dict[str, Any] = answer.json()
    if answer.status_code == 503:
        assert answer.headers["content-type"] == PROBLEM
        assert body["type"] == NOT_READY
        assert body["status"] == 503
        assert answer.headers["retry-after"] == "5"
    return answer.status_code, body


async def test_live_answers_without_looking_at_anything(client: Client) -> None:
    answer = await client.get("/health/live")
    assert answer.status_code == 200
    assert answer.json() == {"status": "live"}


async def test_ready_when_every_check_passes(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    await _worker_seen(conn, NOW - dt.timedelta(seconds=30))
    status, body = await _ready(client)
    assert status == 200, body
    assert body["status"] == "ready"
    assert [(c["name"], c["ok"]) for c in body["checks"]] == [
        ("database", True),
        ("migrations", True),
        ("signing-keys", True),
        ("log-key", True),
        ("delivery-worker", True),
    ]
    assert body["checks"][2]["detail"] == "2 active school keys"


async def test_not_ready_without_a_delivery_worker(client: Client, seeded: Demo) -> None:
    status, body = await _ready(client)
    assert status == 503
    assert body["failing-checks"] == ["delivery-worker"]
    assert body["title"]


async def test_a_worker_not_seen_for_longer_than_the_setting_is_stale(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    await _worker_seen(conn, NOW - dt.timedelta(seconds=121))  # the default allows 120
    status, body = await _ready(client)
    assert (status, body["failing-checks"]) == (503, ["delivery-worker"])
    assert "121 s" in body["checks"][-1]["detail"]
    await _worker_seen(conn, NOW - dt.timedelta(seconds=119))
    assert (await _ready(client))[0] == 200


async def test_the_worker_check_can_be_turned_off(
    settings: Settings, keys: MemoryKeyStore, clock: FixedClock, conn: asyncpg.Connection
) -> None:
    await demo.seed_demo(conn, keys, now=NOW)
    off = dataclasses.replace(settings, watch=WatchSettings(health_worker_seconds=0))
    async with AsyncTestClient(create_app(off, keys=keys, clock=clock)) as client:
        status, body = await _ready(client)
    assert status == 200, body
    assert body["checks"][-1] == {"name": "delivery-worker", "ok": True, "detail": "not checked"}


async def test_not_ready_when_migrations_are_behind(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    await _worker_seen(conn, NOW)
    # The app started on a current schema; a newer release's migration is then missing.
    await conn.execute(
        "DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations)"
    )
    status, body = await _ready(client)
    assert (status, body["failing-checks"]) == (503, ["migrations"])


async def test_not_ready_when_the_key_store_lacks_the_private_keys(
    settings: Settings, clock: FixedClock, conn: asyncpg.Connection
) -> None:
    # The database was seeded with keys kept elsewhere: this process cannot sign.
    elsewhere = MemoryKeyStore()
    await demo.seed_demo(conn, elsewhere, now=NOW)
    await _worker_seen(conn, NOW)
    async with AsyncTestClient(create_app(settings, keys=MemoryKeyStore(), clock=clock)) as client:
        status, body = await _ready(client)
    assert status == 503
    assert body["failing-checks"] == ["signing-keys"]
    assert body["checks"][2]["detail"] == "2 of 2 active school keys have no private key"


async def test_not_ready_when_the_log_key_is_missing(
    client: Client, seeded: Demo, conn: asyncpg.Connection, keys: MemoryKeyStore
) -> None:
    await _worker_seen(conn, NOW)
    # The log's checkpoint key was made at start; its private half is lost.
    kid = await conn.fetchval("SELECT kid FROM log_keys WHERE retired_at IS NULL")
    del keys._keys[kid]
    status, body = await _ready(client)
    assert (status, body["failing-checks"]) == (503, ["log-key"])


async def test_not_ready_when_the_database_cannot_be_reached(
    keys: MemoryKeyStore, clock: FixedClock
) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    pool = await asyncpg.create_pool(f"postgresql://nobody@127.0.0.1:{port}/none", min_size=0)
    try:
        readiness = ServiceReadiness(pool, keys, clock, worker_within=dt.timedelta(seconds=120))
        checks = await readiness.checks()
    finally:
        await pool.close()
    assert [(c.name, c.ok) for c in checks] == [("database", False)]


async def test_both_are_in_the_openapi_document_with_their_answers(client: Client) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    assert "200" in paths["/health/live"]["get"]["responses"]
    ready = paths["/health/ready"]["get"]["responses"]
    assert "200" in ready
    not_ready = ready["503"]["content"][PROBLEM]["schema"]
    assert not_ready  # a reference to the NotReadyProblem schema
    components = (await client.get("/schema/openapi.json")).json()["components"]["schemas"]
    (problem,) = [s for name, s in components.items() if name.endswith("NotReadyProblem")]
    assert {"type", "title", "status", "failing-checks"} <= set(problem["properties"])


async def test_a_running_worker_keeps_a_heartbeat_and_removes_it_when_it_stops(
    settings: Settings, conn: asyncpg.Connection, tmp_path: Path
) -> None:
    assert settings.database_url is not None
    pool = await db.create_pool(settings.database_url, schema=settings.database_schema, size=3)
    channels = Channels(MemoryDigitalPost(), MemoryEboks(), FolderPrintSpool(tmp_path / "spool"))
    ticks = iter(NOW + dt.timedelta(milliseconds=10 * i) for i in range(1_000_000))
    worker = Worker(
        pool,
        channels,
        UnsignedPdfDocuments(memo_schema=None),
        fast_policy(),
        lambda: next(ticks),
        name="heartbeat-test",
    )
    # A worker that died a day and more ago: the next one to start clears its row.
    await worker_store.beat(
        conn, _identity(NOW - dt.timedelta(days=2)), now=NOW - dt.timedelta(days=2)
    )
    me = _identity()
    stop = asyncio.Event()
    try:
        running = asyncio.create_task(worker.run(stop, concurrency=2, heartbeat=me))
        seen: list[dt.datetime] = []
        for _ in range(200):
            await asyncio.sleep(0.02)
            row = await conn.fetchrow(
                "SELECT * FROM delivery_workers WHERE worker_id = $1", me.worker_id
            )
            if row is not None and (not seen or row["last_seen"] > seen[-1]):
                seen.append(row["last_seen"])
            if len(seen) >= 3:
                break
        assert len(seen) >= 3, seen  # touched again and again while it polls
        assert await conn.fetchval("SELECT count(*) FROM delivery_workers") == 1  # stale gone
        mine = await conn.fetchrow("SELECT host, pid FROM delivery_workers")
        assert mine is not None
        assert (mine["host"], mine["pid"]) == (me.host, me.pid)
        stop.set()
        await asyncio.wait_for(running, 10)
    finally:
        stop.set()
        await pool.close()
    assert await worker_store.last_seen(conn) is None  # a clean stop forgets it
