"""Indberet hold in a real browser (Debian's Chromium through Playwright): the demo
administrator reports one team by the form and another by uploading a CSV file, sees the
preview first, and then the certificate numbers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.helpers import ASE, BO
from tests.service.pages.live import LiveServer

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.external
_NUMBER = re.compile(r"\b20[0-9]{2}-[0-9]{7}\b")


def test_an_administrator_reports_a_team_by_form_and_one_by_file(
    live: LiveServer, browser: Browser, tmp_path: Path
) -> None:
    live.seed()
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live.base_url}/skole")
    page.get_by_role("button", name="Log ind med MitID Erhverv").click()
    page.get_by_label("Karen Holm").check()
    page.get_by_role("button", name="Log ind").click()
    page.wait_for_url(f"{live.base_url}/skole")
    page.get_by_role("link", name="Indberet hold").click()
    page.wait_for_url(f"{live.base_url}/skole/hold/ny")

    # The goal found in the catalogue, the team and two participants, one with a bad CPR.
    page.get_by_label("Søg i målkataloget").fill("48113")
    page.get_by_role("button", name="Søg", exact=True).click()
    page.get_by_label("Mål (målnummer)").fill("48113")
    page.get_by_label("Holdreference").fill("H-FORM")
    page.get_by_label("Startdato").fill("2026-11-09")
    page.get_by_label("Slutdato").fill("2026-11-10")
    first = page.get_by_role("group", name="Deltager 1", exact=True)
    first.get_by_label("CPR-nummer").fill("320190-1234")
    first.get_by_label("Navn").fill("Åse Ødegård")
    first.get_by_label("Resultat").select_option("passed")
    second = page.get_by_role("group", name="Deltager 2", exact=True)
    second.get_by_label("CPR-nummer").fill(BO)
    second.get_by_label("Navn").fill("Bo Jensen")
    second.get_by_label("Resultat").select_option("failed")
    page.get_by_role("button", name="Se forhåndsvisning").click()
    cpr = page.get_by_role("group", name="Deltager 1", exact=True).get_by_label("CPR-nummer")
    assert cpr.get_attribute("aria-invalid") == "true"
    assert "Ikke et CPR-nummer" in page.inner_text("main")
    assert page.get_by_role("button", name="Indberet", exact=True).count() == 0

    cpr.fill(ASE)
    page.get_by_role("button", name="Se forhåndsvisning").click()
    main = page.inner_text("main")
    assert "Bestået – bevis" in main
    assert "Ikke bestået" in main
    page.get_by_role("button", name="Indberet", exact=True).click()
    assert page.get_by_role("heading", level=1).inner_text() == "Holdet er indberettet"
    numbers = _NUMBER.findall(page.inner_text("main"))
    assert len(numbers) == 1
    # Reloading the answer reports nothing twice: the same number again.
    page.reload()
    assert _NUMBER.findall(page.inner_text("main")) == numbers

    # A file with a second team.
    sheet = tmp_path / "hold.csv"
    sheet.write_text(
        "goal;team_reference;start_date;end_date;cpr;name;outcome\n"
        f"48113;H-FIL;09-11-2026;10-11-2026;{ASE};Åse Ødegård;bestået\n"
        f"48113;H-FIL;09-11-2026;10-11-2026;{BO};Bo Jensen;bestået\n",
        encoding="utf-8",
    )
    page.goto(f"{live.base_url}/skole/hold/upload")
    page.get_by_label("Fil (.csv eller .xlsx)").set_input_files(str(sheet))
    page.get_by_role("button", name="Se forhåndsvisning").click()
    assert "Hold H-FIL" in page.inner_text("main")
    page.get_by_role("button", name="Indberet", exact=True).click()
    filed = _NUMBER.findall(page.inner_text("main"))
    assert len(filed) == 2
    assert not set(filed) & set(numbers)

    page.goto(f"{live.base_url}/skole")
    overview = page.inner_text("main")
    assert all(n in overview for n in [*numbers, *filed])
    context.close()
