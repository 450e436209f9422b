"""What no handler should ever see: NUL characters and JSON nested past any real request.

PostgreSQL cannot store NUL in text (asyncpg raises ``CharacterNotInRepertoireError`` deep in
a transaction), and msgspec decodes nested JSON by recursion, so a body of a thousand ``[``
ends in a ``RecursionError``. Both were 500s; ``refuse_unacceptable`` runs before every
handler (``before_request`` in ``create_app``) and refuses them as 422 and 400 problems naming
the field::

    app = Litestar(..., before_request=inputs.refuse_unacceptable)

Guards run before it, so an unauthenticated caller still learns nothing about its body.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from litestar import Request
from litestar.exceptions import ValidationException

MAX_JSON_DEPTH = 32
"""Our deepest request body (a team's participant's attempt's parts) is six levels deep."""

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_INNERMOST_PAIR = re.compile(rb"\[\]|\{\}")
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")


class UnacceptableInputError(ValidationException):
    """A value no record may hold (a NUL character): 422, naming the field."""

    def __init__(self, field: str, reason: str, source: str = "body") -> None:
        super().__init__(
            detail=f"{field}: {reason}",
            status_code=422,
            extra=[{"key": field, "message": reason, "source": source}],
        )


class TooDeepError(ValidationException):
    """A JSON body nested deeper than ``MAX_JSON_DEPTH``: 400, before any parser sees it."""

    def __init__(self) -> None:
        reason = f"is nested deeper than {MAX_JSON_DEPTH} levels"
        super().__init__(
            detail=f"body: {reason}", extra=[{"key": "body", "message": reason, "source": "body"}]
        )


def json_depth_exceeds(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the JSON text ``body`` opens more than ``limit`` arrays or objects inside each
    other (or has brackets that do not pair up, which no parser accepts either).

    Strings are blanked first, then innermost pairs are removed ``limit`` times: all in C, so
    a 10 MB body of brackets costs milliseconds, not a Python loop per byte.
    """
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    brackets = _STRING.sub(b'""', body).translate(None, _NOT_BRACKET)
    for _ in range(limit):
        if not brackets:
            return False
        brackets = _INNERMOST_PAIR.sub(b"", brackets)
    return bool(brackets)


def nul_fields(value: Any, path: str = "") -> Iterator[str]:
    """The paths (``participants[1].name``) of the strings in a decoded JSON value, keys
    included, that contain NUL."""
    if isinstance(value, str):
        if "\x00" in value:
            yield path or "body"
    elif isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                yield here
            yield from nul_fields(item, here)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from nul_fields(item, f"{path}[{i}]")


def _is_json(content_type: str) -> bool:
    media = content_type.partition(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


async def refuse_unacceptable(request: Request[Any, Any, Any]) -> None:
    """Refuse NUL in path and query parameters, JSON bodies and form fields, and JSON nested
    too deep. Raises UnacceptableInputError (422) or TooDeepError (400)."""
    for name, value in request.path_params.items():
        if isinstance(value, str) and "\x00" in value:
            raise UnacceptableInputError(name, "contains a NUL character", "path")
    _refuse_nul_pairs(request.query_params.multi_items(), "query")
    if request.method in ("GET", "HEAD", "DELETE", "OPTIONS"):
        return
    content_type = request.headers.get("content-type", "")
    if _is_json(content_type):
        _check_json(await request.body())
    elif content_type.startswith("application/x-www-form-urlencoded"):
        form = await request.form()
        _refuse_nul_pairs([(k, v) for k, v in form.multi_items() if isinstance(v, str)], "body")


def _refuse_nul_pairs(pairs: Iterable[tuple[str, str]], source: str) -> None:
    for name, value in pairs:
        if "\x00" in name or "\x00" in value:
            raise UnacceptableInputError(name, "contains a NUL character", source)


def _check_json(body: bytes) -> None:
    if json_depth_exceeds(body):
        raise TooDeepError
    if b"\\u0000" not in body:
        return
    try:
        decoded = json.loads(body)
    except ValueError:
        return  # not JSON: the handler's decoder answers 400
    for field in nul_fields(decoded):
        raise UnacceptableInputError(field, "contains a NUL character")
