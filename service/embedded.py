"""The embedded PostgreSQL for development and tests (pgserver: real PostgreSQL binaries
shipped in a wheel, run under a folder of the checkout, reached over a Unix socket)."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path


def start_embedded(data_dir: Path, *, stop_at_exit: bool = True) -> str:
    """Start (or join) the embedded server under ``data_dir/pg``; return its connection URI."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (as in CI); harmless here.
        warnings.simplefilter("ignore")
        from pgserver.postgres_server import get_server  # noqa: PLC0415 - only without a URL

        logging.getLogger("pgserver").setLevel(logging.WARNING)
        server = get_server(
            (data_dir / "pg").resolve(), cleanup_mode="stop" if stop_at_exit else None
        )
    uri: str = server.get_uri()
    return uri
