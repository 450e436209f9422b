"""Delivery through the API with in-process channels: the outbox in the issuing transaction,
the school's overdue list, consent, and what a participant may see."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from issuers.delivery.digitalpost import MemoryDigitalPost
from issuers.delivery.eboks import MemoryEboks
from issuers.delivery.spool import FolderPrintSpool
from issuers.delivery.worker import Channels, Worker
from registry import db
from service.settings import Settings
from tests.conftest import Demo, FixedClock
from tests.helpers import ASE, BO, Client, login, post_team, team_body
from tests.service.digitalpost.support import UnsignedPdfDocuments, drain, fast_policy

PROBLEM = "application/problem+json"
BOTH_PASS = [
    {"cpr": ASE, "name": "Åse Ødegård", "exam": "passed"},
    {"cpr": BO, "name": "Bo Jensen", "exam": "passed"},
]


@pytest.fixture
async def worker(settings: Settings, clock: FixedClock, tmp_path: Path) -> AsyncIterator[Worker]:
    assert settings.database_url is not None
    pool = await db.create_pool(settings.database_url, schema=settings.database_schema, size=2)
    channels = Channels(
        digital_post=MemoryDigitalPost(),
        eboks=MemoryEboks(),
        spool=FolderPrintSpool(tmp_path / "spool"),
    )
    documents = UnsignedPdfDocuments(memo_schema=None)
    try:
        yield Worker(pool, channels, documents, fast_policy(), clock, name="api-test")
    finally:
        await pool.close()


async def test_issuing_creates_one_job_per_certificate_in_its_transaction(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    await post_team(client, seeded.public, team_body())
    jobs = await conn.fetch("SELECT * FROM delivery_jobs")
    certificates = await conn.fetch("SELECT number FROM certificates")
    assert [j["certificate_number"] for j in jobs] == [c["number"] for c in certificates]
    (job,) = jobs
    assert (job["purpose"], job["state"], job["due_on"]) == (
        "issue",
        "pending",
        dt.date(2026, 11, 24),
    )
    assert job["message_uuid"].version == 4

    # A job that cannot be written takes its certificate with it.
    await conn.execute("ALTER TABLE delivery_jobs ADD CONSTRAINT refuse CHECK (false) NOT VALID")
    failed = await post_team(client, seeded.public, team_body(reference="H-102"), key="k-2")
    assert failed.status_code == 500
    assert await conn.fetchval("SELECT count(*) FROM certificates") == 1


async def test_the_overdue_list_warns_before_the_deadline_and_clears_on_delivery(
    client: Client, seeded: Demo, clock: FixedClock, worker: Worker
) -> None:
    school = seeded.school(seeded.public)
    issued = await post_team(client, seeded.public, team_body(BOTH_PASS))
    numbers = sorted(p["certificate"]["number"] for p in issued.json()["participants"])
    # Friday 20 November; due Tuesday 24 November: two working days left, so at risk.
    listed = (await client.get("/api/schools/751234/delivery-deadlines", headers=school)).json()
    assert [(d["certificateNumber"], d["risk"], d["workingDaysLeft"]) for d in listed] == [
        (n, "at-risk", 2) for n in numbers
    ]
    clock.now = dt.datetime(2026, 11, 13, 9, tzinfo=dt.UTC)  # a week earlier: on track
    assert (await client.get("/api/schools/751234/delivery-deadlines", headers=school)).json() == []
    clock.now = dt.datetime(2026, 11, 26, 9, tzinfo=dt.UTC)
    listed = (await client.get("/api/schools/751234/delivery-deadlines", headers=school)).json()
    assert {(d["risk"], d["workingDaysLeft"]) for d in listed} == {("overdue", -2)}

    assert await drain(worker) == 2
    assert (await client.get("/api/schools/751234/delivery-deadlines", headers=school)).json() == []
    delivered = (await client.get("/api/schools/751234/deliveries", headers=school)).json()
    assert {(d["state"], d["channel"]) for d in delivered} == {("delivered", "digital-post")}


async def test_only_a_private_school_records_e_boks_consent(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    public = await client.post(
        "/api/schools/751234/eboks-consents",
        json={"cpr": ASE},
        headers={**seeded.school(seeded.public), "Idempotency-Key": "c-1"},
    )
    assert public.status_code == 409
    assert public.headers["content-type"].startswith(PROBLEM)
    assert public.json()["invalid-params"][0]["name"] == "school_id"

    private = seeded.school(seeded.private)
    malformed = await client.post(
        "/api/schools/863410/eboks-consents",
        json={"cpr": "999999-9999"},
        headers={**private, "Idempotency-Key": "c-2"},
    )
    assert malformed.status_code == 422
    assert malformed.json()["invalid-params"][0]["name"] == "cpr"
    assert "999999" not in malformed.text

    withdrawn = await client.post(
        "/api/schools/863410/eboks-consents",
        json={"cpr": ASE, "consented": False},
        headers={**private, "Idempotency-Key": "c-3"},
    )
    assert withdrawn.status_code == 201
    assert await conn.fetchval("SELECT count(*) FROM eboks_consents") == 1
    # A refused request leaves its key unused (it rolled back with the refusal).
    assert await conn.fetchval("SELECT array_agg(key) FROM idempotency_keys") == ["c-3"]


async def test_a_repeated_consent_gets_the_first_answer_and_records_nothing(
    client: Client, seeded: Demo, conn: asyncpg.Connection, clock: FixedClock
) -> None:
    path = "/api/schools/863410/eboks-consents"
    headers = {**seeded.school(seeded.private), "Idempotency-Key": "consent-1"}
    first = await client.post(path, json={"cpr": ASE}, headers=headers)
    assert first.status_code == 201, first.text
    assert ASE not in first.text
    clock.now += dt.timedelta(hours=1)
    again = await client.post(path, json={"cpr": ASE}, headers=headers)
    assert again.status_code == 201, again.text
    assert again.content == first.content  # the first recordedAt, not a new one
    # The key for another person's consent: refused, not answered with Åse's.
    other = await client.post(path, json={"cpr": BO}, headers=headers)
    assert other.status_code == 422, other.text
    assert other.json()["type"].endswith("/idempotency-key-reused")
    assert other.json()["invalid-params"][0]["name"] == "Idempotency-Key"
    rows = await conn.fetch("SELECT cpr, recorded_at FROM eboks_consents")
    assert [(r["cpr"], r["recorded_at"].isoformat()) for r in rows] == [
        (ASE, first.json()["recordedAt"].replace("Z", "+00:00"))
    ]
    stored = await conn.fetchval(
        "SELECT response_body FROM idempotency_keys WHERE key = $1", "consent-1"
    )
    assert stored == first.content


async def test_a_participant_sees_where_their_own_certificate_went_only(
    client: Client, seeded: Demo, worker: Worker
) -> None:
    issued = (await post_team(client, seeded.public, team_body(BOTH_PASS))).json()["participants"]
    mine, bos = (p["certificate"]["number"] for p in issued)
    ase = await login(client, ASE)
    before = (await client.get(f"/api/me/certificates/{mine}/deliveries", headers=ase)).json()
    assert [(d["purpose"], d["state"]) for d in before] == [("issue", "pending")]
    await drain(worker)
    after = (await client.get(f"/api/me/certificates/{mine}/deliveries", headers=ase)).json()
    assert after[0]["channel"] == "digital-post"
    assert [a["outcome"] for a in after[0]["attempts"]] == ["delivered"]
    other = await client.get(f"/api/me/certificates/{bos}/deliveries", headers=ase)
    assert other.status_code == 404
    assert other.headers["content-type"].startswith(PROBLEM)


async def test_retrying_what_is_not_dead_is_a_conflict(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    issued = (await post_team(client, seeded.public, team_body())).json()["participants"][0]
    number = issued["certificate"]["number"]
    response = await client.post(
        f"/api/schools/751234/deliveries/{number}/retry",
        headers={**seeded.school(seeded.public), "Idempotency-Key": "retry-1"},
    )
    assert response.status_code == 409
    assert response.json()["invalid-params"][0]["name"] == "number"
    # The refusal is not stored: the same key may retry once the delivery is dead.
    assert await conn.fetchval("SELECT count(*) FROM idempotency_keys WHERE key = 'retry-1'") == 0


async def test_a_repeated_retry_requeues_once_and_its_key_is_not_for_another_certificate(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    issued = (await post_team(client, seeded.public, team_body(BOTH_PASS))).json()
    mine, bos = (p["certificate"]["number"] for p in issued["participants"])
    await conn.execute("UPDATE delivery_jobs SET state = 'dead', failures = 8")
    headers = {**seeded.school(seeded.public), "Idempotency-Key": "retry-1"}

    first = await client.post(f"/api/schools/751234/deliveries/{mine}/retry", headers=headers)
    assert first.status_code == 202, first.text
    assert first.json() == {"certificateNumber": mine, "requeued": 1}
    # It died again before the school's client heard back, and the client repeats itself:
    # the first answer, and the dead letter stays dead (a new key retries it).
    await conn.execute(
        "UPDATE delivery_jobs SET state = 'dead' WHERE certificate_number = $1", mine
    )
    again = await client.post(f"/api/schools/751234/deliveries/{mine}/retry", headers=headers)
    assert again.status_code == 202, again.text
    assert again.content == first.content

    reused = await client.post(f"/api/schools/751234/deliveries/{bos}/retry", headers=headers)
    assert reused.status_code == 422, reused.text
    assert reused.json()["type"].endswith("/idempotency-key-reused")
    states = await conn.fetch("SELECT certificate_number, state FROM delivery_jobs ORDER BY id")
    assert sorted((r["certificate_number"], r["state"]) for r in states) == sorted(
        [(mine, "dead"), (bos, "dead")]
    )
