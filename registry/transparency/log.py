"""The transparency log on PostgreSQL: appending events, reading nodes, signing checkpoints.

Every registry event becomes a leaf whose entry is canonical JSON holding no personal data::

    {"at": "...", "certificate": "2026-0000001", "codeSha256": "<hex>", "event": "issued",
     "kid": "...", "recordSha256": "<hex SHA-256 of the compact JWS>", "retainUntil": "2056-...",
     "statusList": {"index": 17, "list": 1}, "v": 2}

Entry v2 of 'issued' binds what answers depend on beyond the signed record (``registry.binding``:
the status-list position, the retention date, the salted code hash); v1 entries, written before
migration 0013, carry only the record's digest and stay readable. Other events are v1.

``append`` runs inside the caller's transaction and locks the log head, so the certificate, its
event and its leaf commit together and concurrent writers get consecutive indexes.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from formats.record import canonical_json, canonical_json_of_typed
from registry.db import Connection
from registry.errors import NotFoundError
from registry.keys import KeyStore, public_bytes
from registry.transparency import merkle
from registry.transparency.checkpoint import Checkpoint, NoteSigner, sign_checkpoint
from registry.transparency.copies import CheckpointCopies
from registry.transparency.merkle import Hash, NodeId, RightEdge


@dataclass(frozen=True, slots=True)
class Event:
    """A registry event to log: its row id in certificate_events and what happened."""

    event_id: int
    certificate_number: str
    kind: str
    at: dt.datetime
    jws: str | None = None  # the signed record, for 'issued'
    kid: str | None = None
    reason: str | None = None
    replaced_by: str | None = None
    # For 'issued' since entry v2 (registry.binding): what the row holds beyond the record.
    code_sha256: str | None = None
    status_list: tuple[int, int] | None = None  # (list, index)
    retain_until: dt.date | None = None


@dataclass(frozen=True, slots=True)
class KeyEvent:
    """A change in a key history to log: a school key or a log key added, retired or revoked."""

    kid: str
    kind: str  # "key-added", "key-retired" or "key-revoked"
    key_of: str  # "school:<institution number>" or "log:<the log's name>"
    at: dt.datetime
    public_key: bytes | None = None  # for "key-added"
    revoked_from: dt.datetime | None = None  # for "key-revoked"


@dataclass(frozen=True, slots=True)
class Leaf:
    index: int
    entry: bytes
    leaf_hash: Hash
    certificate_number: str | None


def record_digest(jws: str) -> str:
    return hashlib.sha256(jws.encode()).hexdigest()


def entry_time(moment: dt.datetime) -> str:
    """A moment as log entries state it: UTC, to the second (``2026-11-20T09:30:00Z``)."""
    # isoformat of the naive UTC moment is strftime's "%Y-%m-%dT%H:%M:%S" for every year from
    # 1000 on, at half the cost (once per leaf).
    return moment.astimezone(dt.UTC).replace(tzinfo=None, microsecond=0).isoformat() + "Z"


def entry_bytes(event: Event | KeyEvent) -> bytes:
    """The canonical JSON entry of an event (no personal data)."""
    if isinstance(event, KeyEvent):
        return key_entry_bytes(event)
    bound = event.code_sha256 is not None
    entry: dict[str, str | int | dict[str, int]] = {
        "v": 2 if bound else 1,
        "event": event.kind,
        "certificate": event.certificate_number,
        "at": entry_time(event.at),
    }
    if event.jws is not None:
        entry["recordSha256"] = record_digest(event.jws)
    if event.kid is not None:
        entry["kid"] = event.kid
    if event.reason is not None:
        entry["reason"] = event.reason
    if event.replaced_by is not None:
        entry["replacedBy"] = event.replaced_by
    if event.code_sha256 is not None:
        entry["codeSha256"] = event.code_sha256
    if event.status_list is not None:
        entry["statusList"] = {"list": event.status_list[0], "index": event.status_list[1]}
    if event.retain_until is not None:
        entry["retainUntil"] = event.retain_until.isoformat()
    # Fixed ASCII member names, strings and small integers from typed fields: the shape check
    # of canonical_json would only cost time here (one per certificate on the bulk path).
    return canonical_json_of_typed(entry)


def key_entry_bytes(event: KeyEvent) -> bytes:
    """``{"at", "event": "key-added", "keyOf", "kid", "publicKey"?, "revokedFrom"?, "v"}``."""
    entry: dict[str, str | int] = {
        "v": 1,
        "event": event.kind,
        "kid": event.kid,
        "keyOf": event.key_of,
        "at": entry_time(event.at),
    }
    if event.public_key is not None:
        entry["publicKey"] = base64.urlsafe_b64encode(event.public_key).rstrip(b"=").decode()
    if event.revoked_from is not None:
        entry["revokedFrom"] = entry_time(event.revoked_from)
    return canonical_json(entry)


class PostgresNodeStore:
    """The `merkle.NodeReader` port on the log_nodes table: one query per proof."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def read_nodes(self, ids: Sequence[NodeId]) -> Sequence[Hash]:
        rows = await self._conn.fetch(
            """SELECT n.level, n.idx, n.hash
               FROM unnest($1::smallint[], $2::bigint[]) AS want(level, idx)
               JOIN log_nodes n USING (level, idx)""",
            [i.level for i in ids],
            [i.index for i in ids],
        )
        found = {(r["level"], r["idx"]): Hash(bytes(r["hash"])) for r in rows}
        try:
            return [found[(i.level, i.index)] for i in ids]
        except KeyError as e:
            raise NotFoundError(f"the log has no node {e.args[0]}: it is smaller than asked") from e


async def append(conn: Connection, events: Sequence[Event | KeyEvent]) -> list[int]:
    """Append events as leaves in the caller's transaction; return their indexes.

    Locks the log head until the transaction ends, which orders concurrent appends.
    """
    if not events:
        return []
    head = await conn.fetchrow("SELECT size, edge FROM log_head FOR UPDATE")
    if head is None:
        raise NotFoundError("the log head is missing; run the migrations")
    edge = RightEdge(head["size"], tuple(Hash(bytes(h)) for h in head["edge"]))
    first = edge.size
    entries, hashes, levels, indexes, node_hashes = [], [], [], [], []
    for event in events:
        entry = entry_bytes(event)
        leaf = merkle.leaf_hash(entry)
        edge, nodes = edge.append(leaf)
        entries.append(entry)
        hashes.append(leaf)
        for node in nodes:
            levels.append(node.level)
            indexes.append(node.index)
            node_hashes.append(node.hash)
    # Leaves, nodes and the new head in one statement: one round trip while the head is locked.
    await conn.execute(
        """WITH leaves AS (
               INSERT INTO log_leaves (idx, entry, leaf_hash, certificate_number, event_id,
                                       key_kid)
               SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bytea[], $4::text[],
                                    $5::bigint[], $11::text[])),
           nodes AS (
               INSERT INTO log_nodes (level, idx, hash)
               SELECT * FROM unnest($6::smallint[], $7::bigint[], $8::bytea[]))
           UPDATE log_head SET size = $9, edge = $10""",
        list(range(first, edge.size)),
        entries,
        hashes,
        [e.certificate_number if isinstance(e, Event) else None for e in events],
        [e.event_id if isinstance(e, Event) else None for e in events],
        levels,
        indexes,
        node_hashes,
        edge.size,
        list(edge.hashes),
        [e.kid if isinstance(e, KeyEvent) else None for e in events],
    )
    return list(range(first, edge.size))


async def size(conn: Connection) -> int:
    value = await conn.fetchval("SELECT size FROM log_head")
    return int(value)


async def leaf(conn: Connection, index: int) -> Leaf | None:
    row = await conn.fetchrow(
        "SELECT idx, entry, leaf_hash, certificate_number FROM log_leaves WHERE idx = $1", index
    )
    return _leaf(row) if row else None


async def issued_leaf(conn: Connection, number: str) -> Leaf | None:
    """The leaf of a certificate's 'issued' event."""
    row = await conn.fetchrow(
        """SELECT l.idx, l.entry, l.leaf_hash, l.certificate_number
           FROM log_leaves l JOIN certificate_events e ON e.id = l.event_id
           WHERE e.certificate_number = $1 AND e.kind = 'issued'""",
        number,
    )
    return _leaf(row) if row else None


def _leaf(row: object) -> Leaf:
    r: dict[str, object] = dict(row)  # type: ignore[call-overload]
    return Leaf(
        index=int(r["idx"]),  # type: ignore[call-overload]
        entry=bytes(r["entry"]),  # type: ignore[call-overload]
        leaf_hash=Hash(bytes(r["leaf_hash"])),  # type: ignore[call-overload]
        certificate_number=r["certificate_number"],  # type: ignore[arg-type]
    )


@dataclass(frozen=True, slots=True)
class LogKey:
    kid: str
    name: str
    public_key: bytes
    valid_from: dt.datetime
    retired_at: dt.datetime | None
    revoked_from: dt.datetime | None = None  # compromised: what it signed from then is marked


async def log_keys(conn: Connection) -> list[LogKey]:
    rows = await conn.fetch(
        """SELECT kid, name, public_key, valid_from, retired_at, revoked_from
           FROM log_keys ORDER BY valid_from, kid"""
    )
    return [
        LogKey(
            r["kid"],
            r["name"],
            bytes(r["public_key"]),
            r["valid_from"],
            r["retired_at"],
            r["revoked_from"],
        )
        for r in rows
    ]


async def active_log_key(conn: Connection) -> LogKey | None:
    keys = [k for k in await log_keys(conn) if k.retired_at is None]
    return keys[0] if keys else None


async def ensure_log_key(
    conn: Connection, keys: KeyStore, *, name: str, now: dt.datetime
) -> LogKey:
    """The active checkpoint key, made (and its private half stored) if there is none."""
    active = await active_log_key(conn)
    if active is not None:
        return active
    private = Ed25519PrivateKey.generate()
    key = LogKey(f"log-{secrets.token_hex(4)}", name, public_bytes(private), now, None)
    keys.put(key.kid, private)
    await insert_log_key(conn, key)
    return key


async def insert_log_key(conn: Connection, key: LogKey) -> None:
    """Add a checkpoint key and log its addition, in one transaction."""
    async with conn.transaction():
        await conn.execute(
            """INSERT INTO log_keys (kid, name, public_key, valid_from) VALUES ($1, $2, $3, $4)""",
            key.kid,
            key.name,
            key.public_key,
            key.valid_from,
        )
        await append(
            conn,
            [KeyEvent(key.kid, "key-added", f"log:{key.name}", key.valid_from, key.public_key)],
        )


async def checkpoint(
    conn: Connection,
    signing_key: Ed25519PrivateKey,
    key: LogKey,
    *,
    now: dt.datetime,
    copies: CheckpointCopies | None = None,
) -> bytes:
    """The signed checkpoint of the log as it stands, signed once per size and stored.

    A newly signed one is also handed to ``copies`` (kept outside the database, for the audit)
    before the transaction commits; raises OSError, storing nothing, if that fails.
    """
    async with conn.transaction():
        head = await conn.fetchrow("SELECT size, edge FROM log_head")
        if head is None:
            raise NotFoundError("the log head is missing; run the migrations")
        # Per size and key: after a rotation the new key signs the current size afresh.
        stored = await conn.fetchval(
            "SELECT note FROM log_checkpoints WHERE size = $1 AND kid = $2", head["size"], key.kid
        )
        if stored is not None:
            return bytes(stored)
        root = RightEdge(head["size"], tuple(Hash(bytes(h)) for h in head["edge"])).root()
        note = sign_checkpoint(
            Checkpoint(origin=key.name, size=head["size"], root_hash=root),
            NoteSigner(key.name, signing_key),
        )
        inserted = await conn.fetchval(
            """INSERT INTO log_checkpoints (size, root_hash, kid, note, signed_at)
               VALUES ($1, $2, $3, $4, $5) ON CONFLICT (size, kid) DO NOTHING
               RETURNING true""",
            head["size"],
            root,
            key.kid,
            note,
            now,
        )
        if inserted and copies is not None:
            await copies.keep(note)
        final = await conn.fetchval(
            "SELECT note FROM log_checkpoints WHERE size = $1 AND kid = $2", head["size"], key.kid
        )
        return bytes(final)


async def root_at(conn: Connection, tree_size: int) -> Hash:
    """The root hash of the log when it had ``tree_size`` leaves."""
    current = await size(conn)
    if tree_size > current:
        raise NotFoundError(f"the log has {current} leaves, not {tree_size}")
    edge = await merkle.read_right_edge(PostgresNodeStore(conn), tree_size)
    return edge.root()
