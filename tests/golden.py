"""Known-answer (golden) files under tests/assets: compare, never overwrite.

    assert_golden(ASSETS / "jws" / "exam-passed.txt", token + "\\n")

A difference fails the test with a unified diff. With ``AMU_REGENERATE_GOLDEN=1`` the produced
bytes are also written to ``<file>.new`` beside the golden file, for review;
``scripts/regenerate-golden`` runs every golden test that way and prints the diffs, and its
``--accept`` moves the reviewed ``.new`` files over the golden ones.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

from tests.externals import ROOT

REGENERATE = "AMU_REGENERATE_GOLDEN"


def new_path(path: Path) -> Path:
    """Where a regenerated golden file is written: ``<file>.new``."""
    return path.with_name(f"{path.name}.new")


def assert_golden(path: Path, actual: bytes | str) -> None:
    """Fail with a unified diff unless ``actual`` equals the golden file at ``path``.

    Text is compared as UTF-8 bytes. Under ``AMU_REGENERATE_GOLDEN=1`` a differing result is
    written to ``<file>.new`` (a stale one is removed once the result matches again).
    """
    produced = actual.encode("utf-8") if isinstance(actual, str) else actual
    expected = path.read_bytes() if path.exists() else b""
    regenerate = os.environ.get(REGENERATE) == "1"
    if produced == expected:
        if regenerate:
            new_path(path).unlink(missing_ok=True)
        return
    name = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    diff = "".join(
        difflib.unified_diff(
            expected.decode("utf-8", "replace").splitlines(keepends=True),
            produced.decode("utf-8", "replace").splitlines(keepends=True),
            fromfile=f"{name} (golden)",
            tofile=f"{name}.new (produced)",
        )
    )
    if regenerate:
        new_path(path).write_bytes(produced)
        pytest.fail(f"wrote {name}.new; review the diff, then move it over the golden:\n{diff}")
    pytest.fail(f"{name} differs ({REGENERATE}=1 writes {name}.new to review):\n{diff}")
