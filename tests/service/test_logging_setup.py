"""The second line of defence against secrets in logs holds for the served app: every record
of every logger is scrubbed, whichever handler (made before the app, by it, or after) gets it."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator

import pytest
from litestar import Litestar
from uvicorn.logging import AccessFormatter

from registry.keys import MemoryKeyStore
from service.app import create_app
from service.logging_setup import (
    REDACTED,
    SECRET_PARAMETERS,
    SECRET_ROUTES,
    CprRedactingFilter,
    access_path,
    scrub,
)
from service.settings import Settings

TOKEN = "pqIuHZ_vNRTgoOoGZRhYp-wSXDfQX_mJs38hADkGpxQ"
CREDENTIAL = "amu_103fe56b558a_cal5MFTlLYty0CirkkEn0MT5EyMtedot6u4R3TeBjXI"


@pytest.fixture
def app() -> Litestar:
    return create_app(Settings(database_url="postgresql://127.0.0.1/unused"), keys=MemoryKeyStore())


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """A handler added after the app was made, as uvicorn adds its own when it starts."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(message)s"))
    loggers = [logging.getLogger(n) for n in ("uvicorn.error", "litestar", "httpx", "asyncpg")]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    try:
        yield out
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


def test_every_handler_of_the_served_app_redacts_cpr_numbers() -> None:
    # Making the app configures Litestar's logging, which replaces the root logger's handlers.
    create_app(Settings(database_url="postgresql://127.0.0.1/unused"), keys=MemoryKeyStore())
    handlers = [*logging.getLogger().handlers, *logging.getLogger("litestar").handlers]
    assert handlers
    for handler in handlers:
        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "row 010190-1234", None, None)
        assert handler.filter(record)
        assert record.getMessage() == f"row {REDACTED}", type(handler).__name__
        assert any(isinstance(f, CprRedactingFilter) for f in handler.filters)


@pytest.mark.usefixtures("app")
def test_handlers_added_later_get_scrubbed_records(captured: io.StringIO) -> None:
    logging.getLogger("httpx").info(
        'HTTP Request: %s %s "%s"', "GET", "http://x/tjek?nummer=010190-1234&kode=ABCD-EFGH", 200
    )
    logging.getLogger("litestar").error("path=%r", f"/delt/{TOKEN}")
    logging.getLogger("uvicorn.error").info("Authorization: Bearer %s", CREDENTIAL)
    error = ValueError(
        "violates check constraint\nDETAIL:  Failing row contains (1, 010190-1234, Åse)."
    )
    logging.getLogger("asyncpg").error("query failed", exc_info=error)
    text = captured.getvalue()
    for secret in (
        "010190-1234",
        "ABCD-EFGH",
        TOKEN,
        CREDENTIAL,
        "Åse)",
        "Failing row contains (1",
    ):
        assert secret not in text, text
    assert "/tjek?nummer=…&kode=…" in text
    assert "/delt/{token}" in text
    assert "DETAIL: …" in text
    assert "violates check constraint" in text  # what went wrong stays readable


@pytest.mark.usefixtures("app")
def test_uvicorns_access_log_shows_paths_without_queries_or_secret_segments() -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s'))
    access = logging.getLogger("uvicorn.access")
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    try:
        for target in (
            "/tjek?nummer=010190-1234",
            "/tjek/2026-0000006?kode=5VWK-6C9R",
            "/mine-beviser/log-ind/svar?code=aYEDaXQcCaWkMr8R&state=zxS4",
            f"/delt/{TOKEN}",
            "/api/verify/020285-4321",
        ):
            access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET", target, "1.1", 200)
    finally:
        access.removeHandler(handler)
    lines = out.getvalue().splitlines()
    assert lines == [
        '127.0.0.1:5 - "GET /tjek HTTP/1.1" 200 OK',
        '127.0.0.1:5 - "GET /tjek/2026-0000006 HTTP/1.1" 200 OK',
        '127.0.0.1:5 - "GET /mine-beviser/log-ind/svar HTTP/1.1" 200 OK',
        '127.0.0.1:5 - "GET /delt/{token} HTTP/1.1" 200 OK',
        f'127.0.0.1:5 - "GET /api/verify/{REDACTED} HTTP/1.1" 200 OK',
    ]


def test_every_route_with_a_secret_in_its_path_is_hidden(app: Litestar) -> None:
    """A new route with a {token} or {code} segment must be added to SECRET_ROUTES."""
    secret = {
        re.sub(r":\w+}", "}", route.path)
        for route in app.routes
        if SECRET_PARAMETERS & set(route.path_parameters)
    }
    assert secret
    assert secret <= set(SECRET_ROUTES)
    for route in secret:
        concrete = route.replace("{token}", TOKEN).replace("{code}", TOKEN)
        assert access_path(concrete) == route


def test_scrubbing_keeps_what_is_not_secret() -> None:
    kept = "GET /api/log/leaves/12 2026-0000006 e3b0c442-1234-5678-4d5e-9899aa11bb22 done"
    assert scrub(kept) == kept
