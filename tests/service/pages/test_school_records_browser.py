"""The school's records pages in a real browser (Debian's Chromium through Playwright): the demo
administrator finds a certificate by searching, corrects the participant's name on its page (a
bad date first, refused on the field), and finds the cancelled certificate and its replacement
again by search."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.helpers import team_body
from tests.service.pages.live import LiveServer

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.external


def test_an_administrator_corrects_a_certificate_and_finds_it_again(
    live: LiveServer, browser: Browser
) -> None:
    tokens = live.seed()
    number = live.issue(tokens.public, team_body(reference="H-RET"))[0]["certificate"]["number"]
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live.base_url}/skole")
    page.get_by_role("button", name="Log ind med MitID Erhverv").click()
    page.get_by_label("Karen Holm").check()
    page.get_by_role("button", name="Log ind").click()
    page.wait_for_url(f"{live.base_url}/skole")

    page.get_by_role("link", name="Beviser", exact=True).first.click()
    page.get_by_label("Bevisnummer (eller begyndelsen af det)").fill(number)
    page.get_by_role("button", name="Søg").click()
    page.get_by_role("link", name=number).click()
    page.wait_for_url(f"{live.base_url}/skole/beviser/{number}")
    assert "Gyldigt" in page.locator("#status").inner_text()

    # A course end before its start: the form again, the field marked, nothing changed.
    page.get_by_label("Hvad var forkert?").select_option("participant-data")
    page.get_by_label("Kursets sidste dag").fill("2026-11-01")
    page.get_by_role("button", name="Annullér og udsted rettet bevis").click()
    assert page.get_by_label("Kursets sidste dag").get_attribute("aria-invalid") == "true"
    assert "Gyldigt" in page.locator("#status").inner_text()

    page.get_by_label("Hvad var forkert?").select_option("participant-data")
    page.get_by_label("Kursets sidste dag").fill("2026-11-10")
    page.get_by_label("Navn", exact=True).fill("Åse Marie Ødegård")
    page.get_by_role("button", name="Annullér og udsted rettet bevis").click()
    status = page.locator("#status").inner_text()
    assert "Annulleret" in status
    assert "Erstattet af" in status

    # Found again by search: the old one cancelled, the new one in the corrected name.
    page.get_by_role("link", name="Beviser", exact=True).first.click()
    page.get_by_label("Bevisnummer (eller begyndelsen af det)").fill(number[:4])
    page.get_by_role("button", name="Søg").click()
    listing = page.inner_text("main")
    assert "Åse Marie Ødegård" in listing
    assert "Annulleret" in listing
    context.close()
