"""The vertical slice over HTTP: a school issues, the participant finds it, anyone verifies."""

from __future__ import annotations

import base64
import json

import asyncpg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from formats.jws import read_header, verify_record
from tests.conftest import Demo
from tests.helpers import ASE, BO, Client, login, post_team, team_body


async def test_school_issues_participant_finds_authority_verifies(
    client: Client, seeded: Demo
) -> None:
    issued = await post_team(client, seeded.public, team_body())
    assert issued.status_code == 201, issued.text
    ase, bo = issued.json()["participants"]
    assert (ase["resultGroup"], ase["resultCategory"]) == (1, 1)
    assert (bo["resultGroup"], bo["resultCategory"], bo["certificate"]) == (1, 4, None)
    number, code = ase["certificate"]["number"], ase["certificate"]["verificationCode"]
    assert ase["certificate"]["verifyUrl"].endswith(f"/tjek/{number}?kode={code}")

    mine = await client.get("/api/me/certificates", headers=await login(client, ASE))
    assert [c["number"] for c in mine.json()] == [number]
    certificate = mine.json()[0]
    assert certificate["goalNumber"] == "48113"
    assert certificate["schoolName"] == "Erhvervsskolen Nordvest"
    assert certificate["annotations"] == {"examPassed": True, "dispensation": False, "ikv": False}

    verified = await client.get(f"/api/verify/{number}", params={"code": code})
    body = verified.json()
    assert body["status"] == "valid"
    assert body["participantName"] == "Åse Ødegård"
    assert body["goalTitle"] == "Hygiejne for fødevarebranchen"
    assert ASE not in verified.text
    assert ASE.replace("-", "") not in verified.text


async def test_the_failed_participant_has_no_certificate(client: Client, seeded: Demo) -> None:
    await post_team(client, seeded.public, team_body())
    mine = await client.get("/api/me/certificates", headers=await login(client, BO))
    assert mine.json() == []


async def test_goal_without_exam_certifies_on_the_teachers_judgement(
    client: Client, seeded: Demo
) -> None:
    body = team_body(
        [
            {"cpr": ASE, "name": "Åse Ødegård", "judgement": "goal-reached"},
            {"cpr": BO, "name": "Bo Jensen", "judgement": "goal-not-reached"},
        ],
        goal="42638",
    )
    participants = (await post_team(client, seeded.public, body)).json()["participants"]
    assert [(p["resultGroup"], p["resultCategory"]) for p in participants] == [(2, 1), (2, 3)]
    number = participants[0]["certificate"]["number"]
    mine = await client.get(f"/api/me/certificates/{number}", headers=await login(client, ASE))
    assert mine.json()["annotations"]["examPassed"] is None


async def test_repeating_an_idempotency_key_returns_the_first_answer_and_creates_nothing(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    first = await post_team(client, seeded.public, team_body(), key="same")
    again = await post_team(client, seeded.public, team_body(), key="same")
    assert again.status_code == 201
    assert again.json() == first.json()
    assert await conn.fetchval("SELECT count(*) FROM certificates") == 1
    assert await conn.fetchval("SELECT count(*) FROM teams") == 1


async def test_reusing_an_idempotency_key_for_another_request_is_refused(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    await post_team(client, seeded.public, team_body(), key="same")
    other = await post_team(client, seeded.public, team_body(reference="H-999"), key="same")
    assert other.status_code == 422
    assert other.json()["invalid-params"][0]["name"] == "Idempotency-Key"
    assert await conn.fetchval("SELECT count(*) FROM teams") == 1


async def test_the_same_key_at_two_schools_is_two_requests(client: Client, seeded: Demo) -> None:
    first = await post_team(client, seeded.public, team_body(), key="k")
    second = await post_team(client, seeded.private, team_body(), school="863410", key="k")
    assert first.status_code == second.status_code == 201
    assert first.json()["team"] != second.json()["team"]


async def test_signed_record_carries_the_schools_key_id_and_verifies_with_the_published_key(
    client: Client, seeded: Demo
) -> None:
    issued = (await post_team(client, seeded.public, team_body())).json()
    number = issued["participants"][0]["certificate"]["number"]
    mine = await client.get(f"/api/me/certificates/{number}", headers=await login(client, ASE))
    token = mine.json()["signedRecord"]
    kid = read_header(token)["kid"]
    published = {k["kid"]: k for k in (await client.get("/api/keys")).json()["keys"]}
    assert published[kid]["school"] == "751234"
    raw = base64.urlsafe_b64decode(published[kid]["x"] + "==")
    payload = verify_record(token, Ed25519PublicKey.from_public_bytes(raw))
    record = json.loads(payload)
    assert record["participant"]["cpr"] == ASE
    assert record["goal"] == {
        "number": "48113",
        "title": "Hygiejne for fødevarebranchen",
        "durationDays": "1.0",
    }
    assert record["school"] == {"id": "751234", "name": "Erhvervsskolen Nordvest"}
    assert (record["courseStart"], record["courseEnd"]) == ("2026-11-09", "2026-11-10")
