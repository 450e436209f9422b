"""What a problem may say about an offending field: only names the API itself declared.

Litestar reports a validation failure with the handler's Python names (``tree_size``) and
msgspec's messages, some of which quote what the client sent: the key of an unknown field
(``unknown field `010190-1234` ``), an enum value. ``invalid_param`` turns one such report
into an ``invalid-params`` entry that names the parameter as the API does (``treeSize``) and
repeats no client text: a name or key is kept only if it is one of the route's declared
field or parameter names::

    invalid_param(request.route_handler, {"key": "tree_size", "message": "...", ...})
    # {"name": "treeSize", "reason": "Expected `int` >= 1"}
"""

from __future__ import annotations

import functools
import re
from typing import Any

import msgspec
from litestar.handlers import BaseRouteHandler
from litestar.params import ParameterKwarg

_UNKNOWN_FIELD = re.compile(r"Object contains unknown field `(.*)`", re.DOTALL)
_ENUM_VALUE = re.compile(r"Invalid enum value\b.*", re.DOTALL)
_SEGMENTS = re.compile(r"\[\d+\]|\.")


def invalid_param(handler: BaseRouteHandler | None, item: dict[str, Any]) -> dict[str, str]:
    """The ``invalid-params`` entry of one item of a ValidationException's ``extra``."""
    names = _names(handler) if handler is not None else _Names({}, frozenset())
    key = str(item.get("key") or item.get("source") or "body")
    # A fault of the whole body (an unknown top-level field) is named after the handler's
    # parameter, ``data``; the API calls it ``body`` everywhere else.
    key = "body" if key == "data" else names.wire.get(key, key)
    if not _declared(key, names):
        key = "query" if item.get("source") == "query" else "body"
    return {"name": key, "reason": _reason(str(item.get("message", "invalid")), names)}


def _reason(message: str, names: _Names) -> str:
    if unknown := _UNKNOWN_FIELD.match(message):
        field = unknown.group(1)
        return (
            f"contains an unknown field `{field}`"
            if field in names.fields
            else ("contains an unknown field")
        )
    # msgspec quotes the refused value: say only that it is not one of the allowed ones.
    return _ENUM_VALUE.sub("is not one of the allowed values", message)


def _declared(name: str, names: _Names) -> bool:
    """Whether every segment of ``name`` (``participants[0].cpr``) is a name we declared."""
    segments = [s for s in _SEGMENTS.split(name) if s]
    return bool(segments) and all(
        s in names.fields or s in names.wire.values() or s == "body" for s in segments
    )


class _Names(msgspec.Struct, frozen=True):
    wire: dict[str, str]  # a parameter's Python name -> its name in the API
    fields: frozenset[str]  # every field name of the body's structs, as the API spells them


@functools.cache
def _names(handler: BaseRouteHandler) -> _Names:
    wire: dict[str, str] = {}
    fields: set[str] = set()
    signatures = [handler.parsed_fn_signature]
    signatures += [
        provider.parsed_fn_signature
        for provider in handler.resolve_dependencies().values()
        if hasattr(provider, "parsed_fn_signature")
    ]
    for signature in signatures:
        for name, definition in signature.parameters.items():
            if name == "data":
                fields |= _field_names(definition.annotation)
            elif isinstance(definition.kwarg_definition, ParameterKwarg):
                wire[name] = definition.kwarg_definition.name or name
            else:
                wire[name] = name
    return _Names(wire, frozenset(fields))


def _field_names(annotation: Any) -> set[str]:
    """The wire names of every struct field reachable from ``annotation``."""
    try:
        root = msgspec.inspect.type_info(annotation)
    except (TypeError, ValueError):
        return set()
    found: set[str] = set()
    seen: set[int] = set()
    todo: list[msgspec.inspect.Type] = [root]
    while todo:
        info = todo.pop()
        if id(info) in seen:
            continue
        seen.add(id(info))
        if isinstance(info, msgspec.inspect.StructType):
            for field in info.fields:
                found.add(field.encode_name)
                todo.append(field.type)
        elif isinstance(info, msgspec.inspect.UnionType):
            todo.extend(info.types)
        elif isinstance(
            info, msgspec.inspect.ListType | msgspec.inspect.SetType | msgspec.inspect.VarTupleType
        ):
            todo.append(info.item_type)
        elif isinstance(info, msgspec.inspect.Metadata):
            todo.append(info.type)
    return found
