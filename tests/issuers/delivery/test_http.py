"""Delivery over real HTTP: the worker against the local Digital Post test server on a loopback
port; the school and the participant watch through the API.

Exactly once means: the test server, which keeps one message per MeMo message UUID as Digital
Post does, holds exactly one message per certificate, under the UUID fixed in its job, however
often the worker had to send it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import os
import signal
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import pytest

from registry.keys import FileKeyStore, MemoryKeyStore
from service.settings import Settings
from tests.conftest import Demo
from tests.helpers import ASE, Client, login, post_team, team_body
from tests.service.digitalpost.support import (
    drain,
    harness,
    memo_schema,
    participants,
    running_test_server,
    wait_until,
)

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Jobs tolerate many failures here: the load test draws half of all requests to fail.
    return dataclasses.replace(
        settings, delivery=dataclasses.replace(settings.delivery, max_failures=40)
    )


async def _uuids(conn: asyncpg.Connection) -> dict[str, uuid.UUID]:
    rows = await conn.fetch(
        "SELECT certificate_number, message_uuid FROM delivery_jobs WHERE purpose = 'issue'"
    )
    return {r["certificate_number"]: r["message_uuid"] for r in rows}


async def _issue(client: Client, token: str, count: int, *, school: str = "751234") -> list[str]:
    body = team_body(participants(count), reference=f"H-{uuid.uuid4().hex[:8]}")
    response = await post_team(client, token, body, school=school, key=uuid.uuid4().hex)
    assert response.status_code == 201, response.text
    return [p["certificate"]["number"] for p in response.json()["participants"]]


async def test_a_certificate_goes_to_digital_post_once_and_both_sides_see_where(
    client: Client, seeded: Demo, settings: Settings, conn: asyncpg.Connection
) -> None:
    with running_test_server() as (server, url):
        issued = await post_team(client, seeded.public, team_body())
        number = issued.json()["participants"][0]["certificate"]["number"]
        async with harness(settings, url) as h:
            assert await drain(h.worker()) == 1

        received = server.received()
        (message_uuid,) = received
        assert message_uuid == (await _uuids(conn))[number]
        assert message_uuid.version == 4
        kept = received[message_uuid]
        assert (kept.channel, kept.posts) == ("digital-post", 1)
        assert ASE.replace("-", "").encode() in kept.body  # the recipient, in the message only

    school = await client.get(
        f"/api/schools/751234/deliveries/{number}", headers=seeded.school(seeded.public)
    )
    (job,) = school.json()
    assert (job["state"], job["channel"], job["receipt"]) == (
        "delivered",
        "digital-post",
        kept.receipt,
    )
    assert [a["outcome"] for a in job["history"]] == ["delivered"]
    mine = await client.get(
        f"/api/me/certificates/{number}/deliveries", headers=await login(client, ASE)
    )
    assert mine.json()[0]["channel"] == "digital-post"
    assert mine.json()[0]["deliveredAt"]


async def test_an_exempt_participant_gets_paper_then_digital_when_possible(
    client: Client, seeded: Demo, settings: Settings, conn: asyncpg.Connection
) -> None:
    with running_test_server(exempt=(ASE,)) as (server, url):
        issued = await post_team(client, seeded.public, team_body())
        number = issued.json()["participants"][0]["certificate"]["number"]
        async with harness(settings, url) as h:
            assert await drain(h.worker()) == 1
            assert server.received() == {}
            jobs = (
                await client.get(
                    f"/api/schools/751234/deliveries/{number}",
                    headers=seeded.school(seeded.public),
                )
            ).json()
            assert [(j["purpose"], j["state"], j.get("channel")) for j in jobs] == [
                ("issue", "delivered", "paper"),
                ("digital-after-paper", "pending", None),
            ]
            assert jobs[0]["reason"] == "exempt-from-digital-post"
            # The print list of the worker's day (Copenhagen) names the certificate.
            (spooled_on,) = [d.name for d in h.spool_dir.iterdir()]
            printed = await client.get(
                "/api/schools/751234/print-list",
                params={"date": spooled_on},
                headers=seeded.school(seeded.public),
            )
            assert [e["certificateNumber"] for e in printed.json()] == [number]
            assert printed.json()[0]["reason"] == "exempt-from-digital-post"

            # Still exempt on the next look: the follow-up waits again, nothing is sent.
            later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
            assert await drain(h.worker(clock=lambda: later)) == 1
            assert server.received() == {}
            # No longer exempt: the certificate now goes digitally too, under its fixed UUID.
            server.set_exempt(())
            much_later = later + dt.timedelta(hours=2)
            assert await drain(h.worker(clock=lambda: much_later)) == 1
        assert list(server.received()) == [(await _uuids(conn))[number]]
    states = await conn.fetch(
        "SELECT purpose, state, channel FROM delivery_jobs WHERE certificate_number = $1"
        " ORDER BY id",
        number,
    )
    assert [tuple(r) for r in states] == [
        ("issue", "delivered", "paper"),
        ("digital-after-paper", "delivered", "digital-post"),
    ]


async def test_a_private_school_without_consent_sends_paper_and_is_told(
    client: Client, seeded: Demo, settings: Settings
) -> None:
    private = seeded.school(seeded.private)
    with running_test_server() as (server, url):
        (number,) = await _issue(client, seeded.private, 1, school="863410")
        async with harness(settings, url) as h:
            assert await drain(h.worker()) == 1
            assert server.received() == {}
            (first, follow_up) = (
                await client.get(f"/api/schools/863410/deliveries/{number}", headers=private)
            ).json()
            assert (first["channel"], first["reason"]) == ("paper", "no-eboks-consent")
            assert "e-Boks" in first["reasonText"]
            assert follow_up["state"] == "pending"

            # The school records the consent: the certificate goes to e-Boks as well, now.
            cpr = participants(1)[0]["cpr"]
            consent = await client.post(
                "/api/schools/863410/eboks-consents",
                json={"cpr": cpr},
                headers={**private, "Idempotency-Key": "consent-1"},
            )
            assert consent.status_code == 201, consent.text
            assert consent.json()["deliveriesResumed"] == 1
            assert cpr not in consent.text
            assert await drain(h.worker()) == 1
        (kept,) = server.received().values()
        assert kept.channel == "eboks"


async def test_half_the_requests_failing_or_hanging_still_delivers_each_exactly_once(
    client: Client, seeded: Demo, settings: Settings, conn: asyncpg.Connection
) -> None:
    with running_test_server() as (server, url):
        numbers = await _issue(client, seeded.public, 24)
        server.behave(
            failure_rate=0.3, timeout_rate=0.2, hang_seconds=1.0, store_before_hang=True, seed=5
        )
        async with harness(settings, url, http_timeout=0.3, pool_size=12) as h:
            stop = asyncio.Event()
            workers = [
                asyncio.create_task(h.worker(name=f"w{i}").run(stop, concurrency=3))
                for i in range(3)
            ]

            async def all_delivered() -> bool:
                return bool(
                    await conn.fetchval("SELECT bool_and(state = 'delivered') FROM delivery_jobs")
                )

            try:
                await wait_until(all_delivered, within=90, what="every certificate delivered")
            finally:
                stop.set()
                await asyncio.wait_for(asyncio.gather(*workers), timeout=15)

        received = server.received()
        expected = await _uuids(conn)
        assert sorted(received) == sorted(expected[n] for n in numbers)
        assert len(received) == len(numbers) == 24
        posts = sum(r.posts for r in received.values())
        attempts = await conn.fetchval("SELECT count(*) FROM delivery_attempts")
        failed = await conn.fetchval(
            "SELECT count(*) FROM delivery_attempts WHERE outcome = 'failed'"
        )
        # The faults did happen, and were absorbed: retries, and repeats the server dropped.
        assert failed > 0
        assert attempts == failed + 24
        assert posts > 24
        workers_seen = await conn.fetchval(
            "SELECT count(DISTINCT split_part(worker, '/', 1)) FROM delivery_attempts"
        )
        assert workers_seen == 3


async def test_a_worker_killed_mid_job_is_taken_over_and_delivers_once(
    client: Client,
    seeded: Demo,
    settings: Settings,
    conn: asyncpg.Connection,
    keys: MemoryKeyStore,
    tmp_path: Path,
) -> None:
    with running_test_server() as (server, url):
        # The first message is kept but its answer never comes: the worker is stuck in send.
        server.behave(timeout_rate=1.0, hang_seconds=30, store_before_hang=True, seed=1)
        (number,) = await _issue(client, seeded.public, 1)
        # The worker process signs the PDF with the school's document key: it reads the key
        # store on disk, as a deployed worker does, so hand it the test's keys there.
        disk = FileKeyStore(tmp_path / "worker" / "keys")
        for kid in await conn.fetch("SELECT kid FROM school_document_certificates"):
            disk.put(kid["kid"], keys.get(kid["kid"]))
        env = {
            **os.environ,
            "DATABASE_URL": str(settings.database_url),
            "AMU_DATABASE_SCHEMA": str(settings.database_schema),
            "AMU_DATA_DIR": str(tmp_path / "worker"),
            "AMU_DEMO": "1",  # the test server's plain HTTP is a demo-only channel
            "AMU_DIGITAL_POST_URL": url,
            "AMU_EBOKS_URL": f"{url}/eboks",
            "AMU_MEMO_SCHEMA": str(memo_schema()),
            "AMU_DELIVERY_LEASE": "2",
            "AMU_DELIVERY_HTTP_TIMEOUT": "60",
            "AMU_DELIVERY_POLL": "0.05",
            "AMU_DELIVERY_CONCURRENCY": "1",
        }
        log = tmp_path / "worker.log"
        with log.open("wb") as out:
            worker = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "service.cli",
                "worker",
                env=env,
                stdout=out,
                stderr=out,
                cwd=ROOT,
            )
        try:

            async def stuck_in_send() -> bool:
                return server.counts()["inFlight"] == 1

            await wait_until(stuck_in_send, within=30, what=f"worker sending\n{log.read_text()}")
            worker.send_signal(signal.SIGKILL)
            assert await asyncio.wait_for(worker.wait(), timeout=10) == -signal.SIGKILL
        finally:
            if worker.returncode is None:
                worker.kill()
                await asyncio.wait_for(worker.wait(), timeout=10)
        assert await conn.fetchval("SELECT state FROM delivery_jobs") == "running"

        server.behave(timeout_rate=0.0)
        async with harness(settings, url) as h:
            taker = h.worker(name="taker")
            started = time.monotonic()

            async def delivered() -> bool:
                await taker.run_once()
                return bool(await conn.fetchval("SELECT state FROM delivery_jobs") == "delivered")

            await wait_until(delivered, within=20, what="the job taken over after its lease")
            # Not before the dead worker's lease of 2 s ran out.
            assert time.monotonic() - started > 0.5

        (kept,) = server.received().values()
        assert kept.message_uuid == (await _uuids(conn))[number]
        assert kept.posts == 2  # sent twice, kept once
    outcomes = [
        (r["worker"].startswith("taker"), r["outcome"])
        for r in await conn.fetch("SELECT worker, outcome FROM delivery_attempts ORDER BY number")
    ]
    assert outcomes == [(False, "abandoned"), (True, "delivered")]


async def test_a_dead_letter_is_shown_with_its_reason_and_retried_by_the_school(
    client: Client, seeded: Demo, settings: Settings, conn: asyncpg.Connection
) -> None:
    school = seeded.school(seeded.public)
    with running_test_server() as (server, url):
        (number,) = await _issue(client, seeded.public, 1)
        await conn.execute("UPDATE delivery_jobs SET max_failures = 3")
        server.behave(failure_rate=1.0, seed=3)
        async with harness(settings, url) as h:
            worker = h.worker()

            async def dead() -> bool:
                await worker.run_once()
                return bool(await conn.fetchval("SELECT state FROM delivery_jobs") == "dead")

            await wait_until(dead, within=20, what="dead-lettered after 3 failures")
            letters = (
                await client.get(
                    "/api/schools/751234/deliveries", params={"state": "dead"}, headers=school
                )
            ).json()
            assert [(d["certificateNumber"], d["failures"]) for d in letters] == [(number, 3)]
            assert "503" in letters[0]["lastError"]
            assert server.received() == {}

            server.behave(failure_rate=0.0)
            retry = f"/api/schools/751234/deliveries/{number}/retry"
            keyed = {**school, "Idempotency-Key": "retry-1"}
            retried = await client.post(retry, headers=keyed)
            assert retried.status_code == 202, retried.text
            assert await drain(worker) == 1
            # The same request repeated (a client that did not hear back): the first answer,
            # byte for byte, and no second attempt.
            repeated = await client.post(retry, headers=keyed)
            assert (repeated.status_code, repeated.content) == (202, retried.content)
            assert await drain(worker) == 0
            again = await client.post(retry, headers={**school, "Idempotency-Key": "retry-2"})
            assert again.status_code == 409
            assert again.headers["content-type"].startswith("application/problem+json")
        (kept,) = server.received().values()
        assert kept.posts == 1
    history = await conn.fetch("SELECT outcome FROM delivery_attempts ORDER BY number")
    assert [r["outcome"] for r in history] == ["failed", "failed", "dead", "delivered"]
