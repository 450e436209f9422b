"""Repetition, medians, percentiles, peak memory and the machine a run was made on."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent

PACKAGES = (
    "litestar", "uvicorn", "uvloop", "httptools", "asyncpg", "msgspec", "cryptography",
    "pyjwt", "rfc8785", "reportlab", "pyhanko", "lxml", "httpx", "psutil",
)  # fmt: skip


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of already sorted values (``fraction`` in [0, 1])."""
    if not sorted_values:
        raise ValueError("no values")
    rank = max(0, min(len(sorted_values) - 1, round(fraction * len(sorted_values) + 0.5) - 1))
    return float(sorted_values[rank])


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    """p50, p90, p99, max and mean of latencies, in milliseconds."""
    ms = sorted(s * 1000 for s in seconds)
    return {
        "n": len(ms),
        "p50_ms": percentile(ms, 0.50),
        "p90_ms": percentile(ms, 0.90),
        "p99_ms": percentile(ms, 0.99),
        "max_ms": ms[-1],
        "mean_ms": statistics.fmean(ms),
    }


def ratio(product: float, baseline: float) -> float:
    return product / baseline if baseline else float("nan")


@dataclass
class Spread:
    """Repeated measurements of one figure: the median is the figure, the rest shows noise."""

    values: list[float]

    def summary(self) -> dict[str, Any]:
        return {
            "median": median(self.values),
            "min": min(self.values),
            "max": max(self.values),
            "runs": self.values,
        }


class Stopwatch:
    """Wall time and this process's CPU time over a block."""

    def __enter__(self) -> Stopwatch:
        self.wall = time.perf_counter()
        self.cpu = time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def own_peak_rss_mib() -> float:
    """This process's peak resident memory (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def children_peak_rss_mib() -> float:
    """The largest peak resident memory among this process's waited-for children."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


class TreeMemory:
    """Samples the resident memory of a process tree (PostgreSQL: postmaster and backends).

    PostgreSQL's processes are not our children, so their peak is sampled, not exact.
    """

    def __init__(self, pid: int | None) -> None:
        self.pid = pid
        self.peak_total_mib = 0.0
        self.peak_process_mib = 0.0

    def sample(self) -> None:
        if self.pid is None:
            return
        try:
            root = psutil.Process(self.pid)
            processes = [root, *root.children(recursive=True)]
        except psutil.Error:
            return
        total = 0.0
        for process in processes:
            try:
                rss = process.memory_info().rss / 2**20
            except psutil.Error:
                continue
            total += rss
            self.peak_process_mib = max(self.peak_process_mib, rss)
        self.peak_total_mib = max(self.peak_total_mib, total)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _git(*args: str) -> str:
    done = subprocess.run(  # noqa: S603 - fixed git arguments
        ["git", *args],  # noqa: S607 - git from PATH, as the developer runs it
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip()


def git_commit() -> tuple[str, bool]:
    """The short commit of the checkout and whether product code differs from it."""
    commit = _git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = bool(_git("status", "--porcelain", "--", "registry", "issuers", "formats"))
    return commit, dirty


def machine() -> dict[str, Any]:
    memory = psutil.virtual_memory()
    return {
        "cpu_model": _cpu_model(),
        "logical_cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "memory_gib": round(memory.total / 2**30, 1),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "load_average_at_start": list(os.getloadavg()),
    }


def versions() -> dict[str, str | None]:
    return {package: _version(package) for package in PACKAGES}


@dataclass(frozen=True)
class Mode:
    """How much a run does: quick (under two minutes) or full."""

    name: str
    repeats: int
    sizes: tuple[int, ...]  # registry sizes for the growth scenario
    wrk_seconds: int
    delivery_count: int  # certificates rendered per repeat
    lookups: int  # sequential lookups per registry size
    proofs: int  # proofs per kind at the largest size
    profile: bool


QUICK = Mode("quick", 3, (10_000, 100_000), 3, 12, 150, 200, profile=False)
FULL = Mode("full", 5, (10_000, 100_000, 1_000_000), 10, 40, 400, 1000, profile=True)


def cpu_seconds(pids: Sequence[int]) -> float:
    """User plus system CPU seconds of these processes and their current children."""
    total = 0.0
    for pid in pids:
        try:
            root = psutil.Process(pid)
            for process in [root, *root.children(recursive=True)]:
                times = process.cpu_times()
                total += times.user + times.system
        except psutil.Error:
            continue
    return total
