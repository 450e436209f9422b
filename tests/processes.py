"""The product as separate processes, for tests that need more than one: ``amu-bevis serve`` on
free loopback ports and ``amu-bevis worker``, against the test's database and schema::

    env = service_env(database_roles, schema, data_dir, AMU_DIGITAL_POST_URL=url)
    with Processes(env, tmp_path / "logs") as started:
        api = started.serve()                  # returns once GET /api/keys answers
        worker = started.worker()              # returns once the worker says it started
        ...
        api.kill()                             # SIGKILL, as a crash or the OOM killer would
    started.log_text()                         # every process's log, for a failure message

Each process runs in its own session, so a kill reaches it and any child it made (``serve
--workers N``), by its process group's id, never by name. Leaving the block stops whatever is
still running (SIGTERM, then SIGKILL after a bounded wait).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx

from tests.conftest import ROOT, DatabaseRoles

READY_SECONDS = 60.0  # a start on the shared, loaded machine; fails loudly when exceeded
# service/delivery.py logs "delivery worker <its id> started with N slots" when its slots run.
WORKER_STARTED = re.compile(r"delivery worker \S+ started with \d+ slots")


def free_port() -> int:
    """A port nobody listens on at 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def service_env(
    roles: DatabaseRoles, schema: str, data_dir: Path, **settings: str
) -> dict[str, str]:
    """The environment of a service process on the test's schema: this process's environment
    without any ``AMU_*`` setting, then demo mode (the development login, the local channels)
    connecting as the service role, migrating as the owner, with one session secret that every
    process shares, no worker and no test server inside ``serve``, and ``settings`` last."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith("AMU_") and k != "DATABASE_URL"}
    return {
        **kept,
        "AMU_DEMO": "1",
        "DATABASE_URL": roles.service_url,
        "AMU_MIGRATION_DATABASE_URL": roles.owner_url,
        "AMU_DATABASE_SCHEMA": schema,
        "AMU_DATA_DIR": str(data_dir),
        "AMU_SESSION_SECRET": secrets.token_urlsafe(32),
        "AMU_SERVE_WORKER": "0",
        "AMU_SERVE_TEST_SERVER": "0",
        **settings,
    }


@dataclass
class Started:
    """One process we started: its name, its log, and for ``serve`` its port."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path
    ready: Callable[[Started], bool]
    port: int | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def url(self) -> str:
        if self.port is None:
            raise ValueError(f"{self.name} serves no HTTP")
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_ready(self, timeout: float = READY_SECONDS) -> Started:
        """Return once the process is ready; raise RuntimeError, with its log, when it exits
        first or is not ready within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode}:\n{self.log_text()}"
                )
            if self.ready(self):
                return self
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} was not ready within {timeout} s:\n{self.log_text()}")

    def kill(self) -> None:
        """SIGKILL to the process and its children: no handler runs, no job is finished."""
        self._signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM (finish what is in hand), then SIGKILL after ``timeout`` seconds."""
        if not self.alive():
            return
        self._signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def _signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):  # already reaped
            os.killpg(self.process.pid, signum)  # its own session: the group is ours alone


def _answers(started: Started) -> bool:
    try:
        return httpx.get(f"{started.url}/api/keys", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def _worker_started(started: Started) -> bool:
    return WORKER_STARTED.search(started.log_text()) is not None


@dataclass
class Processes:
    """Service processes sharing one environment; their logs go to ``logs``."""

    env: Mapping[str, str]
    logs: Path
    started: list[Started] = field(default_factory=list)

    def launch_serve(self, *args: str, **settings: str) -> Started:
        """``amu-bevis serve`` on a free port, not waited for (``wait_ready``)."""
        port = free_port()
        return self._launch(
            "serve", ["serve", *args], {**settings, "AMU_PORT": str(port)}, _answers, port
        )

    def launch_worker(self, **settings: str) -> Started:
        """``amu-bevis worker``, not waited for (``wait_ready``)."""
        return self._launch("worker", ["worker"], settings, _worker_started, None)

    def serve(self, *args: str, **settings: str) -> Started:
        """``amu-bevis serve`` on a free port, answering HTTP when returned."""
        return self.launch_serve(*args, **settings).wait_ready()

    def worker(self, **settings: str) -> Started:
        """``amu-bevis worker``, running its delivery slots when returned."""
        return self.launch_worker(**settings).wait_ready()

    def log_text(self) -> str:
        """Every process's log, each under its name and PID."""
        return "\n".join(
            f"----- {s.name} (pid {s.pid}, exit {s.process.poll()}) -----\n{s.log_text()}"
            for s in self.started
        )

    def close(self) -> None:
        for started in self.started:
            started.stop()

    def __enter__(self) -> Processes:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _launch(
        self,
        kind: str,
        argv: list[str],
        settings: Mapping[str, str],
        ready: Callable[[Started], bool],
        port: int | None,
    ) -> Started:
        self.logs.mkdir(parents=True, exist_ok=True)
        name = f"{kind}-{len(self.started) + 1}"
        log = self.logs / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and CLI
                [sys.executable, "-m", "service.cli", *argv],
                cwd=ROOT,
                env={**self.env, **settings},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )
        started = Started(name, process, log, ready, port)
        self.started.append(started)
        return started
