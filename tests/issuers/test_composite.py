"""Composite courses over the school API: each goal keeps its own result, a participant is
examined only in the goals they took, and the combined document is shown when due, never
registered as a certificate (docs/rules.md, C1 and C2)."""

from __future__ import annotations

from typing import Any

import asyncpg

from tests.conftest import Demo
from tests.helpers import ASE, BO, Client, post_team, team_body

BASE = "/api/schools/751234/composite-courses"
ASE_NAME, BO_NAME = "Åse Ødegård", "Bo Jensen"


async def _team(
    client: Client, demo: Demo, goal: str, participants: list[dict[str, Any]], *, token: str = ""
) -> str:
    body = team_body(participants, reference=f"SF-{goal}", goal=goal)
    response = await post_team(client, token or demo.public, body, key=f"team-{goal}")
    assert response.status_code == 201, response.text
    team: str = response.json()["team"]
    return team


async def _declare(
    client: Client, demo: Demo, teams: list[str], *, reference: str = "SF-1", key: str = "c1"
) -> Any:
    headers = {**demo.school(demo.public), "Idempotency-Key": key}
    return await client.post(BASE, json={"reference": reference, "teams": teams}, headers=headers)


async def _participant(client: Client, headers: dict[str, str], name: str) -> Any:
    view = (await client.get(f"{BASE}/SF-1", headers=headers)).json()
    return next(p for p in view["participants"] if p["name"] == name)


async def _three_goals(client: Client, demo: Demo) -> list[str]:
    """Hygiene (48113, exam): Åse passes, Bo passes. Dangerous goods (47596, exam): Åse fails.
    First aid (42638, no exam): only Bo, with no judgement yet."""
    return [
        await _team(
            client,
            demo,
            "48113",
            [
                {"cpr": ASE, "name": ASE_NAME, "exam": "passed"},
                {"cpr": BO, "name": BO_NAME, "exam": "passed"},
            ],
        ),
        await _team(client, demo, "47596", [{"cpr": ASE, "name": ASE_NAME, "exam": "failed"}]),
        await _team(client, demo, "42638", [{"cpr": BO, "name": BO_NAME}]),
    ]


async def test_composite_course_keeps_a_result_per_goal_over_the_api(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    teams = await _three_goals(client, seeded)
    declared = await _declare(client, seeded, teams)
    assert declared.status_code == 201, declared.text
    assert [g["goal"] for g in declared.json()["goals"]] == ["48113", "47596", "42638"]

    view = await client.get(f"{BASE}/SF-1", headers=seeded.school(seeded.public))
    assert view.status_code == 200, view.text
    assert ASE not in view.text
    assert BO not in view.text
    body = view.json()
    people = {p["name"]: p for p in body["participants"]}
    ase, bo = people[ASE_NAME], people[BO_NAME]
    assert len(ase["participations"]) == 2
    # Each goal taken keeps its own result; the goal not taken has none and is not examined.
    assert [(r["goal"], r["resultGroup"], r["resultCategory"]) for r in ase["results"]] == [
        ("48113", 1, 1),
        ("47596", 1, 4),
    ]
    assert ase["notTaken"] == ["42638"]
    passed, failed = ase["results"]
    certificate = next(d for d in passed["documents"] if d["kind"] == "amu-certificate")
    assert len(certificate["issued"]) == 1
    assert [d["kind"] for d in failed["documents"]] == ["participation-document"]
    assert all(d["issued"] == [] for d in failed["documents"])
    # The combined document lists the certified goal and is due with its certificate.
    combined = ase["combinedDocument"]
    assert combined == {
        "kind": "combined-document",
        "goals": ["48113"],
        "dueBy": passed["deadlines"]["certificateBy"],
        "optional": True,
        "issued": [],
    }
    # Bo's first aid has no final result yet, so no combined document is due for him.
    assert [(r["goal"], r["final"]) for r in bo["results"]] == [("48113", True), ("42638", False)]
    assert bo["notTaken"] == ["47596"]
    assert bo["combinedDocument"] is None

    # Certificates only for the goals passed, and never one for the combined document.
    rows = await conn.fetch(
        """SELECT c.goal_number, p.cpr FROM certificates c
           JOIN participations p ON p.id = c.participation_id ORDER BY p.cpr"""
    )
    assert [(r["cpr"], r["goal_number"]) for r in rows] == [(ASE, "48113"), (BO, "48113")]


async def test_composite_course_combined_document_is_due_once_the_last_goal_is_final(
    client: Client, seeded: Demo
) -> None:
    teams = await _three_goals(client, seeded)
    assert (await _declare(client, seeded, teams)).status_code == 201
    own = seeded.school(seeded.public)
    bo = await _participant(client, own, BO_NAME)
    first_aid = bo["results"][1]["participation"]
    judged = await client.patch(
        f"/api/schools/751234/participations/{first_aid}",
        json={"judgement": "goal-reached"},
        headers={**own, "Idempotency-Key": "judge"},
    )
    assert judged.status_code == 200, judged.text
    bo = await _participant(client, own, BO_NAME)
    assert bo["combinedDocument"]["goals"] == ["48113", "42638"]


async def test_declaring_twice_with_the_same_key_answers_the_same(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    teams = await _three_goals(client, seeded)
    first, again = await _declare(client, seeded, teams), await _declare(client, seeded, teams)
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json() == again.json()
    assert await conn.fetchval("SELECT count(*) FROM composite_courses") == 1
    reused = await _declare(client, seeded, teams, key="c2")
    assert reused.status_code == 409
    assert reused.json()["invalid-params"][0]["name"] == "reference"


async def test_a_goal_given_twice_is_refused_naming_rule_and_team(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    hygiene = await _team(client, seeded, "48113", [{"cpr": ASE, "name": ASE_NAME}])
    body = team_body([{"cpr": BO, "name": BO_NAME}], reference="SF-48113-b", goal="48113")
    other = (await post_team(client, seeded.public, body, key="b")).json()["team"]
    refused = await _declare(client, seeded, [hygiene, other])
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["rule"] == "duplicate-goal-in-composite-course"
    assert problem["invalid-params"][0]["name"] == "teams[1]"
    assert await conn.fetchval("SELECT count(*) FROM composite_courses") == 0


async def test_an_unknown_team_is_refused_naming_it(client: Client, seeded: Demo) -> None:
    hygiene = await _team(client, seeded, "48113", [{"cpr": ASE, "name": ASE_NAME}])
    refused = await _declare(client, seeded, [hygiene, "00000000-0000-4000-8000-000000000000"])
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["invalid-params"][0]["name"] == "teams[1]"


async def test_an_unknown_course_is_not_found(client: Client, seeded: Demo) -> None:
    response = await client.get(f"{BASE}/SF-none", headers=seeded.school(seeded.public))
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
