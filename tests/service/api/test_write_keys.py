"""Every state-changing school request takes an Idempotency-Key (issue 12): corrections,
revocations and the delivery desk's writes without one are refused naming the header and
change nothing; with one, a repeat gets the first answer's very bytes instead of "already
cancelled"."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from tests.conftest import Demo
from tests.helpers import ASE, Client, post_team, team_body

PROBLEM = "application/problem+json"
ACTIONS = [
    ("corrections", {"reason": "participant-data", "name": "Åse Ødegård"}),
    ("revocation", {"reason": "fraud"}),
]


async def _issued(client: Client, demo: Demo) -> str:
    body = team_body([{"cpr": ASE, "name": "Åse Ødegaard", "exam": "passed"}])
    response = await post_team(client, demo.public, body, key="team")
    assert response.status_code == 201, response.text
    number: str = response.json()["participants"][0]["certificate"]["number"]
    return number


async def _register(conn: asyncpg.Connection) -> tuple[Any, ...]:
    return (
        await conn.fetchval("SELECT count(*) FROM certificates"),
        await conn.fetchval("SELECT count(*) FROM certificate_events"),
        await conn.fetchval("SELECT count(*) FROM idempotency_keys"),
    )


@pytest.mark.parametrize(("action", "body"), ACTIONS, ids=[a for a, _ in ACTIONS])
async def test_without_a_key_it_is_refused_naming_the_header_and_nothing_is_stored(
    client: Client, seeded: Demo, conn: asyncpg.Connection, action: str, body: dict[str, str]
) -> None:
    number = await _issued(client, seeded)
    before = await _register(conn)
    path = f"/api/schools/751234/certificates/{number}/{action}"
    response = await client.post(path, json=body, headers=seeded.school(seeded.public))
    # The missing key is answered like every other missing header (400, see test_problems).
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert [p["name"] for p in response.json()["invalid-params"]] == ["Idempotency-Key"]
    assert await _register(conn) == before
    verified = await conn.fetchval(
        "SELECT count(*) FROM certificate_events WHERE certificate_number = $1", number
    )
    assert verified == 1  # issued, nothing more


@pytest.mark.parametrize(("action", "body"), ACTIONS, ids=[a for a, _ in ACTIONS])
async def test_with_a_key_a_repeat_gets_the_first_answers_bytes_and_does_nothing(
    client: Client, seeded: Demo, conn: asyncpg.Connection, action: str, body: dict[str, str]
) -> None:
    number = await _issued(client, seeded)
    path = f"/api/schools/751234/certificates/{number}/{action}"
    headers = {**seeded.school(seeded.public), "Idempotency-Key": f"{action}-1"}
    first = await client.post(path, json=body, headers=headers)
    assert first.status_code == 201, first.text
    after_first = await _register(conn)
    again = await client.post(path, json=body, headers=headers)
    assert again.status_code == 201, again.text
    assert again.content == first.content
    assert again.headers["content-type"] == first.headers["content-type"]
    assert await _register(conn) == after_first
    stored = await conn.fetchval(
        "SELECT response_body FROM idempotency_keys WHERE key = $1", f"{action}-1"
    )
    assert stored == first.content


async def test_a_correction_key_reused_for_a_revocation_is_refused(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    number = await _issued(client, seeded)
    base = f"/api/schools/751234/certificates/{number}"
    headers = {**seeded.school(seeded.public), "Idempotency-Key": "one"}
    corrected = await client.post(f"{base}/corrections", json=ACTIONS[0][1], headers=headers)
    assert corrected.status_code == 201, corrected.text
    replacement = corrected.json()["replacement"]["number"]
    before = await _register(conn)
    base = f"/api/schools/751234/certificates/{replacement}"
    refused = await client.post(f"{base}/revocation", json=ACTIONS[1][1], headers=headers)
    assert refused.status_code == 422, refused.text
    assert refused.json()["type"].endswith("/idempotency-key-reused")
    assert "replacement" not in refused.json()
    assert await _register(conn) == before


async def _deliveries(conn: asyncpg.Connection) -> tuple[Any, ...]:
    return (
        tuple(await conn.fetch("SELECT id, state, failures FROM delivery_jobs ORDER BY id")),
        await conn.fetchval("SELECT count(*) FROM eboks_consents"),
        await conn.fetchval("SELECT count(*) FROM idempotency_keys"),
    )


# The delivery desk's writes: the path after the school, and the body.
DELIVERY_WRITES = [
    ("deliveries/{number}/retry", None),
    ("eboks-consents", {"cpr": ASE}),
    ("certificates/{number}/paper", {"reason": "Politiet"}),
]


@pytest.mark.parametrize(("route", "body"), DELIVERY_WRITES, ids=["retry", "consent", "paper"])
async def test_a_delivery_write_without_a_key_is_refused_and_changes_nothing(
    client: Client,
    seeded: Demo,
    conn: asyncpg.Connection,
    route: str,
    body: dict[str, str] | None,
) -> None:
    number = await _issued(client, seeded)
    # A dead letter to retry; consent is a private school's, so the public school's request
    # would be refused for that reason too: the key is checked first, whatever the school.
    await conn.execute("UPDATE delivery_jobs SET state = 'dead', failures = 3")
    school = seeded.private if route == "eboks-consents" else seeded.public
    school_id = "863410" if route == "eboks-consents" else "751234"
    before = await _deliveries(conn)
    path = f"/api/schools/{school_id}/{route.format(number=number)}"
    response = await client.post(path, json=body, headers=seeded.school(school))
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert [p["name"] for p in response.json()["invalid-params"]] == ["Idempotency-Key"]
    assert await _deliveries(conn) == before
    assert before[0][0]["state"] == "dead"  # not requeued


async def test_the_openapi_document_requires_the_key_on_every_school_write(
    client: Client,
) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    writes = {
        (method, path): operation
        for path, item in schema["paths"].items()
        if path.startswith("/api/schools/")
        for method, operation in item.items()
        if method in {"post", "put", "patch", "delete"}
    }
    assert ("post", "/api/schools/{school_id}/certificates/{number}/corrections") in writes
    assert ("post", "/api/schools/{school_id}/eboks-consents") in writes
    for route, operation in writes.items():
        keys = [
            p
            for p in operation.get("parameters", [])
            if p["in"] == "header" and p["name"] == "Idempotency-Key"
        ]
        assert [p["required"] for p in keys] == [True], route
