"""Prometheus metrics: what a scrape says moves with what the service does; every process's
counts are added up in multi-process mode; the listener is its own, never the public app's; and
no label carries a number, code, token or CPR number."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import asyncpg
import httpx
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from issuers.delivery.digitalpost import MemoryDigitalPost
from issuers.delivery.eboks import MemoryEboks
from issuers.delivery.spool import FolderPrintSpool
from issuers.delivery.worker import Channels, Worker
from registry import db
from service import metrics
from service.settings import Settings, WatchSettings
from tests.conftest import NOW, Demo, FixedClock
from tests.helpers import ASE, BO, Client, post_team, team_body
from tests.processes import free_port
from tests.service.digitalpost.support import UnsignedPdfDocuments, drain, fast_policy

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
TEAMS = "/api/schools/{school_id}/teams"


def _parse(text: str) -> Samples:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def _scrape(settings: Settings, clock: FixedClock) -> tuple[str, Samples]:
    """A scrape, as the listener's thread makes it (outside the event loop)."""
    return await asyncio.to_thread(_scrape_now, settings, clock)


def _scrape_now(settings: Settings, clock: FixedClock) -> tuple[str, Samples]:
    registry = metrics.scrape_registry(settings, multiprocess=None)
    for collector in list(registry._collector_to_names):
        if isinstance(collector, metrics.DatabaseStats):
            collector._clock = clock  # the database's figures at the test's time
    text = generate_latest(registry).decode()
    return text, _parse(text)


async def _deliver_all(settings: Settings, clock: FixedClock, spool: Path) -> int:
    """Run a worker with in-memory channels until no job is due; the jobs it handled."""
    assert settings.database_url is not None
    pool = await db.create_pool(settings.database_url, schema=settings.database_schema, size=2)
    try:
        channels = Channels(MemoryDigitalPost(), MemoryEboks(), FolderPrintSpool(spool / "s"))
        worker = Worker(
            pool,
            channels,
            UnsignedPdfDocuments(memo_schema=None),
            fast_policy(),
            clock,
            name="metrics",
        )
        return await drain(worker)
    finally:
        await pool.close()


async def test_a_scrape_moves_with_issuing_verifying_and_delivering(
    client: Client,
    seeded: Demo,
    settings: Settings,
    clock: FixedClock,
    conn: asyncpg.Connection,
    tmp_path: Path,
) -> None:
    _, before = await _scrape(settings, clock)
    assert _value(before, "amu_database_up") == 1
    issued = await post_team(client, seeded.public, team_body())
    assert issued.status_code == 201, issued.text
    certificate = issued.json()["participants"][0]["certificate"]
    number, code = certificate["number"], certificate["verificationCode"]
    school = seeded.school(seeded.public)

    assert (await client.get(f"/api/verify/{number}", params={"code": code})).status_code == 200
    wrong = await client.post(f"/api/verify/{number}", json={"code": "AAAA-AAAA"})
    assert wrong.json()["status"] == "unknown"
    for attempt in range(12):  # past the per-number limit of 10 wrong codes
        await client.post(f"/api/verify/{number}", json={"code": f"BBBB-{attempt:04d}"})
    revoked = await client.post(
        f"/api/schools/751234/certificates/{number}/revocation",
        json={"reason": "fraud"},
        headers={**school, "Idempotency-Key": "revoke-1"},
    )
    assert revoked.status_code == 201, revoked.text
    assert (await client.get("/api/log/checkpoint")).status_code == 200
    await client.get("/no/such/page/010190-1234")

    clock.now = NOW + dt.timedelta(seconds=90)  # the job has waited 90 s past its run time
    text, after = await _scrape(settings, clock)

    def delta(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert delta("amu_certificate_events_total", kind="issued") == 1  # one of two passed
    assert delta("amu_certificate_events_total", kind="revoked") == 1
    assert delta("amu_certificate_events_total", kind="cancelled") == 0
    assert delta("amu_verifications_total", outcome="valid", channel="verify-api") == 1
    assert delta("amu_verifications_total", outcome="unknown", channel="verify-api") == 10
    assert delta("amu_rate_limit_refusals_total", channel="verify-api") == 3
    posted = {"route": TEAMS, "method": "POST", "status": "201"}
    assert delta("amu_http_request_duration_seconds_count", **posted) == 1
    assert (
        delta(
            "amu_http_request_duration_seconds_count",
            route="/api/verify/{number}",
            method="POST",
            status="429",
        )
        == 3
    )
    assert (
        delta(
            "amu_http_request_duration_seconds_count",
            route="(unmatched)",
            method="GET",
            status="404",
        )
        == 1
    )
    jobs = {"queue": "certificate", "state": "pending", "channel": "none"}
    assert _value(after, "amu_delivery_jobs", **jobs) == 1
    assert _value(after, "amu_delivery_oldest_due_job_age_seconds", queue="certificate") == 90
    assert _value(after, "amu_delivery_dead_letters", queue="certificate") == 0
    log_size = await conn.fetchval("SELECT size FROM log_head")
    assert _value(after, "amu_transparency_log_size") == log_size > 0
    assert _value(after, "amu_transparency_checkpoint_age_seconds") == 90
    # No label carries what a request named: not the number, the code, the CPR number.
    for secret in (number, code, ASE, BO, "010190", "AAAA-AAAA", seeded.public):
        assert secret not in text

    # The worker delivers the job; a dead letter shows as one.
    # Revoked before delivery: refused for good, so dead-lettered at once.
    assert await _deliver_all(settings, clock, tmp_path) == 1
    _, delivered = await _scrape(settings, clock)
    assert _value(delivered, "amu_delivery_jobs", **jobs) == 0
    assert _value(delivered, "amu_delivery_dead_letters", queue="certificate") == 1
    assert _value(delivered, "amu_delivery_oldest_due_job_age_seconds", queue="certificate") == 0


async def test_delivered_jobs_are_counted_by_channel(
    client: Client, seeded: Demo, settings: Settings, clock: FixedClock, tmp_path: Path
) -> None:
    both = [
        {"cpr": ASE, "name": "Åse Ødegård", "exam": "passed"},
        {"cpr": BO, "name": "Bo Jensen", "exam": "passed"},
    ]
    assert (await post_team(client, seeded.public, team_body(both))).status_code == 201
    assert await _deliver_all(settings, clock, tmp_path) == 2
    _, samples = await _scrape(settings, clock)
    delivered = {"queue": "certificate", "state": "delivered", "channel": "digital-post"}
    assert _value(samples, "amu_delivery_jobs", **delivered) == 2


async def test_the_database_being_away_is_a_metric_not_an_error(
    settings: Settings, clock: FixedClock
) -> None:
    away = dataclasses.replace(settings, database_url=f"postgresql://x@127.0.0.1:{free_port()}/x")
    _, samples = await _scrape(away, clock)
    assert _value(samples, "amu_database_up") == 0
    assert ("amu_delivery_jobs", ()) not in samples


async def test_the_listener_is_its_own_and_the_public_app_has_no_metrics(
    client: Client, settings: Settings
) -> None:
    assert (await client.get("/metrics")).status_code == 404
    port = free_port()
    own = dataclasses.replace(settings, watch=WatchSettings(metrics_port=port))
    listener = metrics.start_listener(own)
    assert listener is not None
    try:
        assert (listener.host, listener.port) == ("127.0.0.1", port)
        answer = await asyncio.to_thread(httpx.get, f"http://127.0.0.1:{port}/metrics")
        assert answer.status_code == 200
        assert "amu_database_up 1.0" in answer.text
        assert "amu_http_request_duration_seconds" in answer.text
    finally:
        listener.stop()
    off = dataclasses.replace(settings, watch=WatchSettings(metrics_port=0))
    assert metrics.start_listener(off) is None


MULTIPROCESS = textwrap.dedent(
    """
    import json, multiprocessing, sys
    from pathlib import Path

    import httpx

    from registry.access_store import Channel
    from registry.verification import VerificationStatus
    from service import metrics
    from service.settings import Settings, WatchSettings

    def count(times):
        for _ in range(times):
            metrics.VERIFY_OBSERVER.verified(VerificationStatus.VALID, Channel.VERIFY_PAGE)

    if __name__ == "__main__":
        data, port = Path(sys.argv[1]), int(sys.argv[2])
        settings = Settings(data_dir=data, watch=WatchSettings(metrics_port=port))
        folder = metrics.prepare_multiprocess(settings)
        spawn = multiprocessing.get_context("spawn")  # as uvicorn starts its workers
        children = [spawn.Process(target=count, args=(n,)) for n in (2, 3)]
        for child in children:
            child.start()
        for child in children:
            child.join()
        count(1)
        listener = metrics.start_listener(settings)
        try:
            text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
        finally:
            listener.stop()
        files = sorted(p.name for p in folder.iterdir())
        print(json.dumps({"text": text, "files": files}))
    """
)


def test_every_process_counts_into_one_scrape_in_multiprocess_mode(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "metrics").mkdir(parents=True)
    (data / "metrics" / "counter_999999.db").write_bytes(b"left by a previous run")
    script = tmp_path / "multi.py"
    script.write_text(MULTIPROCESS)
    port = free_port()
    done = subprocess.run(  # noqa: S603 - this interpreter and a script of this test
        [sys.executable, str(script), str(data), str(port)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    samples = _parse(answer["text"])
    # 2 + 3 in two spawned processes, 1 in the parent; the previous run's file was wiped.
    assert _value(samples, "amu_verifications_total", outcome="valid", channel="verify-page") == 6
    assert "counter_999999.db" not in answer["files"]
    assert len([f for f in answer["files"] if f.startswith("counter_")]) == 3
