"""Shared fixtures: a real PostgreSQL for every test that touches storage.

By default the embedded server (pgserver) under .data/test-pg; with DATABASE_URL set, that
server instead. Each test gets a fresh schema, migrated from empty and dropped afterwards,
so tests never see each other's rows. As in production, the schema belongs to an owner role
that migrates it, and the app connects as a service role with only grants.sql's rights; the
``conn`` fixture and ``database_url`` stay the superuser, to set up and inspect anything.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import secrets
from collections.abc import AsyncIterator, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import hypothesis
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from registry.keys import MemoryKeyStore
from service import demo, migrations, roles
from service.app import create_app
from service.embedded import start_embedded
from service.settings import Settings
from tests.externals import ALLOW_UNCHECKED, unchecked_allowed
from tests.replica import Replica, start_replica

# The machine is shared and noisy: no per-example deadlines. In CI, the same examples every run
# (a property failure found locally becomes a regression example, not a flaky CI run).
hypothesis.settings.register_profile("dev", deadline=None)
hypothesis.settings.register_profile("ci", deadline=None, derandomize=True)
hypothesis.settings.load_profile("ci" if os.environ.get("CI") else "dev")

ROOT = Path(__file__).resolve().parent.parent
NOW = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)


class FixedClock:
    """A clock that says what the test tells it."""

    def __init__(self, now: dt.datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture(scope="session")
def database_url() -> str:
    """A superuser's URL."""
    url = os.environ.get("DATABASE_URL")
    return url or start_embedded(ROOT / ".data" / "test")


@dataclass(frozen=True)
class DatabaseRoles:
    """This run's owner and service roles and their URLs."""

    owner: str
    service: str
    owner_url: str
    service_url: str


async def _make_roles(database_url: str, made: DatabaseRoles, password: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await roles.ensure_role(conn, made.owner, password=password)
        await roles.ensure_role(conn, made.service, password=password)
    finally:
        await conn.close()


async def _drop_roles(database_url: str, made: DatabaseRoles) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(f"DROP OWNED BY {made.owner}, {made.service} CASCADE")
        await conn.execute(f"DROP ROLE {made.owner}, {made.service}")
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def database_roles(database_url: str) -> Iterator[DatabaseRoles]:
    """An owner and a service role for this run. Roles belong to the whole server, which other
    runs share (.ci/run): the names carry this run's suffix, and are dropped at the end."""
    suffix = secrets.token_hex(4)
    password = secrets.token_urlsafe(16)
    owner, service = f"amu_test_owner_{suffix}", f"amu_test_service_{suffix}"
    made = DatabaseRoles(
        owner=owner,
        service=service,
        owner_url=roles.url_as(database_url, owner, password=password),
        service_url=roles.url_as(database_url, service, password=password),
    )
    asyncio.run(_make_roles(database_url, made, password))
    try:
        yield made
    finally:
        asyncio.run(_drop_roles(database_url, made))


@pytest.fixture
async def schema(database_url: str, database_roles: DatabaseRoles) -> AsyncIterator[str]:
    """A fresh schema that the owner role owns (its migrations create the tables)."""
    name = f"t_{secrets.token_hex(6)}"
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(f"CREATE SCHEMA {name} AUTHORIZATION {database_roles.owner}")
        yield name
    finally:
        await conn.execute(f"DROP SCHEMA {name} CASCADE")
        await conn.close()


@pytest.fixture
async def migrated(database_roles: DatabaseRoles, schema: str) -> str:
    """The test's schema, migrated by the owner role with grants to the service role."""
    owner = await asyncpg.connect(database_roles.owner_url, server_settings={"search_path": schema})
    try:
        await migrations.apply(owner, service_role=database_roles.service)
    finally:
        await owner.close()
    return schema


@pytest.fixture
async def conn(database_url: str, migrated: str) -> AsyncIterator[asyncpg.Connection]:
    """A superuser's connection into the test's schema, migrated."""
    connection = await asyncpg.connect(database_url, server_settings={"search_path": migrated})
    try:
        yield connection
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def streaming_replica(database_url: str) -> Iterator[Replica]:
    """A real streaming replica of the test database server (tests/replica.py): started once
    per run with ``pg_basebackup -R`` on 127.0.0.1 and a free port, streaming when handed over;
    ``url_for(database_roles.service_url)`` reaches the same role and database on it, and
    ``caught_up()``, ``wait_caught_up()`` and ``paused()`` serve lag tests (a test that pauses
    replay resumes it). Stopped by its PID at the end.

    !!! ON A SERVER WHOSE pg_hba.conf ADMITS NO REPLICATION CONNECTION (the machine's server at
    127.0.0.1:5432 has only ``all`` lines) THIS FIXTURE EDITS THAT SERVER'S LIVE pg_hba.conf: it
    adds ``host replication <superuser> 127.0.0.1/32 trust`` (marked with a token) and runs
    ``pg_reload_conf()``, and at teardown removes the line and reloads again. A run killed hard
    in between leaves the marked line behind (``amu-bevis-test-replica-…``); delete it by hand.
    """
    replica = start_replica(database_url)
    try:
        yield replica
    finally:
        replica.stop()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def keys() -> MemoryKeyStore:
    return MemoryKeyStore()


@pytest.fixture
def settings(database_roles: DatabaseRoles, migrated: str, tmp_path: Path) -> Settings:
    """The app's settings: it connects as the service role, so every test through the app shows
    that grants.sql gives the service enough."""
    return Settings(
        database_url=database_roles.service_url,
        migration_database_url=database_roles.owner_url,
        database_schema=migrated,
        database_pool_size=4,
        data_dir=tmp_path,
        key_store="memory",
        public_base_url="http://testserver.local",
    )


@pytest.fixture
def app(settings: Settings, keys: MemoryKeyStore, clock: FixedClock) -> Litestar:
    return create_app(settings, keys=keys, clock=clock)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as test_client:
        yield test_client


@dataclass(frozen=True)
class Demo:
    """The demo schools' API tokens: ``public`` (751234) and ``private`` (863410)."""

    public: str
    private: str

    def school(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def seeded(
    client: AsyncTestClient[Litestar], conn: asyncpg.Connection, keys: MemoryKeyStore
) -> Demo:
    """The demo seeded into the test's schema (after the app has migrated it)."""
    made = {c.school_id: c.token for c in await demo.seed_demo(conn, keys, now=NOW)}
    return Demo(public=made["751234"], private=made["863410"])


@pytest.fixture
def cli_env(
    database_roles: DatabaseRoles, schema: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The environment `amu-bevis` reads, pointed at the test's schema with the owner and the
    service role; returns its data dir."""
    monkeypatch.setenv("DATABASE_URL", database_roles.service_url)
    monkeypatch.setenv("AMU_MIGRATION_DATABASE_URL", database_roles.owner_url)
    monkeypatch.setenv("AMU_DATABASE_SCHEMA", schema)
    monkeypatch.setenv("AMU_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AMU_KEY_STORE", "file")
    return tmp_path


# -- a green run means every check ran -------------------------------------------------------
# A test that skips (a missing outside tool, ../shared absent, an import that failed) fails the
# run instead, unless AMU_ALLOW_UNCHECKED=1 says out loud that unchecked tests are acceptable.


def _refuse_skip(report: pytest.TestReport | pytest.CollectReport) -> None:
    if not report.skipped or hasattr(report, "wasxfail") or unchecked_allowed():
        return
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    report.outcome = "failed"
    report.longrepr = f"skipped ({reason}); a run without {ALLOW_UNCHECKED}=1 may not skip"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    _refuse_skip(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    report = yield
    _refuse_skip(report)
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if unchecked_allowed():
        skipped = len(terminalreporter.stats.get("skipped", []))
        terminalreporter.write_sep(
            "!", f"{ALLOW_UNCHECKED}=1: {skipped} tests were NOT CHECKED", red=True, bold=True
        )
