"""Prometheus metrics, on a listener of their own (never on the public app)::

    prepare_multiprocess(settings)   # in the serve parent, before any worker process starts
    listener = start_listener(settings)  # AMU_METRICS_HOST:AMU_METRICS_PORT; None when port 0
    ...
    listener.stop()

Two kinds of metric, so that every process's share is counted and none is counted twice:

- counted where it happens, in every API process (``INSTRUMENTS``): request latency by route
  template, method and status; verification outcomes; the guessing limits' refusals. With
  ``prepare_multiprocess`` each process writes its values to files under ``<data dir>/metrics``
  (prometheus_client's multi-process mode) and the listener adds them up;
- read from the database when scraped (``DatabaseStats``): certificate events (issued,
  cancelled, revoked) from the register, delivery jobs by queue, state and channel, dead
  letters, the age of the oldest due job, the last worker heartbeat, the log's size and the age
  of its latest checkpoint. These are the same whichever process, worker or CLI made them.

No label carries a path, number, code, token or CPR number: routes are templates, the rest
fixed vocabularies (docs/operations.md, "Watching it", lists every metric).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CollectorRegistry, Counter, Histogram, values
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import start_http_server
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from issuers.delivery import stats_store as delivery_stats
from issuers.delivery import worker_store
from registry import db, stats_store
from registry.access_store import Channel
from registry.clock import Clock, system_clock
from registry.verification import VerificationStatus
from service.settings import Settings

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's; read in every process
UNMATCHED = "(unmatched)"  # the route of a request no route took (a 404 before routing)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_SCRAPE_TIMEOUT = 5.0  # seconds for the database's share of a scrape

_prepared: Path | None = None  # the folder prepare_multiprocess made, in this process

REGISTRY = CollectorRegistry(auto_describe=True)
"""This process's instruments, as tests and a single process without multi-process mode read
them; in multi-process mode the listener reads the files instead."""


class Instruments:
    """What API processes count as it happens."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.request_seconds = Histogram(
            "amu_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template, method and status",
            ["route", "method", "status"],
            registry=registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
        )
        self.verifications = Counter(
            "amu_verifications",
            "Verification lookups answered, by outcome and channel",
            ["outcome", "channel"],
            registry=registry,
        )
        self.rate_limit_refusals = Counter(
            "amu_rate_limit_refusals",
            "Lookups refused by the guessing limits (429), by channel",
            ["channel"],
            registry=registry,
        )


INSTRUMENTS = Instruments(REGISTRY)


class PrometheusVerifyObserver:
    """The ``registry.verify_observer.VerifyObserver`` port, counted in ``INSTRUMENTS``."""

    def __init__(self, instruments: Instruments) -> None:
        self._instruments = instruments

    def verified(self, status: VerificationStatus, channel: Channel) -> None:
        self._instruments.verifications.labels(status.value, channel.value).inc()

    def refused(self, channel: Channel) -> None:
        self._instruments.rate_limit_refusals.labels(channel.value).inc()


VERIFY_OBSERVER = PrometheusVerifyObserver(INSTRUMENTS)


class RequestMetrics:
    """ASGI wrapper timing every HTTP request by the route template Litestar matched (set on
    the scope while routing), never by the raw path::

        app.asgi_handler = RequestMetrics(app.asgi_handler)
    """

    def __init__(self, app: ASGIApp, instruments: Instruments = INSTRUMENTS) -> None:
        self.app = app
        self._instruments = instruments

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before answering

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            method = scope.get("method", "")
            self._instruments.request_seconds.labels(
                scope.get("path_template") or UNMATCHED,
                method if method in _METHODS else "OTHER",
                str(status),
            ).observe(time.perf_counter() - started)


def multiprocess_dir(settings: Settings) -> Path:
    return settings.data_dir / "metrics"


def prepare_multiprocess(settings: Settings) -> Path:
    """Empty ``<data dir>/metrics`` and put this process and every process it starts later
    into prometheus_client's multi-process mode there. Call it in the serve parent before any
    API process starts (their old files would otherwise be added to the new run's)."""
    folder = multiprocess_dir(settings)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, mode=0o700)
    # Worker processes inherit it and start in multi-process mode. This process imported
    # prometheus_client before: its value class was chosen then, so choose again (a labelled
    # metric makes its values, with this class, when first used).
    os.environ[MULTIPROC_VARIABLE] = str(folder)
    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]
    global _prepared  # noqa: PLW0603 - prometheus_client's mode is per process, like this
    _prepared = folder
    return folder


@dataclass(frozen=True, slots=True)
class _Read:
    register: stats_store.RegisterStats
    queues: list[delivery_stats.QueueStats]
    worker_seen: dt.datetime | None
    now: dt.datetime


class DatabaseStats(Collector):
    """The metrics read from the database at scrape time, on a connection of their own."""

    def __init__(self, dsn: str, *, schema: str | None, clock: Clock = system_clock) -> None:
        self._dsn = dsn
        self._schema = schema
        self._clock = clock

    async def _read(self) -> _Read:
        conn = await asyncpg.connect(
            self._dsn,
            timeout=_SCRAPE_TIMEOUT,
            server_settings=db.schema_settings(self._schema),
            command_timeout=_SCRAPE_TIMEOUT,
        )
        try:
            now = self._clock()
            return _Read(
                register=await stats_store.register_stats(conn),
                queues=await delivery_stats.queue_stats(conn, now=now),
                worker_seen=await worker_store.last_seen(conn),
                now=now,
            )
        finally:
            await conn.close()

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("amu_database_up", "1 when the scrape could read the database")
        try:
            read = asyncio.run(self._read())  # the listener's thread has no loop of its own
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from _register_metrics(read.register, read.now)
        yield from _delivery_metrics(read)


def _register_metrics(stats: stats_store.RegisterStats, now: dt.datetime) -> Iterator[Metric]:
    events = CounterMetricFamily(
        "amu_certificate_events",
        "Certificates issued, cancelled and revoked, as the register holds them",
        labels=["kind"],
    )
    for kind in ("issued", "cancelled", "revoked"):
        events.add_metric([kind], stats.events.get(kind, 0))
    yield events
    yield GaugeMetricFamily(
        "amu_transparency_log_size", "Leaves in the transparency log", value=stats.log_size
    )
    if stats.checkpoint_signed_at is not None:
        yield GaugeMetricFamily(
            "amu_transparency_checkpoint_age_seconds",
            "Seconds since the latest checkpoint was signed",
            value=(now - stats.checkpoint_signed_at).total_seconds(),
        )


def _delivery_metrics(read: _Read) -> Iterator[Metric]:
    jobs = GaugeMetricFamily(
        "amu_delivery_jobs",
        "Delivery jobs by queue (certificate or document), state and channel",
        labels=["queue", "state", "channel"],
    )
    dead = GaugeMetricFamily(
        "amu_delivery_dead_letters", "Dead-lettered delivery jobs by queue", labels=["queue"]
    )
    oldest = GaugeMetricFamily(
        "amu_delivery_oldest_due_job_age_seconds",
        "Seconds the oldest due pending job has waited past its run time (0: none due)",
        labels=["queue"],
    )
    for queue in read.queues:
        for count in queue.counts:
            jobs.add_metric([queue.queue, count.state, count.channel], count.jobs)
        dead.add_metric([queue.queue], queue.dead)
        oldest.add_metric([queue.queue], queue.oldest_due_seconds)
    yield from (jobs, dead, oldest)
    if read.worker_seen is not None:
        yield GaugeMetricFamily(
            "amu_delivery_worker_last_seen_age_seconds",
            "Seconds since any delivery worker's last heartbeat",
            value=max(0.0, (read.now - read.worker_seen).total_seconds()),
        )


def scrape_registry(settings: Settings, *, multiprocess: Path | None) -> CollectorRegistry:
    """What the listener serves: every process's instruments and the database's figures."""
    registry = CollectorRegistry()
    if multiprocess is not None:
        MultiProcessCollector(registry, path=str(multiprocess))  # type: ignore[no-untyped-call]
    else:
        registry.register(_Forward(REGISTRY))
    if settings.database_url is not None:
        registry.register(DatabaseStats(settings.database_url, schema=settings.database_schema))
    return registry


class _Forward(Collector):
    """This process's own instruments, when there are no multi-process files."""

    def __init__(self, source: CollectorRegistry) -> None:
        self._source = source

    def collect(self) -> Iterator[Metric]:
        yield from self._source.collect()


@dataclass
class Listener:
    """The metrics listener; ``stop`` closes it."""

    server: WSGIServer
    host: str
    port: int

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_listener(settings: Settings) -> Listener | None:
    """Serve the metrics on ``AMU_METRICS_HOST:AMU_METRICS_PORT`` in a thread (none when the
    port is 0). Uses the multi-process files when ``prepare_multiprocess`` ran. Raises OSError
    when the port is taken."""
    watch = settings.watch
    if watch.metrics_port == 0:
        return None
    folder = multiprocess_dir(settings)
    multiprocess = folder if _prepared == folder else None
    server, _thread = start_http_server(
        watch.metrics_port,
        addr=watch.metrics_host,
        registry=scrape_registry(settings, multiprocess=multiprocess),
    )
    return Listener(server, watch.metrics_host, server.server_port)
