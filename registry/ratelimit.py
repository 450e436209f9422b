"""Verification with a limit on guessing codes, for the page and the JSON API alike.

    verifier = GuardedVerifier(pool, clock, VerifyLimits())
    result = await verifier.verify(number, code, client="203.0.113.9", channel=Channel.VERIFY_API)

Only failed lookups count (a wrong code or an unknown number), in fixed windows, both per
client address and per certificate number: the first stops one client trying many numbers,
the second stops many clients (a botnet) trying many codes for one number. A code has 40 bits,
so at 10 failures per number per 15 minutes guessing one takes on average some 10^6 years.
The counters live in PostgreSQL, not in the process, so every server process and every restart
share one budget. A successful lookup is written to the holder's access log instead.

A client that has used up a budget is refused even when its code is right: were a right code
let through, 200 against 429 would tell a guesser which guess was right, and the limit would
stop nothing. So every lookup reads the counters, but in the statement that reads the
certificate, which also writes the outcome: the access log entry when the SHA-256 of the
normalised code matches, else the failure (``access_store.guarded_lookup``). One round trip in all.
The verdict itself still compares the codes in constant time (``registry.codes``); comparing
digests in SQL tells a timer nothing about the code.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import asyncpg

from registry import access_store, codes
from registry.access_store import Channel
from registry.clock import Clock
from registry.db import Connection
from registry.verification import Verification, VerificationStatus, verification_of

_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class VerifyLimits:
    per_client: int = 20
    per_number: int = 10
    window: dt.timedelta = dt.timedelta(minutes=15)


class RateLimitedError(Exception):
    """Too many failed lookups from this client or for this number; try again later."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("too many failed verification lookups")
        self.retry_after = retry_after  # seconds until the window ends


def _key(kind: str, value: str) -> bytes:
    return hashlib.sha256(f"{kind}:{value}".encode()).digest()


def window_start(now: dt.datetime, window: dt.timedelta) -> dt.datetime:
    return now - (now - _EPOCH) % window


async def checked_verification(
    conn: Connection,
    number: str,
    code: str,
    *,
    client: str,
    channel: Channel,
    now: dt.datetime,
    limits: VerifyLimits,
) -> Verification:
    """``verification.verify_certificate`` behind the guessing limits, with the access logged.

    Raises RateLimitedError, before the code is compared, when a limit is reached.
    """
    number = number.strip()
    start = window_start(now, limits.window)
    guarded = await access_store.guarded_lookup(
        conn,
        number if codes.is_certificate_number(number) else None,
        code_sha256=hashlib.sha256(codes.normalise_code(code).encode()).digest(),
        counters=[
            access_store.Counter(_key("ip", client), limits.per_client),
            access_store.Counter(_key("number", number), limits.per_number),
        ],
        window_start=start,
        channel=channel,
        now=now,
    )
    # Decided on the counters alone, so a refusal says nothing about the code.
    if not guarded.allowed:
        raise RateLimitedError(max(1, int((start + limits.window - now).total_seconds())))
    result = verification_of(guarded.found, code)
    if (result.status is VerificationStatus.UNKNOWN) == guarded.matched:
        # The statement compared digests, verification_of the codes in constant time: they
        # cannot disagree unless normalise_code changes under one of them.
        raise RuntimeError("the access log and the verdict disagree about the code")
    return result


class GuardedVerifier:
    """``checked_verification`` on a connection of its own, with the service's clock and limits:
    the one collaborator the verification API and page need, so a request resolves one
    dependency rather than three."""

    def __init__(self, pool: asyncpg.Pool, clock: Clock, limits: VerifyLimits) -> None:
        self._pool = pool
        self._clock = clock
        self.limits = limits

    async def verify(
        self,
        number: str,
        code: str,
        *,
        client: str,
        channel: Channel,
        now: dt.datetime | None = None,
    ) -> Verification:
        """The verdict for ``number`` and ``code`` at ``now`` (the clock's time unless given).

        Raises RateLimitedError when a guessing limit is reached.
        """
        async with self._pool.acquire() as conn:
            return await checked_verification(
                conn,
                number,
                code,
                client=client,
                channel=channel,
                now=self._clock() if now is None else now,
                limits=self.limits,
            )
