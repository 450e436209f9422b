"""Scale-out on PostgreSQL, as an operator would run it: a real streaming replica of the test
server, two `amu-bevis serve` processes reading from it, behind the test's own round-robin
client, and two `amu-bevis worker` processes, under mixed traffic for a bounded time. One API
process and one worker are killed with SIGKILL on the way (the worker while it holds a job).

Then: every accepted team's certificates exist exactly once, a repeated request with the same
Idempotency-Key got the same bytes, every certificate was delivered exactly once (the local
Digital Post keeps each message UUID once; the print spool's folder holds one PDF per paper
job), `amu-bevis audit` finds the register consistent with a checkpoint taken during the run,
and the replica, caught up, holds what the primary holds, table by table.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import msgspec
import pytest

from registry.keys import FileKeyStore
from service import demo
from service.testserver import DigitalPostTestServer
from tests.conftest import ROOT, DatabaseRoles
from tests.processes import Processes, Started, service_env
from tests.replica import Replica
from tests.service.digitalpost.support import memo_schema, running_test_server, wait_until

TRAFFIC_SECONDS = 8.0
KILL_API_AT, KILL_WORKER_AT = 0.35, 0.55  # fractions of the traffic's time
TEAM_SIZE = 3
MAX_TEAMS = 60  # per run: the workers render a signed PDF (~10 ms) for each certificate
PUBLIC, PRIVATE = "751234", "863410"  # the public school delivers digitally, the private on paper


@dataclass
class RoundRobin:
    """The test's load balancer: each request goes to the next API process. A process that
    refuses connections is taken out (a health check would); a request whose connection
    broke is sent to the next one (writes carry an Idempotency-Key, so that is safe)."""

    http: httpx.AsyncClient
    urls: list[str]
    retries: int = 0
    _turn: Iterator[int] = field(default_factory=itertools.count)

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        for _ in range(10):
            if not self.urls:
                raise AssertionError("no API process answers")
            url = self.urls[next(self._turn) % len(self.urls)]
            try:
                response = await self.http.request(method, url + path, **kwargs)
            except httpx.ConnectError:
                if url in self.urls:
                    self.urls.remove(url)
                self.retries += 1
                continue
            except httpx.TransportError:
                self.retries += 1
                continue
            assert response.status_code < 500, f"{method} {path}: {response.text}"
            return response
        raise AssertionError(f"{method} {path}: no answer after 10 tries")


@dataclass
class Team:
    school: str
    key: str
    body: bytes
    answer: bytes
    numbers: list[str]


@dataclass
class Traffic:
    teams: list[Team] = field(default_factory=list)
    repeats: int = 0  # same key, same body, sent again: same bytes back
    verified: int = 0
    lookups: int = 0
    cprs: set[str] = field(default_factory=set)
    checkpoint: bytes = b""  # a signed checkpoint taken during the traffic


_serials = itertools.count(1)


def _team(school: str) -> tuple[str, bytes, list[str]]:
    """A team of participants who all pass, each with a CPR number of their own."""
    serials = [next(_serials) for _ in range(TEAM_SIZE)]
    cprs = [
        f"{s % 28 + 1:02d}{s // 28 % 12 + 1:02d}{80 + s // 336 % 20}-{1000 + s}" for s in serials
    ]
    reference = f"SCALE-{school}-{serials[0]}"
    body = {
        "team": {
            "reference": reference,
            "goal": "48113",
            "start": "2026-11-09",
            "end": "2026-11-10",
        },
        "participants": [
            {"cpr": cpr, "name": f"Deltager {s}", "exam": "passed"}
            for cpr, s in zip(cprs, serials, strict=True)
        ],
    }
    return reference, msgspec.json.encode(body), cprs


async def _issue(lb: RoundRobin, school: str, token: str, until: float, out: Traffic) -> None:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    while time.monotonic() < until and len(out.teams) < MAX_TEAMS:
        key, body, cprs = _team(school)
        path = f"/api/schools/{school}/teams"
        sent = {**headers, "Idempotency-Key": key}
        issued = await lb.request("POST", path, content=body, headers=sent)
        assert issued.status_code == 201, issued.text
        numbers = [
            p["certificate"]["number"] for p in issued.json()["participants"] if p["certificate"]
        ]
        assert len(numbers) == TEAM_SIZE
        out.teams.append(Team(school, key, body, issued.content, numbers))
        out.cprs.update(cprs)
        # Issued a moment ago, verified at the next process (which reads from the replica).
        first = issued.json()["participants"][0]["certificate"]
        verified = await lb.request(
            "POST", f"/api/verify/{first['number']}", json={"code": first["verificationCode"]}
        )
        assert verified.json()["status"] == "valid", verified.text
        out.verified += 1
        if len(out.teams) % 4 == 0:
            again = await lb.request("POST", path, content=body, headers=sent)
            assert (again.status_code, again.content) == (201, issued.content)
            out.repeats += 1


async def _look_up(lb: RoundRobin, until: float, out: Traffic) -> None:
    """Participants log in at one process and list their certificates at the next."""
    while time.monotonic() < until:
        if not out.cprs:
            await asyncio.sleep(0.05)
            continue
        cpr = sorted(out.cprs)[out.lookups % len(out.cprs)]
        login = await lb.request("POST", "/api/dev/login", json={"cpr": cpr})
        assert login.status_code == 201, login.text
        mine = await lb.request(
            "GET",
            "/api/me/certificates",
            headers={"Authorization": f"Bearer {login.json()['token']}"},
        )
        assert mine.status_code == 200, mine.text
        out.lookups += 1


async def _kill_while_delivering(pool: asyncpg.Pool, worker: Started) -> None:
    """SIGKILL the worker while it holds a job (an attempt of its own still open), so its
    lease must run out and another worker finish the delivery."""

    async def holds_a_job() -> bool:
        open_attempts = await pool.fetchval(
            "SELECT count(*) FROM delivery_attempts WHERE outcome IS NULL AND worker LIKE $1",
            f"%:{worker.pid}/%",
        )
        return bool(open_attempts)

    await wait_until(holds_a_job, within=5, what=f"{worker.name} holding a job", step=0.01)
    worker.kill()


async def _table_digests(url: str, schema: str) -> dict[str, str]:
    """Each table of ``schema``: its row count and the MD5 of its rows as text, in order."""
    conn = await asyncpg.connect(url, server_settings={"search_path": schema})
    try:
        names = await conn.fetch(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY 1",
            schema,
        )
        rows = "md5(string_agg(t::text, ',' ORDER BY t::text))"
        digests = {}
        for name in (row["table_name"] for row in names):
            # The name comes from the catalogue, and is quoted.
            query = f"SELECT count(*) || ':' || coalesce({rows}, '') FROM \"{name}\" t"  # noqa: S608
            digests[name] = await conn.fetchval(query)
        return digests
    finally:
        await conn.close()


@dataclass
class Topology:
    """What the test started, and what it reads the primary with."""

    api: list[Started]
    workers: list[Started]
    pool: asyncpg.Pool  # the superuser's, into the test's schema on the primary


async def _traffic(topology: Topology, tokens: dict[str, str]) -> Traffic:
    """Issuing at both schools, logins and lookups, for TRAFFIC_SECONDS; one API process and
    one worker killed on the way; a checkpoint saved early on. Returns what was accepted."""
    traffic = Traffic()
    async with httpx.AsyncClient(timeout=30) as http:
        lb = RoundRobin(http, [p.url for p in topology.api])
        until = time.monotonic() + TRAFFIC_SECONDS

        async def kills() -> None:
            await asyncio.sleep(TRAFFIC_SECONDS * KILL_API_AT)
            topology.api[1].kill()
            await asyncio.sleep(TRAFFIC_SECONDS * (KILL_WORKER_AT - KILL_API_AT))
            await _kill_while_delivering(topology.pool, topology.workers[0])

        async def save_checkpoint() -> None:
            await asyncio.sleep(TRAFFIC_SECONDS * 0.2)
            note = await lb.request("GET", "/api/log/checkpoint")
            assert note.status_code == 200, note.text
            traffic.checkpoint = note.content

        async with asyncio.TaskGroup() as group:
            for school in (PUBLIC, PUBLIC, PRIVATE, PRIVATE):
                group.create_task(_issue(lb, school, tokens[school], until, traffic))
            group.create_task(_look_up(lb, until, traffic))
            group.create_task(kills())
            group.create_task(save_checkpoint())
    assert lb.retries >= 1  # the killed process was in the rotation when it died
    assert len(traffic.teams) >= 8, f"only {len(traffic.teams)} teams"
    assert traffic.repeats >= 2
    assert traffic.verified == len(traffic.teams)
    assert traffic.lookups > 0
    return traffic


async def _all_delivered(pool: asyncpg.Pool) -> None:
    async def delivered() -> bool:
        pending = await pool.fetchval(
            "SELECT count(*) FROM delivery_jobs WHERE purpose = 'issue' AND state <> 'delivered'"
        )
        return bool(pending == 0)

    await wait_until(delivered, within=20, what="every certificate delivered", step=0.2)


async def _lists_agree(api: Started, pool: asyncpg.Pool, cprs: set[str]) -> None:
    """Participants' lists as the API reads them (from the replica) against the primary."""
    async with httpx.AsyncClient(base_url=api.url, timeout=30) as http:
        for cpr in sorted(cprs)[:: max(1, len(cprs) // 10)]:
            login = await http.post("/api/dev/login", json={"cpr": cpr})
            bearer = {"Authorization": f"Bearer {login.json()['token']}"}
            mine = (await http.get("/api/me/certificates", headers=bearer)).json()
            expected = await pool.fetch("SELECT number FROM certificates WHERE cpr = $1", cpr)
            assert sorted(c["number"] for c in mine) == sorted(r["number"] for r in expected)


async def _issued_once(pool: asyncpg.Pool, traffic: Traffic) -> list[str]:
    """Every accepted team's certificates exist, once each, and nothing else does."""
    numbers = [n for team in traffic.teams for n in team.numbers]
    assert len(numbers) == len(set(numbers))
    stored = await pool.fetch("SELECT number, participation_id FROM certificates")
    assert sorted(r["number"] for r in stored) == sorted(numbers)
    assert len({r["participation_id"] for r in stored}) == len(stored)
    teams = await pool.fetchval("SELECT count(*) FROM teams WHERE reference LIKE 'SCALE-%'")
    assert teams == len(traffic.teams)
    return numbers


async def _delivered_once(
    topology: Topology, numbers: list[str], post: DigitalPostTestServer, spool: Path
) -> None:
    """Every certificate delivered once: the public school's by Digital Post (one kept message
    per job's UUID), the private school's on paper (one PDF per job); the killed worker's
    open attempt was abandoned and its job finished by the other worker."""
    jobs = await topology.pool.fetch(
        "SELECT certificate_number, school_id, channel, message_uuid, receipt"
        " FROM delivery_jobs WHERE purpose = 'issue'"
    )
    assert sorted(j["certificate_number"] for j in jobs) == sorted(numbers)
    digital = [j for j in jobs if j["channel"] == "digital-post"]
    paper = [j for j in jobs if j["channel"] == "paper"]
    assert {j["school_id"] for j in digital} == {PUBLIC}
    assert {j["school_id"] for j in paper} == {PRIVATE}
    received = post.received()
    assert set(received) == {j["message_uuid"] for j in digital}
    assert {m.receipt for m in received.values()} == {j["receipt"] for j in digital}
    spooled = await asyncio.to_thread(lambda: sorted(p.name for p in spool.rglob("*.pdf")))
    assert len(spooled) == len(paper)
    assert {s.split("--")[0] for s in spooled} == {j["certificate_number"] for j in paper}
    abandoned = await topology.pool.fetch(
        "SELECT j.state FROM delivery_attempts a JOIN delivery_jobs j ON j.id = a.job_id"
        " WHERE a.worker LIKE $1 AND a.outcome = 'abandoned'",
        f"%:{topology.workers[0].pid}/%",
    )
    assert abandoned
    assert {r["state"] for r in abandoned} == {"delivered"}


def _audit(env: dict[str, str], note: bytes, checkpoint: Path) -> None:
    """`amu-bevis audit` finds the register consistent with the checkpoint taken mid-run."""
    checkpoint.write_bytes(note)
    audited = subprocess.run(  # noqa: S603 - our own interpreter and CLI
        [sys.executable, "-m", "service.cli", "audit", "--checkpoint", str(checkpoint)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert audited.returncode == 0, audited.stdout + audited.stderr
    assert "consistent with the saved checkpoint" in audited.stdout


@pytest.fixture
async def seeded_data(conn: asyncpg.Connection, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """The demo seeded into the test's schema, its keys in a data folder every process shares;
    the folder and the schools' API tokens."""
    data = tmp_path / "data"
    made = await demo.seed_demo(conn, FileKeyStore(data / "keys"), now=dt.datetime.now(dt.UTC))
    return data, {c.school_id: c.token for c in made}


async def test_two_api_processes_and_two_workers_survive_a_kill_each(
    database_url: str,
    database_roles: DatabaseRoles,
    migrated: str,
    streaming_replica: Replica,
    seeded_data: tuple[Path, dict[str, str]],
    tmp_path: Path,
) -> None:
    data, tokens = seeded_data
    pool = await asyncpg.create_pool(
        database_url, min_size=1, max_size=2, server_settings={"search_path": migrated}
    )
    env = service_env(
        database_roles,
        migrated,
        data,
        AMU_DATABASE_REPLICA_URL=streaming_replica.url_for(database_roles.service_url),
        AMU_MEMO_SCHEMA=str(memo_schema()),
        AMU_DIGITAL_POST="test-server",
        AMU_EBOKS="test-server",
        AMU_DELIVERY_LEASE="2",  # a killed worker's job comes back within the test
        AMU_DELIVERY_POLL="0.1",
        AMU_DELIVERY_CONCURRENCY="2",
    )
    checkpoint = tmp_path / "checkpoint.txt"
    with running_test_server() as (post, post_url), Processes(env, tmp_path / "logs") as started:
        channels = {"AMU_DIGITAL_POST_URL": post_url, "AMU_EBOKS_URL": f"{post_url}/eboks"}
        try:
            # The first process alone: two at once would race to make the register's log key.
            topology = Topology([started.serve()], [], pool)
            topology.api.append(started.launch_serve())
            topology.workers += [started.launch_worker(**channels) for _ in range(2)]
            for process in (topology.api[1], *topology.workers):
                await asyncio.to_thread(process.wait_ready)

            traffic = await _traffic(topology, tokens)
            audited = asyncio.create_task(
                asyncio.to_thread(_audit, env, traffic.checkpoint, checkpoint)
            )
            await _all_delivered(pool)
            await streaming_replica.wait_caught_up()
            await _lists_agree(topology.api[0], pool, traffic.cprs)
            # The API process reads through a pool of the service role's on the replica.
            readers = await asyncpg.connect(streaming_replica.url)
            try:
                on_replica = await readers.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE usename = $1",
                    database_roles.service,
                )
            finally:
                await readers.close()
            assert on_replica > 0
            survivors = (topology.api[0], topology.workers[1])
            assert [p.alive() for p in started.started] == [True, False, False, True]

            numbers = await _issued_once(pool, traffic)
            await _delivered_once(topology, numbers, post, data / "print-spool")
            await audited
            # The replica, caught up with a primary nobody writes to, holds the same rows.
            for process in survivors:
                process.kill()
            await streaming_replica.wait_caught_up()
            primary = await _table_digests(database_url, migrated)
            assert "certificates" in primary
            assert await _table_digests(streaming_replica.url, migrated) == primary
        except BaseException:
            print(started.log_text())  # noqa: T201 - pytest shows it with the failure
            raise
        finally:
            await pool.close()
