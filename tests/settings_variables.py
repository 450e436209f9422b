"""Which environment variables the service reads, and which docs/configuration.md documents.

The variables read are found two ways, so neither a conditional read nor a composed name is
missed: every string constant in service/settings.py that is a whole variable name, and every key
`Settings.from_env` looks up in a recording environment (in and outside demo mode; this catches
names made from a prefix, such as ``f"{prefix}ISSUER"``). The documented ones are the first cells
of the tables in docs/configuration.md, up to its "Outside the service" section.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from service.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_SOURCE = ROOT / "service" / "settings.py"
CONFIGURATION = ROOT / "docs" / "configuration.md"

# A whole variable name. Prefixes end in "_" (AMU_OIDC_) and are not matched.
VARIABLE = re.compile(r"^(?:AMU_[A-Z0-9_]*[A-Z0-9]|DATABASE_URL)$")
_ROW = re.compile(r"^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|")
_END_OF_SETTINGS = "## Outside the service"


def names_in_source(source: str) -> set[str]:
    """The string constants of ``source`` that are whole variable names."""
    return {
        node.value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and VARIABLE.match(node.value)
    }


class RecordingEnvironment(Mapping[str, str]):
    """An empty environment that remembers every name looked up in it."""

    def __init__(self) -> None:
        self.asked: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.asked.add(name)
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def names_looked_up() -> set[str]:
    """Every name `Settings.from_env` looks up, in and outside demo mode."""
    env = RecordingEnvironment()
    Settings.from_env(env)
    Settings.from_env(env, demo=True)
    return env.asked


def variables_read() -> set[str]:
    """Every variable the service reads (module docstring)."""
    return names_in_source(SETTINGS_SOURCE.read_text("utf-8")) | names_looked_up()


def known_variables() -> set[str]:
    """What docker/ and the docs may name: the variables read."""
    return variables_read()


def documented(markdown: str) -> list[str]:
    """The variable of each table row before the "Outside the service" section, in order (a
    name documented twice appears twice)."""
    found: list[str] = []
    for line in markdown.splitlines():
        if line.startswith(_END_OF_SETTINGS):
            break
        row = _ROW.match(line)
        if row:
            found.append(row.group(1))
    return found
