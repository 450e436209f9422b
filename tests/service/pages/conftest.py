"""Fixtures for the browser tests: the live server and Debian's Chromium through Playwright."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import FixedClock
from tests.externals import require_tool
from tests.service.pages.live import CHROMIUM, CHROMIUM_ARGS, LiveServer, fresh_schema

if TYPE_CHECKING:
    from playwright.sync_api import Browser


# Function scope, and no async fixture beside it: Playwright's sync API keeps an event loop
# running in the test's thread while it is open, where pytest-asyncio's loop cannot run.
@pytest.fixture
def browser() -> Iterator[Browser]:
    require_tool("chromium")
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def live(database_url: str, tmp_path: Path, clock: FixedClock) -> Iterator[LiveServer]:
    with (
        fresh_schema(database_url) as schema,
        LiveServer(database_url, schema, tmp_path, clock) as server,
    ):
        yield server
