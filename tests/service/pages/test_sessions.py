"""The pages' server-side sessions and CSRF: logout revokes, a login gets a new session id, the
idle and absolute timeouts, no row for a mere visitor, and every page POST refused without
its CSRF token."""

from __future__ import annotations

import datetime as dt
import re

import asyncpg
from litestar import Litestar

from tests.conftest import Demo, FixedClock
from tests.helpers import ASE, Client
from tests.service.pages.helpers import CSRF_FIELD, csrf_of, person_login, school_login, submit

SESSION = "amu_session"


async def _rows(conn: asyncpg.Connection) -> int:
    count: int = await conn.fetchval("SELECT count(*) FROM sessions")
    return count


async def test_a_visitor_gets_no_session_row(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    for path in ("/", "/tjek", "/mine-beviser/log-ind", "/skole/log-ind"):
        response = await client.get(path)
        assert response.status_code == 200
        assert SESSION not in response.cookies
    assert await _rows(conn) == 0


async def test_the_login_state_is_kept_on_the_server(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    start = await submit(client, "/mine-beviser/log-ind", "/mine-beviser/log-ind", {})
    assert start.status_code == 303
    assert set(start.cookies) == {SESSION}  # only the random id; no sealed login state
    assert await _rows(conn) == 1
    state = re.search(r"state=([^&]+)", start.headers["location"])
    assert state
    stored = bytes(await conn.fetchval("SELECT value FROM sessions"))
    assert state.group(1).encode() in stored


async def test_logging_out_revokes_the_session(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    await person_login(client, ASE)
    stolen = client.cookies.get(SESSION)
    assert stolen
    assert (await client.get("/mine-beviser", follow_redirects=False)).status_code == 200
    out = await submit(client, "/mine-beviser", "/mine-beviser/log-ud", {})
    assert (out.status_code, out.headers["location"]) == (303, "/")
    assert await _rows(conn) == 0
    # The old cookie, replayed (say, copied before the logout), opens nothing.
    client.cookies.set(SESSION, stolen)
    replayed = await client.get("/mine-beviser", follow_redirects=False)
    assert replayed.status_code == 303
    assert replayed.headers["location"] == "/mine-beviser/log-ind"


async def test_a_login_gets_a_new_session_id(client: Client, seeded: Demo) -> None:
    start = await submit(client, "/mine-beviser/log-ind", "/mine-beviser/log-ind", {})
    before = start.cookies[SESSION]
    await person_login(client, ASE)
    after = client.cookies.get(SESSION)
    assert after
    assert after != before
    # The id the browser had before the login is worth nothing after it.
    client.cookies.clear()
    client.cookies.set(SESSION, before)
    assert (await client.get("/mine-beviser", follow_redirects=False)).status_code == 303


async def test_a_planted_session_id_is_never_adopted(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    planted = "a" * 64  # an attacker's id, set on the victim's browser
    client.cookies.set(SESSION, planted)
    start = await submit(client, "/mine-beviser/log-ind", "/mine-beviser/log-ind", {})
    assert start.cookies[SESSION] != planted
    client.cookies.set(SESSION, planted)
    assert (await client.get("/mine-beviser", follow_redirects=False)).status_code == 303


async def test_the_idle_timeout_is_renewed_by_use(
    client: Client, seeded: Demo, clock: FixedClock
) -> None:
    await person_login(client, ASE)
    for _ in range(3):
        clock.now += dt.timedelta(minutes=25)
        assert (await client.get("/mine-beviser", follow_redirects=False)).status_code == 200
    clock.now += dt.timedelta(minutes=31)
    assert (await client.get("/mine-beviser", follow_redirects=False)).status_code == 303


async def test_the_absolute_timeout_ends_a_busy_session(
    client: Client, seeded: Demo, clock: FixedClock, conn: asyncpg.Connection
) -> None:
    await person_login(client, ASE)
    for _ in range(23):  # every 20 minutes for 7 h 40 min
        clock.now += dt.timedelta(minutes=20)
        assert (await client.get("/mine-beviser", follow_redirects=False)).status_code == 200
    clock.now += dt.timedelta(minutes=20)  # 8 hours after the login
    assert (await client.get("/mine-beviser", follow_redirects=False)).status_code == 303
    assert await _rows(conn) == 0  # ended, not merely refused


async def test_expired_rows_are_purged_at_a_login(
    client: Client, seeded: Demo, clock: FixedClock, conn: asyncpg.Connection
) -> None:
    await person_login(client, ASE)
    client.cookies.clear()
    clock.now += dt.timedelta(hours=1)
    await person_login(client, ASE)
    assert await _rows(conn) == 1


def _page_posts(app: Litestar) -> list[str]:
    """Every POST route of the pages (the API is bearer-authenticated, without cookies)."""
    examples = {"uuid": "00000000-0000-4000-8000-000000000001", "int": "1"}

    def example(m: re.Match[str]) -> str:
        name, kind = m.group(1), m.group(2)
        return "2026-0000001" if name == "number" else examples.get(kind, "1")

    return sorted(
        re.sub(r"\{(\w+):(\w+)\}", example, r.path)
        for r in app.routes
        if "POST" in getattr(r, "methods", ()) and not r.path.startswith("/api")
    )


async def test_every_page_post_needs_its_csrf_token(
    app: Litestar, client: Client, seeded: Demo
) -> None:
    posts = _page_posts(app)
    assert len(posts) >= 10, posts
    await school_login(client)  # logged in, so only the token is missing
    token = csrf_of((await client.get("/tjek")).text)
    for path in posts:
        for data in ({}, {CSRF_FIELD: "forged"}, {CSRF_FIELD: token[:-2] + "00"}):
            refused = await client.post(path, data=data, follow_redirects=False)
            assert refused.status_code == 403, (path, data)
            assert "text/html" in refused.headers["content-type"], path
            assert "Handlingen blev afvist" in refused.text, path
    # The token does not travel in a header from another site either: a forged cookie pair
    # fails as well.
    client.cookies.set("amu_csrf", "0" * 128)
    forged = await client.post("/tjek", data={CSRF_FIELD: "0" * 128}, follow_redirects=False)
    assert forged.status_code == 403
    assert (await client.get("/skole")).status_code == 200  # still logged in
