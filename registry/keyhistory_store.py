"""SQL for key history: both histories of keys (the schools' signing keys and the register's
log keys), rotating and revoking them, and what a revoked key signed. Every function takes the
connection it runs on and returns our own frozen dataclasses; rotations and revocations append
their key events to the log in the caller's transaction."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from registry.db import Connection
from registry.transparency import log

KeyTable = Literal["school", "log"]
_TABLES: dict[KeyTable, str] = {"school": "school_keys", "log": "log_keys"}


@dataclass(frozen=True, slots=True)
class KeyRow:
    """A key of either history, as rotation and revocation need it."""

    table: KeyTable
    kid: str
    owner: str  # the school id, or the log key's note name
    valid_from: dt.datetime
    retired_at: dt.datetime | None
    revoked_from: dt.datetime | None


async def find_key(conn: Connection, kid: str, *, lock: bool = False) -> KeyRow | None:
    """A school key or log key by its key id (they never share one), locked on request."""
    suffix = " FOR UPDATE" if lock else ""
    tables: tuple[tuple[KeyTable, str], ...] = (("school", "school_id"), ("log", "name"))
    for table, owner in tables:
        row = await conn.fetchrow(
            f"""SELECT kid, {owner} AS owner, valid_from, retired_at, revoked_from
                FROM {_TABLES[table]} WHERE kid = $1{suffix}""",  # noqa: S608 - constant names
            kid,
        )
        if row is not None:
            return KeyRow(table, row["kid"], row["owner"], *_history(row))
    return None


async def active_key_row(conn: Connection, table: KeyTable, owner: str | None) -> KeyRow | None:
    """The active key of a school (``owner``) or of the log (``owner`` None), locked."""
    if table == "school":
        row = await conn.fetchrow(
            """SELECT kid, school_id AS owner, valid_from, retired_at, revoked_from
               FROM school_keys WHERE school_id = $1 AND retired_at IS NULL FOR UPDATE""",
            owner,
        )
    else:
        row = await conn.fetchrow(
            """SELECT kid, name AS owner, valid_from, retired_at, revoked_from
               FROM log_keys WHERE retired_at IS NULL FOR UPDATE"""
        )
    return KeyRow(table, row["kid"], row["owner"], *_history(row)) if row else None


def _history(row: object) -> tuple[dt.datetime, dt.datetime | None, dt.datetime | None]:
    r: dict[str, dt.datetime | None] = dict(row)  # type: ignore[call-overload]
    valid_from = r["valid_from"]
    if valid_from is None:
        raise ValueError("a key has a valid_from")
    return valid_from, r["retired_at"], r["revoked_from"]


def _key_of(key: KeyRow) -> str:
    return f"{key.table}:{key.owner}"


async def retire_key(conn: Connection, key: KeyRow, at: dt.datetime) -> None:
    """Retire a key and log it, in one transaction."""
    async with conn.transaction():
        await conn.execute(
            f"UPDATE {_TABLES[key.table]} SET retired_at = $2 WHERE kid = $1",  # noqa: S608
            key.kid,
            at,
        )
        await log.append(conn, [log.KeyEvent(key.kid, "key-retired", _key_of(key), at)])


async def revoke_key(
    conn: Connection, key: KeyRow, revoked_from: dt.datetime, at: dt.datetime
) -> None:
    """Revoke a key from a date and log it, in one transaction."""
    async with conn.transaction():
        await conn.execute(
            f"""UPDATE {_TABLES[key.table]} SET revoked_from = $2, revoked_at = $3
                WHERE kid = $1""",  # noqa: S608 - constant table names
            key.kid,
            revoked_from,
            at,
        )
        event = log.KeyEvent(key.kid, "key-revoked", _key_of(key), at, revoked_from=revoked_from)
        await log.append(conn, [event])


async def school_exists(conn: Connection, school_id: str) -> bool:
    return bool(
        await conn.fetchval("SELECT EXISTS (SELECT 1 FROM schools WHERE id = $1)", school_id)
    )


async def signed_from(conn: Connection, kid: str, since: dt.datetime) -> list[str]:
    """The certificates a school key signed at or after ``since``: what a revocation marks."""
    rows = await conn.fetch(
        "SELECT number FROM certificates WHERE kid = $1 AND issued_at >= $2 ORDER BY number",
        kid,
        since,
    )
    return [r["number"] for r in rows]


async def checkpoints_signed_from(conn: Connection, kid: str, since: dt.datetime) -> list[int]:
    """The tree sizes a log key signed checkpoints for at or after ``since``."""
    rows = await conn.fetch(
        "SELECT size FROM log_checkpoints WHERE kid = $1 AND signed_at >= $2 ORDER BY size",
        kid,
        since,
    )
    return [r["size"] for r in rows]
