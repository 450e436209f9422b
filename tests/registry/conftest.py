"""Fixtures of the registry's tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def cli_env(
    database_url: str, schema: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The environment `amu-bevis` reads, pointed at the test's schema; returns its data dir."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("AMU_DATABASE_SCHEMA", schema)
    monkeypatch.setenv("AMU_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AMU_KEY_STORE", "file")
    return tmp_path
