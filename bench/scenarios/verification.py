"""The verification endpoint under wrk at 64 connections against a bare Litestar endpoint that
does one primary-key lookup on the same certificates table.

Both are served by uvicorn (one worker, uvloop, httptools, no access log) on 127.0.0.1, from the
growth scenario's register at its largest size, and both draw random certificates from the
same list. wrk runs one thread; runs alternate bare, product, bare, product, ...
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from bench import database, fill, profiles, servers, wrk
from bench.measure import Mode, Spread, median, ratio

TARGET_RATIO = 0.7
TARGET_P99_MS = 25.0
CONNECTIONS = 64


def _paths(out: Path, serials: list[tuple[int, int]], *, bare: bool) -> Path:
    name = "paths-bare.txt" if bare else "paths-verify.txt"
    lines = [
        f"/bare/{number}" if bare else f"/api/verify/{number}?code={code}"
        for number, code in fill.lookups(serials, 2000, seed=8)
    ]
    target = out / name
    target.write_text("\n".join(lines) + "\n")
    return target


async def run(
    bench: database.BenchDatabase,
    mode: Mode,
    *,
    schema: str,
    serials: list[tuple[int, int]],
    registry_size: int,
    out: Path,
) -> dict[str, Any]:
    if wrk.available() is None:
        return {"status": "skipped", "why": "wrk is not installed (apt-get install wrk)"}
    verify_paths, bare_paths = _paths(out, serials, bare=False), _paths(out, serials, bare=True)
    app = servers.start(bench, "app", schema)
    bare = servers.start(bench, "bare", schema)
    product_runs: list[dict[str, Any]] = []
    bare_runs: list[dict[str, Any]] = []
    try:
        wrk.run(app.base_url, verify_paths, seconds=1, connections=CONNECTIONS)  # warm-up
        wrk.run(bare.base_url, bare_paths, seconds=1, connections=CONNECTIONS)
        for _ in range(mode.repeats):
            bare_runs.append(wrk.run(bare.base_url, bare_paths, seconds=mode.wrk_seconds))
            product_runs.append(wrk.run(app.base_url, verify_paths, seconds=mode.wrk_seconds))
    finally:
        app.stop()
        bare.stop()
    profile = None
    if mode.profile:
        profile = await _profile(bench, schema, verify_paths, out, mode.wrk_seconds)

    def figure(runs: list[dict[str, Any]], key: str) -> dict[str, Any]:
        return Spread([float(r[key]) for r in runs]).summary()

    rate = median([r["requests_per_s"] for r in product_runs])
    base = median([r["requests_per_s"] for r in bare_runs])
    p99 = median([r["p99_ms"] for r in product_runs])
    return {
        "registry_size": registry_size,
        "connections": CONNECTIONS,
        "seconds_per_run": mode.wrk_seconds,
        "baseline_bare_pk_lookup": {
            k: figure(bare_runs, k) for k in ("requests_per_s", "p50_ms", "p90_ms", "p99_ms")
        },
        "product_verify": {
            k: figure(product_runs, k) for k in ("requests_per_s", "p50_ms", "p90_ms", "p99_ms")
        },
        "errors": sum(r["errors"] + r["non_2xx"] for r in product_runs + bare_runs),
        "ratio": ratio(rate, base),
        "target_ratio": TARGET_RATIO,
        "target_p99_ms": TARGET_P99_MS,
        "meets_target": ratio(rate, base) >= TARGET_RATIO and p99 <= TARGET_P99_MS,
        "server_peak_rss_mib": {"product": app.peak_rss_mib, "bare": bare.peak_rss_mib},
        "wrk": wrk.version(),
        "profile": profile,
    }


async def _profile(
    bench: database.BenchDatabase, schema: str, paths: Path, out: Path, seconds: int
) -> dict[str, Any]:
    raw = out / "profile-verification.txt"
    app = servers.start(bench, "app", schema, profile_file=raw)
    try:
        await asyncio.to_thread(wrk.run, app.base_url, paths, seconds=seconds)
    finally:
        app.stop()
    await asyncio.sleep(0.5)
    return profiles.summarise_py_spy(raw)
