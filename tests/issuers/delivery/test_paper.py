"""Paper on request (issue 5, DOMAIN.md "Delivery"): a school, or the participant, orders a paper
copy of a valid certificate because an authority demands paper; the worker prints the school's
PDF to the spool through the same outbox, once per request, and both sides see it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

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
from tests.service.digitalpost.support import (
    UnsignedPdfDocuments,
    drain,
    fast_policy,
    harness,
    running_test_server,
)

PROBLEM = "application/problem+json"
AUTHORITY = "Færdselsstyrelsen kræver beviset på papir"


@pytest.fixture
def spool_dir(settings: Settings) -> Path:
    # The folder the service's print list reads, so the school's list shows what was printed.
    return settings.delivery.print_spool_dir or settings.data_dir / "print-spool"


@pytest.fixture
async def worker(settings: Settings, clock: FixedClock, spool_dir: Path) -> AsyncIterator[Worker]:
    assert settings.database_url is not None
    pool = await db.create_pool(settings.database_url, schema=settings.database_schema, size=2)
    channels = Channels(
        digital_post=MemoryDigitalPost(),
        eboks=MemoryEboks(),
        spool=FolderPrintSpool(spool_dir),
    )
    documents = UnsignedPdfDocuments(memo_schema=None)
    try:
        yield Worker(pool, channels, documents, fast_policy(), clock, name="paper-test")
    finally:
        await pool.close()


async def _issue(client: Client, seeded: Demo) -> tuple[str, str]:
    body = team_body(
        [
            {"cpr": ASE, "name": "Åse Ødegård", "exam": "passed"},
            {"cpr": BO, "name": "Bo Jensen", "exam": "passed"},
        ]
    )
    issued = (await post_team(client, seeded.public, body)).json()["participants"]
    return issued[0]["certificate"]["number"], issued[1]["certificate"]["number"]


async def _order(
    client: Client,
    headers: dict[str, str],
    number: str,
    *,
    key: str = "paper-1",
    reason: Any = AUTHORITY,
    school: str | None = "751234",
) -> Any:
    path = (
        f"/api/schools/{school}/certificates/{number}/paper"
        if school
        else f"/api/me/certificates/{number}/paper"
    )
    return await client.post(
        path, json={"reason": reason}, headers={**headers, "Idempotency-Key": key}
    )


def _sidecars(spool_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text("utf-8")) for p in sorted(spool_dir.rglob("*.json"))]


def _pdfs(spool_dir: Path) -> list[bytes]:
    return [p.read_bytes() for p in sorted(spool_dir.rglob("*.pdf"))]


async def test_a_school_orders_paper_and_the_worker_prints_it_once(
    client: Client,
    seeded: Demo,
    conn: asyncpg.Connection,
    worker: Worker,
    spool_dir: Path,
) -> None:
    number, _ = await _issue(client, seeded)
    school = seeded.school(seeded.public)
    assert await drain(worker) == 2  # the first deliveries, digitally
    response = await _order(client, school, number)
    assert response.status_code == 202, response.text
    ordered = response.json()
    assert (ordered["purpose"], ordered["state"]) == ("paper-on-request", "pending")
    assert (ordered["requestedBy"], ordered["requestReason"]) == ("school", AUTHORITY)

    # The same key again: the first answer's bytes, nothing new; with another reason: a
    # conflict.
    again = await _order(client, school, number)
    assert again.status_code == 202
    assert again.content == response.content
    clash = await _order(client, school, number, reason="Politiet")
    assert clash.status_code == 422
    assert clash.headers["content-type"].startswith(PROBLEM)
    assert clash.json()["invalid-params"][0]["name"] == "Idempotency-Key"
    count = "SELECT count(*) FROM delivery_jobs WHERE purpose = 'paper-on-request'"
    assert await conn.fetchval(count) == 1

    assert await drain(worker) == 1
    (printed,) = _sidecars(spool_dir)
    assert (printed["certificateNumber"], printed["reason"]) == (number, "paper-on-request")
    (pdf,) = _pdfs(spool_dir)
    assert pdf.startswith(b"%PDF-")
    listed = (await client.get("/api/schools/751234/print-list", headers=school)).json()
    assert [(e["certificateNumber"], e["reason"]) for e in listed] == [(number, "paper-on-request")]

    seen = (await client.get(f"/api/schools/751234/deliveries/{number}", headers=school)).json()
    assert [(d["purpose"], d["state"], d.get("channel")) for d in seen] == [
        ("issue", "delivered", "digital-post"),
        ("paper-on-request", "delivered", "paper"),
    ]
    assert seen[1]["requestReason"] == AUTHORITY
    assert [a["outcome"] for a in seen[1]["history"]] == ["delivered"]
    mine = await client.get(
        f"/api/me/certificates/{number}/deliveries", headers=await login(client, ASE)
    )
    assert [(d["purpose"], d["channel"]) for d in mine.json()] == [
        ("issue", "digital-post"),
        ("paper-on-request", "paper"),
    ]
    # Printed on request, it is not followed by a digital delivery: that happened already.
    assert await drain(worker) == 0
    # Repeated after the print: still the first answer ("pending"), and nothing to print.
    late = await _order(client, school, number)
    assert (late.status_code, late.content) == (202, response.content)
    assert await conn.fetchval(count) == 1
    assert await drain(worker) == 0

    # A second authority: another key, another print.
    second = await _order(client, school, number, key="paper-2", reason="Arbejdstilsynet")
    assert second.status_code == 202
    assert await drain(worker) == 1
    assert len(_sidecars(spool_dir)) == 2


async def test_a_participant_orders_paper_for_their_own_certificate_only(
    client: Client, seeded: Demo, conn: asyncpg.Connection, worker: Worker, spool_dir: Path
) -> None:
    mine, bos = await _issue(client, seeded)
    ase = await login(client, ASE)
    response = await _order(client, ase, mine, school=None)
    assert response.status_code == 202, response.text
    assert response.json()["requestReason"] == AUTHORITY
    assert (await _order(client, ase, mine, school=None)).status_code == 202
    other = await _order(client, ase, bos, school=None)
    assert other.status_code == 404
    assert other.headers["content-type"].startswith(PROBLEM)
    rows = await conn.fetch(
        "SELECT certificate_number, requested_by FROM delivery_jobs "
        "WHERE purpose = 'paper-on-request'"
    )
    assert [(r["certificate_number"], r["requested_by"]) for r in rows] == [(mine, "participant")]

    # The school's key and the participant's are separate: the same text is a new request.
    by_school = await _order(client, seeded.school(seeded.public), mine)
    assert by_school.status_code == 202
    assert await drain(worker) == 4  # two first deliveries, two prints
    assert [s["certificateNumber"] for s in _sidecars(spool_dir)] == [mine, mine]


async def test_a_revoked_certificate_is_not_printed(
    client: Client, seeded: Demo, conn: asyncpg.Connection, worker: Worker, spool_dir: Path
) -> None:
    number, other = await _issue(client, seeded)
    school = seeded.school(seeded.public)
    # Ordered while valid, revoked before the worker came to it: dead-lettered, not printed.
    assert (await _order(client, school, other)).status_code == 202
    revoked = await client.post(
        f"/api/schools/751234/certificates/{other}/revocation",
        json={"reason": "fraud"},
        headers={**school, "Idempotency-Key": "revoke"},
    )
    assert revoked.status_code == 201
    response = await _order(client, school, other, key="paper-after")
    assert response.status_code == 409
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["invalid-params"][0]["name"] == "number"
    ase = await login(client, BO)
    assert (await _order(client, ase, other, school=None)).status_code == 409

    await drain(worker)
    state = await conn.fetchval(
        "SELECT state FROM delivery_jobs WHERE certificate_number = $1 "
        "AND purpose = 'paper-on-request'",
        other,
    )
    assert state == "dead"
    assert not _pdfs(spool_dir)
    assert number  # the valid one is untouched


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({}, 422, "reason"),
        ({"reason": ""}, 422, "reason"),
        ({"reason": "x" * 201}, 400, "reason"),
        ({"reason": "   "}, 422, "reason"),
        ({"reason": f"for {ASE}"}, 422, "reason"),
        ({"reason": "Politiet", "cpr": ASE}, 400, "body"),  # an unknown field of the body
    ],
)
async def test_a_request_must_name_the_authority_and_nothing_personal(
    client: Client,
    seeded: Demo,
    conn: asyncpg.Connection,
    body: dict[str, Any],
    status: int,
    field: str,
) -> None:
    number, _ = await _issue(client, seeded)
    response = await client.post(
        f"/api/schools/751234/certificates/{number}/paper",
        json=body,
        headers={**seeded.school(seeded.public), "Idempotency-Key": "k"},
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert [p["name"] for p in response.json()["invalid-params"]] == [field]
    assert ASE not in response.text
    assert ASE.replace("-", "") not in response.text
    count = "SELECT count(*) FROM delivery_jobs WHERE purpose = 'paper-on-request'"
    assert await conn.fetchval(count) == 0


async def test_a_request_needs_an_idempotency_key(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    number, _ = await _issue(client, seeded)
    response = await client.post(
        f"/api/schools/751234/certificates/{number}/paper",
        json={"reason": AUTHORITY},
        headers=seeded.school(seeded.public),
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(PROBLEM)
    assert [p["name"] for p in response.json()["invalid-params"]] == ["Idempotency-Key"]
    count = "SELECT count(*) FROM delivery_jobs WHERE purpose = 'paper-on-request'"
    assert await conn.fetchval(count) == 0


async def test_the_schools_key_reused_for_another_certificate_is_refused_and_queues_nothing(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    first, second = await _issue(client, seeded)
    school = seeded.school(seeded.public)
    ordered = await _order(client, school, first, key="paper-1")
    assert ordered.status_code == 202, ordered.text
    # The same key and reason for the other certificate is another request, not a new print.
    reused = await _order(client, school, second, key="paper-1")
    assert reused.status_code == 422, reused.text
    assert reused.headers["content-type"].startswith(PROBLEM)
    assert reused.json()["type"].endswith("/idempotency-key-reused")
    assert reused.json()["invalid-params"][0]["name"] == "Idempotency-Key"
    assert "requestReason" not in reused.text
    rows = await conn.fetch(
        "SELECT certificate_number FROM delivery_jobs WHERE purpose = 'paper-on-request'"
    )
    assert [r["certificate_number"] for r in rows] == [first]
    stored = await conn.fetchval("SELECT response_body FROM idempotency_keys WHERE key = 'paper-1'")
    assert stored == ordered.content


async def test_paper_on_request_over_http_goes_to_the_spool_and_not_to_digital_post(
    client: Client, seeded: Demo, settings: Settings
) -> None:
    """Through the worker wired to the local Digital Post test server: the certificate went
    digitally once, the paper copy goes to the spool, and Digital Post gets nothing more."""
    with running_test_server() as (server, url):
        number, _ = await _issue(client, seeded)
        async with harness(settings, url) as h:
            worker = h.worker()
            assert await drain(worker) == 2
            ordered = await _order(client, seeded.school(seeded.public), number)
            assert ordered.status_code == 202
            assert await drain(worker) == 1
            spooled = _sidecars(h.spool_dir)
        assert len(server.received()) == 2  # one message per certificate, none for paper
    assert [(s["certificateNumber"], s["reason"]) for s in spooled] == [
        (number, "paper-on-request")
    ]
