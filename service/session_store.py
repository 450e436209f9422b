"""The pages' browser sessions in PostgreSQL: a Litestar ``Store`` on the app's pool.

Litestar's server-side session middleware keeps each session's data here under the random id
its cookie holds, so every process of the service sees the same sessions and deleting a row
revokes one (logout). Rows are keyed by the SHA-256 of the id: a reader of the table cannot
take over a session. Expiry is compared with the app's clock (tests move it), not the
database's::

    store = PostgresSessionStore(pool, clock)
    app.stores.register("sessions", store)
    await store.set("id", b"{...}", expires_in=1800)
    await store.get("id", renew_for=1800)   # None once expired; else renews the expiry
    await store.delete_expired()            # called at each login
"""

from __future__ import annotations

import datetime as dt
import hashlib

import asyncpg
from litestar.stores.base import Store

from registry.clock import Clock


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def _seconds(value: int | dt.timedelta) -> dt.timedelta:
    return value if isinstance(value, dt.timedelta) else dt.timedelta(seconds=value)


class PostgresSessionStore(Store):
    """A key/value store in the ``sessions`` table (migration 0013)."""

    __slots__ = ("_clock", "_pool")

    def __init__(self, pool: asyncpg.Pool, clock: Clock) -> None:
        self._pool = pool
        self._clock = clock

    def _expiry(self, expires_in: int | dt.timedelta | None) -> dt.datetime | None:
        return None if expires_in is None else self._clock() + _seconds(expires_in)

    async def set(
        self, key: str, value: str | bytes, expires_in: int | dt.timedelta | None = None
    ) -> None:
        data = value.encode() if isinstance(value, str) else value
        async with self._pool.acquire() as conn:
            await conn.execute(
                """INSERT INTO sessions (key_sha256, value, expires_at) VALUES ($1, $2, $3)
                   ON CONFLICT (key_sha256)
                   DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at""",
                _digest(key),
                data,
                self._expiry(expires_in),
            )

    async def get(self, key: str, renew_for: int | dt.timedelta | None = None) -> bytes | None:
        """The value under ``key`` unless expired; ``renew_for`` moves a set expiry to that long
        from now (an idle timeout)."""
        now = self._clock()
        async with self._pool.acquire() as conn:
            if renew_for is None:
                value = await conn.fetchval(
                    """SELECT value FROM sessions
                       WHERE key_sha256 = $1 AND (expires_at IS NULL OR expires_at > $2)""",
                    _digest(key),
                    now,
                )
            else:
                value = await conn.fetchval(
                    """UPDATE sessions
                       SET expires_at = CASE WHEN expires_at IS NULL THEN NULL
                                             ELSE $3::timestamptz END
                       WHERE key_sha256 = $1 AND (expires_at IS NULL OR expires_at > $2)
                       RETURNING value""",
                    _digest(key),
                    now,
                    now + _seconds(renew_for),
                )
        return bytes(value) if value is not None else None

    async def delete(self, key: str) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute("DELETE FROM sessions WHERE key_sha256 = $1", _digest(key))

    async def delete_all(self) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute("DELETE FROM sessions")

    async def delete_expired(self) -> int:
        """Delete the expired rows; returns how many."""
        async with self._pool.acquire() as conn:
            status = await conn.execute(
                "DELETE FROM sessions WHERE expires_at <= $1", self._clock()
            )
        return int(status.split()[-1])

    async def exists(self, key: str) -> bool:
        return await self.expires_in(key) is not None or await self._exists_forever(key)

    async def _exists_forever(self, key: str) -> bool:
        async with self._pool.acquire() as conn:
            found: bool = await conn.fetchval(
                "SELECT EXISTS (SELECT FROM sessions WHERE key_sha256 = $1 AND expires_at IS NULL)",
                _digest(key),
            )
        return found

    async def expires_in(self, key: str) -> int | None:
        """Seconds until ``key`` expires; None when it does not exist, has expired or has no
        expiry."""
        now = self._clock()
        async with self._pool.acquire() as conn:
            expires_at = await conn.fetchval(
                "SELECT expires_at FROM sessions WHERE key_sha256 = $1 AND expires_at > $2",
                _digest(key),
                now,
            )
        return None if expires_at is None else int((expires_at - now).total_seconds())
