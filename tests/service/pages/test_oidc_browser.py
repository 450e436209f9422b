"""MitID login in a real browser: the service set to an OpenID Connect provider (panva's
oidc-provider on 127.0.0.1), the development login off. A participant clicks "Log ind med
MitID", logs in on the provider's page, sees their certificate and logs out; the development
login's routes are not there at all."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from service.settings import OpenIDSettings
from tests.conftest import DatabaseRoles, FixedClock
from tests.helpers import team_body
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, NodeOpenIDProvider, real_now
from tests.service.pages.live import LiveServer, fresh_schema

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.external


@contextmanager
def _live_with_openid(
    database_url: str, roles: DatabaseRoles, tmp_path: Path, clock: FixedClock, issuer: str
) -> Iterator[LiveServer]:
    """The pages with MitID through the provider at ``issuer``, the development login off."""
    changes = {
        "identity_provider": "openid",
        "insecure_development_login": False,
        "staff_identity_provider": None,  # the development staff login is off with it
        "openid": OpenIDSettings(issuer=issuer, client_id=CLIENT_ID, client_secret=CLIENT_SECRET),
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
    """The pages with MitID through the node provider, whose client this server is."""
    with _live_with_openid(
        database_url, database_roles, tmp_path, clock, node_oidc.issuer
    ) as server:
        node_oidc.register_client(
            [f"{server.base_url}/mine-beviser/log-ind/svar"], [f"{server.base_url}/"]
        )
        yield server


def test_a_participant_logs_in_with_mitid_sees_their_certificate_and_logs_out(
    openid_live: LiveServer, browser: Browser, clock: FixedClock, node_oidc: NodeOpenIDProvider
) -> None:
    base = openid_live.base_url
    openid_live.issue(openid_live.seed().public, team_body())
    clock.now = real_now()  # the provider stamps its ID tokens with the machine's time
    page = browser.new_page()
    page.goto(f"{base}/mine-beviser/log-ind")
    page.get_by_role("button", name="Log ind med MitID").click()
    page.wait_for_url(f"{node_oidc.issuer}/interaction/**")
    page.get_by_label("Brugernavn").fill("ase")
    page.get_by_label("Adgangskode").fill("any password")
    page.get_by_role("button", name="Log ind").click()
    page.wait_for_url(f"{base}/mine-beviser")
    assert page.get_by_role("heading", level=1).inner_text() == "Mine beviser"
    card = page.get_by_role("listitem").filter(has_text="Hygiejne for fødevarebranchen")
    assert "Prøven er bestået." in card.inner_text()

    page.get_by_role("button", name="Log ud").click()
    # Our session ends; a page of ours sends the browser on to the provider's logout.
    page.wait_for_url(f"{node_oidc.issuer}/**")
    page.get_by_role("button", name="Log ud").click()
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/mine-beviser")
    assert page.url == f"{base}/mine-beviser/log-ind"
    page.close()


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


def test_with_openid_the_development_login_does_not_exist(
    openid_live: LiveServer, node_oidc: NodeOpenIDProvider
) -> None:
    base = openid_live.base_url
    assert httpx.get(f"{base}/udvikling/log-ind").status_code == 404
    answer = httpx.post(f"{base}/api/dev/login", json={"cpr": "010190-1234"})
    assert answer.status_code == 404
    login_page = httpx.get(f"{base}/mine-beviser/log-ind")
    assert "demoperson" not in login_page.text
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
