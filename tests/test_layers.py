"""The layers hold beyond what import-linter sees: only the composition root reads the
environment (import-linter keeps the imports themselves; see pyproject.toml)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Settings.from_env is the one reader of the environment; the CLI hands it what it read.
ALLOWED = {ROOT / "service" / "settings.py"}


def _reads_environment(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv", "environb"}:
            lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            if any(a.name in {"environ", "getenv", "environb"} for a in node.names):
                lines.append(node.lineno)
    return lines


def test_only_the_settings_read_the_environment() -> None:
    offenders = []
    for package in ("formats", "registry", "issuers", "service"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path in ALLOWED:
                continue
            for line in _reads_environment(ast.parse(path.read_text("utf-8"))):
                offenders.append(f"{path.relative_to(ROOT)}:{line}")
    assert offenders == []


def test_the_check_finds_a_reader() -> None:
    """The check itself can fail: it sees each way of reading the environment."""
    for source in (
        "import os\nx = os.environ['A']",
        "import os\nx = os.getenv('A')",
        "from os import environ",
    ):
        assert _reads_environment(ast.parse(source)), source
