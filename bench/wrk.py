"""wrk (Debian's package) against a loopback server, bounded in time, parsed from our script."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).with_name("wrk_paths.lua")


def available() -> str | None:
    return shutil.which("wrk")


def version() -> str:
    done = subprocess.run(
        ["wrk", "--version"],  # noqa: S607
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return (done.stdout or done.stderr).splitlines()[0] if (done.stdout or done.stderr) else "?"


def run(base_url: str, paths_file: Path, *, seconds: int, connections: int = 64) -> dict[str, Any]:
    """One wrk run; returns requests/s, latency percentiles in ms and error counts."""
    if not base_url.startswith("http://127.0.0.1:"):
        raise ValueError("the bench loads loopback servers only")
    command = [
        "wrk", "--threads", "1", "--connections", str(connections), "--duration", f"{seconds}s",
        "--timeout", "10s", "--script", str(SCRIPT), base_url, "--", str(paths_file),
    ]  # fmt: skip
    done = subprocess.run(  # noqa: S603 - our own fixed command, loopback target
        command, capture_output=True, text=True, check=True, timeout=seconds + 60
    )
    line = next(x for x in done.stdout.splitlines() if x.startswith("BENCH_JSON "))
    raw = json.loads(line.removeprefix("BENCH_JSON "))
    errors = sum(raw[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts"))
    return {
        "requests_per_s": raw["requests"] / (raw["duration_us"] / 1e6),
        "requests": raw["requests"],
        "errors": errors,
        "non_2xx": raw["non_2xx"],
        "p50_ms": raw["p50_us"] / 1000,
        "p90_ms": raw["p90_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "p999_ms": raw["p999_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
    }
