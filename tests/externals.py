"""Outside tools the tests check us with (xmlsec1, node, pdftoppm, ...).

The test command (`make test`) installs them first and sets AMU_REQUIRE_EXTERNAL=1, so there a
missing tool is a failure. Run bare (plain `pytest`) the tests that need one are skipped with a
loud reason instead.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
NODE_MODULES = ROOT / "tests" / "js" / "node_modules"


def _missing(what: str) -> None:
    message = f"{what} is not installed; `make test` installs it (see scripts/test-setup)"
    if os.environ.get("AMU_REQUIRE_EXTERNAL") == "1":
        pytest.fail(message)
    pytest.skip(f"NOT CHECKED BY AN OUTSIDE TOOL: {message}")


def require_tool(name: str) -> str:
    """The path of an executable, or skip/fail the test loudly when it is missing."""
    path = shutil.which(name)
    if path is None:
        _missing(name)
        raise AssertionError  # unreachable: _missing always raises
    return path


def require_node_modules() -> Path:
    """The folder of the npm packages in tests/js, installed by `npm ci`."""
    require_tool("node")
    if not NODE_MODULES.is_dir():
        _missing("tests/js/node_modules")
    return NODE_MODULES


def require_shared(relative: str) -> Path:
    """A path under ../shared, skipping when a plain clone has no shared/ beside it."""
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"../shared/{relative} is absent (a plain clone without shared/)")
    return path
