"""The service on a real port for a real browser: uvicorn in a thread with its own event loop,
on a socket bound to 127.0.0.1 port 0, over one database schema.

    with LiveServer(database_url, schema, tmp_path, clock) as live:
        tokens = live.seed()                      # the demo schools' API credentials
        live.issue(tokens.public, team_body())    # over real HTTP
        live.run(some_coroutine(conn))            # anything on the server's own loop

Used by the browser tests and by ``scripts/screenshots``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import secrets
import socket
import threading
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import asyncpg
import httpx
import uvicorn

from registry import db
from registry.keys import MemoryKeyStore
from service import demo, migrations
from service.app import create_app
from service.settings import Settings

_T = TypeVar("_T")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def run_apart(coroutine: Coroutine[Any, Any, _T]) -> _T:
    """Run ``coroutine`` to completion on a fresh loop in its own thread: Playwright's sync API
    keeps an event loop running in the test's thread, so no other loop may run there."""
    out: list[_T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            out.append(asyncio.run(coroutine))
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
            errors.append(e)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return out[0]


@contextmanager
def fresh_schema(
    database_url: str,
    *,
    owner: str | None = None,
    owner_url: str | None = None,
    service: str | None = None,
) -> Iterator[str]:
    """A new schema, migrated (by ``owner`` with grants to ``service`` when given; the app only
    checks that it is), dropped afterwards."""
    name = f"t_{secrets.token_hex(6)}"

    async def execute(statement: str) -> None:
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    async def migrate() -> None:
        conn = await asyncpg.connect(
            owner_url or database_url, server_settings={"search_path": name}
        )
        try:
            await migrations.apply(conn, service_role=service)
        finally:
            await conn.close()

    run_apart(execute(f"CREATE SCHEMA {name}" + (f" AUTHORIZATION {owner}" if owner else "")))
    try:
        run_apart(migrate())
        yield name
    finally:
        run_apart(execute(f"DROP SCHEMA {name} CASCADE"))


@dataclass(frozen=True)
class SchoolTokens:
    public: str  # 751234 Erhvervsskolen Nordvest
    private: str  # 863410 Kursuscenter Øresund ApS


class LiveServer:
    def __init__(
        self,
        database_url: str,
        schema: str,
        data_dir: Path,
        clock: Callable[[], dt.datetime],
        *,
        service_url: str | None = None,
        settings_changes: dict[str, Any] | None = None,
    ) -> None:
        """``database_url`` seeds and edits (tests); the app connects as ``service_url``;
        ``settings_changes`` replaces fields of the settings (e.g. the identity provider)."""
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        port = self._sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}"
        self._database_url = database_url
        self._schema = schema
        self._clock = clock
        self.keys = MemoryKeyStore()
        settings = Settings(
            database_url=service_url or database_url,
            database_schema=schema,
            database_pool_size=4,
            data_dir=data_dir,
            key_store="memory",
            public_base_url=self.base_url,
            port=port,
        )
        settings = dataclasses.replace(settings, **(settings_changes or {}))
        app = create_app(settings, keys=self.keys, clock=clock)
        config = uvicorn.Config(
            app,
            log_level="warning",
            ws="none",
            lifespan="on",
            loop="asyncio",
            http="h11",
            proxy_headers=False,  # as `amu-bevis serve` runs it (service/proxies.py)
        )
        self._server = uvicorn.Server(config)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name="live-server", daemon=True)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._server.serve(sockets=[self._sock]))

    def __enter__(self) -> LiveServer:
        self._thread.start()
        for _ in range(300):
            if self._server.started:
                return self
            if not self._thread.is_alive():
                break
            threading.Event().wait(0.05)
        raise RuntimeError("the live server did not start")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=20)
        self._loop.close()
        self._sock.close()

    def run(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        """Run ``coroutine`` on the server's loop (where its database pool lives)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=60)

    def sql(self, query: str, *args: Any) -> None:
        """Run one statement in the server's schema (e.g. a revocation event, in tests)."""

        async def execute() -> None:
            conn = await asyncpg.connect(
                self._database_url, server_settings=db.schema_settings(self._schema)
            )
            try:
                await conn.execute(query, *args)
            finally:
                await conn.close()

        self.run(execute())

    def seed(self) -> SchoolTokens:
        async def seed() -> list[demo.DemoCredential]:
            conn = await asyncpg.connect(
                self._database_url, server_settings=db.schema_settings(self._schema)
            )
            try:
                return await demo.seed_demo(conn, self.keys, now=self._clock())
            finally:
                await conn.close()

        made = {c.school_id: c.token for c in self.run(seed())}
        return SchoolTokens(public=made["751234"], private=made["863410"])

    def issue(
        self, token: str, body: dict[str, Any], *, school: str = "751234"
    ) -> list[dict[str, Any]]:
        """Report a team over HTTP; the participants as the API answers them."""
        response = httpx.post(
            f"{self.base_url}/api/schools/{school}/teams",
            json=body,
            headers={
                "Authorization": f"Bearer {token}",
                "Idempotency-Key": body["team"]["reference"],
            },
            timeout=30,
        )
        response.raise_for_status()
        participants: list[dict[str, Any]] = response.json()["participants"]
        return participants
