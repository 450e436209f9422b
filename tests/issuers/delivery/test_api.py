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
        headers=seeded.school(seeded.public),
    )
    assert public.status_code == 409
    assert public.headers["content-type"].startswith(PROBLEM)
    assert public.json()["invalid-params"][0]["name"] == "school_id"

    malformed = await client.post(
        "/api/schools/863410/eboks-consents",
        json={"cpr": "999999-9999"},
        headers=seeded.school(seeded.private),
    )
    assert malformed.status_code == 422
    assert malformed.json()["invalid-params"][0]["name"] == "cpr"
    assert "999999" not in malformed.text

    withdrawn = await client.post(
        "/api/schools/863410/eboks-consents",
        json={"cpr": ASE, "consented": False},
        headers=seeded.school(seeded.private),
    )
    assert withdrawn.status_code == 201
    assert await conn.fetchval("SELECT count(*) FROM eboks_consents") == 1


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


async def test_retrying_what_is_not_dead_is_a_conflict(client: Client, seeded: Demo) -> None:
    issued = (await post_team(client, seeded.public, team_body())).json()["participants"][0]
    number = issued["certificate"]["number"]
    response = await client.post(
        f"/api/schools/751234/deliveries/{number}/retry", headers=seeded.school(seeded.public)
    )
    assert response.status_code == 409
    assert response.json()["invalid-params"][0]["name"] == "number"
