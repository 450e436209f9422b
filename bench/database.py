"""The bench's own database: never the demo's .data/pg nor the tests' .data/test.

``DATABASE_URL`` if set (each scenario in its own ``bench_*`` schema), otherwise the embedded
PostgreSQL under ``.data/bench/pg``, started for the run and stopped at its end.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import asyncpg
import psutil

from bench.measure import ROOT
from registry import db
from registry.keys import FileKeyStore
from service import demo, migrations
from service.embedded import start_embedded

BENCH_DIR = ROOT / ".data" / "bench"
NOW = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)


@dataclass(frozen=True)
class BenchDatabase:
    dsn: str
    embedded: bool
    data_dir: Path  # keys for the servers live under data_dir/keys

    def keys(self) -> FileKeyStore:
        return FileKeyStore(self.data_dir / "keys")


_held: list[IO[bytes]] = []


def _lock() -> None:
    """One bench run at a time: a second would drop the first one's schemas and keys."""
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    handle = (BENCH_DIR / "lock").open("wb")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise SystemExit("another bench run holds .data/bench/lock") from None
    _held.append(handle)


def open_database() -> BenchDatabase:
    """The database and a fresh data folder for this run's keys."""
    _lock()
    data_dir = BENCH_DIR / "run"
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    url = os.environ.get("DATABASE_URL")
    if url:
        return BenchDatabase(url, embedded=False, data_dir=data_dir)
    return BenchDatabase(start_embedded(BENCH_DIR), embedded=True, data_dir=data_dir)


async def postmaster_pid(dsn: str) -> int | None:
    """The PostgreSQL server's main process, when it runs on this machine (for its memory)."""
    conn = await asyncpg.connect(dsn)
    try:
        backend = int(await conn.fetchval("SELECT pg_backend_pid()"))
        os.environ["BENCH_PG_VERSION"] = str(await conn.fetchval("SELECT version()"))
        try:  # while connected: the backend exits when the connection closes
            return int(psutil.Process(backend).ppid())
        except psutil.Error:
            return None
    finally:
        await conn.close()


async def fresh_schema(
    bench: BenchDatabase, schema: str
) -> tuple[asyncpg.Connection, dict[str, str]]:
    """Drop and re-create ``schema``, migrate it, seed the demo; return a connection into it
    and the demo schools' API tokens by school id."""
    admin = await asyncpg.connect(bench.dsn)
    try:
        await admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await admin.execute(f"CREATE SCHEMA {schema}")
    finally:
        await admin.close()
    conn = await asyncpg.connect(bench.dsn, server_settings=db.schema_settings(schema))
    await migrations.apply(conn)
    made = await demo.seed_demo(conn, bench.keys(), now=NOW)
    return conn, {c.school_id: c.token for c in made}


async def drop_schema(bench: BenchDatabase, schema: str) -> None:
    admin = await asyncpg.connect(bench.dsn)
    try:
        await admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    finally:
        await admin.close()
