"""Running delivery: the ``amu-bevis worker`` process, and the demo's worker inside ``serve``::

    run_worker_process(settings)          # blocks; SIGTERM or SIGINT finish the jobs in hand
    local = start_local_delivery(settings)  # serve: worker (and demo test server) in threads
    ...
    local.stop()

The worker builds its own pool and HTTP client from the settings; nothing is shared with the app.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import threading
import uuid
from dataclasses import dataclass, field

from issuers.delivery.worker import Worker
from issuers.delivery.worker_store import WorkerIdentity
from registry import db
from registry.clock import Clock
from service.adapters import (
    channels_for,
    documents_for,
    key_store_for,
    memo_schema_for,
    policy_for,
)
from service.settings import Settings
from service.testserver import DigitalPostTestServer, RunningServer, serve_in_thread

log = logging.getLogger(__name__)


async def run_worker(settings: Settings, stop: asyncio.Event, *, clock: Clock) -> None:
    """Deliver until ``stop`` is set, with ``settings.delivery.concurrency`` jobs in hand."""
    if settings.database_url is None:
        raise ValueError("the worker needs settings.database_url")
    d = settings.delivery
    pool = await db.create_pool(
        settings.database_url, schema=settings.database_schema, size=d.concurrency + 1
    )
    try:
        async with channels_for(settings, pool) as channels:
            worker = Worker(
                pool,
                channels,
                documents_for(settings, key_store_for(settings), clock),
                policy_for(settings),
                clock,
                name=f"{socket.gethostname()}:{os.getpid()}",
            )
            me = WorkerIdentity(uuid.uuid4(), socket.gethostname(), os.getpid(), clock())
            log.info("delivery worker %s started with %d slots", me.worker_id, d.concurrency)
            # Its heartbeat is what /health/ready looks for (service/readiness.py).
            await worker.run(stop, concurrency=d.concurrency, heartbeat=me)
    finally:
        await pool.close()
    log.info("delivery worker stopped")


def run_worker_process(settings: Settings, *, clock: Clock) -> None:
    """``amu-bevis worker``: deliver until SIGTERM or SIGINT."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await run_worker(settings, stop, clock=clock)

    asyncio.run(main())


@dataclass
class LocalDelivery:
    """What ``serve`` started for the demo; ``stop`` ends it."""

    test_server: RunningServer | None = None
    worker: threading.Thread | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _stop: asyncio.Event | None = None
    _ready: threading.Event = field(default_factory=threading.Event)

    def stop(self, timeout: float = 10.0) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self.worker is not None:
            self.worker.join(timeout)
        if self.test_server is not None:
            self.test_server.stop(timeout)


def start_local_delivery(settings: Settings, *, clock: Clock) -> LocalDelivery:
    """Start a worker and, in demo mode, the local Digital Post test server at
    ``digital_post_url``, as the delivery settings ask (``serve_worker``, ``serve_test_server``).
    A taken port is logged and skipped: another local test server (another ``serve``) is then
    the one delivered to."""
    d = settings.delivery
    local = LocalDelivery()
    # The start checks refuse the test server outside demo mode; never start it there anyway.
    if settings.demo and d.serve_test_server and d.digital_post == "test-server":
        host, _, port = d.digital_post_url.removeprefix("http://").rstrip("/").partition(":")
        if host in {"127.0.0.1", "localhost"} and port.isdigit():
            server = DigitalPostTestServer(schema=memo_schema_for(settings))
            try:
                local.test_server = serve_in_thread(server, host="127.0.0.1", port=int(port))
                log.info("local Digital Post test server on %s", local.test_server.url)
            except OSError:
                log.warning("port %s is taken; not starting the Digital Post test server", port)
    if d.serve_worker:

        def work() -> None:
            async def main() -> None:
                local._loop = asyncio.get_running_loop()
                local._stop = asyncio.Event()
                local._ready.set()
                await run_worker(settings, local._stop, clock=clock)

            try:
                asyncio.run(main())
            except Exception:
                log.exception("the in-process delivery worker stopped")
                local._ready.set()

        local.worker = threading.Thread(target=work, name="delivery-worker", daemon=True)
        local.worker.start()
        local._ready.wait(10)
    return local
