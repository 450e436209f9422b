"""The school's remaining workflows in a real browser (Debian's Chromium through Playwright), as a
new member of staff would go about them: by the nav, the search forms, the labels and buttons.

- later facts: a team found by search, a retake recorded for the participant who failed (a
  date in the future refused on its field first), and a drop-out for another;
- a certificate revoked from its page, and the public verification saying so;
- paper ordered for a certificate, and the delivery shown on its page.

Each asserts on what the page shows and on what the register stored (through the school API).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.helpers import team_body
from tests.service.pages.live import LiveServer

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.external

SCHOOL = "/api/schools/751234"


def _log_in(live: LiveServer, browser: Browser) -> Page:
    """The demo administrator, logged in through the development provider, on the overview."""
    page = browser.new_context().new_page()
    page.goto(f"{live.base_url}/skole")
    page.get_by_role("button", name="Log ind med MitID Erhverv").click()
    page.get_by_label("Karen Holm").check()
    page.get_by_role("button", name="Log ind").click()
    page.wait_for_url(f"{live.base_url}/skole")
    return page


def _api(live: LiveServer, token: str, path: str) -> Any:
    """A school API read, as the school's own credential sees it."""
    response = httpx.get(
        f"{live.base_url}{SCHOOL}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    response.raise_for_status()
    return response.json()


def _assert_dropped_out(live: LiveServer, participation: str) -> None:
    """The drop-out is in the participation's stored facts. ``LiveServer.sql`` runs statements
    only, so the check is one that fails: a division by zero when no such row is stored."""
    live.sql(
        "SELECT 1 / count(*) FROM participations"
        " WHERE id = $1 AND coalesce((facts->>'droppedOut')::boolean, false)",
        uuid.UUID(participation),
    )


def _open_certificate(page: Page, live: LiveServer, number: str) -> None:
    page.get_by_role("link", name="Beviser", exact=True).first.click()
    page.get_by_label("Bevisnummer (eller begyndelsen af det)").fill(number)
    page.get_by_role("button", name="Søg").click()
    page.get_by_role("link", name=number).click()
    page.wait_for_url(f"{live.base_url}/skole/beviser/{number}")


def test_staff_record_a_retake_and_a_drop_out(live: LiveServer, browser: Browser) -> None:
    tokens = live.seed()
    participants = live.issue(tokens.public, team_body(reference="H-LATER"))
    ase, bo = (p["participation"] for p in participants)  # Åse passed, Bo failed
    assert _api(live, tokens.public, f"/participations/{bo}")["certificates"] == []
    page = _log_in(live, browser)

    page.get_by_role("link", name="Hold", exact=True).first.click()
    page.get_by_label("Søg på reference, målnummer, måltitel eller en dag").fill("LATER")
    page.get_by_role("button", name="Søg").click()
    page.get_by_role("link", name="H-LATER").click()
    page.get_by_role("link", name="Registrér senere oplysninger for Bo Jensen").click()
    page.wait_for_url(f"{live.base_url}/skole/deltagelser/{bo}")
    assert page.get_by_role("heading", name="Bo Jensen", level=1).is_visible()

    exam = page.get_by_role("region", name="Registrér en prøve, omprøve eller flyttet prøve")
    # A retake on a day still to come: the form again, the day marked, nothing recorded.
    exam.get_by_label("Prøvedag", exact=True).fill("2027-01-10")
    exam.get_by_label("Omprøve", exact=True).check()
    exam.get_by_label("Resultat", exact=True).select_option(label="Bestået")
    exam.get_by_label("Særlig grund til omprøven").fill("Syg på prøvedagen")
    exam.get_by_role("button", name="Registrér prøven").click()
    day = exam.get_by_label("Prøvedag", exact=True)
    assert day.get_attribute("aria-invalid") == "true"
    error = page.locator(f"#{day.get_attribute('aria-describedby')}")
    assert "fremtiden" in error.inner_text()
    assert "Intet bevis" in page.locator("#status-h + dl").inner_text()
    assert len(_api(live, tokens.public, f"/participations/{bo}")["attempts"]) == 1

    # The same retake on a day past: recorded, and it makes Bo's certificate due.
    exam.get_by_label("Prøvedag", exact=True).fill("2026-11-18")
    exam.get_by_label("Omprøve", exact=True).check()
    exam.get_by_label("Resultat", exact=True).select_option(label="Bestået")
    exam.get_by_label("Særlig grund til omprøven").fill("Syg på prøvedagen")
    exam.get_by_role("button", name="Registrér prøven").click()
    assert "Prøven er registreret" in page.locator("#udfoert").inner_text()
    attempts = page.get_by_role("table", name="Prøveforsøg").inner_text()
    assert "18. november 2026\tOmprøve" in attempts
    assert attempts.endswith("bestået")
    stored = _api(live, tokens.public, f"/participations/{bo}")
    assert [a["outcome"] for a in stored["attempts"]] == ["failed", "passed"]
    assert stored["attempts"][1]["reportedAsRetake"] is True
    assert len(stored["certificates"]) == 1
    number = stored["certificates"][0]["number"]
    page.get_by_role("link", name=number).click()
    page.wait_for_url(f"{live.base_url}/skole/beviser/{number}")
    assert "Gyldigt" in page.locator("#status").inner_text()
    assert "Bo Jensen" in page.inner_text("main")

    # Åse left the course early: back to the team, her page, the drop-out box.
    page.go_back()
    page.get_by_role("link", name="Hold H-LATER").click()
    page.get_by_role("link", name="Registrér senere oplysninger for Åse Ødegård").click()
    page.wait_for_url(f"{live.base_url}/skole/deltagelser/{ase}")
    dropped = page.get_by_role("region", name="Afbrudt kursus")
    dropped.get_by_label("Deltageren forlod kurset, før det sluttede").check()
    dropped.get_by_role("button", name="Registrér afbrydelsen").click()
    assert "Afbrydelsen er registreret" in page.locator("#udfoert").inner_text()
    assert "Deltageren har afbrudt kurset" in page.locator("#status-h + dl").inner_text()
    _assert_dropped_out(live, ase)
    page.context.close()


def test_staff_revoke_a_certificate(live: LiveServer, browser: Browser) -> None:
    tokens = live.seed()
    certificate = live.issue(tokens.public, team_body(reference="H-REV"))[0]["certificate"]
    number, code = certificate["number"], certificate["verificationCode"]
    page = _log_in(live, browser)
    _open_certificate(page, live, number)

    revoke = page.get_by_role("region", name="Tilbagekald beviset")
    # No reason chosen: the form again, the reason marked, the certificate still valid.
    revoke.get_by_role("button", name="Tilbagekald beviset").click()
    assert revoke.get_by_label("Hvorfor?").get_attribute("aria-invalid") == "true"
    assert "Gyldigt" in page.locator("#status").inner_text()

    revoke.get_by_label("Hvorfor?").select_option(label="Prøven er annulleret")
    revoke.get_by_role("button", name="Tilbagekald beviset").click()
    assert "Beviset er tilbagekaldt" in page.locator("#udfoert").inner_text()
    assert "Tilbagekaldt" in page.locator("#status").inner_text()
    # Nothing left to correct, revoke or order on a revoked certificate.
    assert page.get_by_role("button", name="Tilbagekald beviset").count() == 0
    assert page.get_by_role("button", name="Bestil papirkopi").count() == 0

    verified = httpx.get(
        f"{live.base_url}/api/verify/{number}", params={"code": code}, timeout=30
    ).json()
    assert verified["status"] == "revoked"
    assert verified["number"] == number
    page.context.close()


def test_staff_order_a_certificate_on_paper(live: LiveServer, browser: Browser) -> None:
    tokens = live.seed()
    number = live.issue(tokens.public, team_body(reference="H-PAPIR"))[0]["certificate"]["number"]
    before = _api(live, tokens.public, f"/deliveries/{number}")
    page = _log_in(live, browser)
    _open_certificate(page, live, number)

    paper = page.get_by_role("region", name="Bestil beviset på papir")
    paper.get_by_label("Hvem kræver papir?").fill("Politiet")
    paper.get_by_role("button", name="Bestil papirkopi").click()
    assert "En papirkopi er bestilt" in page.locator("#udfoert").inner_text()
    deliveries = page.get_by_role("region", name="Leveringer").inner_text()
    assert "Papir efter anmodning" in deliveries
    assert "kræves af Politiet" in deliveries
    assert "Gyldigt" in page.locator("#status").inner_text()

    after = _api(live, tokens.public, f"/deliveries/{number}")
    assert len(after) == len(before) + 1
    ordered = [d for d in after if d["purpose"] == "paper-on-request"]
    assert len(ordered) == 1
    assert ordered[0]["requestReason"] == "Politiet"
    assert ordered[0]["state"] == "pending"
    page.context.close()
