"""Retention covers participation and combined documents: 30 years (and the four-week retake
window, as for participations) after the last goal's end, their name and CPR number are blanked
in the same run as the certificates' and participations' personal data."""

from __future__ import annotations

import asyncpg

from issuers import other_document_store, retention
from tests.conftest import Demo, FixedClock
from tests.helpers import Client, post_team, team_body
from tests.issuers.test_retention import NEW_CPR, OLD_CPR


async def _dropped_out(client: Client, demo: Demo, reference: str, cpr: str, day: str) -> None:
    body = team_body(
        [{"cpr": cpr, "name": "Deltager", "droppedOut": True}],
        reference=reference,
        goal="42638",
        start=day,
        end=day,
    )
    body["team"]["participationDocuments"] = True
    response = await post_team(client, demo.public, body, key=reference)
    assert response.status_code == 201, response.text


async def test_old_documents_lose_name_and_cpr_with_the_rest(
    client: Client, seeded: Demo, conn: asyncpg.Connection, clock: FixedClock
) -> None:
    await _dropped_out(client, seeded, "H-1990", OLD_CPR, "1990-05-02")
    await _dropped_out(client, seeded, "H-2026", NEW_CPR, "2026-11-10")
    assert await conn.fetchval("SELECT count(*) FROM other_documents") == 2

    report = await retention.run_retention(conn, now=clock.now, apply=False)
    assert report.documents == 1
    assert await conn.fetchval("SELECT count(*) FROM other_documents WHERE erased_at IS NULL") == 2

    applied = await retention.run_retention(conn, now=clock.now, apply=True)
    assert applied.documents == 1
    rows = await conn.fetch(
        "SELECT reference, cpr, name, erased_at FROM other_documents ORDER BY reference"
    )
    assert [(r["reference"], r["cpr"], r["name"]) for r in rows] == [
        ("H-1990", None, None),
        ("H-2026", NEW_CPR, "Deltager"),
    ]
    assert rows[0]["erased_at"] is not None
    assert await other_document_store.documents_of(conn, OLD_CPR) == []
    assert len(await other_document_store.documents_of(conn, NEW_CPR)) == 1
    # Nothing is left of the old person for a second run to erase.
    again = await retention.run_retention(conn, now=clock.now, apply=True)
    assert again.documents == 0
