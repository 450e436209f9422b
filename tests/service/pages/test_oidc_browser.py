"""MitID and MitID Erhverv logins in a real browser: the service set to OpenID Connect for
participants and school staff alike (panva's oidc-provider on 127.0.0.1, one client with both
callbacks), the development logins off. A participant clicks "Log ind med MitID", logs in on the
provider's page, sees their certificate and logs out; a school's administrator logs in with the
organisation's CVR number and sees the school; both logouts end the provider's session too, by a
POSTed form: the ID token is in no URL the browser asks for. The development logins' routes are
not there at all."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

import httpx
import pytest

from service.settings import OpenIDSettings
from tests.conftest import DatabaseRoles, FixedClock
from tests.helpers import team_body
from tests.oidc_provider import (
    CLIENT_ID,
    CLIENT_SECRET,
    CVR_CLAIM,
    NodeOpenIDProvider,
    real_now,
)
from tests.service.pages.live import LiveServer, fresh_schema

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Request

pytestmark = pytest.mark.external

NORDVEST_CVR = "29183746"  # demo school 751234's organisation (service/demo.py)
ORESUND_CVR = "38127456"  # demo school 863410's: another organisation


@contextmanager
def _live_with_openid(
    database_url: str,
    roles: DatabaseRoles,
    tmp_path: Path,
    clock: FixedClock,
    issuer: str,
) -> Iterator[LiveServer]:
    """The pages with MitID and MitID Erhverv through the provider at ``issuer`` (one client
    for both), the development logins off."""
    openid = OpenIDSettings(issuer=issuer, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    changes = {
        "identity_provider": "openid",
        "staff_identity_provider": "openid",
        "insecure_development_login": False,
        "openid": openid,
        "staff_openid": openid,
    }
    with (
        fresh_schema(
            database_url, owner=roles.owner, owner_url=roles.owner_url, service=roles.service
        ) as schema,
        LiveServer(
            database_url,
            schema,
            tmp_path,
            clock,
            service_url=roles.service_url,
            settings_changes=changes,
        ) as server,
    ):
        yield server


@pytest.fixture
def openid_live(
    database_url: str,
    database_roles: DatabaseRoles,
    tmp_path: Path,
    clock: FixedClock,
    node_oidc: NodeOpenIDProvider,
) -> Iterator[LiveServer]:
    """The pages with both logins through the node provider, whose client this server is."""
    with _live_with_openid(
        database_url, database_roles, tmp_path, clock, node_oidc.issuer
    ) as server:
        base = server.base_url
        node_oidc.register_client(
            [f"{base}/mine-beviser/log-ind/svar", f"{base}/skole/log-ind/svar"], [f"{base}/"]
        )
        yield server


def _log_in_at_provider(page: Page, issuer: str, login: str) -> None:
    page.wait_for_url(f"{issuer}/interaction/**")
    page.get_by_label("Brugernavn").fill(login)
    page.get_by_label("Adgangskode").fill("any password")
    page.get_by_role("button", name="Log ind").click()


def _recorded(page: Page) -> list[Request]:
    """Every request ``page`` makes from now on: redirects and form posts included."""
    requests: list[Request] = []

    def record(request: Request) -> None:  # Playwright refuses a builtin's bound method
        requests.append(request)

    page.on("request", record)
    return requests


def _id_token_posted(requests: list[Request], issuer: str) -> str:
    """The ID token the browser POSTed to the provider's logout (``id_token_hint``)."""
    ends = [r for r in requests if r.url == f"{issuer}/session/end"]
    assert [r.method for r in ends] == ["POST"]
    token = parse_qs(ends[0].post_data or "")["id_token_hint"][0]
    assert token.count(".") == 2  # a JWS
    return token


def _assert_in_no_url(token: str, requests: list[Request], page: Page) -> None:
    urls = [r.url for r in requests] + [page.url]
    assert urls
    assert not [u for u in urls if token in u]


def test_a_participant_logs_in_with_mitid_sees_their_certificate_and_logs_out(
    openid_live: LiveServer, browser: Browser, clock: FixedClock, node_oidc: NodeOpenIDProvider
) -> None:
    base, issuer = openid_live.base_url, node_oidc.issuer
    openid_live.issue(openid_live.seed().public, team_body())
    clock.now = real_now()  # the provider stamps its ID tokens with the machine's time
    page = browser.new_page()
    requests = _recorded(page)
    page.goto(f"{base}/mine-beviser/log-ind")
    page.get_by_role("button", name="Log ind med MitID").click()
    _log_in_at_provider(page, issuer, "ase")
    page.wait_for_url(f"{base}/mine-beviser")
    assert page.get_by_role("heading", level=1).inner_text() == "Mine beviser"
    card = page.get_by_role("listitem").filter(has_text="Hygiejne for fødevarebranchen")
    assert "Prøven er bestået." in card.inner_text()

    page.get_by_role("button", name="Log ud").click()
    # Our session ends; our page POSTs the provider's logout form at once (amu.js), and the
    # provider asks to confirm.
    page.wait_for_url(f"{issuer}/session/end")
    page.get_by_role("button", name="Log ud").click()
    page.wait_for_url(f"{base}/")
    _assert_in_no_url(_id_token_posted(requests, issuer), requests, page)
    page.goto(f"{base}/mine-beviser")
    assert page.url == f"{base}/mine-beviser/log-ind"
    # The provider's session ended too: logging in again asks who you are.
    page.get_by_role("button", name="Log ind med MitID").click()
    page.wait_for_url(f"{issuer}/interaction/**")
    assert page.get_by_label("Brugernavn").is_visible()
    page.close()


def test_without_javascript_the_logout_page_has_a_button_and_no_token_in_any_url(
    openid_live: LiveServer, browser: Browser, clock: FixedClock, node_oidc: NodeOpenIDProvider
) -> None:
    base, issuer = openid_live.base_url, node_oidc.issuer
    clock.now = real_now()
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    requests = _recorded(page)
    page.goto(f"{base}/mine-beviser/log-ind")
    page.get_by_role("button", name="Log ind med MitID").click()
    _log_in_at_provider(page, issuer, "bo")
    page.wait_for_url(f"{base}/mine-beviser")
    cookie = next(c["value"] for c in context.cookies() if c["name"] == "amu_session")
    with page.expect_response(f"{base}/mine-beviser/log-ud") as answer:
        page.get_by_role("button", name="Log ud").click()
    assert answer.value.status == 200
    policy = answer.value.headers["content-security-policy"]
    assert f"form-action 'self' {issuer};" in policy
    assert page.get_by_role("heading", level=1).inner_text() == "Du er logget ud"
    html = page.content()
    form = page.locator(f'form[method="post"][action="{issuer}/session/end"]')
    token = form.locator('input[name="id_token_hint"]').get_attribute("value")
    assert token is not None
    assert token.count(".") == 2
    assert token not in page.url
    # Only the form's hidden field holds it: no link, source or refresh names it.
    assert html.count(token) == 1
    assert 'http-equiv="refresh"' not in html
    for attribute in ("href", "src", "action", "content"):
        assert not [v for v in re.findall(rf'{attribute}="([^"]*)"', html) if token in v]
    assert "_csrf_token" not in form.inner_html()  # ours stays on our site
    # Our session is gone already, whatever the provider does next: its cookie opens nothing.
    old = httpx.get(f"{base}/mine-beviser", cookies={"amu_session": cookie})
    assert (old.status_code, old.headers["location"]) == (303, "/mine-beviser/log-ind")
    form.get_by_role("button", name="Fortsæt til MitID").click()
    page.wait_for_url(f"{issuer}/session/end")
    page.get_by_role("button", name="Log ud").click()
    page.wait_for_url(f"{base}/")
    assert _id_token_posted(requests, issuer) == token
    _assert_in_no_url(token, requests, page)
    context.close()


def test_an_unknown_person_at_the_provider_gets_no_session(
    openid_live: LiveServer, browser: Browser, clock: FixedClock, node_oidc: NodeOpenIDProvider
) -> None:
    clock.now = real_now()
    page = browser.new_page()
    page.goto(f"{openid_live.base_url}/mine-beviser/log-ind")
    page.get_by_role("button", name="Log ind med MitID").click()
    page.wait_for_url(f"{node_oidc.issuer}/interaction/**")
    page.get_by_label("Brugernavn").fill("nobody")
    page.get_by_label("Adgangskode").fill("x")
    page.get_by_role("button", name="Log ind").click()
    assert page.get_by_role("alert").inner_text() == "Ukendt bruger"
    page.close()


def _grant(live: LiveServer, subject: str, role: str, school_id: str = "751234") -> None:
    live.sql(
        """INSERT INTO school_staff (school_id, subject, role, granted_at, granted_by)
           VALUES ($1, $2, $3, now(), 'test')""",
        school_id,
        subject,
        role,
    )


def _staff_login(page: Page, base: str) -> None:
    page.goto(f"{base}/skole/log-ind")
    page.get_by_role("button", name="Log ind med MitID Erhverv").click()


def test_a_school_administrator_logs_in_with_mitid_erhverv_and_logs_out(
    openid_live: LiveServer, browser: Browser, clock: FixedClock, node_oidc: NodeOpenIDProvider
) -> None:
    base, issuer = openid_live.base_url, node_oidc.issuer
    openid_live.seed()
    clock.now = real_now()
    page = browser.new_page()
    requests = _recorded(page)
    # Without a role: the page that says to ask the administrator, with the subject to give.
    _staff_login(page, base)
    _log_in_at_provider(page, issuer, "karin")
    page.wait_for_url(f"{base}/skole/log-ind/svar?**")
    assert page.get_by_role("heading", level=1).inner_text() == "Du har ikke adgang til en skole"
    subject = page.locator("#bruger-id").inner_text()
    assert subject == "karin"  # the provider's subject for the account
    # The administrator's role, given to that subject; logged in at the provider already,
    # the next login goes straight through.
    _grant(openid_live, subject, "administrator")
    _staff_login(page, base)
    page.wait_for_url(f"{base}/skole")
    assert page.get_by_role("heading", level=1).inner_text() == "Erhvervsskolen Nordvest"
    assert "Logget ind som Karin Skov (Administrator)" in page.locator("main").inner_text()
    # She makes an API credential for the school's own system, and it reports a team.
    page.get_by_role("link", name="API-nøgler").click()
    page.get_by_label("Navn på nøglen").fill("Studieadministration")
    page.get_by_role("button", name="Opret nøgle").click()
    token = page.get_by_label("API-nøgle").input_value()
    reported = openid_live.issue(token, team_body(reference="H-MITID-ERHVERV"))
    assert reported[0]["certificate"]["number"]
    assert all(token not in request.url for request in requests)

    page.get_by_role("button", name="Log ud").click()
    page.wait_for_url(f"{issuer}/session/end")
    page.get_by_role("button", name="Log ud").click()
    page.wait_for_url(f"{base}/")
    _assert_in_no_url(_id_token_posted(requests, issuer), requests, page)
    page.goto(f"{base}/skole")
    assert page.url == f"{base}/skole/log-ind"
    # The provider's session ended too: logging in again asks who you are.
    _staff_login(page, base)
    page.wait_for_url(f"{issuer}/interaction/**")
    assert page.get_by_label("Brugernavn").is_visible()
    page.close()


def test_a_staff_member_acting_for_another_organisation_is_refused(
    openid_live: LiveServer, browser: Browser, clock: FixedClock, node_oidc: NodeOpenIDProvider
) -> None:
    base = openid_live.base_url
    openid_live.seed()
    _grant(openid_live, "karin", "administrator")  # at 751234, whose organisation is Nordvest's
    clock.now = real_now()
    node_oidc.set_claims("karin", {"name": "Karin Skov", CVR_CLAIM: ORESUND_CVR})
    try:
        page = browser.new_page()
        _staff_login(page, base)
        _log_in_at_provider(page, node_oidc.issuer, "karin")
        page.wait_for_url(f"{base}/skole/log-ind/svar?**")
        heading = page.get_by_role("heading", level=1).inner_text()
        assert heading == "Du har ikke adgang til en skole"
        page.goto(f"{base}/skole")
        assert page.url == f"{base}/skole/log-ind"
        page.close()
    finally:
        node_oidc.set_claims("karin", None)


def test_with_openid_the_development_logins_do_not_exist(
    openid_live: LiveServer, node_oidc: NodeOpenIDProvider
) -> None:
    base = openid_live.base_url
    for path in ("/udvikling/log-ind", "/udvikling/log-ind/medarbejder"):
        assert httpx.get(f"{base}{path}").status_code == 404, path
    answer = httpx.post(f"{base}/api/dev/login", json={"cpr": "010190-1234"})
    assert answer.status_code == 404
    for path in ("/mine-beviser/log-ind", "/skole/log-ind"):
        login_page = httpx.get(f"{base}{path}")
        assert "demoperson" not in login_page.text
        assert "demomedarbejder" not in login_page.text
        # The login form's answer redirects to the provider: the page's policy allows that.
        policy = login_page.headers["content-security-policy"]
        assert f"form-action 'self' {node_oidc.issuer};" in policy


def test_a_provider_that_is_away_gives_a_friendly_page(
    database_url: str, database_roles: DatabaseRoles, tmp_path: Path, clock: FixedClock
) -> None:
    away = "http://127.0.0.1:1"  # nothing listens on port 1
    with (
        _live_with_openid(database_url, database_roles, tmp_path, clock, away) as live,
        httpx.Client(base_url=live.base_url) as browser,
    ):
        form = browser.get("/mine-beviser/log-ind")
        assert form.status_code == 200
        csrf = re.search(r'name="_csrf_token" value="([^"]+)"', form.text)
        assert csrf is not None
        answer = browser.post("/mine-beviser/log-ind", data={"_csrf_token": csrf.group(1)})
    assert answer.status_code == 503
    assert "MitID svarer ikke lige nu" in answer.text
    assert "Traceback" not in answer.text
