"""Corrections and revocations: the old certificate stays on record as cancelled and points to
its replacement, every status event is a leaf of the log, and verification reports it."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
from typing import Any

import asyncpg
import pytest

from formats.jws import read_header
from registry.transparency import merkle, proofs
from tests.conftest import Demo, FixedClock
from tests.helpers import ASE, Client, login, post_team, team_body

PROBLEM = "application/problem+json"
PROBLEMS_BASE = "https://amu-bevis.example/problems/"


async def _issue_one(client: Client, demo: Demo, reference: str = "H-1") -> dict[str, Any]:
    body = team_body([{"cpr": ASE, "name": "Åse Ødegaard", "exam": "passed"}], reference=reference)
    response = await post_team(client, demo.public, body, key=reference)
    assert response.status_code == 201, response.text
    certificate: dict[str, Any] = response.json()["participants"][0]["certificate"]
    return certificate


_keys = itertools.count()


def _school(demo: Demo) -> dict[str, str]:
    """The school's credential and a fresh Idempotency-Key: each call is a new request."""
    return {**demo.school(demo.public), "Idempotency-Key": f"correction-{next(_keys)}"}


async def _verify(client: Client, number: str, code: str) -> dict[str, Any]:
    response = await client.get(f"/api/verify/{number}", params={"code": code})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_correction_cancels_and_replaces_and_both_stay_on_record(
    client: Client, seeded: Demo, clock: FixedClock, conn: asyncpg.Connection
) -> None:
    old = await _issue_one(client, seeded)
    response = await client.post(
        f"/api/schools/751234/certificates/{old['number']}/corrections",
        json={"reason": "participant-data", "name": "Åse Ødegård"},
        headers=_school(seeded),
    )
    assert response.status_code == 201, response.text
    out = response.json()
    new = out["replacement"]
    assert out["cancelled"] == old["number"]
    assert new["number"] != old["number"]

    before = await _verify(client, old["number"], old["verificationCode"])
    assert before["status"] == "cancelled"
    assert before["replacedBy"] == new["number"]
    assert before["statusReason"] == "participant-data"
    assert before["statusAt"].startswith("2026-11-20")
    after = await _verify(client, new["number"], new["verificationCode"])
    assert after["status"] == "valid"
    assert after["participantName"] == "Åse Ødegård"

    # The replacement's signed record names the certificate it replaces.
    mine = await client.get(
        f"/api/me/certificates/{new['number']}", headers=await login(client, ASE)
    )
    payload = mine.json()["signedRecord"].split(".")[1]
    record = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert record["replaces"] == old["number"]
    assert read_header(mine.json()["signedRecord"])["kid"].startswith("751234-")
    # Both rows stay; the old one has its issued and cancelled events.
    kinds = await conn.fetch(
        "SELECT kind, replaced_by FROM certificate_events "
        "WHERE certificate_number = $1 ORDER BY id",
        old["number"],
    )
    assert [(k["kind"], k["replaced_by"]) for k in kinds] == [
        ("issued", None),
        ("cancelled", new["number"]),
    ]


async def test_status_events_are_leaves_of_the_log(client: Client, seeded: Demo) -> None:
    old = await _issue_one(client, seeded, "H-1")
    other = await _issue_one(client, seeded, "H-2")
    corrected = await client.post(
        f"/api/schools/751234/certificates/{old['number']}/corrections",
        json={"reason": "course-data", "team": "H-1b"},
        headers=_school(seeded),
    )
    assert corrected.status_code == 201, corrected.text
    revoked = await client.post(
        f"/api/schools/751234/certificates/{other['number']}/revocation",
        json={"reason": "exam-annulled"},
        headers=_school(seeded),
    )
    assert revoked.status_code == 201, revoked.text
    assert revoked.json()["status"] == "revoked"

    # Leaves 0-2 are the key history (the log key and the two schools' keys).
    leaves = [
        json.loads((await client.get(f"/api/log/leaves/{i}")).json()["entry"]) for i in range(3, 8)
    ]
    assert [(e["event"], e["certificate"]) for e in leaves] == [
        ("issued", old["number"]),
        ("issued", other["number"]),
        ("issued", corrected.json()["replacement"]["number"]),
        ("cancelled", old["number"]),
        ("revoked", other["number"]),
    ]
    assert leaves[3]["replacedBy"] == corrected.json()["replacement"]["number"]
    assert leaves[3]["reason"] == "course-data"
    assert leaves[4]["reason"] == "exam-annulled"
    # The cancelled leaf is proven included like any other.
    proof = (await client.get("/api/log/proof/inclusion?index=3&treeSize=5")).json()
    all_leaves = [
        merkle.Hash(base64.b64decode((await client.get(f"/api/log/leaves/{i}")).json()["leafHash"]))
        for i in range(5)
    ]
    proofs.verify_inclusion(
        leaf_hash=all_leaves[3],
        index=3,
        size=5,
        proof=[base64.b64decode(h) for h in proof["hashes"]],
        root=merkle.tree_hash(all_leaves),
    )

    verified = await _verify(client, other["number"], other["verificationCode"])
    assert (verified["status"], verified["statusReason"]) == ("revoked", "exam-annulled")
    assert ASE not in json.dumps(leaves)


async def test_a_certificate_ends_only_once(client: Client, seeded: Demo) -> None:
    old = await _issue_one(client, seeded)
    path = f"/api/schools/751234/certificates/{old['number']}"
    first = await client.post(
        f"{path}/revocation", json={"reason": "fraud"}, headers=_school(seeded)
    )
    assert first.status_code == 201
    again = await client.post(
        f"{path}/revocation", json={"reason": "fraud"}, headers=_school(seeded)
    )
    assert again.status_code == 409
    assert again.headers["content-type"].startswith(PROBLEM)
    assert again.json()["invalid-params"][0]["name"] == "number"
    correct = await client.post(
        f"{path}/corrections", json={"reason": "other-error", "name": "X"}, headers=_school(seeded)
    )
    assert correct.status_code == 409


async def test_concurrent_corrections_make_one_replacement(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    old = await _issue_one(client, seeded)
    path = f"/api/schools/751234/certificates/{old['number']}/corrections"
    responses = await asyncio.gather(
        *(
            client.post(
                path,
                json={"reason": "participant-data", "name": f"Navn {i}"},
                headers=_school(seeded),
            )
            for i in range(4)
        )
    )
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409]
    assert await conn.fetchval("SELECT count(*) FROM certificates") == 2
    certificate_leaves = "SELECT count(*) FROM log_leaves WHERE event_id IS NOT NULL"
    assert await conn.fetchval(certificate_leaves) == 3


@pytest.mark.parametrize(
    ("body", "status", "problem", "field"),
    [
        ({"reason": "participant-data"}, 422, "invalid-input", "body"),
        (
            {"reason": "participant-data", "name": "Åse Ødegaard"},  # the name it already has
            422,
            "invalid-input",
            "body",
        ),
        ({"reason": "course-data", "courseEnd": "2026-01-01"}, 422, "invalid-input", "courseEnd"),
        ({"reason": "course-data", "examDate": "2020-01-01"}, 422, "invalid-input", "examDate"),
        ({"reason": "no-such-reason", "name": "X"}, 400, "invalid-request", "reason"),
        # A CPR number is never corrected: an unknown field of the body, refused as malformed.
        ({"reason": "participant-data", "cpr": "010190-1234"}, 400, "invalid-request", "body"),
    ],
    ids=["no-change", "same-name", "end-before-start", "exam-before-start", "reason", "cpr"],
)
async def test_a_correction_that_changes_nothing_or_is_impossible_is_refused(
    client: Client,
    seeded: Demo,
    conn: asyncpg.Connection,
    body: dict[str, Any],
    status: int,
    problem: str,
    field: str,
) -> None:
    old = await _issue_one(client, seeded)
    stored = (
        "SELECT (SELECT array_agg(c ORDER BY number) FROM certificates c)::text,"
        " (SELECT array_agg(e ORDER BY id) FROM certificate_events e)::text,"
        " (SELECT count(*) FROM log_leaves)"
    )
    before = await conn.fetchrow(stored)
    response = await client.post(
        f"/api/schools/751234/certificates/{old['number']}/corrections",
        json=body,
        headers=_school(seeded),
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    document = response.json()
    assert (document["type"], document["status"]) == (PROBLEMS_BASE + problem, status)
    assert [p["name"] for p in document["invalid-params"]] == [field]
    assert ASE not in response.text
    # Nothing was stored or changed: no replacement, no cancellation, no log leaf.
    assert await conn.fetchrow(stored) == before
    assert (await _verify(client, old["number"], old["verificationCode"]))["status"] == "valid"


async def test_a_school_cannot_touch_another_schools_certificate(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    old = await _issue_one(client, seeded)
    # The private school's credential, on its own path, naming the public school's certificate.
    response = await client.post(
        f"/api/schools/863410/certificates/{old['number']}/revocation",
        json={"reason": "fraud"},
        headers={**seeded.school(seeded.private), "Idempotency-Key": "other"},
    )
    assert response.status_code == 404
    assert await conn.fetchval("SELECT count(*) FROM certificate_events") == 1


async def test_a_correction_is_assessed_by_the_rules_as_at_issue(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    old = await _issue_one(client, seeded)
    path = f"/api/schools/751234/certificates/{old['number']}/corrections"
    # Moving the exam to the course's first day is a fact the rules accept: the replacement
    # keeps the annotations they give, and the exam date moves with it.
    moved = await client.post(
        path,
        json={"reason": "course-data", "examDate": "2026-11-09", "name": " Åse Ødegård "},
        headers=_school(seeded),
    )
    assert moved.status_code == 201, moved.text
    newer = moved.json()["replacement"]["number"]
    mine = await client.get(f"/api/me/certificates/{newer}", headers=await login(client, ASE))
    payload = mine.json()["signedRecord"].split(".")[1]
    record = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert record["annotations"] == {"examPassed": True, "dispensation": False, "ikv": False}
    assert record["examDate"] == "2026-11-09"
    assert record["participant"]["name"] == "Åse Ødegård"  # NFC, outer spaces dropped
    # Annotations the rules would not give are refused, and nothing is stored.
    before = await conn.fetchval("SELECT count(*) FROM certificates")
    refused = await client.post(
        f"/api/schools/751234/certificates/{newer}/corrections",
        json={
            "reason": "result-data",
            "annotations": {"examPassed": True, "dispensation": True, "ikv": False},
        },
        headers=_school(seeded),
    )
    assert refused.status_code == 422, refused.text
    assert [p["name"] for p in refused.json()["invalid-params"]] == ["annotations"]
    assert await conn.fetchval("SELECT count(*) FROM certificates") == before
