"""The checks behind ``/health/ready`` (``service.api.health`` answers with them)::

    readiness = ServiceReadiness(pool, keys, clock, worker_within=dt.timedelta(seconds=120))
    [c.name for c in await readiness.checks() if not c.ok]   # e.g. ["delivery-worker"]

- ``database``: a connection from the pool answers within ``TIMEOUT``;
- ``migrations``: every migration of this release is applied (``migrations.require_current``);
- ``signing-keys``: the key store holds the private key of every school's active signing key;
- ``log-key``: the transparency log has an active checkpoint key, and its private key is held;
- ``delivery-worker``: some delivery worker recorded a heartbeat within ``worker_within``
  (``issuers.delivery.worker_store``); not checked when ``worker_within`` is None.

When the database cannot be reached only ``database`` is reported: the others need it. No
check's detail carries a library's message (asyncpg's can quote rows).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Sequence

import asyncpg

from issuers.delivery import worker_store
from registry import certificate_store
from registry.clock import Clock
from registry.db import Connection
from registry.keys import KeyMissingError, KeyStore
from registry.transparency import log
from service import migrations
from service.api.health import CheckResult

TIMEOUT = 2.0  # seconds for a connection and for each check: an orchestrator polls often
_UNREACHABLE = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)


class ServiceReadiness:
    """The readiness checks on the app's pool and key store."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        keys: KeyStore,
        clock: Clock,
        *,
        worker_within: dt.timedelta | None,
    ) -> None:
        self._pool = pool
        self._keys = keys
        self._clock = clock
        self._worker_within = worker_within

    async def checks(self) -> Sequence[CheckResult]:
        try:
            conn = await self._pool.acquire(timeout=TIMEOUT)
        except _UNREACHABLE:
            return [CheckResult("database", ok=False, detail="the database cannot be reached")]
        try:
            try:
                await conn.fetchval("SELECT 1", timeout=TIMEOUT)
            except _UNREACHABLE:
                return [CheckResult("database", ok=False, detail="the database does not answer")]
            results = [CheckResult("database", ok=True, detail="answers")]
            checks: list[tuple[str, Callable[[Connection], Awaitable[CheckResult]]]] = [
                ("migrations", self._migrations),
                ("signing-keys", self._signing_keys),
                ("log-key", self._log_key),
                ("delivery-worker", self._delivery_worker),
            ]
            for name, check in checks:
                try:
                    results.append(await asyncio.wait_for(check(conn), TIMEOUT))
                except _UNREACHABLE as e:
                    detail = f"could not be checked ({type(e).__name__})"
                    results.append(CheckResult(name, ok=False, detail=detail))
            return results
        finally:
            await self._pool.release(conn)

    async def _migrations(self, conn: Connection) -> CheckResult:
        try:
            await migrations.require_current(conn)
        except migrations.SchemaNotCurrentError:
            return CheckResult(
                "migrations", ok=False, detail="migrations are missing: run amu-bevis migrate"
            )
        return CheckResult("migrations", ok=True, detail="at this release's head")

    async def _signing_keys(self, conn: Connection) -> CheckResult:
        active = [k.kid for k in await certificate_store.all_keys(conn) if k.retired_at is None]
        missing = [kid for kid in active if not self._holds(kid)]
        if missing:
            return CheckResult(
                "signing-keys",
                ok=False,
                detail=f"{len(missing)} of {len(active)} active school keys have no private key",
            )
        return CheckResult("signing-keys", ok=True, detail=f"{len(active)} active school keys")

    async def _log_key(self, conn: Connection) -> CheckResult:
        key = await log.active_log_key(conn)
        if key is None:
            return CheckResult("log-key", ok=False, detail="the log has no active checkpoint key")
        if not self._holds(key.kid):
            return CheckResult("log-key", ok=False, detail="the log key's private key is missing")
        return CheckResult("log-key", ok=True, detail="held")

    async def _delivery_worker(self, conn: Connection) -> CheckResult:
        if self._worker_within is None:
            return CheckResult("delivery-worker", ok=True, detail="not checked")
        seen = await worker_store.last_seen(conn)
        if seen is None:
            return CheckResult("delivery-worker", ok=False, detail="no delivery worker is running")
        age = self._clock() - seen
        if age > self._worker_within:
            return CheckResult(
                "delivery-worker",
                ok=False,
                detail=f"no delivery worker seen for {int(age.total_seconds())} s",
            )
        return CheckResult("delivery-worker", ok=True, detail="seen recently")

    def _holds(self, kid: str) -> bool:
        try:
            self._keys.get(kid)
        except KeyMissingError:
            return False
        return True
