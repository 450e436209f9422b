"""Participation and combined documents are never AMU certificates: no log leaf, no row in the
quarterly report, nothing in the participant's certificate list, and /api/verify knows nothing
of them (issuers/other_documents.py, DOMAIN.md)."""

from __future__ import annotations

from typing import Any

import asyncpg

from tests.conftest import Demo
from tests.helpers import ASE, BO, Client, login, post_team, team_body
from tests.issuers.test_composite import ASE_NAME, BO_NAME, _declare, _three_goals
from tests.service.pages.helpers import person_login

REPORT = "/api/schools/751234/reports/2026K4"


def _people() -> list[dict[str, Any]]:
    return [
        {"cpr": ASE, "name": ASE_NAME, "exam": "passed"},
        {"cpr": BO, "name": BO_NAME, "droppedOut": True},
    ]


async def _counts(conn: asyncpg.Connection) -> tuple[int, int, int]:
    """The log's size, the certificates and the other documents."""
    return (
        await conn.fetchval("SELECT size FROM log_head"),
        await conn.fetchval("SELECT count(*) FROM certificates"),
        await conn.fetchval("SELECT count(*) FROM other_documents"),
    )


async def test_a_participation_document_adds_no_log_leaf_and_no_certificate(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    # The same team twice, without and with participation documents: the log grows exactly
    # as much both times (Åse's certificate), and only the second adds a document.
    start = await _counts(conn)
    plain = team_body(_people(), reference="H-plain")
    assert (await post_team(client, seeded.public, plain, key="plain")).status_code == 201
    middle = await _counts(conn)
    body = team_body(_people(), reference="H-docs")
    body["team"]["participationDocuments"] = True
    assert (await post_team(client, seeded.public, body, key="docs")).status_code == 201
    end = await _counts(conn)
    assert middle[0] - start[0] == end[0] - middle[0] > 0
    assert middle[1] - start[1] == end[1] - middle[1] == 1
    assert (middle[2] - start[2], end[2] - middle[2]) == (0, 1)
    document_id = str(await conn.fetchval("SELECT id FROM other_documents"))

    # Bo holds no certificate: his list is empty, and it never names the document.
    mine = await client.get("/api/me/certificates", headers=await login(client, BO))
    assert mine.status_code == 200, mine.text
    assert mine.json() == []
    assert document_id not in mine.text

    # The report has a row per participation as before, none for the document.
    report = await client.get(REPORT, headers=seeded.school(seeded.public))
    assert report.status_code == 200, report.text
    assert document_id not in report.text
    assert "eltagelsesbevis" not in report.text
    rows = report.text.strip().splitlines()
    assert sum("H-plain" in row for row in rows) == sum("H-docs" in row for row in rows) == 2

    # /api/verify knows no document: its id is no certificate number.
    verify = await client.get(f"/api/verify/{document_id}", params={"code": "AAAA-AAAA"})
    assert verify.status_code == 200, verify.text
    assert verify.json() == {"status": "unknown", "number": document_id}


async def test_a_combined_document_changes_neither_log_nor_report(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    teams = await _three_goals(client, seeded)
    school = seeded.school(seeded.public)
    report_before = (await client.get(REPORT, headers=school)).text
    before = await _counts(conn)
    assert (await _declare(client, seeded, teams)).status_code == 201
    after = await _counts(conn)
    assert after[:2] == before[:2]  # the log's size exactly, and the certificates
    assert after[2] == before[2] + 1  # Åse's combined document
    assert (await client.get(REPORT, headers=school)).text == report_before
    ase = await client.get("/api/me/certificates", headers=await login(client, ASE))
    document_id = str(await conn.fetchval("SELECT id FROM other_documents"))
    assert document_id not in ase.text
    assert len(ase.json()) == 1  # hygiene; dangerous goods was failed


async def test_mine_beviser_lists_the_person_s_own_documents_apart(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    body = team_body(_people(), reference="H-docs")
    body["team"]["participationDocuments"] = True
    assert (await post_team(client, seeded.public, body)).status_code == 201
    document_id = await conn.fetchval("SELECT id FROM other_documents")
    await person_login(client, BO)
    page = await client.get("/mine-beviser")
    assert page.status_code == 200
    assert "Andre dokumenter" in page.text
    assert "Deltagelsesbevis: H-docs" in page.text
    assert f"/mine-beviser/dokumenter/{document_id}/pdf" in page.text
    assert "Du har ingen AMU-beviser endnu" in page.text  # the document is not one
    await person_login(client, ASE)
    page = await client.get("/mine-beviser")
    assert "Andre dokumenter" not in page.text
    assert str(document_id) not in page.text
