"""The school administrator's pages: API credentials made, rotated and revoked on the page (the
token shown once, working on the API), staff roles granted and revoked, each change recorded
with the administrator as its actor; registrars refused, another school's credential not
found, bad input answered with the field's error and nothing stored, forms without their CSRF
token refused."""

from __future__ import annotations

import re

import asyncpg
import pytest

from issuers import staff
from tests.conftest import NOW, Demo
from tests.helpers import Client, post_team, team_body
from tests.service.api.test_authorization import assert_refused
from tests.service.pages.helpers import (
    CSRF_FIELD,
    KAREN,
    MADS,
    PETER,
    SOFIE,
    csrf_of,
    school_login,
    staff_login,
    submit,
)

KEYS = "/skole/api-noegler"
STAFF = "/skole/medarbejdere"
_TOKEN = re.compile(r'id="noegle"[^>]* value="(amu_[^"]+)"')


def _token_of(html: str) -> str:
    match = _TOKEN.search(html)
    assert match, html
    return match.group(1)


async def _create(client: Client, label: str = "Studieadministration") -> str:
    made = await submit(client, KEYS, KEYS, {"navn": label})
    assert made.status_code == 200, made.text
    assert made.headers["cache-control"] == "no-store"
    assert "vises kun denne ene gang" in made.text
    token = _token_of(made.text)
    assert made.text.count(token) == 1
    return token


async def test_create_shows_the_token_once_and_it_reports_a_team(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    await school_login(client, KAREN)
    overview = await client.get("/skole")
    assert f'href="{KEYS}"' in overview.text
    token = await _create(client)
    credential_id = token.split("_")[1]
    reported = await post_team(client, token, team_body(), key="page-made")
    assert reported.status_code == 201, reported.text
    # The list shows it without its secret; its page shows the trail, actor and route.
    listed = await client.get(KEYS)
    assert "Studieadministration" in listed.text
    assert credential_id in listed.text
    assert f"staff:{KAREN}" in listed.text
    assert token.split("_", 2)[2] not in listed.text
    detail = await client.get(f"{KEYS}/{credential_id}")
    assert detail.status_code == 200
    assert "Aktiv" in detail.text
    assert "Oprettet" in detail.text
    assert "Brugt" in detail.text
    assert "POST /api/schools/{school_id}/teams" in detail.text
    assert token.split("_", 2)[2] not in detail.text
    actor = await conn.fetchval(
        "SELECT actor FROM credential_events WHERE credential_id = $1 AND event = 'created'",
        credential_id,
    )
    assert actor == f"staff:{KAREN}"


async def test_rotate_then_revoke(client: Client, seeded: Demo) -> None:
    await school_login(client, KAREN)
    old = await _create(client)
    old_id = old.split("_")[1]
    rotated = await submit(client, f"{KEYS}/{old_id}", f"{KEYS}/{old_id}/forny", {})
    assert rotated.status_code == 200, rotated.text
    assert rotated.headers["cache-control"] == "no-store"
    assert "Nøglen er fornyet" in rotated.text
    assert f"{old_id}</span>) virker til" in rotated.text
    new = _token_of(rotated.text)
    assert new != old
    new_id = new.split("_")[1]
    # Within the overlap both work.
    assert (await post_team(client, old, team_body(reference="H-1"), key="a")).status_code == 201
    assert (await post_team(client, new, team_body(reference="H-2"), key="b")).status_code == 201
    assert "Fornyet – virker til" in (await client.get(f"{KEYS}/{old_id}")).text
    again = await submit(client, f"{KEYS}/{new_id}", f"{KEYS}/{old_id}/forny", {})
    assert again.status_code == 409  # replaced already
    assert "Nøglen kan ikke fornys" in again.text

    revoked = await submit(client, f"{KEYS}/{new_id}", f"{KEYS}/{new_id}/tilbagekald", {})
    assert revoked.status_code == 303
    assert revoked.headers["location"] == f"{KEYS}/{new_id}"
    shown = await client.get(f"{KEYS}/{new_id}")
    assert "Tilbagekaldt" in shown.text
    assert "Tilbagekald nøglen nu" not in shown.text
    refused = await post_team(client, new, team_body(reference="H-3"), key="c")
    assert_refused(refused, 401)
    twice = await submit(client, f"{KEYS}/{old_id}", f"{KEYS}/{new_id}/tilbagekald", {})
    assert twice.status_code == 409


async def test_a_registrar_is_refused(client: Client, seeded: Demo) -> None:
    await school_login(client, MADS)
    assert f'href="{KEYS}"' not in (await client.get("/skole")).text
    page = await client.get(KEYS)
    assert page.status_code == 403
    assert "Det kræver en administrator" in page.text
    made = await submit(client, "/skole", KEYS, {"navn": "Sneaky"})
    assert made.status_code == 403
    assert "amu_" not in made.text
    granted = await submit(client, "/skole", STAFF, {"bruger": MADS, "rolle": "administrator"})
    assert granted.status_code == 403


async def test_another_schools_credential_is_not_found(client: Client, seeded: Demo) -> None:
    other = seeded.private.split("_")[1]  # Kursuscenter Øresund's
    await school_login(client, KAREN)
    assert (await client.get(f"{KEYS}/{other}")).status_code == 404
    assert (await client.get(f"{KEYS}/no-such-id")).status_code == 404
    for action in ("forny", "tilbagekald"):
        answer = await submit(client, KEYS, f"{KEYS}/{other}/{action}", {})
        assert answer.status_code == 404, action
        assert "Siden findes ikke" in answer.text
    # Untouched: it still reports for its own school.
    body = team_body(reference="H-9")
    assert (await post_team(client, seeded.private, body, school="863410")).status_code == 201


@pytest.mark.parametrize(
    ("label", "error"),
    [
        ("", "Skriv et navn på nøglen"),
        ("   ", "Skriv et navn på nøglen"),
        ("x" * 101, "må højst være 100 tegn"),
        ("System\u202e", "tegn, der ikke kan gemmes"),
    ],
)
async def test_a_bad_label_is_the_form_again_with_its_error(
    client: Client, seeded: Demo, conn: asyncpg.Connection, label: str, error: str
) -> None:
    await school_login(client, KAREN)
    before = await conn.fetchval("SELECT count(*) FROM api_credentials")
    answer = await submit(client, KEYS, KEYS, {"navn": label})
    assert answer.status_code == 400
    assert error in answer.text
    assert 'aria-invalid="true"' in answer.text
    assert 'id="navn-fejl"' in answer.text
    assert "amu_" not in answer.text
    assert await conn.fetchval("SELECT count(*) FROM api_credentials") == before


async def test_forms_without_their_csrf_token_are_refused(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    await school_login(client, KAREN)
    before = await conn.fetchval("SELECT count(*) FROM api_credentials")
    own = seeded.public.split("_")[1]
    for action, data in (
        (KEYS, {"navn": "Ingen token"}),
        (f"{KEYS}/{own}/forny", {}),
        (f"{KEYS}/{own}/tilbagekald", {}),
        (STAFF, {"bruger": PETER, "rolle": "registrar"}),
        (f"{STAFF}/tilbagekald", {"bruger": MADS}),
    ):
        refused = await client.post(action, data=data, follow_redirects=False)
        assert refused.status_code == 403, action
        assert "Handlingen blev afvist" in refused.text
        wrong = await client.post(
            action, data={**data, CSRF_FIELD: "not-the-token"}, follow_redirects=False
        )
        assert wrong.status_code == 403, action
    assert await conn.fetchval("SELECT count(*) FROM api_credentials") == before
    assert await conn.fetchval("SELECT count(*) FROM school_staff WHERE subject = $1", PETER) == 0
    assert await staff.role_at(conn, "751234", MADS) == "registrar"


# -- staff roles ---------------------------------------------------------------------------


async def test_an_administrator_grants_and_revokes_a_role(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    # Peter works for the school's organisation but has no role: he is told his id.
    assert (await staff_login(client, PETER)).status_code == 403
    await school_login(client, KAREN)
    granted = await submit(
        client, STAFF, STAFF, {"bruger": f" {PETER} ", "rolle": "registrar", "navn": "Peter"}
    )
    assert granted.status_code == 303, granted.text
    assert granted.headers["location"] == f"{STAFF}?aendret=givet"
    page = await client.get(granted.headers["location"])
    assert "Rollen er givet." in page.text
    assert PETER in page.text
    assert await staff.role_at(conn, "751234", PETER) == "registrar"
    by = await conn.fetchval(
        "SELECT granted_by FROM school_staff WHERE subject = $1 AND revoked_at IS NULL", PETER
    )
    assert by == f"staff:{KAREN}"

    # Peter now gets in, as a registrar.
    peter = await staff_login(client, PETER)
    assert peter.status_code == 303
    assert peter.headers["location"] == "/skole"
    assert "(Registrator)" in (await client.get("/skole")).text

    await school_login(client, KAREN)
    revoked = await submit(client, STAFF, f"{STAFF}/tilbagekald", {"bruger": PETER})
    assert revoked.status_code == 303
    page = await client.get(revoked.headers["location"])
    assert "Rollen er fjernet." in page.text
    assert "Tidligere roller" in page.text
    assert await staff.role_at(conn, "751234", PETER) is None
    revoked_by = await conn.fetchval(
        "SELECT revoked_by FROM school_staff WHERE subject = $1", PETER
    )
    assert revoked_by == f"staff:{KAREN}"
    assert (await staff_login(client, PETER)).status_code == 403


async def test_the_last_administrator_cannot_leave(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    await school_login(client, KAREN)
    assert "Skolens eneste administrator" in (await client.get(STAFF)).text  # no button
    own = await submit(client, STAFF, f"{STAFF}/tilbagekald", {"bruger": KAREN})
    assert own.status_code == 409
    assert "mindst én administrator" in own.text
    demoted = await submit(client, STAFF, STAFF, {"bruger": KAREN, "rolle": "registrar"})
    assert demoted.status_code == 409
    assert "eneste administrator" in demoted.text
    assert await staff.role_at(conn, "751234", KAREN) == "administrator"
    # With a second administrator she may leave; her session ends with her role.
    await submit(client, STAFF, STAFF, {"bruger": MADS, "rolle": "administrator"})
    left = await submit(client, STAFF, f"{STAFF}/tilbagekald", {"bruger": KAREN})
    assert left.status_code == 303
    assert left.headers["location"] == "/"
    assert (await client.get(STAFF, follow_redirects=False)).status_code == 303
    assert await staff.role_at(conn, "751234", KAREN) is None


async def test_a_revoked_administrators_session_administers_no_more(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    await school_login(client, KAREN)
    assert (await client.get(KEYS)).status_code == 200
    await staff.grant(conn, "751234", MADS, "administrator", actor="operator:t", now=NOW)
    await staff.revoke(conn, "751234", KAREN, actor="operator:t", now=NOW)
    for path in (KEYS, STAFF):
        refused = await client.get(path)
        assert refused.status_code == 403, path


@pytest.mark.parametrize(
    ("fields", "status", "text"),
    [
        ({"bruger": "", "rolle": "registrar"}, 400, "Skriv det bruger-id"),
        ({"bruger": "to ord", "rolle": "registrar"}, 400, "Skriv det bruger-id"),
        ({"bruger": PETER, "rolle": "ejer"}, 400, "Vælg administrator eller registrator"),
        ({"bruger": PETER, "rolle": "registrar", "navn": "123"}, 400, "Navnet kan ikke gemmes"),
        ({"bruger": MADS, "rolle": "registrar"}, 409, "allerede registrator"),
    ],
)
async def test_a_bad_grant_is_the_form_again(
    client: Client,
    seeded: Demo,
    conn: asyncpg.Connection,
    fields: dict[str, str],
    status: int,
    text: str,
) -> None:
    await school_login(client, KAREN)
    before = await conn.fetchval("SELECT count(*) FROM school_staff")
    answer = await submit(client, STAFF, STAFF, fields)
    assert answer.status_code == status, answer.text
    assert text in answer.text
    assert await conn.fetchval("SELECT count(*) FROM school_staff") == before


async def test_another_schools_staff_cannot_be_touched(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    await school_login(client, KAREN)
    answer = await submit(client, STAFF, f"{STAFF}/tilbagekald", {"bruger": SOFIE})
    assert answer.status_code == 404
    assert await staff.role_at(conn, "863410", SOFIE) == "administrator"
    assert SOFIE not in (await client.get(STAFF)).text


async def test_the_pages_without_a_session_go_to_the_login(client: Client, seeded: Demo) -> None:
    for path in (KEYS, f"{KEYS}/{seeded.public.split('_')[1]}", STAFF):
        answer = await client.get(path, follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"] == "/skole/log-ind"
    form = await client.get("/tjek")
    made = await client.post(
        KEYS, data={"navn": "x", CSRF_FIELD: csrf_of(form.text)}, follow_redirects=False
    )
    assert made.headers["location"] == "/skole/log-ind"
