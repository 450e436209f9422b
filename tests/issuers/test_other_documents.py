"""Participation and combined documents: issued only when due, stored apart from certificates,
each with its delivery job (issuers/other_documents.py)."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from tests.conftest import Demo
from tests.helpers import ASE, BO, Client, post_team, team_body
from tests.issuers.test_composite import ASE_NAME, BO_NAME, _declare, _three_goals


async def _documents(conn: asyncpg.Connection) -> list[tuple[str, str, list[str]]]:
    rows = await conn.fetch("SELECT kind, name, goals FROM other_documents ORDER BY kind, name")
    return [(r["kind"], r["name"], [g["number"] for g in json.loads(r["goals"])]) for r in rows]


async def test_participation_document_only_when_the_school_issues_them_and_no_certificate(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    people: list[dict[str, Any]] = [
        {"cpr": ASE, "name": ASE_NAME, "exam": "passed"},
        {"cpr": BO, "name": BO_NAME, "droppedOut": True},
    ]
    plain = team_body(people, reference="H-plain", goal="48113")
    assert (await post_team(client, seeded.public, plain, key="t1")).status_code == 201
    assert await _documents(conn) == []

    body = team_body(people, reference="H-docs", goal="48113")
    body["team"]["participationDocuments"] = True
    response = await post_team(client, seeded.public, body, key="t2")
    assert response.status_code == 201, response.text
    assert await _documents(conn) == [("participation", BO_NAME, ["48113"])]
    # Not a certificate: Bo has none, and the document has a delivery job of its own.
    assert await conn.fetchval("SELECT count(*) FROM certificates WHERE cpr = $1", BO) == 0
    assert await conn.fetchval("SELECT count(*) FROM other_document_jobs") == 1


async def test_combined_document_lists_exactly_the_goals_completed_together(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    teams = await _three_goals(client, seeded)
    assert (await _declare(client, seeded, teams)).status_code == 201
    # Åse: hygiene passed, dangerous goods failed (final): one goal certified. Bo's first aid
    # has no result yet, so his is not due.
    assert await _documents(conn) == [("combined", ASE_NAME, ["48113"])]
    count = await conn.fetchval("SELECT count(*) FROM certificates")
    assert await conn.fetchval("SELECT count(*) FROM log_leaves") >= count
    assert await conn.fetchval("SELECT count(*) FROM other_document_jobs") == 1
