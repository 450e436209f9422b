"""A repeated request with the same Idempotency-Key gets the first answer, byte for byte, with
the route's status: the stored answer is read back into its type and encoded again."""

from __future__ import annotations

import asyncpg

from tests.conftest import Demo
from tests.helpers import ASE, Client, post_team, team_body


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
    headers = {**seeded.school(seeded.public), "Idempotency-Key": "retake"}
    retake = {"heldOn": "2026-11-17", "parts": ["passed"], "kind": "retake"}
    first = await client.post(f"{path}/attempts", json=retake, headers=headers)
    again = await client.post(f"{path}/attempts", json=retake, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.content == first.content
    headers = {**seeded.school(seeded.public), "Idempotency-Key": "drop-out"}
    first = await client.patch(path, json={"droppedOut": False}, headers=headers)
    again = await client.patch(path, json={"droppedOut": False}, headers=headers)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.content == first.content
    assert await conn.fetchval("SELECT count(*) FROM exam_attempts") == 2
