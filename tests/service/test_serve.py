"""The served product end to end: `amu-bevis serve` in a subprocess, driven over real HTTP the
way the README's curl session does, with every line it logs captured and searched for CPR
numbers."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import psutil
import pytest

from service.settings import Settings, hand_down_to_workers
from tests.conftest import DatabaseRoles
from tests.helpers import ASE, BO, demo_credentials, team_body
from tests.processes import free_port
from tests.service.pages.helpers import CSRF_FIELD, csrf_of

CPR_SHAPED = re.compile(r"(?<!\d)\d{6}-?\d{4}(?!\d)")


@pytest.fixture
def served(
    database_roles: DatabaseRoles, schema: str, tmp_path: Path
) -> Iterator[tuple[str, Path]]:
    """`serve --demo` migrating as the owner role and serving as the service role."""
    port = free_port()
    log = tmp_path / "serve.log"
    env = {
        **os.environ,
        "DATABASE_URL": database_roles.service_url,
        "AMU_MIGRATION_DATABASE_URL": database_roles.owner_url,
        "AMU_DATABASE_SCHEMA": schema,
        "AMU_DATA_DIR": str(tmp_path / "data"),
        "AMU_PORT": str(port),
        "AMU_DEBUG": "1",  # the most verbose logging there is
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve", "--demo"],
            env=env,
            stdout=out,
            stderr=out,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(f"{base}/api/keys", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail(f"serve did not come up:\n{log.read_text()}")
        yield base, log
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)


def test_a_full_run_never_logs_a_cpr_number(served: tuple[str, Path]) -> None:
    base, log = served
    token = demo_credentials(log.parent / "data")["751234"]
    assert token not in log.read_text()
    school = {"Authorization": f"Bearer {token}", "Idempotency-Key": "readme-1"}
    with httpx.Client(base_url=base) as http:
        issued = http.post("/api/schools/751234/teams", json=team_body(), headers=school)
        assert issued.status_code == 201, issued.text
        certificate = issued.json()["participants"][0]["certificate"]
        login = http.post("/api/dev/login", json={"cpr": ASE}).json()["token"]
        mine = http.get("/api/me/certificates", headers={"Authorization": f"Bearer {login}"})
        assert mine.json()[0]["number"] == certificate["number"]
        verified = http.get(
            f"/api/verify/{certificate['number']}", params={"code": certificate["verificationCode"]}
        )
        assert verified.json()["status"] == "valid"
        # The error paths log too: a bad CPR, a duplicate team, an unknown login.
        bad = team_body([{"cpr": "310290-1234", "name": "X", "exam": "passed"}], reference="H-2")
        assert (
            http.post(
                "/api/schools/751234/teams", json=bad, headers={**school, "Idempotency-Key": "2"}
            ).status_code
            == 422
        )
        assert (
            http.post(
                "/api/schools/751234/teams",
                json=team_body(),
                headers={**school, "Idempotency-Key": "3"},
            ).status_code
            == 409
        )
        assert http.post("/api/dev/login", json={"cpr": BO}).status_code == 201
    text = log.read_text()
    assert "POST /api/schools/751234/teams" in text  # the access log was captured
    assert [line for line in text.splitlines() if CPR_SHAPED.search(line)] == []


def _env_without_settings(**settings: str) -> dict[str, str]:
    """This process's environment without any of the service's settings, plus ``settings``."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith("AMU_") and k != "DATABASE_URL"}
    return {**kept, **settings}


def test_serve_without_demo_mode_refuses_every_unsafe_default(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = _env_without_settings(AMU_DATA_DIR=str(data), AMU_PORT=str(free_port()))
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    refused = [line for line in done.stderr.splitlines() if line.startswith("  - ")]
    for variable in (
        "DATABASE_URL",
        "AMU_MIGRATION_DATABASE_URL",
        "AMU_PUBLIC_BASE_URL",
        "AMU_DIGITAL_POST=test-server",
        "AMU_EBOKS=test-server",
        "AMU_MEMO_SCHEMA",
    ):
        assert sum(line.startswith(f"  - {variable}") for line in refused) == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert not (data / "pg").exists()  # no embedded PostgreSQL was started


async def test_a_refused_start_creates_no_tables(
    database_url: str, schema: str, tmp_path: Path
) -> None:
    env = _env_without_settings(
        DATABASE_URL=database_url,
        AMU_DATABASE_SCHEMA=schema,
        AMU_DATA_DIR=str(tmp_path),
        AMU_PUBLIC_BASE_URL="http://127.0.0.1:8000",
    )
    for command in ("serve", "worker"):
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "service.cli", command],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 2, done.stderr
        assert "AMU_PUBLIC_BASE_URL must be set" in done.stderr
        assert database_url not in done.stderr
    conn = await asyncpg.connect(database_url)
    try:
        tables = await conn.fetchval(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1", schema
        )
    finally:
        await conn.close()
    assert tables == 0


def test_a_forwarded_for_header_from_an_unconfigured_peer_is_ignored(
    served: tuple[str, Path],
) -> None:
    """`amu-bevis serve` with no trusted proxies: a loopback client's X-Forwarded-For is its own
    text (uvicorn would believe it from 127.0.0.1), so a guesser cannot name a fresh address
    for each guess and escape the per-client limit."""
    base, _log = served
    with httpx.Client(base_url=base) as http:
        for i in range(20):
            wrong = http.get(
                f"/api/verify/2026-{i:07d}",
                params={"code": "AAAA-AAAA"},
                headers={"X-Forwarded-For": f"192.0.2.{i + 1}"},
            )
            assert wrong.json()["status"] == "unknown", wrong.text
        refused = http.get(
            "/api/verify/2026-0000099",
            params={"code": "AAAA-AAAA"},
            headers={"X-Forwarded-For": "192.0.2.99"},
        )
    assert refused.status_code == 429, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")


# -- serve --workers N ------------------------------------------------------------------------


def _workers_of(parent: int) -> list[psutil.Process]:
    """uvicorn's worker processes under ``parent`` (multiprocessing's spawned children)."""
    return [
        child
        for child in psutil.Process(parent).children()
        if "multiprocessing.spawn" in " ".join(child.cmdline())
        and "resource_tracker" not in " ".join(child.cmdline())
    ]


@contextlib.contextmanager
def _only(worker: psutil.Process, workers: list[psutil.Process]) -> Iterator[None]:
    """Every other worker stopped (SIGSTOP) for the block, so ``worker`` accepts every new
    connection; kept short, as uvicorn restarts a worker that misses its health check (5 s)."""
    others = [w for w in workers if w.pid != worker.pid]
    for other in others:
        other.suspend()
    try:
        yield
    finally:
        for other in others:
            other.resume()


def _fresh(base: str) -> httpx.Client:
    """A client that opens a new connection for every request (no keep-alive)."""
    return httpx.Client(base_url=base, limits=httpx.Limits(max_keepalive_connections=0))


@pytest.fixture
def served_by_two(
    database_roles: DatabaseRoles, schema: str, tmp_path: Path
) -> Iterator[tuple[str, Path, list[psutil.Process]]]:
    """`serve --demo --workers 2`: its address, its data folder and its two worker processes."""
    port = free_port()
    log = tmp_path / "serve.log"
    env = {
        **_env_without_settings(),
        "DATABASE_URL": database_roles.service_url,
        "AMU_MIGRATION_DATABASE_URL": database_roles.owner_url,
        "AMU_DATABASE_SCHEMA": schema,
        "AMU_DATA_DIR": str(tmp_path / "data"),
        "AMU_PORT": str(port),
        "AMU_SERVE_TEST_SERVER": "0",
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve", "--demo", "--workers", "2"],
            env=env,
            stdout=out,
            stderr=out,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        workers: list[psutil.Process] = []
        for _ in range(300):
            workers = _workers_of(process.pid)
            if len(workers) == 2 and all(_answers(base, w, workers) for w in workers):
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"serve --workers 2 did not come up:\n{log.read_text()}")
        yield base, tmp_path / "data", workers
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def _answers(base: str, worker: psutil.Process, workers: list[psutil.Process]) -> bool:
    with _only(worker, workers), _fresh(base) as http:
        try:
            return http.get("/api/keys", timeout=2).status_code == 200
        except httpx.TransportError:
            return False


def test_two_workers_answer_and_share_a_login(
    served_by_two: tuple[str, Path, list[psutil.Process]],
) -> None:
    base, data, (first, second) = served_by_two
    token = demo_credentials(data)["751234"]
    school = {"Authorization": f"Bearer {token}", "Idempotency-Key": "two-1"}
    with _only(first, [first, second]), _fresh(base) as http:
        issued = http.post("/api/schools/751234/teams", json=team_body(), headers=school)
        assert issued.status_code == 201, issued.text
        number = issued.json()["participants"][0]["certificate"]["number"]
        # The API's login token, and a page login up to the broker's code, in the first.
        api_token = http.post("/api/dev/login", json={"cpr": ASE}).json()["token"]
        start = http.get("/mine-beviser/log-ind")
        assert start.status_code == 200, start.text
        begun = http.post(
            "/mine-beviser/log-ind",
            data={CSRF_FIELD: csrf_of(start.text)},
            follow_redirects=False,
        )
        assert begun.status_code == 303, begun.text
        chooser = http.get(begun.headers["location"])
        hidden = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', chooser.text))
        code_redirect = http.post(
            "/udvikling/log-ind", data={**hidden, "cpr": ASE}, follow_redirects=False
        )
        assert code_redirect.status_code == 303, code_redirect.text
        cookies = http.cookies
    with _only(second, [first, second]), _fresh(base) as http:
        mine = http.get("/api/me/certificates", headers={"Authorization": f"Bearer {api_token}"})
        assert mine.status_code == 200, mine.text
        assert number in [c["number"] for c in mine.json()]  # the demo's teams had her too
        http.cookies = cookies
        done = http.get(code_redirect.headers["location"], follow_redirects=False)
        assert done.status_code == 303, done.text
        assert done.headers["location"] == "/mine-beviser"
        page = http.get("/mine-beviser")
        assert page.status_code == 200, page.text
        assert number in page.text


@pytest.mark.parametrize(
    ("arguments", "env", "refusal"),
    [
        (["--workers", "0"], {}, "AMU_WORKERS (--workers) must be at least 1"),
        ([], {"AMU_WORKERS": "-1"}, "AMU_WORKERS must be a whole number of at least 1 (got '-1')"),
        (["--workers", "2"], {"AMU_KEY_STORE": "memory"}, "AMU_KEY_STORE=memory keeps each"),
    ],
)
def test_serve_refuses_workers_it_cannot_run(
    tmp_path: Path, arguments: list[str], env: dict[str, str], refusal: str
) -> None:
    data = tmp_path / "data"
    done = subprocess.run(  # noqa: S603 - the test's own arguments
        [sys.executable, "-m", "service.cli", "serve", "--demo", *arguments],
        env=_env_without_settings(AMU_DATA_DIR=str(data), AMU_PORT=str(free_port()), **env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert f"  - {refusal}" in done.stderr
    assert not (data / "pg").exists()  # refused before any database was started


def test_the_parent_hands_the_workers_what_they_must_share() -> None:
    settings = Settings(
        demo=True, database_url="postgresql://s@h/db", migration_database_url="postgresql://o@h/db"
    )
    environ: dict[str, str] = {}
    hand_down_to_workers(settings, environ)
    assert environ["DATABASE_URL"] == "postgresql://s@h/db"
    assert environ["AMU_MIGRATION_DATABASE_URL"] == "postgresql://o@h/db"
    assert environ["AMU_DEMO"] == "1"
    shared = environ["AMU_SESSION_SECRET"]
    assert len(shared.encode()) >= 32
    assert Settings.from_env(environ).session_secret == shared.encode()
    given = {"AMU_SESSION_SECRET": "s" * 40}
    hand_down_to_workers(dataclasses.replace(settings, demo=False), given)
    assert given["AMU_SESSION_SECRET"] == "s" * 40  # configured: kept
    assert given["AMU_DEMO"] == "0"
