"""Where reads go: a streaming read replica while it keeps up, else the primary.

Reads that need not see the latest commit (participants' lists, verification lookups, proofs,
status lists) may go to a replica; everything that writes, and every read that must see its own
writes, stays on the primary. The replica is used while its replay lag is within
``max_lag_seconds``, checked at most once every ``recheck_seconds`` (`registry.replica_store`);
what is not found there is looked for again on the primary, so a certificate issued a moment
ago still verifies::

    reads = Reads(primary_pool, replica_pool, max_lag_seconds=2.0)
    stored = await reads.read(
        lambda conn: certificate_store.certificate(conn, number), missing=lambda c: c is None
    )

Without a replica every read goes to the primary.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

import asyncpg

from registry import replica_store
from registry.db import Connection

_T = TypeVar("_T")

# A replica that cannot answer: unreachable, restarting, gone mid-query, or a query cancelled
# because replay needed what it read (a standby's conflict with recovery).
REPLICA_TROUBLE: Final = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.OperatorInterventionError,
    asyncpg.SerializationError,
)


class NotRead:
    """What `Reads.from_replica` returns when it did not read on the replica."""


NOT_READ: Final = NotRead()


def _never(_found: object) -> bool:
    return False


class Reads:
    """Chooses the pool a read goes to (the replica while fresh, else the primary)."""

    def __init__(
        self,
        primary: asyncpg.Pool,
        replica: asyncpg.Pool | None = None,
        *,
        max_lag_seconds: float = 2.0,
        recheck_seconds: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.primary = primary
        self.replica = replica
        self.max_lag_seconds = max_lag_seconds
        self._recheck = recheck_seconds
        self._monotonic = monotonic
        self._fresh = False
        self._checked_at: float | None = None
        self._checking = asyncio.Lock()

    async def pool(self) -> asyncpg.Pool:
        """The replica when it was within the lag at its last check, else the primary."""
        return self.replica if self.replica is not None and await self.fresh() else self.primary

    async def fresh(self) -> bool:
        """Whether the replica was within the lag at its last check, checking again when the
        last check is ``recheck_seconds`` old. One request checks; others meanwhile take the
        last answer rather than wait."""
        if self.replica is None:
            return False
        due = self._checked_at is None or self._monotonic() - self._checked_at >= self._recheck
        if due and not self._checking.locked():
            async with self._checking:
                self._fresh = await self._check(self.replica)
                self._checked_at = self._monotonic()
        return self._fresh

    def stale(self) -> None:
        """The replica failed a read: the primary until the next check says otherwise."""
        self._fresh = False
        self._checked_at = self._monotonic()

    async def _check(self, replica: asyncpg.Pool) -> bool:
        try:
            async with asyncio.timeout(max(self._recheck, 0.5)):
                async with self.primary.acquire() as conn:
                    position = await replica_store.primary_position(conn)
                async with replica.acquire() as conn:
                    state = await replica_store.replica_state(conn, position)
        except REPLICA_TROUBLE:
            return False
        if state.reached:
            return True
        # Behind the primary: by at most the age of the last transaction it replayed.
        return state.behind_seconds is not None and state.behind_seconds <= self.max_lag_seconds

    async def from_replica(
        self,
        fetch: Callable[[Connection], Awaitable[_T]],
        *,
        missing_errors: tuple[type[Exception], ...] = (),
    ) -> _T | NotRead:
        """``fetch`` on the replica when it is fresh; `NOT_READ` when it is not, when the replica
        fails (then it counts as stale), or when ``fetch`` raises one of ``missing_errors``."""
        if self.replica is None or not await self.fresh():
            return NOT_READ
        try:
            async with self.replica.acquire() as conn:
                return await fetch(conn)
        except missing_errors:
            return NOT_READ
        except REPLICA_TROUBLE:
            self.stale()
            return NOT_READ

    async def read(
        self,
        fetch: Callable[[Connection], Awaitable[_T]],
        *,
        missing: Callable[[_T], bool] = _never,
        missing_errors: tuple[type[Exception], ...] = (),
    ) -> _T:
        """``fetch`` on the replica when it is fresh, else on the primary; and on the primary
        again when the replica's answer is ``missing`` (say, None for a row not yet replayed) or
        ``fetch`` raised one of ``missing_errors`` there. Raises what ``fetch`` raises on the
        primary."""
        found = await self.from_replica(fetch, missing_errors=missing_errors)
        if not isinstance(found, NotRead) and not missing(found):
            return found
        async with self.primary.acquire() as conn:
            return await fetch(conn)
