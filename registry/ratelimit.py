"""Verification with a limit on guessing codes, for the page and the JSON API alike.

    verifier = GuardedVerifier(Reads(pool), clock, VerifyLimits())
    result = await verifier.verify(number, code, client="203.0.113.9", channel=Channel.VERIFY_API)

Only failed lookups count (a wrong code or an unknown number), in fixed windows. Two kinds of
limit, because only one kind can be turned against the holder:

- Per client (an IPv4 address, or an IPv6 /64, which one subscriber usually holds whole):
  ``per_client`` failures per window and ``per_client_daily`` per UTC day. A client over either
  is refused before its code is compared, right or wrong. This is the limit that bounds guessing:
  a lookup whose code is compared is a guess, whatever it answers. It counts only the client's
  own failures, so the holder meets it only through guesses from their own address.
- Per certificate number: ``per_number`` failures per window. Reaching it refuses only wrong
  codes (429); a right code still answers, so guesses from elsewhere never lock the holder out.
  The 429 tells a guesser what "unknown" would have told them, that the code is wrong, and
  nothing more; nor does it stop one, since the code was compared, so this limit only marks a
  number under attack. A number with no certificate is counted and answered alike.

docs/registry.md works out how long guessing takes at these limits. The counters live in
PostgreSQL, not in the process, so every server process and every restart share one budget. A
successful lookup is written to the holder's access log instead. Every lookup reads the counters
in the statement that reads the certificate, which also writes the outcome: the access log entry
when the SHA-256 of the normalised code matches, else the failure
(``access_store.guarded_lookup``). One round trip in all. The verdict itself still compares the
codes in constant time (``registry.codes``); comparing digests in SQL tells a timer nothing
about the code.

With a fresh read replica (`registry.reads`) the lookup is read there and only the bookkeeping
(the counters, the access log entry or the failure) is written on the primary
(``access_store.guarded_record``): two round trips, the heavier one off the primary. A number
the replica does not know yet (issued a moment ago) is looked up on the primary as above.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
from dataclasses import dataclass

from registry import access_store, codes
from registry.access_store import Channel
from registry.certificate_store import VerificationLookup, verification_lookup
from registry.clock import Clock
from registry.db import Connection
from registry.reads import NotRead, Reads
from registry.verification import Verification, VerificationStatus, verification_of
from registry.verify_observer import NoVerifyObserver, VerifyObserver

_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_DAY = dt.timedelta(days=1)
# The prefix one IPv6 subscriber is given at the least: counting single IPv6 addresses would
# give every guesser 2**64 clients.
IPV6_CLIENT_PREFIX = 64


@dataclass(frozen=True, slots=True)
class VerifyLimits:
    per_client: int = 20  # failures per client per window; then the client is refused
    per_number: int = 10  # failures per number per window; then wrong codes are refused
    window: dt.timedelta = dt.timedelta(minutes=15)
    # Failures per client per UTC day: what bounds a patient guesser (docs/registry.md).
    per_client_daily: int = 50


class RateLimitedError(Exception):
    """Too many failed lookups from this client, or a wrong code for a number that has had too
    many; try again later."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("too many failed verification lookups")
        self.retry_after = retry_after  # seconds until the window ends


def _key(kind: str, value: str) -> bytes:
    return hashlib.sha256(f"{kind}:{value}".encode()).digest()


def window_start(now: dt.datetime, window: dt.timedelta) -> dt.datetime:
    return now - (now - _EPOCH) % window


def client_key(client: str) -> str:
    """What a client is counted as: an IPv4 address as it is, an IPv6 address as its /64 (an
    IPv4 one mapped into IPv6 as the IPv4 address), anything else as it is."""
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return client
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, IPV6_CLIENT_PREFIX), strict=False))
    return str(address)


def _seconds_left(start: dt.datetime, window: dt.timedelta, now: dt.datetime) -> int:
    return max(1, int((start + window - now).total_seconds()))


async def checked_verification(
    conn: Connection,
    number: str,
    code: str,
    *,
    client: str,
    channel: Channel,
    now: dt.datetime,
    limits: VerifyLimits,
    found: VerificationLookup | None = None,
) -> Verification:
    """``verification.verify_certificate`` behind the guessing limits, with the access logged.
    ``found``: the lookup already read elsewhere (a read replica); ``conn`` (the primary) then
    only counts and logs.

    Raises RateLimitedError when the client has reached a limit (before the code is compared)
    or when the code is wrong and the number has reached its limit.
    """
    number = number.strip()
    client = client_key(client)
    start, day = window_start(now, limits.window), window_start(now, _DAY)
    # Order matters below: the client's counters, then the number's.
    client_limits = (
        (start, limits.window, limits.per_client),
        (day, _DAY, limits.per_client_daily),
    )
    counters = [
        access_store.Counter(_key("ip", client), limits.per_client, start),
        access_store.Counter(_key("ip-day", client), limits.per_client_daily, day),
        access_store.Counter(_key("number", number), limits.per_number, start, wrong_only=True),
    ]
    if found is None:
        guarded = await access_store.guarded_lookup(
            conn,
            number if codes.is_certificate_number(number) else None,
            code_sha256=hashlib.sha256(codes.normalise_code(code).encode()).digest(),
            counters=counters,
            channel=channel,
            now=now,
        )
    else:
        # Whether the code is the certificate's, as verification_of decides "unknown"; its
        # signature and proof checks are left to the one verdict below.
        matched = found.certificate is not None and codes.code_matches(
            code, found.certificate.verification_code
        )
        guarded = await access_store.guarded_record(
            conn, found, matched=matched, counters=counters, channel=channel, now=now
        )
    if not guarded.checked:
        # Decided on the client's counters alone, so a refusal says nothing about the code.
        raise RateLimitedError(
            max(
                (
                    _seconds_left(s, w, now)
                    for (s, w, limit), failures in zip(
                        client_limits, guarded.failures, strict=False
                    )
                    if failures >= limit
                ),
                default=_seconds_left(start, limits.window, now),
            )
        )
    result = verification_of(guarded.found, code)
    if (result.status is VerificationStatus.UNKNOWN) == guarded.matched:
        # The statement compared digests, verification_of the codes in constant time: they
        # cannot disagree unless normalise_code changes under one of them.
        raise RuntimeError("the access log and the verdict disagree about the code")
    if not guarded.matched and guarded.failures[2] >= limits.per_number:
        # Only a wrong code: it would have read "unknown", which says as much.
        raise RateLimitedError(_seconds_left(start, limits.window, now))
    return result


class GuardedVerifier:
    """``checked_verification`` on a connection of its own, with the service's clock and limits:
    the one collaborator the verification API and page need, so a request resolves one
    dependency rather than three. The lookup is read on the replica when ``reads`` has a fresh
    one and it knows the number, else on the primary."""

    def __init__(
        self,
        reads: Reads,
        clock: Clock,
        limits: VerifyLimits,
        *,
        observer: VerifyObserver | None = None,
    ) -> None:
        self._reads = reads
        self._clock = clock
        self.limits = limits
        self._observer = observer or NoVerifyObserver()

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
        found: VerificationLookup | NotRead | None = None
        if codes.is_certificate_number(number.strip()):
            found = await self._reads.from_replica(
                lambda conn: verification_lookup(conn, number.strip())
            )
        if isinstance(found, NotRead) or (found is not None and found.certificate is None):
            found = None  # not read there, or not (yet) there: the primary reads it
        async with self._reads.primary.acquire() as conn:
            try:
                result = await checked_verification(
                    conn,
                    number,
                    code,
                    client=client,
                    channel=channel,
                    now=self._clock() if now is None else now,
                    limits=self.limits,
                    found=found,
                )
            except RateLimitedError:
                self._observer.refused(channel)
                raise
        self._observer.verified(result.status, channel)
        return result
