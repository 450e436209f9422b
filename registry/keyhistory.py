"""Keys over time: which key may have signed what, and rotating and revoking keys.

A school's keys and the register's own log keys each form a history: a key is valid from its
``valid_from`` until it is retired (its successor takes over), and stays in the history for
ever so that what it signed still verifies. A compromised key is revoked *from a date*: what it
signed from that date on is marked, what it signed before stays good::

    key_state(key, at=record.issued_at)             # KeyState.VALID, RETIRED, REVOKED, ...
    new = await rotate_key(conn, keys, "school", "751234", now=now)  # retire the old, add a new
    revocation = await revoke(conn, keys, kid, revoked_from=when, now=now)
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from registry import certificate_store, keyhistory_store
from registry.db import Connection
from registry.errors import NotFoundError, RegistryError
from registry.keyhistory_store import KeyTable
from registry.keys import KeyStore, public_bytes
from registry.transparency import log

# Issuing reads the active key before it stamps the time, and a rotation can commit in between;
# records stamped this long after their key's retirement still count as signed while valid.
# Retirement is no security boundary (revocation is), so the grace costs nothing.
ROTATION_GRACE = dt.timedelta(minutes=5)


class KeyState(StrEnum):
    VALID = "valid"
    NOT_YET_VALID = "not-yet-valid"  # signed before the key existed: a backdated record
    RETIRED = "retired"  # signed after the key was retired
    REVOKED = "revoked"  # signed at or after the date the key was revoked from


class KeyHistory(Protocol):
    """What `key_state` reads of a key: a school key or a log key."""

    @property
    def valid_from(self) -> dt.datetime: ...
    @property
    def retired_at(self) -> dt.datetime | None: ...
    @property
    def revoked_from(self) -> dt.datetime | None: ...


def key_state(key: KeyHistory, *, at: dt.datetime) -> KeyState:
    """Whether ``key`` could sign at ``at`` (a record's issued_at, whole seconds)."""
    if key.revoked_from is not None and at >= key.revoked_from:
        return KeyState.REVOKED
    if at < key.valid_from.replace(microsecond=0):
        return KeyState.NOT_YET_VALID
    if key.retired_at is not None and at > key.retired_at + ROTATION_GRACE:
        return KeyState.RETIRED
    return KeyState.VALID


class KeyHistoryError(RegistryError):
    """A key cannot be rotated or revoked as asked."""


@dataclass(frozen=True, slots=True)
class NewKey:
    kid: str
    table: KeyTable
    owner: str
    replaced: str | None  # the retired key's id


@dataclass(frozen=True, slots=True)
class Revocation:
    kid: str
    table: KeyTable
    revoked_from: dt.datetime
    successor: NewKey | None  # made when the revoked key was the active one
    marked_certificates: list[str]  # signed by a revoked school key from that date
    marked_checkpoints: list[int]  # tree sizes signed by a revoked log key from that date


async def rotate_key(
    conn: Connection,
    keys: KeyStore,
    table: KeyTable,
    owner: str | None,
    *,
    now: dt.datetime,
    log_name: str | None = None,
) -> NewKey:
    """Retire the active key of a school (``owner``) or of the log, and add a fresh one.

    The private half goes to ``keys`` before the commit (a rollback leaves an unused file, never
    a published key without its private half). ``log_name`` names a first log key. Raises
    NotFoundError for an unknown school and KeyHistoryError when a log key has no name.
    """
    async with conn.transaction():
        if table == "school" and not await keyhistory_store.school_exists(conn, owner or ""):
            raise NotFoundError("no school with this id")
        old = await keyhistory_store.active_key_row(conn, table, owner)
        private = Ed25519PrivateKey.generate()
        start = now.replace(microsecond=0)
        if table == "school":
            school_id = owner or ""
            kid = f"{school_id}-{secrets.token_hex(4)}"
            keys.put(kid, private)
            if old is not None:
                await keyhistory_store.retire_key(conn, old, now)
            await certificate_store.insert_key(
                conn,
                kid=kid,
                school_id=school_id,
                public_key=public_bytes(private),
                valid_from=start,
            )
            return NewKey(kid, table, school_id, old.kid if old else None)
        name = old.owner if old is not None else log_name
        if not name:
            raise KeyHistoryError("a first log key needs the log's name (its origin)")
        kid = f"log-{secrets.token_hex(4)}"
        keys.put(kid, private)
        if old is not None:
            await keyhistory_store.retire_key(conn, old, now)
        await log.insert_log_key(conn, log.LogKey(kid, name, public_bytes(private), start, None))
        return NewKey(kid, table, name, old.kid if old else None)


async def revoke(
    conn: Connection,
    keys: KeyStore,
    kid: str,
    *,
    revoked_from: dt.datetime,
    now: dt.datetime,
) -> Revocation:
    """Revoke a compromised key from a date; if it is the active key, rotate it first.

    Raises NotFoundError for an unknown key id and KeyHistoryError if it was revoked before.
    """
    async with conn.transaction():
        key = await keyhistory_store.find_key(conn, kid, lock=True)
        if key is None:
            raise NotFoundError("no school key or log key with this id")
        if key.revoked_from is not None:
            raise KeyHistoryError("the key was revoked before")
        successor = None
        if key.retired_at is None:
            owner = key.owner if key.table == "school" else None
            successor = await rotate_key(conn, keys, key.table, owner, now=now)
        await keyhistory_store.revoke_key(conn, key, revoked_from, now)
        if key.table == "school":
            marked, sizes = await keyhistory_store.signed_from(conn, kid, revoked_from), []
        else:
            marked, sizes = (
                [],
                await keyhistory_store.checkpoints_signed_from(conn, kid, revoked_from),
            )
        return Revocation(kid, key.table, revoked_from, successor, marked, sizes)
