"""The database goes away under a running service: honest 503s with Retry-After, recovery
without a restart of the app, and `amu-bevis serve` bringing its embedded PostgreSQL back.

Each test runs a PostgreSQL of its own under its tmp dir: stopping the shared test server
would break every other test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import psutil
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from registry.keys import MemoryKeyStore
from service import migrations, roles
from service.app import create_app
from service.embedded import EmbeddedSupervisor, start_embedded
from service.settings import Settings
from tests.processes import free_port

PROBLEM = "application/problem+json"


def _postmaster_pid(pgdata: Path) -> int:
    return int((pgdata / "postmaster.pid").read_text().splitlines()[0])


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[tuple[str, EmbeddedSupervisor]]:
    """An embedded server of the test's own, and a supervisor (not started) to restart it."""
    uri = start_embedded(tmp_path, stop_at_exit=False)
    supervisor = EmbeddedSupervisor(tmp_path)
    try:
        yield uri, supervisor
    finally:
        _stop(supervisor)


def _stop(supervisor: EmbeddedSupervisor) -> None:
    pid = supervisor.pid()
    if pid is not None and psutil.pid_exists(pid):
        process = psutil.Process(pid)
        process.send_signal(signal.SIGINT)  # fast shutdown: ends the sessions at once
        process.wait(timeout=30)


@pytest.fixture
async def own_client(
    own_server: tuple[str, EmbeddedSupervisor], tmp_path: Path
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    # As demo mode sets it up: migrated by the owner role, served as the service role.
    owner_url, service_url = await roles.embedded_roles(own_server[0])
    owner = await asyncpg.connect(owner_url)
    try:
        await migrations.apply(owner, service_role=roles.EMBEDDED_SERVICE)
    finally:
        await owner.close()
    settings = Settings(
        database_url=service_url,
        database_pool_size=2,
        data_dir=tmp_path,
        key_store="memory",
        public_base_url="http://testserver.local",
    )
    app = create_app(settings, keys=MemoryKeyStore())
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        yield client


async def test_a_stopped_database_is_503_with_retry_after_and_then_recovers(
    own_server: tuple[str, EmbeddedSupervisor], own_client: AsyncTestClient[Litestar]
) -> None:
    _, supervisor = own_server
    assert (await own_client.get("/api/log/keys")).status_code == 200

    _stop(supervisor)
    for path in ("/api/log/keys", "/api/keys", "/api/log/checkpoint"):
        response = await own_client.get(path)
        assert response.status_code == 503, response.text
        assert response.headers["content-type"] == PROBLEM
        assert response.headers["retry-after"] == "5"
        body = response.json()
        assert body["type"].endswith("/database-unavailable")
        assert body["status"] == 503
    # A school's credential is checked against the database too: 503, not 401 or 500.
    guarded = await own_client.get(
        "/api/schools/751234/overdue", headers={"Authorization": "Bearer amu_x_y"}
    )
    assert guarded.status_code == 503

    assert supervisor.check()  # starts it again
    # The same app and pool: the pool replaces its dead connections on the next acquire.
    recovered = await own_client.get("/api/log/keys")
    assert recovered.status_code == 200, recovered.text
    assert recovered.json()[0]["kid"]


def test_the_supervisor_restarts_a_killed_postmaster(
    own_server: tuple[str, EmbeddedSupervisor], tmp_path: Path
) -> None:
    supervisor = own_server[1]
    assert supervisor.alive()
    assert not supervisor.check()
    before = _postmaster_pid(tmp_path / "pg")
    os.kill(before, signal.SIGKILL)
    if psutil.pid_exists(before):
        psutil.Process(before).wait(timeout=10)
    assert not supervisor.alive()
    deadline = time.monotonic() + 60
    while True:  # the killed postmaster's backends may hold its shared memory a moment
        try:
            assert supervisor.check()
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
    assert supervisor.alive()
    assert _postmaster_pid(tmp_path / "pg") != before


def test_serve_brings_its_embedded_database_back_after_a_kill(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env |= {
        "AMU_DATA_DIR": str(tmp_path / "data"),
        "AMU_PORT": str(port),
        # Demo mode is the only one that runs an embedded PostgreSQL; no delivery is needed.
        "AMU_SERVE_WORKER": "0",
        "AMU_SERVE_TEST_SERVER": "0",
    }
    base = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve", "--demo"],
            env=env,
            stdout=out,
            stderr=out,
        )
    try:
        assert _wait_for(f"{base}/api/log/keys", 200, seconds=120), log.read_text()
        pgdata = tmp_path / "data" / "pg"
        before = _postmaster_pid(pgdata)
        os.kill(before, signal.SIGKILL)
        assert _wait_for(f"{base}/api/log/keys", 503, seconds=30), log.read_text()
        assert _wait_for(f"{base}/api/log/keys", 200, seconds=90), log.read_text()
        assert _postmaster_pid(pgdata) != before
        assert "starting it again" in log.read_text()
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    # serve stopped the restarted server on its way out, as it does the first one.
    assert not (tmp_path / "data" / "pg" / "postmaster.pid").exists()


def _wait_for(url: str, status: int, *, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == status:
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    return False
