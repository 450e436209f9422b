"""The embedded PostgreSQL for development and tests (pgserver: real PostgreSQL binaries
shipped in a wheel, run under a folder of the checkout, reached over a Unix socket)."""

from __future__ import annotations

import logging
import threading
import warnings
from pathlib import Path

import psutil

from registry.db import QUIET_LOGGING

log = logging.getLogger(__name__)


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


class EmbeddedSupervisor:
    """Keeps the embedded PostgreSQL of ``data_dir`` running while ``serve`` runs.

    A daemon thread looks at the postmaster named in ``postmaster.pid`` every ``interval``
    seconds and, when it is gone, starts the server again through pgserver (the same data, the
    same socket, so the app's pool reconnects by itself). Until then requests are answered 503
    with Retry-After (``service.api.problems``)::

        supervisor = EmbeddedSupervisor(settings.data_dir).start()
        ...
        supervisor.stop()
    """

    def __init__(self, data_dir: Path, *, interval: float = 2.0) -> None:
        self.pgdata = (data_dir / "pg").resolve()
        self.interval = interval
        self.restarts = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="embedded-pg", daemon=True)

    def start(self) -> EmbeddedSupervisor:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=self.interval + 30)

    def alive(self) -> bool:
        """Whether the postmaster named in ``postmaster.pid`` is running (not a zombie)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # as in start_embedded
            from pgserver.utils import PostmasterInfo  # noqa: PLC0415 - embedded only

        info = PostmasterInfo.read_from_pgdata(self.pgdata)
        if info is None or info.process is None:
            return False
        try:
            return bool(info.process.is_running()) and info.process.status() != "zombie"
        except psutil.Error:
            return False

    def pid(self) -> int | None:
        """The postmaster's PID as ``postmaster.pid`` names it (None without the file)."""
        try:
            return int((self.pgdata / "postmaster.pid").read_text().splitlines()[0])
        except (FileNotFoundError, IndexError, ValueError):
            return None

    def check(self) -> bool:
        """Start the server again if its postmaster is gone; True when it did."""
        if self.alive():
            return False
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from pgserver.postgres_server import get_server  # noqa: PLC0415

        log.warning("embedded PostgreSQL under %s is not running; starting it again", self.pgdata)
        get_server(self.pgdata).ensure_postgres_running()
        self.restarts += 1
        log.warning("embedded PostgreSQL is running again")
        return True

    def _run(self) -> None:
        while not self._stopping.wait(self.interval):
            try:
                self.check()
            except Exception as e:  # noqa: BLE001 - try again next round
                # After a hard kill the old backends can hold the shared memory a moment.
                # Only the type: pgserver's errors quote the server's log.
                log.warning(
                    "starting the embedded PostgreSQL failed (%s); trying again", type(e).__name__
                )
