"""The administrator's pages in a real browser (Debian's Chromium through Playwright): the demo
administrator logs in with the development staff provider, makes an API credential on the page,
and the token it shows once reports a team over the live server's API."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

from tests.helpers import team_body
from tests.service.pages.live import LiveServer

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.external


def test_an_administrator_makes_a_credential_that_reports_a_team(
    live: LiveServer, browser: Browser
) -> None:
    live.seed()
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live.base_url}/skole")
    page.get_by_role("button", name="Log ind med MitID Erhverv").click()
    page.get_by_label("Karen Holm").check()
    page.get_by_role("button", name="Log ind").click()
    page.wait_for_url(f"{live.base_url}/skole")
    page.get_by_role("link", name="API-nøgler").click()
    page.wait_for_url(f"{live.base_url}/skole/api-noegler")

    # A label that cannot be stored: the form again, with its error, nothing made.
    page.get_by_label("Navn på nøglen").fill("   ")
    page.get_by_role("button", name="Opret nøgle").click()
    assert "Skriv et navn på nøglen" in page.inner_text("main")
    assert page.get_by_label("Navn på nøglen").get_attribute("aria-invalid") == "true"

    page.get_by_label("Navn på nøglen").fill("Studieadministration")
    page.get_by_role("button", name="Opret nøgle").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Ny API-nøgle"
    assert "vises kun denne ene gang" in page.inner_text("main")
    token = page.get_by_label("API-nøgle").input_value()
    assert token.startswith("amu_")
    assert token not in page.url

    reported = live.issue(token, team_body(reference="H-BROWSER"))
    assert reported[0]["certificate"]["number"]

    # Its page shows the use, by whom the credential was made, and no secret.
    page.get_by_role("link", name="Se nøglen").click()
    main = page.inner_text("main")
    assert "Aktiv" in main
    assert "staff:demo-karen-holm" in main
    assert "POST /api/schools/{school_id}/teams" in main
    assert token.split("_", 2)[2] not in page.content()

    # Revoked on the page, refused on the API.
    page.get_by_role("button", name="Tilbagekald nøglen nu").click()
    assert "Tilbagekaldt" in page.locator("#status").inner_text()
    refused = httpx.get(
        f"{live.base_url}/api/schools/751234/overdue",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert refused.status_code == 401
    context.close()
