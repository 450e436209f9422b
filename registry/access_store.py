"""SQL for what participants share and see: share links, the access log of who looked at a
certificate, and the counters of wrong verification codes.

Every function takes the connection it runs on and returns our own frozen dataclasses.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import asyncpg

from registry import certificate_store
from registry.db import Connection


class Channel(StrEnum):
    """How a certificate was seen by someone other than its holder."""

    SHARE_LINK = "share-link"
    VERIFY_PAGE = "verify-page"
    VERIFY_API = "verify-api"


@dataclass(frozen=True, slots=True)
class ShareLink:
    id: int
    certificate_number: str
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None

    def is_open(self, now: dt.datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at


@dataclass(frozen=True, slots=True)
class AccessEvent:
    certificate_number: str
    at: dt.datetime
    channel: Channel
    share_link_id: int | None


def _link(row: asyncpg.Record) -> ShareLink:
    return ShareLink(
        id=row["id"],
        certificate_number=row["certificate_number"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
    )


_LINK_COLUMNS = "id, certificate_number, created_at, expires_at, revoked_at"


async def insert_share_link(
    conn: Connection,
    *,
    token_sha256: bytes,
    number: str,
    now: dt.datetime,
    expires_at: dt.datetime,
) -> ShareLink:
    row = await conn.fetchrow(
        f"""INSERT INTO share_links (token_sha256, certificate_number, created_at, expires_at)
            VALUES ($1, $2, $3, $4) RETURNING {_LINK_COLUMNS}""",  # noqa: S608 - constant columns
        token_sha256,
        number,
        now,
        expires_at,
    )
    if row is None:  # INSERT ... RETURNING always returns the row
        raise RuntimeError("share link was not inserted")
    return _link(row)


async def share_link_by_token(conn: Connection, token_sha256: bytes) -> ShareLink | None:
    row = await conn.fetchrow(
        f"SELECT {_LINK_COLUMNS} FROM share_links WHERE token_sha256 = $1",  # noqa: S608
        token_sha256,
    )
    return _link(row) if row else None


async def share_links_of(conn: Connection, number: str) -> list[ShareLink]:
    """A certificate's share links, newest first."""
    rows = await conn.fetch(
        f"""SELECT {_LINK_COLUMNS} FROM share_links WHERE certificate_number = $1
            ORDER BY id DESC""",  # noqa: S608 - constant columns
        number,
    )
    return [_link(row) for row in rows]


async def revoke_share_link(conn: Connection, *, link_id: int, cpr: str, now: dt.datetime) -> bool:
    """Revoke one of the person's own links; False when it is not theirs or already closed."""
    row = await conn.fetchrow(
        """UPDATE share_links SET revoked_at = $3
           WHERE id = $1 AND certificate_number = ANY($2::text[]) AND revoked_at IS NULL
           RETURNING id""",
        link_id,
        await _numbers_of(conn, cpr),
        now,
    )
    return row is not None


async def _numbers_of(conn: Connection, cpr: str) -> list[str]:
    """The person's certificates by their signed records, not by the cpr column alone: a row
    whose column was changed behind the register's back is nobody's (certificates_of)."""
    return [c.number for c in await certificate_store.certificates_of(conn, cpr)]


async def record_access(
    conn: Connection,
    *,
    number: str,
    channel: Channel,
    now: dt.datetime,
    share_link_id: int | None = None,
) -> None:
    await conn.execute(
        """INSERT INTO access_events (certificate_number, at, channel, share_link_id)
           VALUES ($1, $2, $3, $4)""",
        number,
        now,
        channel.value,
        share_link_id,
    )


async def access_log_of(conn: Connection, cpr: str, *, limit: int = 200) -> list[AccessEvent]:
    """Every view of the person's certificates by others, newest first."""
    rows = await conn.fetch(
        """SELECT e.certificate_number, e.at, e.channel, e.share_link_id
           FROM access_events e WHERE e.certificate_number = ANY($1::text[])
           ORDER BY e.at DESC, e.id DESC LIMIT $2""",
        await _numbers_of(conn, cpr),
        limit,
    )
    return [
        AccessEvent(
            certificate_number=r["certificate_number"],
            at=r["at"],
            channel=Channel(r["channel"]),
            share_link_id=r["share_link_id"],
        )
        for r in rows
    ]


@dataclass(frozen=True, slots=True)
class Counter:
    """A failure counter (SHA-256 of what it counts), the failures it allows in its window, and
    the start of the window now. Reaching ``limit`` refuses every lookup before the code is
    compared, unless ``wrong_only``: then the code is still compared, and only a wrong one is
    refused (the caller decides how, from ``GuardedLookup.failures``)."""

    key: bytes
    limit: int
    window_start: dt.datetime
    wrong_only: bool = False


@dataclass(frozen=True, slots=True)
class GuardedLookup:
    found: certificate_store.VerificationLookup
    failures: tuple[int, ...]  # counted against each counter before this lookup
    checked: bool  # no counter that refuses every lookup was at its limit; else nothing written
    matched: bool  # checked and the code is the certificate's: the access was logged


def _guarded(found: str, matches: str, returning: str) -> str:
    """A statement that counts and writes a lookup's outcome: ``found`` is the looked-up row
    (a CTE), ``matches`` whether the code is the certificate's. $2, $3, $4, $8: the counters'
    keys, limits, window starts and wrong-only flags; $6, $7: the time and the channel."""
    return f"""
    WITH found AS MATERIALIZED ({found}),
    counted AS (
        SELECT coalesce(array_agg(coalesce(v.failures, 0) ORDER BY w.i), '{{}}') AS failures,
               coalesce(
                   bool_and(coalesce(v.failures, 0) < w.lim) FILTER (WHERE NOT w.wrong_only), true
               ) AS checked
        FROM unnest($2::bytea[], $3::int[], $4::timestamptz[], $8::bool[])
             WITH ORDINALITY AS w(key, lim, start, wrong_only, i)
        LEFT JOIN verify_failures v ON v.key = w.key AND v.window_start = w.start
    ),
    verdict AS (
        SELECT counted.checked, counted.checked AND coalesce({matches}, false) AS matched
        FROM found, counted
    ),
    access AS (
        INSERT INTO access_events (certificate_number, at, channel)
        SELECT found.number, $6, $7 FROM found, verdict WHERE verdict.matched
    ),
    stale AS (
        -- Before the oldest window still counted (the longest one's): a row of a shorter
        -- window lingers until then, which costs space, never a wrong count.
        DELETE FROM verify_failures
        WHERE window_start < (SELECT min(s) FROM unnest($4::timestamptz[]) AS s)
          AND (SELECT checked AND NOT matched FROM verdict)
    ),
    failure AS (
        INSERT INTO verify_failures (key, window_start, failures)
        SELECT w.key, w.start, 1
        FROM unnest($2::bytea[], $4::timestamptz[]) AS w(key, start), verdict
        WHERE verdict.checked AND NOT verdict.matched
        ON CONFLICT (key, window_start) DO UPDATE SET failures = verify_failures.failures + 1
    )
    SELECT {returning}, counted.failures, verdict.checked, verdict.matched
    FROM found, counted, verdict
"""  # noqa: S608 - the register's constant pieces, no input


# The lookup and its bookkeeping in one statement, on the primary.
_GUARDED_LOOKUP = _guarded(
    certificate_store.VERIFICATION_LOOKUP,
    "sha256(convert_to(found.verification_code, 'UTF8')) = $5",
    "found.*",
)
# Only the bookkeeping (on the primary) of a lookup read elsewhere (a read replica): $1 is the
# certificate's number, $5 whether the code matched.
_GUARDED_RECORD = _guarded("SELECT $1::text AS number", "$5::bool", "found.number")


async def guarded_lookup(
    conn: Connection,
    number: str | None,
    *,
    code_sha256: bytes,
    counters: Sequence[Counter],
    channel: Channel,
    now: dt.datetime,
) -> GuardedLookup:
    """`certificate_store.verification_lookup` behind failure counters, and its bookkeeping, in
    one statement: when no counter that refuses every lookup is at its limit, either the code
    matches (SHA-256 of the normalised code) and the access is logged, or one failure is counted
    against every counter (and windows before the oldest current one are forgotten). Otherwise
    nothing is written. A ``wrong_only`` counter at its limit changes nothing here.

    Raises NotFoundError without a log head (the migrations have not run).
    """
    row = await conn.fetchrow(
        _GUARDED_LOOKUP,
        number,
        [c.key for c in counters],
        [c.limit for c in counters],
        [c.window_start for c in counters],
        code_sha256,
        now,
        channel.value,
        [c.wrong_only for c in counters],
    )
    return GuardedLookup(
        found=certificate_store.verification_lookup_of(row),
        failures=tuple(row["failures"]) if row else (),
        checked=bool(row and row["checked"]),
        matched=bool(row and row["matched"]),
    )


async def guarded_record(
    conn: Connection,
    found: certificate_store.VerificationLookup,
    *,
    matched: bool,
    counters: Sequence[Counter],
    channel: Channel,
    now: dt.datetime,
) -> GuardedLookup:
    """The bookkeeping of `guarded_lookup` for a lookup ``found`` read on another connection
    (a read replica), where the caller compared the code (``matched``): the counters are read
    and the access or the failure written here, on the primary, in one statement."""
    number = found.certificate.number if found.certificate is not None else None
    row = await conn.fetchrow(
        _GUARDED_RECORD,
        number,
        [c.key for c in counters],
        [c.limit for c in counters],
        [c.window_start for c in counters],
        matched and number is not None,
        now,
        channel.value,
        [c.wrong_only for c in counters],
    )
    if row is None:  # a FROM of single-row CTEs always returns its row
        raise RuntimeError("the verification bookkeeping returned no row")
    return GuardedLookup(
        found=found,
        failures=tuple(row["failures"]),
        checked=bool(row["checked"]),
        matched=bool(row["matched"]),
    )
