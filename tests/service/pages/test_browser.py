"""The pages in a real browser (Debian's Chromium through Playwright): log in, see the list,
download the PDF, share, open the share link in a fresh context, revoke it and see it refused,
verify by QR URL and by typed code, and see a revoked certificate shown as revoked."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.helpers import ASE, team_body
from tests.service.pages.live import LiveServer

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

pytestmark = pytest.mark.external


def _issue(live: LiveServer) -> dict[str, Any]:
    tokens = live.seed()
    participants = live.issue(tokens.public, team_body())
    certificate: dict[str, Any] = participants[0]["certificate"]
    return certificate


def _log_in(page: Page, base: str, name: str = "Åse Ødegård") -> None:
    page.goto(f"{base}/mine-beviser")
    page.get_by_role("button", name="Log ind med MitID").click()
    page.get_by_label(name).check()
    page.get_by_role("button", name="Log ind").click()
    page.wait_for_url(f"{base}/mine-beviser")


def test_log_in_see_the_list_and_download_the_pdf(
    live: LiveServer, browser: Browser, tmp_path: Path
) -> None:
    certificate = _issue(live)
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    _log_in(page, live.base_url)
    assert page.get_by_role("heading", level=1).inner_text() == "Mine beviser"
    card = page.get_by_role("listitem").filter(has_text="Hygiejne for fødevarebranchen")
    assert "Erhvervsskolen Nordvest" in card.inner_text()
    assert "Prøven er bestået." in card.inner_text()
    card.get_by_role("link").click()
    assert certificate["number"] in page.content()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Hent som PDF").click()
    target = tmp_path / "bevis.pdf"
    download_info.value.save_as(target)
    assert target.read_bytes().startswith(b"%PDF-")
    assert download_info.value.suggested_filename == f"AMU-bevis-{certificate['number']}.pdf"
    context.close()


def test_share_open_in_a_fresh_context_revoke_and_refused(
    live: LiveServer, browser: Browser
) -> None:
    certificate = _issue(live)
    holder = browser.new_context()
    page = holder.new_page()
    _log_in(page, live.base_url)
    page.goto(f"{live.base_url}/mine-beviser/{certificate['number']}")
    page.get_by_label("Linket virker i").select_option("7")
    page.get_by_role("button", name="Opret link").click()
    link = page.get_by_label("Link til beviset").input_value()
    assert link.startswith(f"{live.base_url}/delt/")

    employer = browser.new_context()
    view = employer.new_page()
    view.goto(link)
    assert "Beviset er gyldigt" in view.inner_text("main")
    assert "Åse Ødegård" in view.inner_text("main")
    assert ASE not in view.content()

    page.goto(f"{live.base_url}/mine-beviser/adgang")
    assert "Delt link" in page.inner_text("main")
    page.goto(f"{live.base_url}/mine-beviser/{certificate['number']}")
    page.get_by_role("button", name=re.compile("Træk tilbage")).click()
    assert "Trukket tilbage" in page.inner_text("main")

    refused = view.goto(link)
    assert refused is not None
    assert refused.status == 410
    assert "Linket virker ikke længere" in view.inner_text("main")
    holder.close()
    employer.close()


def test_verify_by_qr_url_and_by_typed_code(live: LiveServer, browser: Browser) -> None:
    certificate = _issue(live)
    context = browser.new_context()
    page = context.new_page()
    page.goto(certificate["verifyUrl"])  # what the paper certificate's QR code opens
    assert "Beviset er gyldigt" in page.inner_text("main")
    assert "Hygiejne for fødevarebranchen" in page.inner_text("main")

    page.goto(f"{live.base_url}/tjek")
    page.get_by_label("Bevisnummer").fill(certificate["number"])
    page.get_by_label("Kontrolkode").fill(certificate["verificationCode"].lower())
    page.get_by_role("button", name="Tjek beviset").click()
    assert "Beviset er gyldigt" in page.inner_text("main")

    page.get_by_label("Bevisnummer").fill(certificate["number"])
    page.get_by_label("Kontrolkode").fill("AAAA-AAAA")
    page.get_by_role("button", name="Tjek beviset").click()
    assert "Ukendt bevis" in page.inner_text("main")
    context.close()


def test_a_revoked_certificate_is_shown_as_revoked(live: LiveServer, browser: Browser) -> None:
    tokens = live.seed()
    certificate: dict[str, Any] = live.issue(tokens.public, team_body())[0]["certificate"]
    # Through the school API, so the revocation has its leaf in the log: an event row without
    # one is not what the log says, and verification answers "invalid" (docs/registry.md).
    revoked = httpx.post(
        f"{live.base_url}/api/schools/751234/certificates/{certificate['number']}/revocation",
        json={"reason": "issued-in-error"},
        headers={"Authorization": f"Bearer {tokens.public}", "Idempotency-Key": "browser-revoke"},
        timeout=30,
    )
    assert revoked.status_code == 201, revoked.text
    context = browser.new_context()
    page = context.new_page()
    page.goto(certificate["verifyUrl"])
    assert "Beviset er tilbagekaldt" in page.inner_text("main")
    assert "Beviset er gyldigt" not in page.inner_text("main")
    context.close()


def test_the_keyboard_reaches_the_skip_link_first(live: LiveServer, browser: Browser) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live.base_url}/tjek")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Gå til indhold"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "nummer"
    context.close()


def _cookie(context: BrowserContext, name: str) -> str | None:
    return next((c["value"] for c in context.cookies() if c["name"] == name), None)


def test_a_participant_logs_in_and_out(live: LiveServer, browser: Browser) -> None:
    live.seed()
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live.base_url}/mine-beviser/log-ind")
    before = _cookie(context, "amu_session")
    assert before is None  # a visitor has no session
    _log_in(page, live.base_url)
    session = _cookie(context, "amu_session")
    assert session
    cookie = next(c for c in context.cookies() if c["name"] == "amu_session")
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Lax"
    page.get_by_role("button", name="Log ud").click()
    page.wait_for_url(f"{live.base_url}/")
    assert _cookie(context, "amu_session") is None
    # The old cookie, put back, opens nothing: the session was deleted on the server.
    context.add_cookies([{"name": "amu_session", "value": session, "url": live.base_url}])
    page.goto(f"{live.base_url}/mine-beviser")
    assert page.url == f"{live.base_url}/mine-beviser/log-ind"
    context.close()


def test_school_staff_log_in_and_out(live: LiveServer, browser: Browser) -> None:
    live.seed()
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live.base_url}/skole")
    assert page.url == f"{live.base_url}/skole/log-ind"
    page.get_by_role("button", name="Log ind med MitID Erhverv").click()
    page.get_by_label("Mads Lund").check()
    page.get_by_role("button", name="Log ind").click()
    page.wait_for_url(f"{live.base_url}/skole")
    assert page.get_by_role("heading", level=1).inner_text() == "Erhvervsskolen Nordvest"
    assert "Logget ind som Mads Lund (Registrator)" in page.inner_text("main")
    page.goto(f"{live.base_url}/skole/medarbejdere")
    assert "Det kræver en administrator" in page.inner_text("main")
    page.goto(f"{live.base_url}/skole")
    page.get_by_role("button", name="Log ud").click()
    page.wait_for_url(f"{live.base_url}/")
    page.goto(f"{live.base_url}/skole")
    assert page.url == f"{live.base_url}/skole/log-ind"

    # Someone without a role learns whom to ask, and what to tell them.
    page.get_by_role("button", name="Log ind med MitID Erhverv").click()
    page.get_by_label("Peter Nielsen").check()
    page.get_by_role("button", name="Log ind").click()
    assert "Bed skolens administrator" in page.inner_text("main")
    assert page.locator("#bruger-id").inner_text() == "demo-peter-nielsen"
    context.close()
