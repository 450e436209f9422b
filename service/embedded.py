"""The embedded PostgreSQL for development and tests (pgserver: real PostgreSQL binaries
shipped in a wheel, run under a folder of the checkout, reached over a Unix socket)."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

from registry.db import QUIET_LOGGING


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
    # Server-wide, for every connection (migrations, tests, psql too): PostgreSQL's log keeps no
    # DETAIL line, statement or parameter, which would quote CPR numbers and names. Applied on
    # every start, so an existing data folder gets it as well. The server's own messages (start,
    # checkpoints) stay: only the service's sessions drop their errors entirely.
    statements = [
        f"ALTER SYSTEM SET {name} = '{value}';"
        for name, value in QUIET_LOGGING.items()
        if name != "log_min_messages"
    ]
    server.psql("\\set ON_ERROR_STOP on\n" + "\n".join([*statements, "SELECT pg_reload_conf();"]))
    uri: str = server.get_uri()
    return uri
