"""What the delivery tests share: the local Digital Post test server on a real port, a worker
wired to it, teams of many participants, and bounded waiting."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from formats.pdf_layout import render_unsigned
from formats.record import CertificateRecord
from issuers.delivery.backoff import Backoff
from issuers.delivery.digitalpost import GatewayDigitalPost
from issuers.delivery.eboks import GatewayEboks
from issuers.delivery.ports import Documents
from issuers.delivery.spool import FolderPrintSpool
from issuers.delivery.worker import Channels, Worker, WorkerPolicy
from issuers.document_keys import DocumentSigners
from issuers.documents import CertificateDocuments
from registry import db
from registry.db import Connection
from registry.keys import MemoryKeyStore
from service.settings import Settings
from service.testserver import DigitalPostTestServer, RunningServer, serve_in_thread
from tests.externals import require_shared

MEMO_SCHEMA = "memo-xsd/Version1.2/MeMo_core.xsd"


def memo_schema() -> Path:
    return require_shared(MEMO_SCHEMA)


@contextmanager
def running_test_server(
    exempt: tuple[str, ...] = (),
) -> Iterator[tuple[DigitalPostTestServer, str]]:
    """The test server on 127.0.0.1 and an ephemeral port, stopped afterwards."""
    server = DigitalPostTestServer(schema=memo_schema(), exempt=exempt)
    running: RunningServer = serve_in_thread(server)
    try:
        yield server, running.url
    finally:
        running.stop()


def participants(count: int) -> list[dict[str, Any]]:
    """``count`` participants who all passed, with distinct well-formed CPR numbers."""
    return [
        {
            "cpr": f"{i % 28 + 1:02d}0{i // 28 % 9 + 1}90-{1000 + i}",
            "name": f"Deltager {i}",
            "exam": "passed",
        }
        for i in range(count)
    ]


def fast_policy(**changes: Any) -> WorkerPolicy:
    """Short leases and backoff so retries happen in a test's time."""
    values: dict[str, Any] = {
        "lease": dt.timedelta(seconds=5),
        "backoff": Backoff(base=dt.timedelta(milliseconds=20), cap=dt.timedelta(milliseconds=200)),
        "recheck": dt.timedelta(hours=1),
        "poll": dt.timedelta(milliseconds=20),
    }
    values.update(changes)
    return WorkerPolicy(**values)


def real_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UnsignedPdfDocuments(CertificateDocuments):
    """The documents with the PDF/A page left unsigned, for tests of the delivery machinery:
    the schools need no document certificates. The MeMo message is the real one."""

    def __init__(
        self, public_base_url: str = "http://testserver.local", *, memo_schema: Path | None
    ) -> None:
        keys = MemoryKeyStore()
        super().__init__(
            keys,
            DocumentSigners(keys),
            real_clock,
            public_base_url=public_base_url,
            memo_schema=memo_schema,
        )
        self._verify_base_url = public_base_url

    async def pdf(
        self,
        conn: Connection,  # noqa: ARG002 - the port's signature; nothing to look up
        record: CertificateRecord,
        *,
        code: str,
    ) -> bytes:
        return await asyncio.to_thread(
            render_unsigned,
            record,
            code=code,
            verify_base_url=self._verify_base_url,
            created=record.issued_at,
        )


@dataclass
class Harness:
    pool: asyncpg.Pool
    http: httpx.AsyncClient
    url: str
    spool_dir: Path

    def worker(
        self,
        *,
        policy: WorkerPolicy | None = None,
        name: str = "test",
        documents: Documents | None = None,
        clock: Callable[[], dt.datetime] = real_clock,
    ) -> Worker:
        channels = Channels(
            digital_post=GatewayDigitalPost(self.http, self.url),
            eboks=GatewayEboks(self.http, f"{self.url}/eboks"),
            spool=FolderPrintSpool(self.spool_dir),
        )
        return Worker(
            self.pool,
            channels,
            documents or UnsignedPdfDocuments(memo_schema=memo_schema()),
            policy or fast_policy(),
            clock,
            name=name,
        )


@asynccontextmanager
async def harness(
    settings: Settings, url: str, *, http_timeout: float = 2.0, pool_size: int = 6
) -> AsyncIterator[Harness]:
    """A pool into the test's schema and an HTTP client with a short timeout."""
    assert settings.database_url is not None
    pool = await db.create_pool(
        settings.database_url, schema=settings.database_schema, size=pool_size
    )
    try:
        async with httpx.AsyncClient(timeout=http_timeout) as http:
            yield Harness(pool, http, url, settings.data_dir / "print-spool")
    finally:
        await pool.close()


async def wait_until(
    check: Callable[[], Awaitable[bool]], *, within: float, what: str, step: float = 0.05
) -> None:
    """Poll ``check`` until it holds; fail after ``within`` seconds (every loop is bounded)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(step)
    raise AssertionError(f"not within {within} s: {what}")


async def drain(worker: Worker, *, max_jobs: int = 1000) -> int:
    """Run due jobs one by one until none is due; how many ran."""
    for done in range(max_jobs):
        if not await worker.run_once():
            return done
    raise AssertionError(f"more than {max_jobs} jobs: a loop?")


async def job_states(conn: asyncpg.Connection) -> dict[str, str]:
    rows = await conn.fetch(
        "SELECT certificate_number, purpose, state FROM delivery_jobs ORDER BY id"
    )
    return {f"{r['certificate_number']}/{r['purpose']}": r["state"] for r in rows}
