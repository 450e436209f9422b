"""GET /api/goals and /api/goals/{number}: the public catalogue, searched and paged."""

from __future__ import annotations

import pytest

from tests.conftest import Demo
from tests.helpers import Client

PROBLEM = "application/problem+json"


async def _numbers(client: Client, **params: str | int) -> tuple[list[str], str | None]:
    response = await client.get("/api/goals", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    return [g["number"] for g in body["goals"]], body["next"]


async def test_one_goal_with_its_exam_history(client: Client, seeded: Demo) -> None:
    response = await client.get("/api/goals/45365")
    assert response.status_code == 200, response.text
    goal = response.json()
    assert goal["title"] == "Rengøring på hospitaler"
    assert goal["durationDays"] == "3.0"
    assert goal["examPeriods"] == [
        {"from": "2018-01-01", "until": "2021-07-01"},
        {"from": "2027-01-01", "until": None},
    ]
    assert not goal["closed"]
    assert (await client.get("/api/goals/44806")).json()["authorityCertificate"] is True


async def test_search_by_number_prefix_and_title_words(client: Client, seeded: Demo) -> None:
    assert (await _numbers(client, q="4008"))[0] == ["40080", "40081"]
    assert (await _numbers(client, q="svejsning"))[0] == ["40125", "40978"]
    assert (await _numbers(client, q="SVEJSNING mag"))[0] == ["40125"]
    assert (await _numbers(client, q="40 kompetencevurdering F/I"))[0] == ["40081"]
    assert (await _numbers(client, q="100%_"))[0] == []  # LIKE wildcards are plain characters


async def test_paging_walks_the_whole_catalogue_once(client: Client, seeded: Demo) -> None:
    everything, last = await _numbers(client, limit=100)
    assert last is None
    assert len(everything) > 28
    assert everything == sorted(everything)
    seen: list[str] = []
    page, following = await _numbers(client, limit=7)
    seen += page
    while following is not None:
        response = await client.get(following)
        body = response.json()
        assert len(body["goals"]) <= 7
        seen += [g["number"] for g in body["goals"]]
        following = body["next"]
    assert seen == everything
    _, following = await _numbers(client, q="i", limit=2)
    assert following is not None
    assert "q=i" in following


async def test_an_unknown_goal_is_a_404_problem(client: Client, seeded: Demo) -> None:
    response = await client.get("/api/goals/99999")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith(PROBLEM)


@pytest.mark.parametrize(
    ("path", "params", "name"),
    [
        ("/api/goals", {"limit": "0"}, "limit"),
        ("/api/goals", {"limit": "101"}, "limit"),
        ("/api/goals", {"limit": "many"}, "limit"),
        ("/api/goals", {"after": "4012"}, "after"),
        ("/api/goals", {"q": "x" * 201}, "q"),
        ("/api/goals", {"q": " ".join("abcdefghijk")}, "q"),
        ("/api/goals/4012", {}, "number"),
        ("/api/goals/abcde", {}, "number"),
    ],
)
async def test_bad_parameters_are_400_problems_naming_them(
    client: Client, seeded: Demo, path: str, params: dict[str, str], name: str
) -> None:
    response = await client.get(path, params=params)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert [p["name"] for p in response.json()["invalid-params"]] == [name]


async def test_the_catalogue_needs_no_credential_and_takes_none(client: Client) -> None:
    response = await client.get("/api/goals", headers={"Authorization": "Bearer forged"})
    assert response.status_code == 200
    assert response.json() == {"goals": [], "next": None}
