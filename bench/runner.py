"""Run the scenarios, write bench/results/<date>-<commit>.json and (full mode) the docs.

    python -m bench [--full] [--sizes 10000,100000] [--repeats N] [--only issuance,delivery]
                    [--no-docs] [--keep]

The database is bench/database.py's; servers bind 127.0.0.1; wrk loads loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import uvloop

from bench import database, measure, report, wrk
from bench.measure import FULL, QUICK, ROOT, Mode, TreeMemory
from bench.scenarios import (
    bulk_import,
    delivery,
    growth,
    issuance,
    topology,
    transparency,
    verification,
)

RESULTS = ROOT / "bench" / "results"
SCENARIOS = (
    "issuance",
    "bulk_import",
    "delivery",
    "growth",
    "transparency",
    "verification",
    "topology",
)


def _mode(args: argparse.Namespace) -> Mode:
    mode = FULL if args.full else QUICK
    if args.sizes:
        mode = dataclasses.replace(mode, sizes=tuple(int(s) for s in args.sizes.split(",")))
    if args.repeats:
        mode = dataclasses.replace(mode, repeats=args.repeats)
    if args.no_profile:
        mode = dataclasses.replace(mode, profile=False)
    return mode


def _say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


async def _run(mode: Mode, only: Sequence[str], out: Path, *, keep: bool) -> dict[str, Any]:
    bench = database.open_database()
    pg_pid = await database.postmaster_pid(bench.dsn)
    pg_memory = TreeMemory(pg_pid)
    results: dict[str, Any] = {}
    timings: dict[str, float] = {}

    async def step(name: str, work: Any) -> Any:
        _say(f"{name} ...")
        started = time.perf_counter()
        value = await work
        timings[name] = round(time.perf_counter() - started, 1)
        pg_memory.sample()
        _say(f"{name} done in {timings[name]} s")
        return value

    try:
        if "issuance" in only:
            results["issuance"] = await step("issuance", issuance.run(bench, mode, pg_pid, out))
        if "bulk_import" in only:
            results["bulk_import"] = await step("bulk_import", bulk_import.run(bench, mode))
        if "delivery" in only:
            results["delivery"] = await step("delivery", delivery.run(mode))
        if {"growth", "transparency", "verification"} & set(only):
            results["growth"], grown = await step("growth", growth.run(bench, mode))
            if "transparency" in only:
                results["transparency"] = await step("transparency", transparency.run(grown, mode))
            if "verification" in only:
                results["verification"] = await step(
                    "verification",
                    verification.run(
                        bench,
                        mode,
                        schema=growth.SCHEMA,
                        serials=grown.serials,
                        registry_size=grown.size,
                        out=out,
                    ),
                )
            await grown.conn.close()
        if "topology" in only:
            results["topology"] = await step("topology", topology.run(bench, mode, out))
    finally:
        if not keep:
            for schema in (issuance.SCHEMA, bulk_import.SCHEMA, growth.SCHEMA, topology.SCHEMA):
                await database.drop_schema(bench, schema)
    results["memory_peak_rss_mib"] = {
        "bench_process": round(measure.own_peak_rss_mib(), 1),
        "postgres_largest_process_sampled": round(pg_memory.peak_process_mib, 1),
        "postgres_all_processes_sampled": round(pg_memory.peak_total_mib, 1),
    }
    results["scenario_seconds"] = timings
    results["database"] = {
        "embedded": bench.embedded,
        "server": os.environ.get("BENCH_PG_VERSION", "?"),
        "where": ".data/bench/pg" if bench.embedded else "DATABASE_URL",
    }
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="full mode (default: quick)")
    parser.add_argument("--sizes", help="registry sizes for growth, comma-separated")
    parser.add_argument("--repeats", type=int, help="repeats per figure")
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(SCENARIOS)}")
    parser.add_argument("--no-profile", action="store_true", help="skip the profiles")
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite the docs")
    parser.add_argument("--keep", action="store_true", help="keep the bench schemas")
    args = parser.parse_args(argv)
    mode = _mode(args)
    only = tuple(args.only.split(",")) if args.only else SCENARIOS
    unknown = set(only) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    commit, dirty = measure.git_commit()
    stamp = dt.datetime.now(dt.UTC)
    out = RESULTS / f"{stamp:%Y-%m-%d}-{commit}{'' if mode.name == 'full' else '-' + mode.name}"
    out.mkdir(parents=True, exist_ok=True)
    _say(f"{mode.name} mode, sizes {mode.sizes}, {mode.repeats} repeats, commit {commit}")
    started = time.perf_counter()
    figures = asyncio.Runner(loop_factory=uvloop.new_event_loop).run(
        _run(mode, only, out, keep=args.keep)
    )
    result = {
        "when": stamp.isoformat(timespec="seconds"),
        "commit": commit,
        "product_code_modified": dirty,
        "mode": dataclasses.asdict(mode),
        "machine": {**measure.machine(), "load_average_at_end": list(os.getloadavg())},
        "versions": {**measure.versions(), "wrk": wrk.version() if wrk.available() else None},
        "total_seconds": round(time.perf_counter() - started, 1),
        **figures,
    }
    target = out.with_suffix(".json")
    target.write_text(json.dumps(result, indent=2, default=str) + "\n")
    _say(f"wrote {target.relative_to(ROOT)} in {result['total_seconds']} s")
    print(report.table(result))
    if mode.name == "full" and not args.no_docs:
        report.write_docs(result, target)
        _say("updated docs/performance.md and docs/performance/*.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
