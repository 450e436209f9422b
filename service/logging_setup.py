"""Logging that cannot leak CPR numbers.

Our own code never logs a CPR number; this filter is the second line of defence against a
library that might (a database error's DETAIL line, a traceback): anything shaped like one is
replaced before a record reaches a handler.
"""

from __future__ import annotations

import logging
import re

_CPR_SHAPED = re.compile(r"(?<!\d)\d{6}-?\d{4}(?!\d)")
REDACTED = "[CPR]"


class CprRedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _CPR_SHAPED.sub(REDACTED, message)
        if record.exc_info and record.exc_info[1] is not None:
            # Tracebacks are formatted later; drop the exception's text from them.
            record.exc_text = _CPR_SHAPED.sub(
                REDACTED, logging.Formatter().formatException(record.exc_info)
            )
            record.exc_info = None
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def configure(*, debug: bool) -> None:
    """Plain one-line logs on stderr, every handler behind the redacting filter."""
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    install_filter()


def install_filter() -> None:
    """Put the redacting filter on every handler there is: the root logger's and those of
    loggers with handlers of their own (Litestar configures its own logger and replaces the
    root's handlers when an app is made, so call this after making it)."""
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    for logger in loggers:
        for handler in logger.handlers:
            if not any(isinstance(f, CprRedactingFilter) for f in handler.filters):
                handler.addFilter(CprRedactingFilter())
