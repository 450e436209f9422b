"""Bulk issuance through the HTTP API against raw Ed25519 signing + COPY of the same bytes.

A batch is 1,000 participants who all pass, sent two ways: 40 team requests of 25 (four in
flight) and one request of 1,000 (the API's maximum). The baseline signs the same records'
canonical bytes with the same Ed25519 key (a bare signature, no JWS) and COPYs number, bytes
and signature into a table with a primary key, in one transaction. Baseline and API runs are
interleaved, each repeated; the median is the figure.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench import database, fill, http, profiles, servers
from bench.measure import Mode, Spread, Stopwatch, cpu_seconds, median, ratio

SCHEMA = "bench_issuance"
BATCH = 1000
TEAM = 25
CONCURRENCY = 4
TARGET_RATE = 5000.0
TARGET_RATIO = 0.25


def payloads(issuing: fill.Issuing, first: int) -> list[tuple[str, bytes]]:
    out = []
    for serial in range(first, first + BATCH):
        number = f"B-{serial:09d}"
        record = issuing.record(number, fill.cpr_for(serial), fill.name_for(serial), "B-1")
        out.append((number, record.canonical_bytes()))
    return out


async def raw_sign_copy_rate(
    conn: asyncpg.Connection, issuing: fill.Issuing, payloads: list[tuple[str, bytes]]
) -> float:
    """Certificates per second for raw signing + COPY of ``payloads``."""
    started = time.perf_counter()
    rows = [(number, payload, issuing.key.sign(payload)) for number, payload in payloads]
    async with conn.transaction():
        await conn.copy_records_to_table(
            "bench_baseline", records=rows, columns=("number", "payload", "signature")
        )
    return len(rows) / (time.perf_counter() - started)


def _bodies(first: int, team: int, tag: str) -> list[bytes]:
    return [http.team_body(first + i, team, tag=tag) for i in range(0, BATCH, team)]


async def run(
    bench: database.BenchDatabase, mode: Mode, pg_pid: int | None, out: Path
) -> dict[str, Any]:
    conn, tokens = await database.fresh_schema(bench, SCHEMA)
    token = tokens[fill.SCHOOL_ID]
    await conn.execute(
        "CREATE TABLE bench_baseline (number text PRIMARY KEY, payload bytea NOT NULL, "
        "signature bytea NOT NULL)"
    )
    issuing = await fill.issuing_context(conn, bench.keys())
    server = servers.start(bench, "app", SCHEMA)
    baseline, teams, single = Spread([]), Spread([]), Spread([])
    cpu: dict[str, list[float]] = {"client": [], "server": [], "postgres": []}
    latencies: list[float] = []
    serial = 1
    try:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=300) as client:
            await http.post_teams(
                client, token, _bodies(900_000_000, TEAM, "warm")[:4], concurrency=1
            )
            await raw_sign_copy_rate(conn, issuing, payloads(issuing, 950_000_000))  # warm-up
            for _ in range(mode.repeats):
                baseline.values.append(
                    await raw_sign_copy_rate(conn, issuing, payloads(issuing, serial))
                )
                serial += BATCH
                bodies = _bodies(serial, TEAM, "t")
                serial += BATCH
                server_cpu = cpu_seconds([server.python_pid()])
                pg_cpu = cpu_seconds([pg_pid] if pg_pid else [])
                with Stopwatch() as watch:
                    wall, issued, lat = await http.post_teams(
                        client, token, bodies, concurrency=CONCURRENCY
                    )
                latencies.extend(lat)
                teams.values.append(issued / wall)
                cpu["client"].append(watch.cpu / issued * 1e6)
                cpu["server"].append(
                    (cpu_seconds([server.python_pid()]) - server_cpu) / issued * 1e6
                )
                cpu["postgres"].append(
                    (cpu_seconds([pg_pid] if pg_pid else []) - pg_cpu) / issued * 1e6
                )
                one = _bodies(serial, BATCH, "one")
                serial += BATCH
                wall, issued, _ = await http.post_teams(client, token, one, concurrency=1)
                single.values.append(issued / wall)
        profile = None
        if mode.profile:
            profile = await _profile(bench, token, out, serial)
    finally:
        server.stop()
        await conn.close()
    base = baseline.summary()["median"]
    teams_rate, single_rate = teams.summary()["median"], single.summary()["median"]
    best = max(teams_rate, single_rate)
    return {
        "batch": BATCH,
        "team_size": TEAM,
        "concurrency": CONCURRENCY,
        "baseline_raw_sign_copy_per_s": baseline.summary(),
        "api_40_teams_of_25_per_s": teams.summary(),
        "api_1_team_of_1000_per_s": single.summary(),
        "ratio_40x25": ratio(teams_rate, base),
        "ratio_1x1000": ratio(single_rate, base),
        "best": "40x25" if teams_rate >= single_rate else "1x1000",
        "target_rate_per_s": TARGET_RATE,
        "target_ratio": TARGET_RATIO,
        "meets_target": best >= TARGET_RATE and ratio(best, base) >= TARGET_RATIO,
        "team_request_latency_ms": {
            "p50": median(latencies) * 1000 if latencies else None,
        },
        "cpu_us_per_certificate_40x25": {k: median(v) for k, v in cpu.items()},
        "server_peak_rss_mib": server.peak_rss_mib,
        "profile": profile,
    }


async def _profile(
    bench: database.BenchDatabase, token: str, out: Path, serial: int
) -> dict[str, Any]:
    """The server under py-spy while it issues 2,000 certificates in teams of 25."""
    raw = out / "profile-issuance.txt"
    server = servers.start(bench, "app", SCHEMA, profile_file=raw)
    try:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=300) as client:
            for _ in range(2):
                await http.post_teams(
                    client, token, _bodies(serial, TEAM, "prof"), concurrency=CONCURRENCY
                )
                serial += BATCH
    finally:
        server.stop()
    await asyncio.sleep(0.5)
    return profiles.summarise_py_spy(raw)
