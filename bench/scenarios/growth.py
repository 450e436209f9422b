"""Growth: issuance cost per certificate and lookup latency as the register grows.

The register is filled to each size with bench/fill.py (realistic rows and real log leaves
through COPY, then VACUUM ANALYZE), and at each size the product's server, running all along,
issues teams of 25 over HTTP and answers sequential verification lookups of certificates drawn
from the whole register. The baseline is the same measurement at the smallest size.
"""

from __future__ import annotations

import time
from typing import Any

import asyncpg
import httpx

from bench import database, fill, http, servers
from bench.measure import Mode, Spread, latency_summary, median, ratio

SCHEMA = "bench_growth"
TEAMS_PER_REPEAT = 8
CONCURRENCY = 4
TARGET_RATIO = 1.2
_TABLES = ("certificates", "participations", "certificate_events", "log_leaves", "log_nodes")


class Growth:
    """The grown register, kept for the scenarios that need a large one."""

    def __init__(self, conn: asyncpg.Connection, token: str, renderer: fill.Renderer) -> None:
        self.conn = conn
        self.token = token
        self.renderer = renderer
        self.serials: list[tuple[int, int]] = []
        self.size = 0


async def _disk(conn: asyncpg.Connection) -> dict[str, float]:
    out = {}
    for table in _TABLES:
        size = await conn.fetchval("SELECT pg_total_relation_size($1::regclass)", table)
        out[table] = round(int(size) / 2**20, 1)
    return out


async def run(bench: database.BenchDatabase, mode: Mode) -> tuple[dict[str, Any], Growth]:
    conn, tokens = await database.fresh_schema(bench, SCHEMA)
    growth = Growth(
        conn,
        tokens[fill.SCHOOL_ID],
        fill.Renderer(await fill.issuing_context(conn, bench.keys())),
    )
    server = servers.start(bench, "app", SCHEMA)
    points: list[dict[str, Any]] = []
    serial = 500_000_000
    try:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=300) as client:
            for target in mode.sizes:
                current = int(await conn.fetchval("SELECT count(*) FROM certificates"))
                started = time.perf_counter()
                report = await fill.fill(conn, growth.renderer, max(0, target - current))
                fill_s = time.perf_counter() - started
                growth.serials.extend(report.serials)
                cost = Spread([])
                for _ in range(mode.repeats):
                    bodies = [
                        http.team_body(serial + i * 25, 25, tag=f"g{target}")
                        for i in range(TEAMS_PER_REPEAT)
                    ]
                    serial += TEAMS_PER_REPEAT * 25
                    wall, issued, _ = await http.post_teams(
                        client, growth.token, bodies, concurrency=CONCURRENCY
                    )
                    cost.values.append(wall / issued * 1e6)
                paths = [
                    f"/api/verify/{number}?code={code}"
                    for number, code in fill.lookups(growth.serials, mode.lookups, seed=target)
                ]
                await http.get_latencies(client, paths[:10], expect='"valid"')  # warm-up
                lookups = latency_summary(await http.get_latencies(client, paths, expect='"valid"'))
                growth.size = int(await conn.fetchval("SELECT size FROM log_head"))
                points.append(
                    {
                        "registry_size": growth.size,
                        "target_size": target,
                        "fill": {
                            "added": report.added,
                            "seconds": round(fill_s, 1),
                            "rows_per_s": round(report.added / fill_s) if report.added else None,
                            "generate_s": round(report.generate_s, 1),
                            "copy_s": round(report.copy_s, 1),
                            "vacuum_analyze_s": round(report.vacuum_s, 1),
                            "foreign_keys_checked": report.foreign_keys_checked,
                        },
                        "issue_us_per_certificate": cost.summary(),
                        "issue_certificates_per_s": 1e6 / median(cost.values),
                        "verify_lookup": lookups,
                        "disk_mib": await _disk(conn),
                    }
                )
    finally:
        server.stop()
    first = points[0]
    for point in points:
        point["issue_cost_ratio_vs_first"] = ratio(
            point["issue_us_per_certificate"]["median"], first["issue_us_per_certificate"]["median"]
        )
        point["lookup_p50_ratio_vs_first"] = ratio(
            point["verify_lookup"]["p50_ms"], first["verify_lookup"]["p50_ms"]
        )
    last = points[-1]
    worst = max(last["issue_cost_ratio_vs_first"], last["lookup_p50_ratio_vs_first"])
    return {
        "sizes": [p["target_size"] for p in points],
        "points": points,
        "target_ratio": TARGET_RATIO,
        "meets_target": worst <= TARGET_RATIO,
        "largest_size": last["registry_size"],
        "server_peak_rss_mib": server.peak_rss_mib,
        "note": (
            "lookups are sequential GET /api/verify on one connection: latency is service time"
        ),
    }, growth
