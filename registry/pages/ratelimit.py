"""Verification with a limit on guessing codes, for the page and the JSON API alike.

    result = await checked_verification(
        conn, number, code, client="203.0.113.9", channel=Channel.VERIFY_PAGE, now=now,
        limits=VerifyLimits(),
    )

Only failed lookups count (a wrong code or an unknown number), in fixed windows, both per
client address and per certificate number: the first stops one client trying many numbers,
the second stops many clients (a botnet) trying many codes for one number. A code has 40 bits,
so at 10 failures per number per 15 minutes guessing one takes on average some 10^6 years.
The counters live in PostgreSQL, not in the process, so every server process and every restart
share one budget. A successful lookup is written to the holder's access log instead.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from registry.db import Connection
from registry.pages import store
from registry.pages.store import Channel
from registry.verification import Verification, VerificationStatus, verify_certificate

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
    """``verify_certificate`` behind the guessing limits, with the access logged.

    Raises RateLimitedError before looking anything up when a limit is reached.
    """
    number = number.strip()
    start = window_start(now, limits.window)
    by_client, by_number = _key("ip", client), _key("number", number)
    counts = await store.failure_counts(conn, [by_client, by_number], start)
    if counts[by_client] >= limits.per_client or counts[by_number] >= limits.per_number:
        raise RateLimitedError(max(1, int((start + limits.window - now).total_seconds())))
    result = await verify_certificate(conn, number, code)
    if result.status is VerificationStatus.UNKNOWN:
        await store.add_failure(conn, [by_client, by_number], start)
    else:
        await store.record_access(conn, number=number, channel=channel, now=now)
    return result
