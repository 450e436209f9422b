"""The layers hold beyond what import-linter sees: only the composition root reads the
environment (import-linter keeps the imports themselves; see pyproject.toml)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Settings.from_env is the one reader of the environment; the CLI hands it what it read.
ALLOWED = {ROOT / "service" / "settings.py"}
_READERS = {"environ", "getenv", "environb"}


def _writes(tree: ast.AST) -> set[int]:
    """The ``os.environ`` nodes that are only assigned to (``os.environ[NAME] = value``): the
    metrics hand prometheus_client its folder this way, for its own processes to read."""
    return {
        id(target.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Subscript) and isinstance(target.ctx, ast.Store)
    }


def _reads_environment(tree: ast.AST) -> list[int]:
    """The lines of ``tree`` that read the environment (os.environ, os.getenv, and imports)."""
    written = _writes(tree)
    return [
        node.lineno
        for node in ast.walk(tree)
        if (isinstance(node, ast.Attribute) and node.attr in _READERS and id(node) not in written)
        or (
            isinstance(node, ast.ImportFrom)
            and node.module == "os"
            and any(a.name in _READERS for a in node.names)
        )
    ]


def test_only_the_settings_read_the_environment() -> None:
    offenders: list[str] = []
    for package in ("formats", "registry", "issuers", "service"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path not in ALLOWED:
                lines = _reads_environment(ast.parse(path.read_text("utf-8")))
                offenders.extend(f"{path.relative_to(ROOT)}:{line}" for line in lines)
    assert offenders == []


def test_the_check_finds_a_reader() -> None:
    """The check itself can fail: it sees each way of reading the environment."""
    for source in (
        "import os\nx = os.environ['A']",
        "import os\nx = os.getenv('A')",
        "from os import environ",
        "import os\nos.environ['A'] = os.environ['B']",
    ):
        assert _reads_environment(ast.parse(source)), source
    assert _reads_environment(ast.parse("import os\nos.environ['A'] = 'x'")) == []
