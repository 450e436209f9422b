"""Input that used to crash a handler: each is now a 4xx problem naming the field, and stores
nothing (issue 12, "No 5xx from any input")."""

from __future__ import annotations

import re
from typing import Any

import asyncpg
import pytest

from service.api.inputs import MAX_JSON_DEPTH, json_depth_exceeds
from tests.conftest import Demo
from tests.helpers import Client, post_team, team_body

PROBLEM = "application/problem+json"


def problem_fields(response: Any, status: int) -> list[str]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    return [p["name"] for p in body.get("invalid-params", [])]


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/status/2147483648", "list_id"),
        ("/api/log/leaves/9223372036854775808", "index"),
        ("/api/log/proof/inclusion?index=9223372036854775808&treeSize=1", "index"),
        # Named as the API names it, not by the handler's Python name (tree_size).
        ("/api/log/proof/certificate/X?treeSize=9223372036854775808", "treeSize"),
    ],
    ids=["status-list-int4", "leaf-int8", "inclusion-int8", "certificate-tree-int8"],
)
async def test_integers_beyond_postgresql_are_400_naming_the_parameter(
    client: Client, seeded: Demo, path: str, field: str
) -> None:
    assert problem_fields(await client.get(path), 400) == [field]


async def test_the_largest_integers_postgresql_holds_are_plain_not_found(
    client: Client, seeded: Demo
) -> None:
    assert (await client.get("/api/status/2147483647")).status_code == 404
    assert (await client.get("/api/log/leaves/9223372036854775807")).status_code == 404


async def test_nul_in_a_path_parameter_is_422_naming_it(client: Client, seeded: Demo) -> None:
    response = await client.get("/api/log/proof/certificate/AMU%00-1")
    assert problem_fields(response, 422) == ["number"]
    assert response.json()["type"].endswith("/unacceptable-input")


async def test_nul_in_a_query_parameter_is_422_naming_it(client: Client, seeded: Demo) -> None:
    response = await client.get("/api/verify/AMU-1", params={"code": "AB\x00CD"})
    assert problem_fields(response, 422) == ["code"]


@pytest.mark.parametrize(
    ("where", "field"),
    [
        ("name", "participants[0].name"),
        ("reference", "team.reference"),
    ],
)
async def test_nul_in_a_body_field_is_422_naming_it_and_stores_nothing(
    client: Client, seeded: Demo, conn: asyncpg.Connection, where: str, field: str
) -> None:
    body = team_body()
    if where == "name":
        body["participants"][0]["name"] = "Åse\x00Ødegård"
    else:
        body["team"]["reference"] = "H\x00101"
    response = await post_team(client, seeded.public, body)
    assert problem_fields(response, 422) == [field]
    assert await conn.fetchval("SELECT count(*) FROM certificates") == 0
    assert await conn.fetchval("SELECT count(*) FROM teams") == 0


@pytest.mark.parametrize("opener", [b"[", b'{"a":'], ids=["arrays", "objects"])
async def test_json_a_thousand_levels_deep_is_400_before_any_parser(
    client: Client, seeded: Demo, opener: bytes
) -> None:
    closer = b"]" if opener == b"[" else b"}"
    body = opener * 1000 + b"1" + closer * 1000
    response = await client.post(
        "/api/schools/751234/teams",
        content=body,
        headers={
            **seeded.school(seeded.public),
            "Idempotency-Key": "deep",
            "Content-Type": "application/json",
        },
    )
    assert problem_fields(response, 400) == ["body"]
    assert "nested deeper" in response.json()["detail"]


def test_the_depth_check_counts_brackets_outside_strings_only() -> None:
    deep = b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1)
    assert json_depth_exceeds(deep)
    at_limit = b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH
    assert not json_depth_exceeds(at_limit)
    in_a_string = b'["' + b"[" * 500 + b'\\"' + b"{" * 500 + b'"]'
    assert not json_depth_exceeds(in_a_string)
    wide = b"[" + b",".join([b'{"a":[1]}'] * 5000) + b"]"
    assert not json_depth_exceeds(wide)


async def test_a_report_for_year_0000_is_422_naming_the_quarter(
    client: Client, seeded: Demo
) -> None:
    response = await client.get(
        "/api/schools/751234/reports/0000K1", headers=seeded.school(seeded.public)
    )
    assert problem_fields(response, 422) == ["quarter"]


async def test_a_page_form_over_the_limit_is_413_unread(client: Client, seeded: Demo) -> None:
    response = await client.post(
        "/skole/log-ind",
        content=b"_csrf_token=x&noegle=" + b"x" * (11 * 1024 * 1024),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413
    assert "Formularen er for stor" in response.text


async def test_nul_in_a_page_form_is_refused_not_a_crash(client: Client, seeded: Demo) -> None:
    form = await client.get("/tjek")  # a valid CSRF token: that check comes first
    token = re.search(r'name="_csrf_token" value="([^"]+)"', form.text)
    assert token
    response = await client.post(
        "/tjek",
        data={"_csrf_token": token.group(1), "nummer": "a\x00b", "kode": "x"},
    )
    assert response.status_code == 400
    assert "Forkert forespørgsel" in response.text
