"""Every page through axe-core in a real browser (Debian's Chromium through Playwright), at
phone (360 px) and desktop (1280 px) width, with the WCAG 2.0 and 2.1 level A and AA rules:
no violation anywhere.

Which pages: every GET route of the pages router (``PAGE_ROUTES`` names how each is reached;
``test_the_checked_routes_are_the_apps_page_routes`` fails when a route is added without an
entry), plus the states a GET alone does not show: forms with their errors, the previews and
answers of "Indberet hold" reached by driving the forms, the one-time API-key page, the error
pages (404, 403 for a missing role, 410 for a withdrawn link), the choice of school, "no
access", and the logged-out page (an OpenID provider's logout: only then is there one).

axe-core is used directly, not through ``@axe-core/playwright``: that package drives Node's
Playwright, and these tests use Python's. Its script comes from tests/js/node_modules (``npm
ci``) as an init script of the browser context, which runs before the page's own and is not
subject to the page's Content-Security-Policy (``script-src 'self'``): the pages are checked
with their real headers, nothing bypassed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.conftest import DatabaseRoles, FixedClock
from tests.externals import require_node_modules
from tests.helpers import ASE, BO, team_body
from tests.oidc_provider import NodeOpenIDProvider, real_now
from tests.service.pages.live import LiveServer, SchoolTokens
from tests.service.pages.test_oidc_browser import _live_with_openid, _log_in_at_provider

if TYPE_CHECKING:
    from litestar import Litestar
    from playwright.sync_api import Browser, BrowserContext, Page

pytestmark = pytest.mark.external

WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
WIDTHS = {"phone": (360, 740), "desktop": (1280, 860)}
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

# Every GET route of the pages router, and how the test reaches it.
PAGE_ROUTES = {
    "/": "the front page",
    "/tjek": "the form, its answer (POST) and an unknown number",
    "/tjek/{number}": "the QR URL: valid, revoked, wrong code",
    "/delt/{token}": "a share link, and once withdrawn (410)",
    "/mine-beviser/log-ind": "the participant's login page",
    "/udvikling/log-ind": "the development MitID page, by the login button",
    "/mine-beviser": "Åse's list",
    "/mine-beviser/{number}": "a certificate, with a new share link (POST), and unknown (404)",
    "/mine-beviser/adgang": "the access log",
    "/skole/log-ind": "the staff login page",
    "/udvikling/log-ind/medarbejder": "the development MitID Erhverv page, by the login button",
    "/skole": "the school's overview; no access (403); the choice of school",
    "/skole/medarbejdere": "the administrator's staff page; a registrar refused (403)",
    "/skole/api-noegler": "the credentials, the form with an error, the one-time token (POST)",
    "/skole/api-noegler/{credential_id}": "one credential",
    "/skole/hold/ny": "the form, with errors, the preview and the answer (POST)",
    "/skole/hold/upload": "the upload form and its preview (POST)",
    "/skole/hold": "the teams",
    "/skole/hold/{team}": "one team",
    "/skole/deltagere": "the participants, searched",
    "/skole/deltagelser/{participation}": "one participation, and a form with an error",
    "/skole/beviser": "the certificates, searched",
    "/skole/beviser/{number}": "one certificate, and the correction with an error",
}
# GET routes of the pages router that answer no page: a redirect or a PDF.
NOT_PAGES = {
    "/mine-beviser/log-ind/svar": "the identity provider's callback: a redirect",
    "/skole/log-ind/svar": "the identity provider's callback: a redirect",
    "/mine-beviser/{number}/pdf": "the PDF",
    "/mine-beviser/dokumenter/{document_id}/pdf": "a participation or combined document's PDF",
}


def page_get_routes(app: Litestar) -> set[str]:
    """The paths (parameters without their types) of the GET routes of the pages router: the
    router that provides ``page`` (service/pages/__init__.py)."""
    found = set()
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            layers = handler.ownership_layers
            if "GET" in handler.http_methods and any(
                "page" in (layer.dependencies or {}) for layer in layers
            ):
                found.add(re.sub(r":\w+}", "}", route.path))
    return found


def test_the_checked_routes_are_the_apps_page_routes(app: Litestar) -> None:
    assert page_get_routes(app) == set(PAGE_ROUTES) | set(NOT_PAGES)


@dataclass
class Axe:
    """Runs axe on pages and keeps what it found, and which routes it checked."""

    script: Path
    violations: list[str] = field(default_factory=list)
    checked: set[str] = field(default_factory=set)

    def context(self, browser: Browser, **options: Any) -> BrowserContext:
        context = browser.new_context(**options)
        context.add_init_script(path=str(self.script))
        return context

    def check(self, page: Page, route: str | None, state: str = "") -> None:
        """Run axe on ``page`` at each width and keep its violations: an instance of ``route``,
        or with None a page no GET route of its own answers (an error, a POST's answer)."""
        if route is not None:
            assert route in PAGE_ROUTES, route
            self.checked.add(route)
        # A click that submits a form returns once the next page has started loading: axe on a
        # document still being replaced reads null (it failed that way in CI).
        page.wait_for_load_state("load")
        for label, (width, height) in WIDTHS.items():
            page.set_viewport_size({"width": width, "height": height})
            results = page.evaluate(
                """tags => axe.run(document, {
                    runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})""",
                WCAG_21_AA,
            )
            for v in results["violations"]:
                targets = "; ".join(" ".join(n["target"]) for n in v["nodes"][:5])
                self.violations.append(
                    f"{route} {state} ({label}, {page.url}): {v['id']} [{v['impact']}] "
                    f"{v['help']} -> {targets}"
                )

    def assert_none(self) -> None:
        assert not self.violations, "axe found:\n" + "\n".join(self.violations)


@pytest.fixture
def axe() -> Axe:
    return Axe(require_node_modules() / "axe-core" / "axe.min.js")


def _revoke(live: LiveServer, token: str, number: str) -> None:
    """Through the school API, so the revocation has its leaf in the log."""
    revoked = httpx.post(
        f"{live.base_url}/api/schools/751234/certificates/{number}/revocation",
        json={"reason": "issued-in-error"},
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "axe-revoke"},
        timeout=30,
    )
    assert revoked.status_code == 201, revoked.text


def _staff_login(page: Page, base: str, name: str) -> None:
    page.goto(f"{base}/skole/log-ind")
    page.get_by_role("button", name="Log ind med MitID Erhverv").click()
    page.get_by_label(name).check()
    page.get_by_role("button", name="Log ind").click()


def _public_and_participant_pages(
    live: LiveServer, tokens: SchoolTokens, browser: Browser, axe: Axe
) -> None:
    certificate = live.issue(tokens.public, team_body(reference="H-AXE"))[0]["certificate"]
    live.issue(tokens.private, team_body(reference="H-ORE"), school="863410")
    base = live.base_url
    number = certificate["number"]
    visitor = axe.context(browser).new_page()
    visitor.goto(f"{base}/")
    axe.check(visitor, "/")
    visitor.goto(f"{base}/tjek")
    axe.check(visitor, "/tjek")
    visitor.get_by_label("Bevisnummer").fill(number)
    visitor.get_by_label("Kontrolkode").fill(certificate["verificationCode"])
    visitor.get_by_role("button", name="Tjek beviset").click()
    axe.check(visitor, "/tjek", "answered")
    visitor.get_by_label("Bevisnummer").fill("2026-9999999")
    visitor.get_by_label("Kontrolkode").fill("AAAA-AAAA")
    visitor.get_by_role("button", name="Tjek beviset").click()
    axe.check(visitor, "/tjek", "unknown")
    visitor.goto(certificate["verifyUrl"])
    axe.check(visitor, "/tjek/{number}", "valid")
    visitor.goto(f"{base}/tjek/{number}?kode=AAAA-AAAA")
    axe.check(visitor, "/tjek/{number}", "wrong code")

    holder = axe.context(browser).new_page()
    holder.goto(f"{base}/mine-beviser/log-ind")
    axe.check(holder, "/mine-beviser/log-ind")
    holder.get_by_role("button", name="Log ind med MitID").click()
    holder.wait_for_url(re.compile(r".*/udvikling/log-ind\b.*"))
    axe.check(holder, "/udvikling/log-ind")
    holder.get_by_label("Åse Ødegård").check()
    holder.get_by_role("button", name="Log ind").click()
    holder.wait_for_url(f"{base}/mine-beviser")
    axe.check(holder, "/mine-beviser")
    holder.goto(f"{base}/mine-beviser/{number}")
    axe.check(holder, "/mine-beviser/{number}")
    holder.get_by_role("button", name="Opret link").click()
    link = holder.get_by_label("Link til beviset").input_value()
    axe.check(holder, "/mine-beviser/{number}", "a new link")
    visitor.goto(link)
    axe.check(visitor, "/delt/{token}")
    holder.goto(f"{base}/mine-beviser/adgang")
    axe.check(holder, "/mine-beviser/adgang")
    holder.goto(f"{base}/mine-beviser/{number}")
    holder.get_by_role("button", name=re.compile("Træk tilbage")).first.click()
    axe.check(holder, "/mine-beviser/{number}", "link withdrawn")
    visitor.goto(link)
    axe.check(visitor, "/delt/{token}", "410")
    holder.goto(f"{base}/mine-beviser/2026-9999999")
    axe.check(holder, "/mine-beviser/{number}", "404")
    for unknown in ("/findes-ikke", "/mine-beviser/a/b/c"):  # no route: the app's own 404
        holder.goto(f"{base}{unknown}")
        axe.check(holder, None, f"404 at {unknown}")

    _revoke(live, tokens.public, number)
    visitor.goto(certificate["verifyUrl"])
    axe.check(visitor, "/tjek/{number}", "revoked")


def _report_pages(page: Page, base: str, axe: Axe, tmp_path: Path) -> None:
    page.goto(f"{base}/skole/hold/ny")
    axe.check(page, "/skole/hold/ny")
    page.get_by_label("Søg i målkataloget").fill("48113")
    page.get_by_role("button", name="Søg", exact=True).click()
    axe.check(page, "/skole/hold/ny", "catalogue searched")
    page.get_by_label("Mål (målnummer)").fill("48113")
    page.get_by_label("Holdreference").fill("H-SIDE")
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
    axe.check(page, "/skole/hold/ny", "errors")
    first = page.get_by_role("group", name="Deltager 1", exact=True)
    first.get_by_label("CPR-nummer").fill(ASE)
    page.get_by_role("button", name="Se forhåndsvisning").click()
    axe.check(page, "/skole/hold/ny", "preview")
    page.get_by_role("button", name="Indberet", exact=True).click()
    axe.check(page, "/skole/hold/ny", "reported")

    sheet = tmp_path / "hold.csv"
    sheet.write_text(
        "goal;team_reference;start_date;end_date;cpr;name;outcome\n"
        f"48113;H-FIL;09-11-2026;10-11-2026;{ASE};Åse Ødegård;bestået\n"
        f"48113;H-FIL;09-11-2026;10-11-2026;320190-1234;Bo Jensen;bestået\n",
        encoding="utf-8",
    )
    page.goto(f"{base}/skole/hold/upload")
    axe.check(page, "/skole/hold/upload")
    page.get_by_label("Fil (.csv eller .xlsx)").set_input_files(str(sheet))
    page.get_by_role("button", name="Se forhåndsvisning").click()
    axe.check(page, "/skole/hold/upload", "preview with an error")


def _records_pages(page: Page, base: str, axe: Axe, number: str) -> None:
    page.goto(f"{base}/skole/hold")
    axe.check(page, "/skole/hold")
    team = page.locator("main a[href^='/skole/hold/']").filter(has_text="H-AXE")
    team.first.click()
    page.wait_for_url(re.compile(rf".*/skole/hold/{_UUID}$"))
    axe.check(page, "/skole/hold/{team}")
    page.locator("main a[href^='/skole/deltagelser/']").first.click()
    page.wait_for_url(re.compile(rf".*/skole/deltagelser/{_UUID}$"))
    axe.check(page, "/skole/deltagelser/{participation}")
    page.get_by_role("button", name="Registrér prøven").click()
    axe.check(page, "/skole/deltagelser/{participation}", "errors")
    page.goto(f"{base}/skole/deltagere?q=Bo")
    axe.check(page, "/skole/deltagere")
    page.goto(f"{base}/skole/beviser?q={number[:4]}")
    axe.check(page, "/skole/beviser")
    page.goto(f"{base}/skole/beviser/{number}")
    axe.check(page, "/skole/beviser/{number}")
    page.get_by_label("Hvad var forkert?").select_option("participant-data")
    page.get_by_label("Kursets sidste dag").fill("2026-11-01")
    page.get_by_role("button", name="Annullér og udsted rettet bevis").click()
    axe.check(page, "/skole/beviser/{number}", "errors")


def _school_pages(
    live: LiveServer, tokens: SchoolTokens, browser: Browser, axe: Axe, tmp_path: Path
) -> None:
    base = live.base_url
    issued = live.issue(tokens.public, team_body(reference="H-AXE-2"))
    number = issued[0]["certificate"]["number"]
    page = axe.context(browser).new_page()
    page.goto(f"{base}/skole/log-ind")
    axe.check(page, "/skole/log-ind")
    page.get_by_role("button", name="Log ind med MitID Erhverv").click()
    page.wait_for_url(re.compile(r".*/udvikling/log-ind/medarbejder\b.*"))
    axe.check(page, "/udvikling/log-ind/medarbejder")
    page.get_by_label("Karen Holm").check()
    page.get_by_role("button", name="Log ind").click()
    page.wait_for_url(f"{base}/skole")
    axe.check(page, "/skole")
    page.goto(f"{base}/skole/medarbejdere")
    axe.check(page, "/skole/medarbejdere")
    page.goto(f"{base}/skole/api-noegler")
    axe.check(page, "/skole/api-noegler")
    page.get_by_label("Navn på nøglen").fill("   ")
    page.get_by_role("button", name="Opret nøgle").click()
    axe.check(page, "/skole/api-noegler", "error")
    page.get_by_label("Navn på nøglen").fill("Studieadministration")
    page.get_by_role("button", name="Opret nøgle").click()
    axe.check(page, "/skole/api-noegler", "the one-time token")
    page.get_by_role("link", name="Se nøglen").click()
    axe.check(page, "/skole/api-noegler/{credential_id}")
    _report_pages(page, base, axe, tmp_path)
    _records_pages(page, base, axe, number)

    registrar = axe.context(browser).new_page()
    _staff_login(registrar, base, "Mads Lund")
    registrar.wait_for_url(f"{base}/skole")
    registrar.goto(f"{base}/skole/medarbejdere")
    axe.check(registrar, "/skole/medarbejdere", "403 for a registrar")

    nobody = axe.context(browser).new_page()
    _staff_login(nobody, base, "Peter Nielsen")
    nobody.get_by_text("Bed skolens administrator").wait_for()
    axe.check(nobody, "/skole", "no access")

    # A second school of Erhvervsskolen Nordvest's organisation: Karen then chooses.
    live.sql(
        "INSERT INTO schools (id, name, cvr, ownership) VALUES ($1, $2, $3, 'public')",
        "751299",
        "Erhvervsskolen Nordvest, Vest",
        "29183746",
    )
    live.sql(
        """INSERT INTO school_staff (school_id, subject, role, granted_at, granted_by, name)
           VALUES ('751299', 'demo-karen-holm', 'registrar', now(), 't', 'Karen Holm')"""
    )
    chooser = axe.context(browser).new_page()
    _staff_login(chooser, base, "Karen Holm")
    chooser.get_by_text("Erhvervsskolen Nordvest, Vest").wait_for()
    axe.check(chooser, "/skole", "choice of school")


def test_every_page_has_no_wcag_21_aa_violation(
    live: LiveServer, browser: Browser, axe: Axe, tmp_path: Path
) -> None:
    tokens = live.seed()
    _public_and_participant_pages(live, tokens, browser, axe)
    _school_pages(live, tokens, browser, axe, tmp_path)
    axe.assert_none()
    assert axe.checked == set(PAGE_ROUTES)


def test_the_logged_out_page_has_no_wcag_21_aa_violation(
    database_url: str,
    database_roles: DatabaseRoles,
    tmp_path: Path,
    clock: FixedClock,
    node_oidc: NodeOpenIDProvider,
    browser: Browser,
    axe: Axe,
) -> None:
    """Only a provider with a logout of its own has the "Du er logget ud" page: panva's
    oidc-provider. amu.js, which sends its form on at once, is left out to keep the page."""
    clock.now = real_now()
    with _live_with_openid(database_url, database_roles, tmp_path, clock, node_oidc.issuer) as live:
        base = live.base_url
        node_oidc.register_client(
            [f"{base}/mine-beviser/log-ind/svar", f"{base}/skole/log-ind/svar"], [f"{base}/"]
        )
        live.seed()
        context = axe.context(browser)
        context.route(
            "**/static/amu.js", lambda route: route.fulfill(body="", content_type="text/javascript")
        )
        page = context.new_page()
        page.goto(f"{base}/mine-beviser/log-ind")
        axe.check(page, "/mine-beviser/log-ind", "MitID by OpenID Connect")
        page.get_by_role("button", name="Log ind med MitID").click()
        _log_in_at_provider(page, node_oidc.issuer, "bo")
        page.wait_for_url(f"{base}/mine-beviser")
        page.get_by_role("button", name="Log ud").click()
        page.get_by_role("heading", name="Du er logget ud").wait_for()
        axe.check(page, None, "logged out (POST /mine-beviser/log-ud)")
        context.close()
    axe.assert_none()
