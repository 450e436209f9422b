"""One log format for every logger, that cannot leak a secret.

Every record of every logger (ours, uvicorn's, Litestar's, asyncpg's, httpx's) goes to one
handler on the root logger whose structlog ``ProcessorFormatter`` writes one JSON object a line
(``AMU_LOG_FORMAT=console``: a line for people, the demo's default), with the time, level,
logger, message, the request id of the request it was made for (``RequestId``), and uvicorn's
access lines split into method, path and status::

    configure(debug=False, log_format="json")   # the CLI, once, before anything logs
    app.asgi_handler = RequestId(app.asgi_handler)

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
import sys
import uuid
from collections.abc import Callable
from typing import Any, Literal, TextIO

import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from structlog.typing import EventDict, Processor, WrappedLogger

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
    if isinstance(record.msg, dict):
        return  # structlog's own event dict: the formatter's processors scrub it (_scrub_event)
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


LogFormat = Literal["json", "console"]
REQUEST_ID_HEADER = "x-request-id"
# A request id a client may choose: short, plain, and nothing our scrubbing would change.
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
# The libraries that install handlers of their own; theirs go, the root's one handler stays.
_LIBRARY_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "litestar")


def _scrub_event(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """Every string in the event scrubbed: structlog's own calls never pass the record
    factory, and bound values (a request id, an exception's text) are strings too."""
    for key, value in event.items():
        if isinstance(value, str) and not key.startswith("_"):
            event[key] = scrub(value)
    return event


def _from_record(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """A stdlib record's logger name, its scrubbed traceback (the record factory formatted it
    into ``exc_text``), and uvicorn's access line as fields."""
    record: logging.LogRecord | None = event.get("_record")
    args = event.pop("positional_args", None)
    if record is None:
        return event
    event.setdefault("logger", record.name)
    if record.exc_text:
        event.setdefault("exception", record.exc_text)
    if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5:
        _client, method, path, _version, status = args
        event.update(method=str(method), path=str(path), status=int(status))
    return event


def _renderer(log_format: LogFormat) -> Processor:
    if log_format == "console":
        return structlog.dev.ConsoleRenderer(colors=False)
    return structlog.processors.JSONRenderer(ensure_ascii=False)


def configure(*, debug: bool, log_format: LogFormat = "json", stream: TextIO | None = None) -> None:
    """Every logger through one handler on the root logger, in ``log_format``, on ``stream``
    (stderr), every record scrubbed. Loggers that libraries configured before are emptied of
    their own handlers and propagate to the root. Warnings are logged too."""
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.stdlib.add_logger_name,
            structlog.processors.format_exc_info,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, _from_record],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _scrub_event,
            _renderer(log_format),
        ],
        pass_foreign_args=True,
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    for name in _LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        for old in list(logger.handlers):
            logger.removeHandler(old)
        logger.propagate = True
    logging.captureWarnings(capture=True)
    install_filter()


def request_id_of(headers: list[tuple[bytes, bytes]]) -> str:
    """The request's X-Request-ID if it is sane (8 to 128 plain characters, nothing our
    scrubbing would change, so never a CPR number or a code), else a fresh one."""
    for name, value in headers:
        if name.lower() == REQUEST_ID_HEADER.encode():
            given = value.decode("latin-1")
            if _SANE_REQUEST_ID.match(given) and scrub(given) == given:
                return given
            break
    return new_request_id()


def new_request_id() -> str:
    """A fresh request id: 32 hex digits that the redaction leaves as they are (ten digits in a
    row would read as a CPR number, and the log would show another id than the answer)."""
    while True:
        made = uuid.uuid4().hex
        if scrub(made) == made:
            return made


class RequestId:
    """ASGI wrapper: every HTTP request gets a request id (``request_id_of``), bound for every
    log line made while it is handled (uvicorn's access line too, which is made as the answer
    starts) and returned in the answer's X-Request-ID header::

        app.asgi_handler = RequestId(app.asgi_handler)
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(list(scope.get("headers", [])))

        async def with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                name = REQUEST_ID_HEADER.encode()
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != name]
                headers.append((name, request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            await self.app(scope, receive, with_header)


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
