"""The second line of defence against CPR numbers in logs holds for the served app."""

from __future__ import annotations

import logging

from registry.keys import MemoryKeyStore
from service.app import create_app
from service.logging_setup import REDACTED, CprRedactingFilter
from service.settings import Settings


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
