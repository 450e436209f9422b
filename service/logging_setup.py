"""Logging that cannot leak a secret.

Our own code never logs a CPR number, a verification code, a share token, a login code or a
credential; this module is the second line of defence against a library that might (uvicorn's
access log prints the URL, httpx prints the URLs it calls, a database error's DETAIL line or a
traceback quotes values). Every log record is scrubbed where it is made, by a log-record factory,
so that no handler (ours, Litestar's, uvicorn's, or one added later) ever sees the secret:

- uvicorn's access log gets the path without its query string (``/tjek/{number}?kode=`` is the
  QR code's URL, ``/mine-beviser/log-ind/svar?code=`` the login callback), with secret path
  segments replaced by their parameter's name (``/delt/{token}``);
- every other message has query values, bearer tokens, school credentials, verification codes and
  anything shaped like a CPR number replaced.

The redacting handler filter stays as well, for records made before the factory was installed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

_CPR_SHAPED = re.compile(r"(?<!\d)\d{6}-?\d{4}(?!\d)")
REDACTED = "[CPR]"

# Route templates whose path parameters are secrets, as the access log shows them instead. A
# test checks that every route with a parameter named like a secret is listed here.
SECRET_ROUTES = ("/delt/{token}",)
SECRET_PARAMETERS = frozenset({"token", "code", "kode"})
_SECRET_SEGMENTS = [
    (re.compile(re.escape(route.split("{")[0]) + r"[^/?#\s\"'<>]+"), route)
    for route in SECRET_ROUTES
]
_QUERY_VALUE = re.compile(r"([?&][^=?&#\s\"'<>]*=)[^&#\s\"'<>]*")
_BEARER = re.compile(r"(?i)\b(bearer\s+)[^\s\"',]+")
# PostgreSQL's detail lines quote rows and keys (a CPR number with a name); asyncpg puts them
# into the exception's text, so a traceback would print them.
_DETAIL_LINE = re.compile(r"(?m)^(\s*(?:DETAIL|HINT|QUERY|CONTEXT|STATEMENT):).*$")
_ROW_OR_KEY = re.compile(r"(Failing row contains \(|Key \([^)]*\)=\().*?(\)\.?(?:\s|$))", re.DOTALL)
_CREDENTIAL = re.compile(r"\bamu_[0-9a-f]+_[A-Za-z0-9_-]+")
# XXXX-XXXX as printed; not inside a longer dashed run such as a UUID.
_VERIFICATION_CODE = re.compile(r"(?<![0-9A-Za-z-])[0-9A-Z]{4}-[0-9A-Z]{4}(?![0-9A-Za-z-])")


def scrub(text: str) -> str:
    """``text`` with every secret we know the shape of replaced by a placeholder."""
    for pattern, route in _SECRET_SEGMENTS:
        text = pattern.sub(route, text)
    text = _DETAIL_LINE.sub(r"\1 …", text)
    text = _ROW_OR_KEY.sub(r"\1…\2", text)
    text = _QUERY_VALUE.sub(r"\1…", text)
    text = _BEARER.sub(r"\1…", text)
    text = _CREDENTIAL.sub("amu_…", text)
    text = _VERIFICATION_CODE.sub("XXXX-XXXX", text)
    return _CPR_SHAPED.sub(REDACTED, text)


def access_path(full_path: str) -> str:
    """What the access log shows of a request target: the path without its query string, with
    secret segments replaced (``/delt/abc?x=1`` -> ``/delt/{token}``)."""
    return scrub(full_path.split("?", 1)[0])


_SCRUBBED = "amu_scrubbed"  # set on a record once scrubbed: the handler filter skips it


def _scrub_record(record: logging.LogRecord) -> None:
    if getattr(record, _SCRUBBED, False):
        return  # the factory scrubbed it when it was made; the filter need not again
    setattr(record, _SCRUBBED, True)
    args = record.args
    if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5:
        # uvicorn's AccessFormatter unpacks (client, method, path, http version, status).
        client, method, full_path, version, status = args
        record.args = (client, method, access_path(str(full_path)), version, status)
    else:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed call: logging reports it when emitting
            message = str(record.msg)
            record.args = None
        redacted = scrub(message)
        if redacted != message:
            record.msg, record.args = redacted, None
    if record.exc_info and record.exc_info[1] is not None:
        # Tracebacks are formatted later, from the live exception; format and scrub them now.
        record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
        record.exc_info = None
    elif record.exc_text:
        record.exc_text = scrub(record.exc_text)
    if record.stack_info:
        record.stack_info = scrub(record.stack_info)


class _ScrubbingRecordFactory:
    """Wraps the record factory in place, so every record of every logger is scrubbed."""

    def __init__(self, inner: Callable[..., logging.LogRecord]) -> None:
        self.inner = inner

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.inner(*args, **kwargs)
        _scrub_record(record)
        return record


class CprRedactingFilter(logging.Filter):
    """Scrubs a record on its way into a handler (for records made before the factory)."""

    def filter(self, record: logging.LogRecord) -> bool:
        _scrub_record(record)
        return True


def configure(*, debug: bool) -> None:
    """Plain one-line logs on stderr, every record scrubbed."""
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    install_filter()


def install_filter() -> None:
    """Scrub every log record from now on, and put the redacting filter on every handler there
    is (Litestar replaces the root's handlers when an app is made: call this after making it).
    Idempotent."""
    factory = logging.getLogRecordFactory()
    if not isinstance(factory, _ScrubbingRecordFactory):
        logging.setLogRecordFactory(_ScrubbingRecordFactory(factory))
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    for logger in loggers:
        for handler in logger.handlers:
            if not any(isinstance(f, CprRedactingFilter) for f in handler.filters):
                handler.addFilter(CprRedactingFilter())
