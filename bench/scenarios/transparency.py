"""The transparency log at the grown register's size: append rate and proof latency.

Append: batches of 1,000 'issued' events whose certificates are first inserted (untimed) in a
transaction; ``registry.transparency.log.append`` is timed, then the transaction is rolled back so
the register stays as it was. The baseline hashes the same leaves in memory: the same entry bytes,
leaf hashes and right-edge appends (``registry.transparency.merkle.RightEdge``), no database.
Proofs: ``merkle.prove_inclusion`` and ``prove_consistency`` through ``log.PostgresNodeStore`` (one
query each) for random leaves and old sizes, one after another on one connection; for scale, the in-
memory cost of checking the same proof is given beside it.
"""

from __future__ import annotations

import random
import time
from typing import Any

from bench import fill
from bench.measure import Mode, Spread, latency_summary, ratio
from bench.scenarios.growth import Growth
from registry.transparency import log, merkle, proofs
from registry.transparency.merkle import Hash, RightEdge

BATCH = 1000
TARGET_PROOF_MS = 2.0


def _events(rows: fill.Rows) -> list[log.Event]:
    out = []
    for event, certificate in zip(rows.events, rows.certificates, strict=True):
        event_id, number, jws, kid = event[0], event[1], certificate[6], certificate[4]
        assert isinstance(event_id, int)
        assert isinstance(number, str)
        out.append(
            log.Event(event_id, number, "issued", fill.ISSUED_AT, jws=str(jws), kid=str(kid))
        )
    return out


def _in_memory(edge: RightEdge, events: list[log.Event]) -> float:
    """Seconds to hash the events' leaves and append them to an in-memory right edge."""
    started = time.perf_counter()
    for event in events:
        edge, _nodes = edge.append(merkle.leaf_hash(log.entry_bytes(event)))
    return time.perf_counter() - started


async def _append_once(growth: Growth, serial: int) -> tuple[float, float]:
    """(database seconds, in-memory seconds) for one batch; the database work is rolled back."""
    conn = growth.conn
    tx = conn.transaction()
    await tx.start()
    try:
        head = await conn.fetchrow("SELECT size, edge FROM log_head")
        if head is None:
            raise RuntimeError("the log head is missing")
        edge = RightEdge(head["size"], tuple(Hash(bytes(h)) for h in head["edge"]))
        event_seq = await conn.fetchval("SELECT pg_get_serial_sequence('certificate_events', 'id')")
        first_event = int(await conn.fetchval("SELECT nextval($1::regclass)", event_seq))
        await conn.execute("SELECT setval($1::regclass, $2)", event_seq, first_event + BATCH)
        rows, _ = fill.generate(growth.renderer, serial, first_event, edge, BATCH)
        for table, records, columns in (
            ("teams", rows.teams, fill.COLUMNS["teams"]),
            ("participations", rows.participations, fill.COLUMNS["participations"]),
            ("certificates", rows.certificates, fill.COLUMNS["certificates"]),
            ("certificate_events", rows.events, fill.COLUMNS["certificate_events"]),
        ):
            await conn.copy_records_to_table(table, records=records, columns=columns)
        events = _events(rows)
        memory_s = _in_memory(edge, events)
        started = time.perf_counter()
        await log.append(conn, events)
        return time.perf_counter() - started, memory_s
    finally:
        await tx.rollback()


async def run(growth: Growth, mode: Mode) -> dict[str, Any]:
    conn = growth.conn
    size = int(await conn.fetchval("SELECT size FROM log_head"))
    append, memory = Spread([]), Spread([])
    serial = 800_000_000
    for _ in range(mode.repeats):
        db_s, memory_s = await _append_once(growth, serial)
        serial += BATCH
        append.values.append(BATCH / db_s)
        memory.values.append(BATCH / memory_s)
    rng = random.Random(9)
    nodes = log.PostgresNodeStore(conn)
    root = (await merkle.read_right_edge(nodes, size)).root()
    inclusion, consistency, check = [], [], []
    for _ in range(mode.proofs):
        index = rng.randrange(size)
        started = time.perf_counter()
        proof = await merkle.prove_inclusion(nodes, index, size)
        inclusion.append(time.perf_counter() - started)
        leaf = await conn.fetchval("SELECT leaf_hash FROM log_leaves WHERE idx = $1", index)
        started = time.perf_counter()
        proofs.verify_inclusion(
            leaf_hash=bytes(leaf), index=index, size=size, proof=proof, root=root
        )
        check.append(time.perf_counter() - started)
        old = rng.randrange(1, size)
        started = time.perf_counter()
        await merkle.prove_consistency(nodes, old, size)
        consistency.append(time.perf_counter() - started)
    incl, cons = latency_summary(inclusion), latency_summary(consistency)
    rate, base = append.summary()["median"], memory.summary()["median"]
    return {
        "log_size": size,
        "batch": BATCH,
        "append_leaves_per_s": append.summary(),
        "baseline_in_memory_hashing_per_s": memory.summary(),
        "append_ratio": ratio(rate, base),
        "inclusion_proof": incl,
        "consistency_proof": cons,
        "in_memory_inclusion_check": latency_summary(check),
        "proof_p99_vs_in_memory_check": ratio(incl["p99_ms"], latency_summary(check)["p99_ms"]),
        "target_proof_ms": TARGET_PROOF_MS,
        "meets_target": max(incl["p99_ms"], cons["p99_ms"]) <= TARGET_PROOF_MS,
        "note": "proof latency is one round trip to PostgreSQL on one connection, no HTTP",
    }
