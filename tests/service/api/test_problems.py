"""Bad input is a 4xx problem document (RFC 9457) naming the field, never a 500, never the
submitted CPR number, and nothing already stored changes."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from issuers.rules import RuleViolation, UnknownGoalInCatalogueError
from registry.errors import RegistryError
from registry.keyhistory import KeyHistoryError
from registry.keys import KeyMissingError
from service.api.problems import PROBLEMS, problem_of
from tests.conftest import Demo
from tests.helpers import ASE, Client, post_team, team_body

PROBLEM = "application/problem+json"


def named_fields(response: Any) -> list[str]:
    assert response.headers["content-type"].startswith(PROBLEM), response.text
    body = response.json()
    assert {"type", "title", "status"} <= body.keys()
    assert body["status"] == response.status_code
    return [p["name"] for p in body.get("invalid-params", [])]


async def test_malformed_json_is_400(client: Client, seeded: Demo) -> None:
    response = await client.post(
        "/api/schools/751234/teams",
        content=b'{"team": ',
        headers={
            **seeded.school(seeded.public),
            "Idempotency-Key": "k",
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 400
    named_fields(response)


async def test_a_missing_idempotency_key_is_400_naming_the_header(
    client: Client, seeded: Demo
) -> None:
    response = await client.post(
        "/api/schools/751234/teams", json=team_body(), headers=seeded.school(seeded.public)
    )
    assert response.status_code == 400
    assert "Idempotency-Key" in " ".join(named_fields(response))


@pytest.mark.parametrize(
    "cpr",
    ["3102901234", "010190-123", "abcdef-1234", "011390-1234", "000000-0000"],
    ids=["31-february", "too-short", "letters", "month-13", "zeros"],
)
async def test_a_wrong_cpr_shape_is_refused_naming_the_field_not_the_value(
    client: Client, seeded: Demo, conn: asyncpg.Connection, cpr: str
) -> None:
    body = team_body(
        [{"cpr": ASE, "name": "Åse", "exam": "passed"}, {"cpr": cpr, "name": "X", "exam": "passed"}]
    )
    response = await post_team(client, seeded.public, body)
    assert response.status_code == 422, response.text
    assert named_fields(response) == ["participants[1].cpr"]
    assert response.json()["type"].endswith("/invalid-input")
    assert cpr not in response.text
    assert await conn.fetchval("SELECT count(*) FROM certificates") == 0


async def test_a_cpr_failing_modulus_11_is_accepted(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    # 010190-1234 fails the old modulus-11 check; such numbers are real since 2007.
    body = team_body([{"cpr": ASE, "name": "Åse Ødegård", "exam": "passed"}])
    response = await post_team(client, seeded.public, body)
    assert response.status_code == 201, response.text
    (issued,) = response.json()["participants"]
    assert (issued["resultGroup"], issued["resultCategory"]) == (1, 1)  # passed: a certificate
    number = issued["certificate"]["number"]
    stored = await conn.fetchrow(
        "SELECT school_id, cpr FROM certificates WHERE number = $1", number
    )
    assert stored is not None
    assert (stored["school_id"], stored["cpr"]) == ("751234", ASE)
    verified = await client.get(
        f"/api/verify/{number}", params={"code": issued["certificate"]["verificationCode"]}
    )
    assert verified.json()["status"] == "valid"


async def test_an_unknown_goal_is_422(client: Client, seeded: Demo) -> None:
    response = await post_team(client, seeded.public, team_body(goal="99999"))
    assert response.status_code == 422
    assert named_fields(response) == ["team.goal"]


async def test_a_goal_number_of_the_wrong_shape_is_400(client: Client, seeded: Demo) -> None:
    response = await post_team(client, seeded.public, team_body(goal="4811"))
    assert response.status_code == 400
    assert any("goal" in f for f in named_fields(response))


async def test_an_end_before_the_start_is_422(client: Client, seeded: Demo) -> None:
    response = await post_team(
        client, seeded.public, team_body(start="2026-11-10", end="2026-11-01")
    )
    assert response.status_code == 422
    assert named_fields(response) == ["team.end"]


async def test_an_impossible_date_is_400(client: Client, seeded: Demo) -> None:
    response = await post_team(client, seeded.public, team_body(start="2026-02-30"))
    assert response.status_code == 400
    assert any("start" in f for f in named_fields(response))


async def test_the_same_person_twice_on_a_team_is_422(client: Client, seeded: Demo) -> None:
    body = team_body(
        [
            {"cpr": ASE, "name": "Åse", "exam": "passed"},
            {"cpr": ASE.replace("-", ""), "name": "Åse", "exam": "passed"},
        ]
    )
    response = await post_team(client, seeded.public, body)
    assert response.status_code == 422
    assert named_fields(response) == ["participants[1].cpr"]
    assert ASE not in response.text


async def test_an_unknown_field_is_400(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    body = team_body()
    body["participants"][0]["extraTime"] = True  # special conditions are never recorded here
    response = await post_team(client, seeded.public, body)
    assert response.status_code == 400
    assert named_fields(response) == ["participants[0]"]
    # Not one of our field names: the client's key text is never repeated.
    assert response.json()["invalid-params"][0]["reason"] == "contains an unknown field"
    assert "extraTime" not in response.text
    assert await conn.fetchval("SELECT count(*) FROM teams") == 0


async def test_an_empty_team_is_400(client: Client, seeded: Demo) -> None:
    response = await post_team(client, seeded.public, team_body([]))
    assert response.status_code == 400
    assert any("participants" in f for f in named_fields(response))


async def test_reporting_a_team_twice_is_409_and_changes_nothing(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    first = await post_team(client, seeded.public, team_body(), key="a")
    before = await conn.fetch("SELECT number, payload FROM certificates ORDER BY number")
    again = await post_team(client, seeded.public, team_body(), key="b")
    assert again.status_code == 409
    assert named_fields(again) == ["team.reference"]
    assert await conn.fetch("SELECT number, payload FROM certificates ORDER BY number") == before
    assert first.status_code == 201


async def test_an_unknown_route_is_a_problem_document(client: Client) -> None:
    response = await client.get("/api/nowhere")
    assert response.status_code == 404
    named_fields(response)


def _rules(root: type[RuleViolation]) -> set[type[RuleViolation]]:
    found = set(root.__subclasses__())
    return {root}.union(*(_rules(c) for c in found))


def test_every_rule_has_its_own_written_title_and_its_code_as_the_problem_type() -> None:
    for rule in _rules(RuleViolation):
        assert rule in PROBLEMS, rule.__name__
        assert PROBLEMS[rule].status == 422
        assert PROBLEMS[rule].slug == rule.rule
        assert PROBLEMS[rule].title


def test_the_most_specific_listed_type_answers() -> None:
    assert problem_of(UnknownGoalInCatalogueError("x", field="goal")).slug == "unknown-goal"
    assert problem_of(KeyHistoryError("x")) == PROBLEMS[RegistryError]
    assert problem_of(KeyMissingError("x")).status == 503


async def test_query_parameters_are_named_as_the_api_names_them(
    client: Client, seeded: Demo
) -> None:
    response = await client.get("/api/log/proof/inclusion", params={"index": 0, "treeSize": 0})
    assert response.status_code == 400
    assert named_fields(response) == ["treeSize"]
    assert "tree_size" not in response.text
    response = await client.get(
        "/api/schools/751234/deliveries",
        params={"state": "gone", "limit": 0},
        headers=seeded.school(seeded.public),
    )
    assert response.status_code == 400
    assert set(named_fields(response)) <= {"state", "limit"}
    assert named_fields(response)
    assert "job_state" not in response.text


async def test_an_unknown_key_is_never_repeated_in_the_problem(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    # A key that is itself a CPR number must not come back in the answer (or the logs' copy).
    body = team_body()
    body["participants"][0][ASE] = True
    response = await post_team(client, seeded.public, body)
    assert response.status_code == 400
    assert named_fields(response) == ["participants[0]"]
    assert response.json()["invalid-params"][0]["reason"] == "contains an unknown field"
    assert ASE not in response.text
    assert ASE.replace("-", "") not in response.text
    assert await conn.fetchval("SELECT count(*) FROM teams") == 0
    # At the top level too, and in a value the API would have to repeat to explain.
    for sent in ({ASE: 1, "cpr": ASE}, {"cpr": ASE, "reason": ASE}):
        response = await client.post("/api/dev/login", json=sent)
        assert response.status_code == 400, response.text
        assert ASE not in response.text


async def test_an_unknown_key_that_is_one_of_our_field_names_is_named(
    client: Client, seeded: Demo
) -> None:
    body = team_body()
    body["team"]["cpr"] = "x"  # cpr is a participant's field, not a team's
    response = await post_team(client, seeded.public, body)
    assert response.status_code == 400
    assert named_fields(response) == ["team"]
    assert response.json()["invalid-params"][0]["reason"] == "contains an unknown field `cpr`"


async def test_an_enum_value_is_not_repeated(client: Client, seeded: Demo) -> None:
    school = seeded.school(seeded.public)
    issued = await post_team(client, seeded.public, team_body())
    number = issued.json()["participants"][0]["certificate"]["number"]
    response = await client.post(
        f"/api/schools/751234/certificates/{number}/revocation",
        json={"reason": ASE},
        headers={**school, "Idempotency-Key": "r"},
    )
    assert response.status_code == 400
    assert named_fields(response) == ["reason"]
    assert ASE not in response.text


async def test_a_nul_under_a_cpr_shaped_key_names_no_key(client: Client, seeded: Demo) -> None:
    body = team_body()
    body["participants"][0][ASE] = "\x00"
    response = await post_team(client, seeded.public, body)
    assert response.status_code == 422
    assert named_fields(response) == ["body"]
    assert ASE not in response.text
    response = await client.get("/api/keys", params={ASE: "\x00"})
    assert response.status_code == 422
    assert named_fields(response) == ["query"]
    assert ASE not in response.text
