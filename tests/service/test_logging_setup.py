"""One log format for every logger (JSON, or console for people), with the request id of the
request a line was logged for; and the second line of defence against secrets in logs holds for
the served app: every record of every logger is scrubbed, whichever handler (made before the
app, by it, or after) gets it."""

from __future__ import annotations

import io
import json
import logging
import re
import uuid
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
import uvicorn
from litestar import Litestar, get
from litestar.testing import AsyncTestClient
from uvicorn.logging import AccessFormatter

from registry.keys import MemoryKeyStore
from service import logging_setup
from service.app import create_app
from service.logging_setup import (
    REDACTED,
    SECRET_PARAMETERS,
    SECRET_ROUTES,
    CprRedactingFilter,
    RequestId,
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


@pytest.fixture
def configured() -> Iterator[io.StringIO]:
    """``configure`` as the CLI calls it, writing to a buffer; logging as it was afterwards."""
    root = logging.getLogger()
    saved_root = (list(root.handlers), root.level)
    libraries = [logging.getLogger(n) for n in ("uvicorn", "uvicorn.error", "uvicorn.access")]
    saved = [(logger, list(logger.handlers), logger.propagate) for logger in libraries]
    out = io.StringIO()
    # As in a fresh process: an earlier test may have run the CLI in this one, which captured
    # warnings while pytest's warning recorder was in place; capture them anew here.
    logging.captureWarnings(capture=False)
    logging_setup.configure(debug=False, log_format="json", stream=out)
    try:
        yield out
    finally:
        logging.captureWarnings(capture=False)
        structlog.reset_defaults()
        root.handlers[:] = saved_root[0]
        root.setLevel(saved_root[1])
        for logger, handlers, propagate in saved:
            logger.handlers[:] = handlers
            logger.propagate = propagate


def _lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_every_logger_writes_one_json_object_a_line_scrubbed(configured: io.StringIO) -> None:
    # Loggers as libraries leave them: uvicorn's with handlers of its own (log_config default).
    uvicorn.Config(lambda: None)  # installs uvicorn's own handlers and formats
    logging_setup.configure(debug=False, log_format="json", stream=configured)
    for name in ("uvicorn.error", "uvicorn.access"):
        assert logging.getLogger(name).handlers == []
    logging.getLogger("uvicorn.error").info("Started server process [%d]", 42)
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET", "/tjek?nummer=010190-1234", "1.1", 200
    )
    logging.getLogger("litestar").warning("path=%r", f"/delt/{TOKEN}")
    logging.getLogger("httpx").info("HTTP Request: GET http://x/api/verify/010190-1234")
    error = ValueError("violates check\nDETAIL:  Failing row contains (1, 010190-1234, Åse).")
    logging.getLogger("asyncpg").error("query failed", exc_info=error)
    structlog.get_logger("ours").info("bound", cpr="010190-1234", credential=CREDENTIAL)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("a library's warning about 010190-1234", UserWarning, stacklevel=1)
    lines = _lines(configured)
    assert [line["logger"] for line in lines] == [
        "uvicorn.error",
        "uvicorn.access",
        "litestar",
        "httpx",
        "asyncpg",
        "ours",
        "py.warnings",
    ]
    for line in lines:
        assert {"event", "level", "timestamp", "logger"} <= line.keys(), line
    access = lines[1]
    assert (access["method"], access["path"], access["status"]) == ("GET", "/tjek", 200)
    assert lines[4]["level"] == "error"
    assert "DETAIL: …" in lines[4]["exception"]
    assert lines[5]["cpr"] == REDACTED
    text = configured.getvalue()
    for secret in ("010190-1234", "0101901234", TOKEN, CREDENTIAL, "Åse)"):
        assert secret not in text, text


def test_the_console_format_is_for_people_and_scrubbed_as_well() -> None:
    out = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        logging_setup.configure(debug=True, log_format="console", stream=out)
        logging.getLogger("amu-bevis").info("issued for %s", "010190-1234")
    finally:
        logging.captureWarnings(capture=False)
        structlog.reset_defaults()
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
    line = out.getvalue().strip()
    assert not line.startswith("{")
    assert f"issued for {REDACTED}" in line
    assert "amu-bevis" in line


@get("/logs-something", sync_to_thread=False)
def _logs_something() -> str:
    logging.getLogger("service.example").info("handling")
    return "ok"


async def test_each_request_has_an_id_in_its_answer_and_its_log_lines(
    configured: io.StringIO,
) -> None:
    app = Litestar([_logs_something], logging_config=None)
    app.asgi_handler = RequestId(app.asgi_handler)
    async with AsyncTestClient(app) as client:
        made = await client.get("/logs-something")
        given = await client.get("/logs-something", headers={"X-Request-ID": "lb-7f3a9c21"})
        cpr = await client.get("/logs-something", headers={"X-Request-ID": "010190-1234"})
        long = await client.get("/logs-something", headers={"X-Request-ID": "x" * 129})
    ids = [r.headers["x-request-id"] for r in (made, given, cpr, long)]
    assert re.fullmatch(r"[0-9a-f]{32}", ids[0])
    assert ids[1] == "lb-7f3a9c21"  # a sane id from a proxy or client is kept
    for replaced in ids[2:]:  # one our scrubbing would change, or too long: a fresh one
        assert re.fullmatch(r"[0-9a-f]{32}", replaced)
    assert len(set(ids)) == 4
    handled = [line for line in _lines(configured) if line["event"] == "handling"]
    assert [line["request_id"] for line in handled] == ids
    logging.getLogger("service.example").info("outside a request")
    assert "request_id" not in _lines(configured)[-1]


def test_a_made_request_id_is_never_one_the_redaction_would_change(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cpr_shaped = uuid.UUID("a0cdee851faa4a429e0379353378bf68")  # ten digits in a row
    fine = uuid.UUID("e42f4f71ee2a4c1d9b5ae5b976d64e4d")
    made = iter([cpr_shaped, fine])
    monkeypatch.setattr(uuid, "uuid4", lambda: next(made))
    assert logging_setup.request_id_of([]) == fine.hex


def test_uvicorn_started_by_the_cli_installs_no_format_of_its_own(
    configured: io.StringIO,
) -> None:
    root = list(logging.getLogger().handlers)
    uvicorn.Config(lambda: None, log_config=None, log_level="info")  # as service.cli.serve
    for name in ("uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        assert (logger.handlers, logger.propagate) == ([], True)
    assert logging.getLogger().handlers == root


def test_the_app_installs_no_logging_of_its_own(configured: io.StringIO) -> None:
    root = list(logging.getLogger().handlers)
    create_app(Settings(database_url="postgresql://127.0.0.1/unused"), keys=MemoryKeyStore())
    assert logging.getLogger().handlers == root
    assert logging.getLogger("litestar").handlers == []
    for handler in root:
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
