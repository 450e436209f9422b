"""Fixtures for the browser tests: the live server and Debian's Chromium through Playwright."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.conftest import DatabaseRoles, FixedClock
from tests.externals import require_tool
from tests.service.pages.live import CHROMIUM, CHROMIUM_ARGS, LiveServer, fresh_schema


# Function scope, and no async fixture beside it: Playwright's sync API keeps an event loop
# running in the test's thread while it is open, where pytest-asyncio's loop cannot run.
@pytest.fixture
def browser() -> Iterator[Browser]:
    require_tool("chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def live(
    database_url: str, database_roles: DatabaseRoles, tmp_path: Path, clock: FixedClock
) -> Iterator[LiveServer]:
    """The pages served as the service role (tests/conftest.py)."""
    roles = database_roles
    with (
        fresh_schema(
            database_url, owner=roles.owner, owner_url=roles.owner_url, service=roles.service
        ) as schema,
        LiveServer(database_url, schema, tmp_path, clock, service_url=roles.service_url) as server,
    ):
        yield server
