"""With the database away a page answers a Danish 503 page, not the API's JSON problem."""

from __future__ import annotations

from litestar import Litestar

from tests.conftest import Demo
from tests.helpers import ASE, Client
from tests.service.pages.helpers import person_login


async def test_a_page_answers_a_danish_503_page_when_the_database_is_away(
    app: Litestar, client: Client
) -> None:
    page = "/tjek/2026-0000001?kode=ABCD-EFGH"
    assert (await client.get(page)).status_code == 200
    # A closed pool fails as an unreachable database does ("pool is closed"). terminate(),
    # not close(): the app's pool lives on the test client's event loop, not this one.
    app.state.running.pool.terminate()

    response = await client.get(page)
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["retry-after"] == "5"
    assert "Registret er midlertidigt utilgængeligt" in response.text
    assert '<html lang="da"' in response.text
    # The API under the same app still answers its problem document.
    api = await client.get("/api/keys")
    assert api.status_code == 503
    assert api.headers["content-type"] == "application/problem+json"
    assert api.json()["type"].endswith("/database-unavailable")


async def test_a_logged_in_browser_gets_the_503_page_too(
    app: Litestar, client: Client, seeded: Demo
) -> None:
    """The session is read from the database before any handler runs: its failure is the
    same Danish page, not a crash."""
    await person_login(client, ASE)
    assert (await client.get("/mine-beviser")).status_code == 200
    app.state.running.pool.terminate()
    response = await client.get("/mine-beviser", follow_redirects=False)
    assert response.status_code == 503
    assert "Registret er midlertidigt utilgængeligt" in response.text
