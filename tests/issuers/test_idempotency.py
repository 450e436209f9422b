"""An Idempotency-Key is bound to the school, the method, the route and its target, and the
body: the same request again gets the first answer's very bytes and does nothing; the key
reused for any other request is a 422 problem, never the other request's answer, and never a
write silently dropped (issue 12)."""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec

from issuers import idempotency
from issuers.idempotency import IdempotentRequest
from registry.db import Connection
from tests.conftest import Demo
from tests.helpers import ASE, BO, Client, post_team, team_body

PROBLEM = "application/problem+json"
RETAKE = {"heldOn": "2026-11-17", "parts": ["passed"], "kind": "retake"}


def _school(demo: Demo, key: str) -> dict[str, str]:
    return {**demo.school(demo.public), "Idempotency-Key": key}


def _refused_as_key_reuse(response: Any) -> None:
    """A 422 problem naming the header, carrying no participation (no other request's answer)."""
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["type"].endswith("/idempotency-key-reused")
    assert [p["name"] for p in body["invalid-params"]] == ["Idempotency-Key"]
    assert "participation" not in body
    assert "resultGroup" not in body


async def _two_failed(client: Client, demo: Demo) -> list[str]:
    body = team_body(
        [
            {"cpr": ASE, "name": "Åse Ødegård", "exam": "failed"},
            {"cpr": BO, "name": "Bo Jensen", "exam": "failed"},
        ]
    )
    team = await post_team(client, demo.public, body, key="team")
    assert team.status_code == 201, team.text
    return [p["participation"] for p in team.json()["participants"]]


async def _attempts(conn: asyncpg.Connection, participation: str) -> list[str]:
    rows = await conn.fetch(
        """SELECT attempt->>'kind' AS kind FROM exam_attempts
           WHERE participation_id = $1 ORDER BY seq""",
        participation,
    )
    return [r["kind"] for r in rows]


async def test_a_repeated_team_gets_the_first_answers_bytes_and_status(
    client: Client, seeded: Demo
) -> None:
    first = await post_team(client, seeded.public, team_body(), key="bytes")
    again = await post_team(client, seeded.public, team_body(), key="bytes")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.content == first.content
    assert again.headers["content-type"] == first.headers["content-type"]


async def test_repeated_attempts_and_changes_get_the_first_answers_bytes(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    body = team_body([{"cpr": ASE, "name": "Åse Ødegård", "exam": "failed"}])
    team = await post_team(client, seeded.public, body, key="team")
    participation = team.json()["participants"][0]["participation"]
    path = f"/api/schools/751234/participations/{participation}"
    headers = _school(seeded, "retake")
    first = await client.post(f"{path}/attempts", json=RETAKE, headers=headers)
    again = await client.post(f"{path}/attempts", json=RETAKE, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.content == first.content
    headers = _school(seeded, "drop-out")
    first = await client.patch(path, json={"droppedOut": False}, headers=headers)
    again = await client.patch(path, json={"droppedOut": False}, headers=headers)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.content == first.content
    assert await conn.fetchval("SELECT count(*) FROM exam_attempts") == 2


async def test_the_stored_answer_is_the_bytes_sent(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    first = await post_team(client, seeded.public, team_body(), key="stored")
    stored = await conn.fetchval(
        "SELECT response_body FROM idempotency_keys WHERE school_id = '751234' AND key = $1",
        "stored",
    )
    assert stored == first.content


async def test_the_same_key_and_body_for_another_participation_is_refused_not_answered(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    # The bug: p2 got p1's answer and p2's retake was never recorded.
    p1, p2 = await _two_failed(client, seeded)
    base = "/api/schools/751234/participations"
    first = await client.post(f"{base}/{p1}/attempts", json=RETAKE, headers=_school(seeded, "r"))
    assert first.status_code == 201, first.text
    other = await client.post(f"{base}/{p2}/attempts", json=RETAKE, headers=_school(seeded, "r"))
    _refused_as_key_reuse(other)
    assert "target" in other.json()["detail"]  # says which part differed
    assert await _attempts(conn, p1) == ["ordinary", "retake"]
    assert await _attempts(conn, p2) == ["ordinary"]
    # p1's own repeat still gets p1's answer; p2 with a key of its own is recorded.
    again = await client.post(f"{base}/{p1}/attempts", json=RETAKE, headers=_school(seeded, "r"))
    assert again.content == first.content
    fresh = await client.post(f"{base}/{p2}/attempts", json=RETAKE, headers=_school(seeded, "r2"))
    assert fresh.status_code == 201, fresh.text
    assert fresh.json()["participation"] == p2
    assert await _attempts(conn, p2) == ["ordinary", "retake"]


async def test_the_same_key_with_another_body_is_refused(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    p1, _ = await _two_failed(client, seeded)
    path = f"/api/schools/751234/participations/{p1}/attempts"
    assert (await client.post(path, json=RETAKE, headers=_school(seeded, "b"))).status_code == 201
    later = {**RETAKE, "heldOn": "2026-11-18"}
    _refused_as_key_reuse(await client.post(path, json=later, headers=_school(seeded, "b")))
    assert await _attempts(conn, p1) == ["ordinary", "retake"]


async def test_the_same_key_with_another_method_or_route_is_refused(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    p1, _ = await _two_failed(client, seeded)
    path = f"/api/schools/751234/participations/{p1}"
    change = {"droppedOut": True}
    assert (await client.patch(path, json=change, headers=_school(seeded, "m"))).status_code == 200
    # The participation's PATCH key used for a POST to its attempts.
    posted = await client.post(f"{path}/attempts", json=RETAKE, headers=_school(seeded, "m"))
    _refused_as_key_reuse(posted)
    # Another route altogether: the team key used for an attempt.
    _refused_as_key_reuse(
        await client.post(f"{path}/attempts", json=RETAKE, headers=_school(seeded, "team"))
    )
    assert await _attempts(conn, p1) == ["ordinary"]


async def test_each_school_has_its_own_keys(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    p1, _ = await _two_failed(client, seeded)
    path = f"/api/schools/751234/participations/{p1}/attempts"
    await client.post(path, json=RETAKE, headers=_school(seeded, "shared"))
    private = {**seeded.school(seeded.private), "Idempotency-Key": "shared"}
    team = await client.post("/api/schools/863410/teams", json=team_body(), headers=private)
    assert team.status_code == 201, team.text
    assert "team" in team.json()
    rows = await conn.fetch("SELECT school_id, route FROM idempotency_keys WHERE key = 'shared'")
    assert sorted((r["school_id"], r["route"].rsplit("/", 1)[-1]) for r in rows) == [
        ("751234", "attempts"),
        ("863410", "teams"),
    ]


class _Tally(msgspec.Struct):
    # A map whose order JSONB would change (it sorts keys by length): a replay read back from
    # JSONB and encoded again would not be the bytes first sent.
    counts: dict[str, int]


async def test_a_replay_is_the_stored_bytes_not_a_new_encoding(
    conn: asyncpg.Connection, seeded: Demo
) -> None:
    pool: Any = _OneConnection(conn)
    write = IdempotentRequest(
        school_id="751234",
        key="tally",
        raw_body=b"{}",
        method="POST",
        route="/tally",
        target="/tally",
    )
    runs = []

    async def work(_: Connection) -> _Tally:
        runs.append(1)
        return _Tally({"longest": 1, "b": 2})

    first = await idempotency.run(pool, write, _Tally, work)
    again = await idempotency.run(pool, write, _Tally, work)
    assert first.body == b'{"counts":{"longest":1,"b":2}}'
    assert again.body == first.body
    assert again.answer == first.answer
    assert runs == [1]


class _OneConnection:
    """A pool of the test's own connection (``run`` only acquires one)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    def acquire(self) -> _OneConnection:
        return self

    async def __aenter__(self) -> asyncpg.Connection:
        return self._conn

    async def __aexit__(self, *_: object) -> None:
        return None
