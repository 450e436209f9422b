"""Outside tools and material the tests check us with (xmlsec1, node, pdftoppm, ../shared, ...).

A test that needs one and does not find it FAILS: a green run means every outside check ran.
The only way to let such tests skip is the loudly named opt-out ``AMU_ALLOW_UNCHECKED=1``; the
run then ends with a banner counting what was not checked (tests/conftest.py).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import NoReturn

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
NODE_MODULES = ROOT / "tests" / "js" / "node_modules"
ALLOW_UNCHECKED = "AMU_ALLOW_UNCHECKED"


def unchecked_allowed() -> bool:
    """Whether the person running the tests opted out of the outside checks."""
    return os.environ.get(ALLOW_UNCHECKED) == "1"


def missing(what: str) -> NoReturn:
    """Fail the test (skip it only under the opt-out): ``what`` is absent."""
    message = f"{what} is absent; `make test` installs the outside tools (scripts/test-setup)"
    if unchecked_allowed():
        pytest.skip(f"NOT CHECKED BY AN OUTSIDE TOOL ({ALLOW_UNCHECKED}=1): {message}")
    pytest.fail(f"{message}. {ALLOW_UNCHECKED}=1 lets such tests skip instead", pytrace=False)


def require_tool(name: str) -> str:
    """The path of an executable; fails the test when it is missing."""
    path = shutil.which(name)
    if path is None:
        missing(name)
    return path


def require_node_modules() -> Path:
    """The folder of the npm packages in tests/js, installed by `npm ci`."""
    require_tool("node")
    if not NODE_MODULES.is_dir():
        missing("tests/js/node_modules")
    return NODE_MODULES


def require_shared(relative: str) -> Path:
    """A path under ../shared (the rule book, schemas and vectors beside the checkout)."""
    path = SHARED / relative
    if not path.exists():
        missing(f"../shared/{relative}")
    return path
