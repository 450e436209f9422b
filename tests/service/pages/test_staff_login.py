"""School staff log in as themselves: admitted only with a live role at a school of the
organisation the identity provider vouches for; a choice among several such schools; the
administrator's and the registrar's pages."""

from __future__ import annotations

import json

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from issuers import school_store, staff_store
from registry.clock import Clock
from registry.keys import MemoryKeyStore
from service import app as app_module
from service import demo
from service.identity import DevelopmentStaffIdentityProvider, IdentityProvider, LogoutRequest
from service.settings import Settings
from tests.conftest import NOW, Demo, FixedClock
from tests.helpers import Client
from tests.service.pages.helpers import (
    CSRF_FIELD,
    KAREN,
    MADS,
    PETER,
    SOFIE,
    csrf_of,
    school_login,
    staff_login,
)


async def test_the_api_key_form_is_gone(client: Client, seeded: Demo) -> None:
    page = await client.get("/skole/log-ind")
    assert "Log ind med MitID Erhverv" in page.text
    assert "noegle" not in page.text
    assert 'type="password"' not in page.text
    form = await client.get("/tjek")
    key = await client.post(
        "/skole/log-ind",
        data={CSRF_FIELD: csrf_of(form.text), "noegle": seeded.public},
        follow_redirects=False,
    )
    assert key.status_code == 303  # the key is ignored: off to the staff login, not in
    assert key.headers["location"].startswith("/udvikling/log-ind/medarbejder?")
    assert (await client.get("/skole", follow_redirects=False)).status_code == 303


async def test_an_administrator_logs_in_and_sees_the_staff(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    await school_login(client, KAREN)
    overview = await client.get("/skole")
    assert "Erhvervsskolen Nordvest" in overview.text
    assert "Logget ind som Karen Holm (Administrator)" in overview.text
    staff = await client.get("/skole/medarbejdere")
    assert staff.status_code == 200
    assert KAREN in staff.text
    assert MADS in staff.text
    assert SOFIE not in staff.text  # another school's
    # The session names the school, the role and who acts (for the audit).
    stored = json.loads(bytes(await conn.fetchval("SELECT value FROM sessions")))
    assert stored["user"]["subject"] == "751234"
    assert stored["user"]["role"] == "administrator"
    assert stored["user"]["actor"] == KAREN


async def test_a_registrar_sees_and_retries_but_is_no_administrator(
    client: Client, seeded: Demo
) -> None:
    await school_login(client, MADS)
    overview = await client.get("/skole")
    assert overview.status_code == 200
    assert "(Registrator)" in overview.text
    assert "/skole/medarbejdere" not in overview.text
    refused = await client.get("/skole/medarbejdere")
    assert refused.status_code == 403
    assert "Det kræver en administrator" in refused.text
    retried = await client.post(
        "/skole/leveringer/2026-0000001/forsoeg-igen",
        data={CSRF_FIELD: csrf_of(overview.text)},
        follow_redirects=False,
    )
    assert retried.status_code == 303  # nothing to retry, but allowed to try


async def test_each_school_admits_only_its_own_staff(client: Client, seeded: Demo) -> None:
    await school_login(client, SOFIE)
    overview = await client.get("/skole")
    assert "Kursuscenter Øresund ApS" in overview.text
    assert "Erhvervsskolen Nordvest" not in overview.text


async def test_no_role_is_told_to_ask_the_administrator(client: Client, seeded: Demo) -> None:
    answer = await staff_login(client, PETER)
    assert answer.status_code == 403
    assert "Bed skolens administrator" in answer.text
    assert PETER in answer.text  # the id to pass on
    assert (await client.get("/skole", follow_redirects=False)).status_code == 303


async def test_a_role_at_another_organisations_school_admits_no_one(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    # Sofie acts for Kursuscenter Øresund's CVR number; a role at Erhvervsskolen Nordvest
    # (another CVR number) must not let her in there.
    await staff_store.grant(
        conn, school_id="751234", subject=SOFIE, role="administrator", granted_by="t", now=NOW
    )
    await staff_store.revoke(conn, school_id="863410", subject=SOFIE, now=NOW, revoked_by="t")
    answer = await staff_login(client, SOFIE)
    assert answer.status_code == 403
    assert "Bed skolens administrator" in answer.text
    assert (await client.get("/skole", follow_redirects=False)).status_code == 303


async def test_a_revoked_role_admits_no_one(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    assert await staff_store.revoke(conn, school_id="751234", subject=MADS, now=NOW, revoked_by="t")
    assert (await staff_login(client, MADS)).status_code == 403


async def test_a_role_revoked_during_a_session_opens_nothing_more(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    await school_login(client, MADS)
    overview = await client.get("/skole")
    assert overview.status_code == 200
    assert await staff_store.revoke(conn, school_id="751234", subject=MADS, now=NOW, revoked_by="t")
    assert (await client.get("/skole")).status_code == 403
    retried = await client.post(
        "/skole/leveringer/2026-0000001/forsoeg-igen",
        data={CSRF_FIELD: csrf_of(overview.text)},
        follow_redirects=False,
    )
    assert retried.status_code == 403


async def test_roles_at_several_schools_mean_a_choice(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    # A second institution of the same organisation (CVR number) as Erhvervsskolen Nordvest.
    await school_store.insert_school(
        conn, school_id="751299", name="Erhvervsskolen Nordvest, Vest", cvr="29183746",
        ownership="public",
    )  # fmt: skip
    await staff_store.grant(
        conn, school_id="751299", subject=KAREN, role="registrar", granted_by="t", now=NOW
    )
    choice = await staff_login(client, KAREN)
    assert choice.status_code == 200
    assert "Vælg skole" in choice.text
    assert "Erhvervsskolen Nordvest, Vest" in choice.text
    assert (await client.get("/skole", follow_redirects=False)).status_code == 303  # not yet
    csrf = csrf_of(choice.text)
    wrong = await client.post(
        "/skole/log-ind/vaelg",
        data={CSRF_FIELD: csrf, "skole": "863410"},  # not one of hers
        follow_redirects=False,
    )
    assert wrong.status_code == 403
    chosen = await client.post(
        "/skole/log-ind/vaelg",
        data={CSRF_FIELD: csrf, "skole": "751299"},
        follow_redirects=False,
    )
    assert (chosen.status_code, chosen.headers["location"]) == (303, "/skole")
    overview = await client.get("/skole")
    assert "Erhvervsskolen Nordvest, Vest" in overview.text
    assert "(Registrator)" in overview.text
    assert (await client.get("/skole/medarbejdere")).status_code == 403  # a registrar there


async def test_a_choice_needs_a_login_first(client: Client, seeded: Demo) -> None:
    form = await client.get("/tjek")
    refused = await client.post(
        "/skole/log-ind/vaelg",
        data={CSRF_FIELD: csrf_of(form.text), "skole": "751234"},
        follow_redirects=False,
    )
    assert refused.status_code == 403


async def test_the_staff_callback_refuses_a_wrong_state(client: Client, seeded: Demo) -> None:
    await client.post("/skole/log-ind", follow_redirects=False)  # no token: nothing begun
    response = await client.get(
        "/skole/log-ind/svar", params={"code": "x", "state": "y"}, follow_redirects=False
    )
    assert response.status_code == 403


async def test_a_persons_login_is_not_a_staff_login(client: Client, seeded: Demo) -> None:
    """A login begun for a participant cannot be finished at the staff callback."""
    form = await client.get("/mine-beviser/log-ind")
    start = await client.post(
        "/mine-beviser/log-ind",
        data={CSRF_FIELD: csrf_of(form.text)},
        follow_redirects=False,
    )
    state = start.headers["location"].split("state=")[1].split("&")[0]
    response = await client.get(
        "/skole/log-ind/svar", params={"code": "x", "state": state}, follow_redirects=False
    )
    assert response.status_code == 403


async def test_staff_logout_revokes_the_session(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    await school_login(client, KAREN)
    cookie = client.cookies.get("amu_session")
    assert cookie
    page = await client.get("/skole")
    out = await client.post(
        "/skole/log-ud", data={CSRF_FIELD: csrf_of(page.text)}, follow_redirects=False
    )
    assert (out.status_code, out.headers["location"]) == (303, "/")
    assert await conn.fetchval("SELECT count(*) FROM sessions") == 0
    client.cookies.set("amu_session", cookie)
    assert (await client.get("/skole", follow_redirects=False)).status_code == 303


class _BrokerWithLogout(DevelopmentStaffIdentityProvider):
    """A staff provider that keeps a session of its own, as MitID Erhverv does."""

    async def logout_request(
        self, *, id_token: str | None, post_logout_redirect_uri: str
    ) -> LogoutRequest:
        hint = (("id_token_hint", id_token),) if id_token else ()
        return LogoutRequest(
            "https://broker.example/logout",
            (("post_logout_redirect_uri", post_logout_redirect_uri), *hint),
        )


async def test_logout_also_ends_the_providers_session(
    settings: Settings,
    keys: MemoryKeyStore,
    clock: FixedClock,
    conn: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broker(_settings: Settings, clock: Clock, _http: object) -> IdentityProvider:
        return _BrokerWithLogout(settings.session_secret, clock)

    monkeypatch.setattr(app_module, "staff_identity_provider_for", broker)
    made = app_module.create_app(settings, keys=keys, clock=clock)
    async with AsyncTestClient(app=made, base_url="http://testserver.local") as client:
        await demo.seed_demo(conn, keys, now=NOW)
        await school_login(client, KAREN)
        page = await client.get("/skole")
        out = await client.post(
            "/skole/log-ud", data={CSRF_FIELD: csrf_of(page.text)}, follow_redirects=False
        )
        # Our session is gone before the page is shown; the page POSTs a form to the
        # provider's logout (its policy allows that origin as a form-action).
        assert await conn.fetchval("SELECT count(*) FROM sessions") == 0
        assert out.status_code == 200
        assert "Du er logget ud" in out.text
        assert '<form method="post" action="https://broker.example/logout"' in out.text
        assert (
            '<input type="hidden" name="post_logout_redirect_uri" value="http://testserver.local/">'
        ) in out.text
        assert (
            "form-action 'self' https://broker.example;" in out.headers["content-security-policy"]
        )
        assert 'http-equiv="refresh"' not in out.text
        assert "_csrf_token" not in out.text  # our CSRF token never goes to the provider
