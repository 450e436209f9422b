"""The scale-out topology at 1 and 2 processes (processes = cores here): API processes sharing
one socket, delivery workers as separate `amu-bevis worker` processes, one PostgreSQL.

At each process count it measures, against baselines measured in the same run:

- issuance: 1,000 participants as 40 team requests of 25, 4 in flight per API process, against
  raw Ed25519 signing + COPY of the same records' bytes in one process (the issuance scenario's
  baseline);
- verification: ``GET /api/verify/{n}?code=`` under wrk at 64 connections on the certificates
  just issued, against the bare primary-key lookup served by as many processes;
- delivery: jobs released in batches to that many `amu-bevis worker` processes (Digital Post
  in memory, the signed PDF/A and a validated MeMo message each) until all are delivered,
  against bare ReportLab pages rendered in one process.

The speed-up from 1 to 2 processes is what docs/performance.md projects to more cores from.
Loopback only; every process is stopped by its PID.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import msgspec

from bench import database, fill, http, servers, wrk
from bench.measure import ROOT, Mode, Spread, ratio
from bench.scenarios import delivery, issuance
from registry.transparency import log
from service.settings import Settings

SCHEMA = "bench_topology"
PROCESSES = (1, 2)
TEAM = 25
BATCH = 1000
IN_FLIGHT_PER_PROCESS = 4
CONNECTIONS = 64
# service/delivery.py logs "delivery worker <its id> started with N slots" when its slots run.
WORKER_STARTED = re.compile(r"delivery worker \S+ started with \d+ slots")


def _bodies(first: int, tag: str) -> list[bytes]:
    return [http.team_body(first + i, TEAM, tag=tag) for i in range(0, BATCH, TEAM)]


async def _issue(
    client: httpx.AsyncClient, token: str, bodies: list[bytes], *, in_flight: int
) -> tuple[float, list[tuple[str, str]]]:
    """Certificates per second over the batch, and each certificate's number and code."""
    gate = asyncio.Semaphore(in_flight)
    issued: list[tuple[str, str]] = []

    async def one(body: bytes) -> None:
        async with gate:
            response = await client.post(
                f"/api/schools/{fill.SCHOOL_ID}/teams",
                content=body,
                headers={
                    "Authorization": f"Bearer {token}",
                    "Idempotency-Key": secrets.token_hex(8),
                    "Content-Type": "application/json",
                },
            )
        if response.status_code != 201:
            raise RuntimeError(f"issuing answered {response.status_code}: {response.text[:500]}")
        answered = msgspec.json.decode(response.content)["participants"]
        issued.extend(
            (c["number"], c["verificationCode"]) for p in answered if (c := p.get("certificate"))
        )

    started = time.perf_counter()
    await asyncio.gather(*(one(b) for b in bodies))
    return len(issued) / (time.perf_counter() - started), issued


def _paths(out: Path, issued: list[tuple[str, str]], *, bare: bool, processes: int) -> Path:
    target = out / f"topology-{'bare' if bare else 'verify'}-{processes}.txt"
    lines = [
        f"/bare/{number}" if bare else f"/api/verify/{number}?code={code}"
        for number, code in issued
    ]
    target.write_text("\n".join(lines) + "\n")
    return target


def _worker_env(bench: database.BenchDatabase) -> dict[str, str]:
    """`amu-bevis worker` on the bench's schema: demo mode (the superuser's URL, the in-memory
    Digital Post and e-Boks), the bench's keys, short polls."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith("AMU_") and k != "DATABASE_URL"}
    return {
        **kept,
        "AMU_DEMO": "1",
        "DATABASE_URL": bench.dsn,
        "AMU_DATABASE_SCHEMA": SCHEMA,
        "AMU_DATA_DIR": str(bench.data_dir),
        "AMU_DIGITAL_POST": "memory",
        "AMU_EBOKS": "memory",
        "AMU_DELIVERY_POLL": "0.02",
    }


def _start_workers(bench: database.BenchDatabase, count: int) -> list[subprocess.Popen[bytes]]:
    """``count`` delivery worker processes, running their slots when returned."""
    started = []
    logs = [bench.data_dir / f"worker-{count}-{i}.log" for i in range(count)]
    for log_file in logs:
        with log_file.open("wb") as out:
            started.append(
                subprocess.Popen(
                    [sys.executable, "-m", "service.cli", "worker"],
                    cwd=ROOT,
                    env=_worker_env(bench),
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=out,
                )
            )
    deadline = time.monotonic() + 60
    while not all(WORKER_STARTED.search(f.read_text(errors="replace")) for f in logs):
        for process, log_file in zip(started, logs, strict=True):
            if process.poll() is not None:
                _stop(started)
                raise RuntimeError(f"a worker exited at start:\n{log_file.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            _stop(started)
            raise RuntimeError("the delivery workers did not start within 60 s")
        time.sleep(0.1)
    return started


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def _deliver(conn: asyncpg.Connection, count: int) -> float:
    """Release ``count`` held-back jobs and time them until delivered: jobs per second."""
    ids = await conn.fetchval(
        "SELECT array_agg(id) FROM (SELECT id FROM delivery_jobs WHERE state = 'pending'"
        " AND purpose = 'issue' AND run_after = 'infinity' ORDER BY id LIMIT $1) j",
        count,
    )
    if not ids or len(ids) < count:
        raise RuntimeError("too few held-back delivery jobs left")
    started = time.perf_counter()
    await conn.execute("UPDATE delivery_jobs SET run_after = now() WHERE id = ANY($1)", ids)
    deadline = started + 120
    while True:
        done = await conn.fetchval(
            "SELECT count(*) FROM delivery_jobs WHERE id = ANY($1) AND state <> 'pending'"
            " AND state <> 'running'",
            ids,
        )
        if done == count:
            break
        if time.perf_counter() > deadline:
            raise RuntimeError(f"{count - done} of {count} deliveries not done within 120 s")
        await asyncio.sleep(0.01)
    rate = count / (time.perf_counter() - started)
    dead = await conn.fetchval(
        "SELECT count(*) FROM delivery_jobs WHERE id = ANY($1) AND state = 'dead'", ids
    )
    if dead:
        raise RuntimeError(f"{dead} deliveries dead-lettered: see .data/bench/run/worker-*.log")
    return rate


def _bare_reportlab_rate(issuing: fill.Issuing, count: int) -> float:
    records = [
        issuing.record(f"R-{s:07d}", fill.cpr_for(s), fill.name_for(s), "R-1")
        for s in range(1, count + 1)
    ]
    started = time.perf_counter()
    for record in records:
        delivery.bare_pdf(record)
    return count / (time.perf_counter() - started)


async def _at(
    bench: database.BenchDatabase,
    conn: asyncpg.Connection,
    token: str,
    processes: int,
    *,
    mode: Mode,
    out: Path,
    serial: int,
) -> tuple[dict[str, Any], int]:
    """Every figure at ``processes`` API processes and workers; the next free serial."""
    issued, verify_runs, bare_runs = Spread([]), [], []
    certificates: list[tuple[str, str]] = []
    app = servers.start(bench, "app", SCHEMA, workers=processes)
    try:
        async with httpx.AsyncClient(base_url=app.base_url, timeout=300) as client:
            await _issue(client, token, _bodies(serial, "warm")[:4], in_flight=1)
            serial += BATCH
            for _ in range(mode.repeats):
                rate, made = await _issue(
                    client, token, _bodies(serial, "t"), in_flight=IN_FLIGHT_PER_PROCESS * processes
                )
                serial += BATCH
                issued.values.append(rate)
                certificates += made
        verify = _paths(out, certificates, bare=False, processes=processes)
        bare_paths = _paths(out, certificates, bare=True, processes=processes)
        bare = servers.start(bench, "bare", SCHEMA, workers=processes)
        try:
            await asyncio.to_thread(wrk.run, app.base_url, verify, seconds=1)  # warm-up
            await asyncio.to_thread(wrk.run, bare.base_url, bare_paths, seconds=1)
            for _ in range(mode.repeats):
                bare_runs.append(
                    await asyncio.to_thread(
                        wrk.run, bare.base_url, bare_paths, seconds=mode.wrk_seconds
                    )
                )
                verify_runs.append(
                    await asyncio.to_thread(wrk.run, app.base_url, verify, seconds=mode.wrk_seconds)
                )
        finally:
            bare.stop()
    finally:
        app.stop()
    # Every job of the issuing above waits until the workers are up and a batch is released.
    await conn.execute("UPDATE delivery_jobs SET run_after = 'infinity' WHERE state = 'pending'")
    workers = await asyncio.to_thread(_start_workers, bench, processes)
    delivered = Spread([])
    try:
        await _deliver(conn, 8 * processes)  # warm-up: fonts, schema, document keys
        for _ in range(mode.repeats):
            delivered.values.append(await _deliver(conn, mode.delivery_count * 3 * processes))
    finally:
        await asyncio.to_thread(_stop, workers)

    def figure(runs: list[dict[str, Any]], key: str) -> dict[str, Any]:
        return Spread([float(r[key]) for r in runs]).summary()

    return {
        "processes": processes,
        "issuance_per_s": issued.summary(),
        "verify": {k: figure(verify_runs, k) for k in ("requests_per_s", "p50_ms", "p99_ms")},
        "bare_lookup": {k: figure(bare_runs, k) for k in ("requests_per_s", "p50_ms", "p99_ms")},
        "verify_errors": sum(r["errors"] + r["non_2xx"] for r in verify_runs + bare_runs),
        "delivery_per_s": delivered.summary(),
    }, serial


async def run(bench: database.BenchDatabase, mode: Mode, out: Path) -> dict[str, Any]:
    conn, tokens = await database.fresh_schema(bench, SCHEMA)
    token = tokens[fill.SCHOOL_ID]
    keys = bench.keys()
    await log.ensure_log_key(conn, keys, name=Settings().log_origin, now=dt.datetime.now(dt.UTC))
    await conn.execute(
        "CREATE TABLE bench_baseline (number text PRIMARY KEY, payload bytea NOT NULL, "
        "signature bytea NOT NULL)"
    )
    issuing = await fill.issuing_context(conn, keys)
    sign_copy, reportlab = Spread([]), Spread([])
    points = []
    serial = 1
    try:
        for processes in PROCESSES:
            for _ in range(mode.repeats):  # interleaved with the product, as elsewhere
                sign_copy.values.append(
                    await issuance.raw_sign_copy_rate(
                        conn, issuing, issuance.payloads(issuing, 800_000_000 + serial)
                    )
                )
                serial += BATCH
                reportlab.values.append(_bare_reportlab_rate(issuing, mode.delivery_count * 3))
            point, serial = await _at(
                bench, conn, token, processes, mode=mode, out=out, serial=serial
            )
            points.append(point)
    finally:
        await conn.close()
    base_sign, base_pdf = sign_copy.summary()["median"], reportlab.summary()["median"]
    for point in points:
        point["issuance_ratio"] = ratio(point["issuance_per_s"]["median"], base_sign)
        point["verify_ratio"] = ratio(
            point["verify"]["requests_per_s"]["median"],
            point["bare_lookup"]["requests_per_s"]["median"],
        )
        point["delivery_ratio"] = ratio(point["delivery_per_s"]["median"], base_pdf)
    first, last = points[0], points[-1]
    return {
        "usable_cores": len(os.sched_getaffinity(0)),
        "connections": CONNECTIONS,
        "baseline_raw_sign_copy_per_s": sign_copy.summary(),
        "baseline_bare_reportlab_per_s": reportlab.summary(),
        "points": points,
        "speedup": {
            "issuance": ratio(last["issuance_per_s"]["median"], first["issuance_per_s"]["median"]),
            "verify": ratio(
                last["verify"]["requests_per_s"]["median"],
                first["verify"]["requests_per_s"]["median"],
            ),
            "delivery": ratio(last["delivery_per_s"]["median"], first["delivery_per_s"]["median"]),
        },
    }
