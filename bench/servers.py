"""Start and stop the bench's server processes (bench/serve.py), on 127.0.0.1 only."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import httpx
import psutil

from bench.database import BenchDatabase
from bench.measure import ROOT

Kind = Literal["app", "bare"]
PY_SPY = Path(sys.executable).parent / "py-spy"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    kind: Kind
    port: int
    process: subprocess.Popen[bytes]
    stats_file: Path
    profile_file: Path | None = None
    peak_rss_mib: float | None = None
    samples: list[float] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def python_pid(self) -> int:
        """The server's Python process (a child of py-spy when profiled)."""
        if self.profile_file is None:
            return self.process.pid
        children = psutil.Process(self.process.pid).children()
        return children[0].pid if children else self.process.pid

    def stop(self) -> None:
        """Stop the server by its PID (SIGTERM: uvicorn shuts down cleanly) and collect its
        peak memory; under py-spy, stopping the child makes py-spy write its profile."""
        if self.process.poll() is None:
            pid = self.python_pid()
            # uvicorn re-raises SIGTERM after its shutdown, so the server cannot report its
            # own peak; the kernel's high-water mark says it exactly.
            self.peak_rss_mib = _peak_rss_mib(pid)
            psutil.Process(pid).send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.stats_file.exists():
            self.peak_rss_mib = float(json.loads(self.stats_file.read_text())["peak_rss_mib"])


def _peak_rss_mib(pid: int) -> float | None:
    """VmHWM of /proc/<pid>/status: the process's peak resident memory."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def start(
    bench: BenchDatabase,
    kind: Kind,
    schema: str,
    *,
    profile_file: Path | None = None,
    ready_timeout: float = 60.0,
    workers: int = 1,
) -> Server:
    """A server of ``kind`` on a free loopback port, answering requests when returned; with
    ``workers`` > 1, that many processes under uvicorn's supervisor."""
    port = free_port()
    stats = bench.data_dir / f"{kind}-{port}.json"
    command = [
        sys.executable, "-m", "bench.serve", kind, "--dsn", bench.dsn, "--schema", schema,
        "--data-dir", str(bench.data_dir), "--port", str(port), "--stats", str(stats),
        "--workers", str(workers),
    ]  # fmt: skip
    if profile_file is not None:
        # py-spy cannot attach to a running process here (no ptrace); it launches it instead.
        command = [
            str(PY_SPY), "record", "--rate", "250", "--format", "raw", "--nonblocking",
            "--output", str(profile_file), "--", *command,
        ]  # fmt: skip
    log_file = bench.data_dir / f"{kind}-{port}.log"
    with log_file.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own fixed command
            command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log
        )
    server = Server(kind, port, process, stats, profile_file)
    path = "/bare-health" if kind == "bare" else "/api/keys"
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            error = log_file.read_text(errors="replace")
            raise RuntimeError(f"the {kind} server exited at start:\n{error[-3000:]}")
        try:
            if httpx.get(server.base_url + path, timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"the {kind} server did not answer within {ready_timeout} s")
