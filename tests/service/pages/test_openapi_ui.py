"""The OpenAPI UI at /schema is served by the service itself: its page names no address
elsewhere, its script is the vendored Redoc, and in Chromium it renders the API while no
request leaves the service."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from service.openapi_ui import REDOC_JS
from tests.helpers import Client
from tests.service.pages.live import LiveServer

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Request

STATIC = Path(__file__).resolve().parents[3] / "service" / "static" / "openapi"
# The OpenAPI document itself, handed to Redoc.init: its text (descriptions, problem type
# URIs) is data, not something the browser fetches.
_DOCUMENT = re.compile(rb"Redoc\.init\(.*?,undefined,", re.DOTALL)


async def test_the_page_names_no_address_elsewhere(client: Client) -> None:
    for path in ("/schema", "/schema/redoc"):
        page = await client.get(path)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        html = _DOCUMENT.sub(b"Redoc.init(DOCUMENT,undefined,", page.content)
        assert b"DOCUMENT" in html  # the document was there, and only it was taken out
        assert re.findall(rb"(?i)https?://|//[a-z0-9.-]+\.[a-z]{2,}/", html) == []
        sources = re.findall(rb'(?:src|href)="([^"]*)"', html)
        assert sources == [REDOC_JS.encode()]
    script = await client.get(REDOC_JS)
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert script.content == (STATIC / "redoc.standalone.js").read_bytes()
    assert b"cdn.redoc.ly" not in script.content  # the logo's address was replaced


def test_the_vendored_bundle_comes_with_its_licences() -> None:
    assert "MIT License" in (STATIC / "LICENSE").read_text()
    assert (STATIC / "redoc.standalone.js.LICENSE.txt").stat().st_size > 0
    assert "redoc@2.5.2" in (STATIC / "README.md").read_text()


@pytest.mark.external
def test_chromium_renders_the_ui_without_a_request_elsewhere(
    live: LiveServer, browser: Browser
) -> None:
    requested: list[str] = []
    context = browser.new_context()
    page = context.new_page()

    def record(request: Request) -> None:
        requested.append(request.url)

    page.on("request", record)
    page.goto(f"{live.base_url}/schema", wait_until="networkidle")
    # Redoc has rendered the document: the title and an operation from the API.
    page.get_by_role("heading", name=re.compile("AMU-bevis")).first.wait_for(timeout=30_000)
    operation = page.get_by_role(
        "heading", name="Report a team's results and issue its certificates"
    )
    operation.first.wait_for(timeout=30_000)
    page.wait_for_load_state("networkidle")
    context.close()
    assert f"{live.base_url}{REDOC_JS}" in requested
    elsewhere = [
        url for url in requested if not url.startswith((f"{live.base_url}/", "data:", "blob:"))
    ]
    assert elsewhere == []
