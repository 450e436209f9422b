"""SQL for the audit: the log's leaves with the rows they stand for, stored nodes, the head, saved
checkpoint roots, key history, and rows the log does not account for."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from registry.db import Connection
from registry.keyhistory_store import KeyTable


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One leaf with the event and certificate rows it stands for (None where missing)."""

    index: int
    entry: bytes
    leaf_hash: bytes
    leaf_certificate: str | None
    event_id: int | None
    event_certificate: str | None
    kind: str | None
    reason: str | None
    replaced_by: str | None
    at: dt.datetime | None
    school_id: str | None
    kid: str | None
    cpr: str | None
    payload: bytes | None
    jws: str | None
    issued_at: dt.datetime | None
    erased: bool
    key_kid: str | None = None  # set instead of the event for a key history leaf
    # What the 'issued' leaf binds beyond the record (registry.binding).
    binding_salt: bytes | None = None
    verification_code: str | None = None
    status_list: tuple[int, int] | None = None
    retain_until: dt.date | None = None
    erased_at: dt.datetime | None = None


async def audit_rows(conn: Connection, start: int, limit: int) -> list[AuditRow]:
    rows = await conn.fetch(
        """SELECT l.idx, l.entry, l.leaf_hash, l.certificate_number AS leaf_certificate,
                  l.event_id, e.certificate_number AS event_certificate, e.kind, e.reason,
                  e.replaced_by, e.at, c.school_id, c.kid, c.cpr, c.payload, c.jws, c.issued_at,
                  c.erased_at IS NOT NULL AS erased, c.erased_at, l.key_kid, c.binding_salt,
                  c.verification_code, c.status_list_id, c.status_list_index, c.retain_until
           FROM log_leaves l
           LEFT JOIN certificate_events e ON e.id = l.event_id
           LEFT JOIN certificates c ON c.number = e.certificate_number
           WHERE l.idx >= $1 ORDER BY l.idx LIMIT $2""",
        start,
        limit,
    )
    return [
        AuditRow(
            index=r["idx"],
            entry=bytes(r["entry"]),
            leaf_hash=bytes(r["leaf_hash"]),
            leaf_certificate=r["leaf_certificate"],
            event_id=r["event_id"],
            event_certificate=r["event_certificate"],
            kind=r["kind"],
            reason=r["reason"],
            replaced_by=r["replaced_by"],
            at=r["at"],
            school_id=r["school_id"],
            kid=r["kid"],
            cpr=r["cpr"],
            payload=bytes(r["payload"]) if r["payload"] is not None else None,
            jws=r["jws"],
            issued_at=r["issued_at"],
            erased=bool(r["erased"]),
            key_kid=r["key_kid"],
            binding_salt=bytes(r["binding_salt"]) if r["binding_salt"] is not None else None,
            verification_code=r["verification_code"],
            status_list=(
                (r["status_list_id"], r["status_list_index"])
                if r["status_list_id"] is not None
                else None
            ),
            retain_until=r["retain_until"],
            erased_at=r["erased_at"],
        )
        for r in rows
    ]


async def stored_nodes(
    conn: Connection, ids: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], bytes]:
    """The stored hashes of these (level, index) nodes; missing ones are absent."""
    rows = await conn.fetch(
        """SELECT n.level, n.idx, n.hash
           FROM unnest($1::smallint[], $2::bigint[]) AS want(level, idx)
           JOIN log_nodes n USING (level, idx)""",
        [i[0] for i in ids],
        [i[1] for i in ids],
    )
    return {(r["level"], r["idx"]): bytes(r["hash"]) for r in rows}


async def unlogged_events(conn: Connection) -> list[tuple[str, str]]:
    """(certificate, kind) of every status event that has no leaf in the log."""
    rows = await conn.fetch(
        """SELECT e.certificate_number, e.kind FROM certificate_events e
           WHERE NOT EXISTS (SELECT 1 FROM log_leaves l WHERE l.event_id = e.id)
           ORDER BY e.id"""
    )
    return [(r["certificate_number"], r["kind"]) for r in rows]


async def unissued_certificates(conn: Connection) -> list[str]:
    """Certificates with no 'issued' event at all."""
    rows = await conn.fetch(
        """SELECT c.number FROM certificates c
           WHERE NOT EXISTS (SELECT 1 FROM certificate_events e
                             WHERE e.certificate_number = c.number AND e.kind = 'issued')
           ORDER BY c.number"""
    )
    return [r["number"] for r in rows]


async def latest_checkpoint_size(conn: Connection) -> int | None:
    """The size of the largest stored checkpoint; None when none is stored."""
    size: int | None = await conn.fetchval("SELECT max(size) FROM log_checkpoints")
    return size


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    size: int
    root_hash: bytes
    kid: str
    note: bytes


async def stored_checkpoints(conn: Connection) -> list[StoredCheckpoint]:
    rows = await conn.fetch("SELECT size, root_hash, kid, note FROM log_checkpoints ORDER BY size")
    return [
        StoredCheckpoint(r["size"], bytes(r["root_hash"]), r["kid"], bytes(r["note"])) for r in rows
    ]


async def leaves_beyond(conn: Connection, size: int) -> list[int]:
    """Indexes of stored leaves at or past the head's size: no tree includes them."""
    rows = await conn.fetch("SELECT idx FROM log_leaves WHERE idx >= $1 ORDER BY idx", size)
    return [r["idx"] for r in rows]


async def stored_checkpoint_roots(conn: Connection) -> dict[int, list[bytes]]:
    """The root hash of every stored checkpoint, by tree size."""
    found: dict[int, list[bytes]] = {}
    for r in await conn.fetch("SELECT size, root_hash FROM log_checkpoints ORDER BY size"):
        found.setdefault(r["size"], []).append(bytes(r["root_hash"]))
    return found


async def head(conn: Connection) -> tuple[int, list[bytes]] | None:
    """The log head's size and right edge; None when the row is gone."""
    row = await conn.fetchrow("SELECT size, edge FROM log_head")
    if row is None:
        return None
    return row["size"], [bytes(h) for h in row["edge"]]


@dataclass(frozen=True, slots=True)
class KeyHistoryRow:
    """A key of either history with everything its leaves state."""

    table: KeyTable
    kid: str
    owner: str
    public_key: bytes
    valid_from: dt.datetime
    retired_at: dt.datetime | None
    revoked_from: dt.datetime | None
    revoked_at: dt.datetime | None


async def key_history(conn: Connection) -> dict[str, KeyHistoryRow]:
    """Every school key and log key, by key id."""
    rows = await conn.fetch(
        """SELECT 'school' AS t, kid, school_id AS owner, public_key, valid_from, retired_at,
                  revoked_from, revoked_at FROM school_keys
           UNION ALL
           SELECT 'log', kid, name, public_key, valid_from, retired_at, revoked_from, revoked_at
           FROM log_keys"""
    )
    return {
        r["kid"]: KeyHistoryRow(
            "school" if r["t"] == "school" else "log",
            r["kid"],
            r["owner"],
            bytes(r["public_key"]),
            r["valid_from"],
            r["retired_at"],
            r["revoked_from"],
            r["revoked_at"],
        )
        for r in rows
    }
