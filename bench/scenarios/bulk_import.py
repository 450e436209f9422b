"""The bulk import (``amu-bevis import-results``'s path) against raw Ed25519 signing + COPY.

100,000 participants who all pass (20,000 in quick mode), in teams of 25, go through
``issuers.bulk_issuing.BulkIssuer`` in batches of 50 teams, as the command sends them: the
API's checks, rules and signing, COPY into staging tables, the register's intake with delivery
jobs and log leaves. The file reading is left out (it is the command's, and linear). The
baseline is the issuance scenario's: the same records' canonical bytes signed with the same key
and COPYed, measured before and after in the same run; the median is the figure.
"""

from __future__ import annotations

from typing import Any

import msgspec

from bench import database, fill, http
from bench.measure import Mode, Spread, Stopwatch, ratio
from bench.scenarios import issuance
from issuers.bulk_issuing import BATCH_TEAMS, IN_FLIGHT, BulkIssuer, TeamToImport
from issuers.certifying import Certifier
from issuers.delivery.outbox import PostgresOutbox
from issuers.requests import TeamResultsIn
from registry import db
from registry.clock import system_clock

SCHEMA = "bench_bulk"
TEAM = 25
TARGET_RATIO = 0.25


def _participants(mode: Mode) -> int:
    return 100_000 if mode.name == "full" else 20_000


def _teams(first: int, count: int) -> list[TeamToImport]:
    teams = []
    for serial in range(first, first + count, TEAM):
        body = http.team_body(serial, TEAM, tag="bulk")
        teams.append(TeamToImport(msgspec.json.decode(body, type=TeamResultsIn), lines=()))
    return teams


async def run(bench: database.BenchDatabase, mode: Mode) -> dict[str, Any]:
    conn, _tokens = await database.fresh_schema(bench, SCHEMA)
    await conn.execute(
        "CREATE TABLE bench_baseline (number text PRIMARY KEY, payload bytea NOT NULL, "
        "signature bytea NOT NULL)"
    )
    issuing = await fill.issuing_context(conn, bench.keys())
    pool = await db.create_pool(bench.dsn, schema=SCHEMA, size=IN_FLIGHT)
    certifier = Certifier(
        bench.keys(), verify_base_url="http://127.0.0.1/tjek", outbox=PostgresOutbox(max_failures=8)
    )
    bulk = BulkIssuer(pool, certifier, system_clock)
    baseline = Spread([])
    count = _participants(mode)
    serial = 1
    try:
        await bulk.import_batch(fill.SCHOOL_ID, _teams(800_000_000, 10 * TEAM))  # warm-up
        await issuance.raw_sign_copy_rate(conn, issuing, issuance.payloads(issuing, 950_000_000))
        for _ in range(max(1, mode.repeats // 2)):
            payloads = issuance.payloads(issuing, serial)
            baseline.values.append(await issuance.raw_sign_copy_rate(conn, issuing, payloads))
            serial += issuance.BATCH
        teams = _teams(1, count)
        with Stopwatch() as watch:
            outcome = await bulk.import_teams(fill.SCHOOL_ID, teams)
        if outcome.refused:
            raise RuntimeError(f"the bulk import refused: {outcome.refused[0][1]}")
        issued, participants = outcome.certificates, outcome.participants
        for _ in range(max(1, mode.repeats - mode.repeats // 2)):
            payloads = issuance.payloads(issuing, serial)
            baseline.values.append(await issuance.raw_sign_copy_rate(conn, issuing, payloads))
            serial += issuance.BATCH
    finally:
        await pool.close()
        await conn.close()
    base = baseline.summary()["median"]
    wall = watch.wall
    rate = issued / wall
    return {
        "participants": participants,
        "certificates": issued,
        "team_size": TEAM,
        "teams_per_batch": BATCH_TEAMS,
        "batches_in_flight": IN_FLIGHT,
        "seconds": round(wall, 2),
        "bulk_per_s": rate,
        "client_cpu_us_per_certificate": watch.cpu / issued * 1e6,
        "baseline_raw_sign_copy_per_s": baseline.summary(),
        "ratio": ratio(rate, base),
        "target_ratio": TARGET_RATIO,
        "meets_target": ratio(rate, base) >= TARGET_RATIO,
    }
