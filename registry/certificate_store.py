"""SQL for the register: the schools' public keys, certificates and their status events.
Every function takes the connection it runs on and returns our own frozen dataclasses."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from registry import binding
from registry.db import Connection
from registry.errors import NotFoundError
from registry.transparency import log
from registry.transparency.log import Leaf
from registry.transparency.merkle import Hash, NodeId


@dataclass(frozen=True, slots=True)
class SchoolKey:
    kid: str
    school_id: str
    school_name: str
    public_key: bytes
    valid_from: dt.datetime
    retired_at: dt.datetime | None
    revoked_from: dt.datetime | None = None  # compromised: what it signed from then is marked


@dataclass(frozen=True, slots=True)
class NewCertificate:
    number: str
    school_id: str
    participation_id: uuid.UUID | None
    cpr: str
    kid: str
    payload: bytes
    jws: str
    verification_code: str
    issued_at: dt.datetime
    kind: str = "amu"
    goal_number: str | None = None


@dataclass(frozen=True, slots=True)
class CertificateRef:
    """Which document of a participation a certificate fulfils."""

    number: str
    kind: str
    goal_number: str | None
    verification_code: str


@dataclass(frozen=True, slots=True)
class Status:
    """The latest status event after issuing: cancelled or revoked, or None while valid."""

    kind: str
    reason: str | None
    at: dt.datetime
    replaced_by: str | None


@dataclass(frozen=True, slots=True)
class StoredCertificate:
    number: str
    school_id: str
    cpr: str
    kid: str
    payload: bytes
    jws: str
    verification_code: str
    issued_at: dt.datetime
    status: Status | None
    # What the 'issued' leaf binds beyond the record (registry.binding), and that leaf's entry.
    binding_salt: bytes | None = None
    status_list: tuple[int, int] | None = None
    retain_until: dt.date | None = None
    issued_entry: bytes | None = None

    def facts(self) -> binding.RowFacts:
        """The row as `registry.binding` compares it with its leaf."""
        return binding.RowFacts(
            number=self.number,
            jws=self.jws,
            payload=self.payload,
            cpr=self.cpr,
            binding_salt=self.binding_salt,
            verification_code=self.verification_code,
            status_list=self.status_list,
            retain_until=self.retain_until,
        )

    def leaf_mismatches(self) -> list[str]:
        """How the row differs from its 'issued' leaf; empty when it is what the log recorded."""
        bound = binding.read_issued(self.issued_entry) if self.issued_entry is not None else None
        return binding.mismatches(bound, self.facts())


_KEY_COLUMNS = """k.kid, k.school_id, s.name AS school_name, k.public_key, k.valid_from,
                  k.retired_at, k.revoked_from"""


def _key(row: asyncpg.Record) -> SchoolKey:
    return SchoolKey(
        kid=row["kid"],
        school_id=row["school_id"],
        school_name=row["school_name"],
        public_key=bytes(row["public_key"]),
        valid_from=row["valid_from"],
        retired_at=row["retired_at"],
        revoked_from=row["revoked_from"],
    )


async def insert_key(
    conn: Connection,
    *,
    kid: str,
    school_id: str,
    public_key: bytes,
    valid_from: dt.datetime,
) -> None:
    async with conn.transaction():  # the key and its leaf in the log, together
        await conn.execute(
            """INSERT INTO school_keys (kid, school_id, public_key, valid_from)
               VALUES ($1, $2, $3, $4)""",
            kid,
            school_id,
            public_key,
            valid_from,
        )
        await log.append(
            conn,
            [log.KeyEvent(kid, "key-added", f"school:{school_id}", valid_from, public_key)],
        )


async def active_key(conn: Connection, school_id: str) -> SchoolKey | None:
    row = await conn.fetchrow(
        f"""SELECT {_KEY_COLUMNS} FROM school_keys k JOIN schools s ON s.id = k.school_id
            WHERE k.school_id = $1 AND k.retired_at IS NULL""",  # noqa: S608 - constant columns
        school_id,
    )
    return _key(row) if row else None


async def key(conn: Connection, kid: str) -> SchoolKey | None:
    row = await conn.fetchrow(
        f"""SELECT {_KEY_COLUMNS} FROM school_keys k JOIN schools s ON s.id = k.school_id
            WHERE k.kid = $1""",  # noqa: S608 - constant columns
        kid,
    )
    return _key(row) if row else None


async def keys(conn: Connection, kids: Sequence[str]) -> dict[str, SchoolKey]:
    """The keys with these ids, by id (unknown ids are absent)."""
    rows = await conn.fetch(
        f"""SELECT {_KEY_COLUMNS} FROM school_keys k JOIN schools s ON s.id = k.school_id
            WHERE k.kid = ANY($1::text[])""",  # noqa: S608 - constant columns
        sorted(set(kids)),
    )
    return {row["kid"]: _key(row) for row in rows}


async def all_keys(conn: Connection) -> list[SchoolKey]:
    rows = await conn.fetch(
        f"""SELECT {_KEY_COLUMNS} FROM school_keys k JOIN schools s ON s.id = k.school_id
            ORDER BY k.school_id, k.valid_from"""  # noqa: S608 - constant columns
    )
    return [_key(row) for row in rows]


async def next_serials(conn: Connection, count: int) -> list[int]:
    """``count`` fresh serial numbers for certificate numbers."""
    rows = await conn.fetch(
        "SELECT nextval('certificate_serial') AS n FROM generate_series(1, $1)", count
    )
    return [row["n"] for row in rows]


@dataclass(frozen=True, slots=True)
class InsertedCertificate:
    """A certificate as inserted, with what the database assigned and its leaf must bind."""

    event_id: int  # its 'issued' event
    certificate: NewCertificate
    binding_salt: bytes
    status_list: tuple[int, int]  # (list, index), assigned by the insert trigger
    retain_until: dt.date  # computed by the insert trigger from the signed record


async def insert_certificates(
    conn: Connection, rows: Sequence[NewCertificate]
) -> list[InsertedCertificate]:
    """Insert certificates and their 'issued' events in the caller's transaction.

    Returns each certificate with the id of its 'issued' event and what the database assigned
    (status position, retention date) and the fresh binding salt: all of it goes into the leaf.
    Certificates enter the register through ``registry.intake``, which also queues and logs them.
    """
    if not rows:
        return []
    salts = [binding.new_salt() for _ in rows]
    # One statement, one round trip: the events are made from what the insert returns (the
    # foreign key is checked at the end of the statement, when both rows exist).
    events = await conn.fetch(
        """WITH c AS (
               INSERT INTO certificates (number, school_id, participation_id, cpr, kid, payload,
                                         jws, verification_code, issued_at, kind, goal_number,
                                         binding_salt)
               SELECT * FROM unnest($1::text[], $2::text[], $3::uuid[], $4::text[], $5::text[],
                                    $6::bytea[], $7::text[], $8::text[], $9::timestamptz[],
                                    $10::text[], $11::text[], $12::bytea[])
               RETURNING number, issued_at, status_list_id, status_list_index, retain_until),
           e AS (
               INSERT INTO certificate_events (certificate_number, kind, at)
               SELECT number, 'issued', issued_at FROM c
               RETURNING id, certificate_number)
           SELECT e.id, c.number, c.status_list_id, c.status_list_index, c.retain_until
           FROM e JOIN c ON c.number = e.certificate_number ORDER BY e.id""",
        [r.number for r in rows],
        [r.school_id for r in rows],
        [r.participation_id for r in rows],
        [r.cpr for r in rows],
        [r.kid for r in rows],
        [r.payload for r in rows],
        [r.jws for r in rows],
        [r.verification_code for r in rows],
        [r.issued_at for r in rows],
        [r.kind for r in rows],
        [r.goal_number for r in rows],
        salts,
    )
    by_number = {r.number: (r, salt) for r, salt in zip(rows, salts, strict=True)}
    return [
        InsertedCertificate(
            event_id=e["id"],
            certificate=by_number[e["number"]][0],
            binding_salt=by_number[e["number"]][1],
            status_list=(e["status_list_id"], e["status_list_index"]),
            retain_until=e["retain_until"],
        )
        for e in events
    ]


# The certificate's first leaf is its 'issued' leaf: read by the leaves' own index on the
# certificate number, not through the events, so an edited event row cannot point elsewhere.
_CERTIFICATE_QUERY = """
    SELECT c.number, c.school_id, c.cpr, c.kid, c.payload, c.jws, c.verification_code,
           c.issued_at, e.kind, e.reason, e.at, e.replaced_by, c.binding_salt,
           c.status_list_id, c.status_list_index, c.retain_until,
           (SELECT l.entry FROM log_leaves l WHERE l.certificate_number = c.number
            ORDER BY l.idx LIMIT 1) AS issued_entry
    FROM certificates c
    LEFT JOIN LATERAL (
        SELECT kind, reason, at, replaced_by FROM certificate_events
        WHERE certificate_number = c.number AND kind <> 'issued'
        ORDER BY id DESC LIMIT 1
    ) e ON true
"""


def _certificate(row: asyncpg.Record) -> StoredCertificate:
    status = (
        Status(row["kind"], row["reason"], row["at"], row["replaced_by"]) if row["kind"] else None
    )
    return StoredCertificate(
        number=row["number"],
        school_id=row["school_id"],
        cpr=row["cpr"],
        kid=row["kid"],
        payload=bytes(row["payload"]),
        jws=row["jws"],
        verification_code=row["verification_code"],
        issued_at=row["issued_at"],
        status=status,
        binding_salt=bytes(row["binding_salt"]) if row["binding_salt"] is not None else None,
        status_list=(row["status_list_id"], row["status_list_index"]),
        retain_until=row["retain_until"],
        issued_entry=bytes(row["issued_entry"]) if row["issued_entry"] is not None else None,
    )


def _bound(row: asyncpg.Record) -> StoredCertificate | None:
    """The certificate if its row is what its 'issued' leaf recorded, else None: a row edited
    behind the register's back (its CPR number, record, code, position) is never handed out."""
    stored = _certificate(row)
    return None if stored.leaf_mismatches() else stored


async def certificate(conn: Connection, number: str) -> StoredCertificate | None:
    """The certificate, or None if there is none, its personal data is past retention, or its
    row no longer matches its 'issued' leaf (the audit names it)."""
    row = await conn.fetchrow(
        _CERTIFICATE_QUERY + " WHERE c.number = $1 AND c.erased_at IS NULL", number
    )
    return _bound(row) if row else None


async def lock_certificate(
    conn: Connection, number: str
) -> tuple[StoredCertificate, uuid.UUID | None] | None:
    """The certificate and its participation, its row locked until the transaction ends.

    Status changes take this lock first, so two of them on one certificate run one after the
    other and the second sees the first's event.
    """
    participation = await conn.fetchrow(
        "SELECT participation_id FROM certificates WHERE number = $1 FOR UPDATE", number
    )
    found = await certificate(conn, number) if participation else None
    return (found, participation["participation_id"]) if found and participation else None


async def insert_status_event(
    conn: Connection,
    *,
    number: str,
    kind: str,
    reason: str,
    at: dt.datetime,
    replaced_by: str | None = None,
) -> int:
    """Record that a certificate was cancelled or revoked; return the event's id, for the log.

    Status changes enter the register through ``registry.intake``, which also logs them.
    """
    event_id: int = await conn.fetchval(
        """INSERT INTO certificate_events (certificate_number, kind, reason, replaced_by, at)
           VALUES ($1, $2, $3, $4, $5) RETURNING id""",
        number,
        kind,
        reason,
        replaced_by,
        at,
    )
    return event_id


async def certificates_of(conn: Connection, cpr: str) -> list[StoredCertificate]:
    """Every certificate of one participant, newest first.

    The ``cpr`` column only finds candidates: a row is this person's only if its signed record
    names them and the record is the one its leaf recorded; any other row is left out."""
    rows = await conn.fetch(
        _CERTIFICATE_QUERY + " WHERE c.cpr = $1 ORDER BY c.issued_at DESC, c.number DESC", cpr
    )
    return [stored for row in rows if (stored := _bound(row)) is not None]


async def certificates_of_participations(
    conn: Connection, participation_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[CertificateRef]]:
    """The certificates issued for each participation, oldest first."""
    rows = await conn.fetch(
        """SELECT participation_id, number, kind, goal_number, verification_code
           FROM certificates WHERE participation_id = ANY($1::uuid[])
           ORDER BY issued_at, number""",
        list(participation_ids),
    )
    found: dict[uuid.UUID, list[CertificateRef]] = {}
    for r in rows:
        found.setdefault(r["participation_id"], []).append(
            CertificateRef(r["number"], r["kind"], r["goal_number"], r["verification_code"])
        )
    return found


@dataclass(frozen=True, slots=True)
class VerificationLookup:
    """Everything one verification reads, from one statement and so from one snapshot."""

    certificate: StoredCertificate | None  # None: no such number, or erased after retention
    key: SchoolKey | None  # the key named by the certificate's kid column
    leaf: Leaf | None  # the leaf of the certificate's 'issued' event
    log_size: int  # the log head: its size and right edge
    log_edge: tuple[Hash, ...]
    siblings: dict[NodeId, Hash]  # the stored perfect subtrees next to the leaf's path
    last_entry: bytes | None = None  # the certificate's latest leaf: its status in the log


VERIFICATION_LOOKUP = """
    SELECT c.number, c.school_id, c.cpr, c.kid, c.payload, c.jws, c.verification_code,
           c.issued_at, e.kind, e.reason, e.at, e.replaced_by, c.binding_salt,
           c.status_list_id, c.status_list_index, c.retain_until, lf.entry AS issued_entry,
           (SELECT l.entry FROM log_leaves l WHERE l.certificate_number = c.number
            ORDER BY l.idx DESC LIMIT 1) AS last_entry,
           k.school_id AS key_school_id, s.name AS school_name, k.public_key, k.valid_from,
           k.retired_at, k.revoked_from,
           lf.idx AS leaf_index, lf.entry AS leaf_entry, lf.leaf_hash,
           h.size AS log_size, h.edge AS log_edge,
           -- Element l is node (l, (leaf >> l) XOR 1), NULL where that subtree is not inside
           -- the tree: with the head's edge, every node an inclusion proof can need.
           ARRAY(
               SELECT n.hash FROM generate_series(0, 62) AS g(level)
               LEFT JOIN log_nodes n
                 ON n.level = g.level AND n.idx = (lf.idx >> g.level) # 1
                    AND (lf.idx >> g.level) # 1 < h.size >> g.level
               WHERE lf.idx IS NOT NULL AND h.size >> g.level > 0
               ORDER BY g.level
           ) AS siblings
    FROM log_head h
    LEFT JOIN certificates c ON c.number = $1 AND c.erased_at IS NULL
    LEFT JOIN school_keys k ON k.kid = c.kid
    LEFT JOIN schools s ON s.id = k.school_id
    LEFT JOIN LATERAL (
        SELECT kind, reason, at, replaced_by FROM certificate_events
        WHERE certificate_number = c.number AND kind <> 'issued'
        ORDER BY id DESC LIMIT 1
    ) e ON true
    LEFT JOIN LATERAL (
        SELECT l.idx, l.entry, l.leaf_hash FROM log_leaves l
        WHERE l.certificate_number = c.number ORDER BY l.idx LIMIT 1
    ) lf ON true
"""
"""One row for the certificate numbered ``$1`` (text; NULL finds none): see `VerificationLookup`.
Other statements may use it as a CTE and read the row with `verification_lookup_of`."""


async def verification_lookup(conn: Connection, number: str | None) -> VerificationLookup:
    """The certificate, its key, status and issued leaf, the log head and the nodes of the
    leaf's inclusion proof: one round trip. ``number=None`` reads only the head.

    Raises NotFoundError without a log head (the migrations have not run).
    """
    return verification_lookup_of(await conn.fetchrow(VERIFICATION_LOOKUP, number))


def verification_lookup_of(row: asyncpg.Record | None) -> VerificationLookup:
    """A row of `VERIFICATION_LOOKUP`'s columns as our own dataclass.

    Raises NotFoundError for no row: there is no log head.
    """
    if row is None:
        raise NotFoundError("the log head is missing; run the migrations")
    leaf = None
    if row["leaf_index"] is not None:
        leaf = Leaf(
            index=row["leaf_index"],
            entry=bytes(row["leaf_entry"]),
            leaf_hash=Hash(bytes(row["leaf_hash"])),
            certificate_number=row["number"],
        )
    key = None
    if row["public_key"] is not None:
        key = SchoolKey(
            kid=row["kid"],
            school_id=row["key_school_id"],
            school_name=row["school_name"],
            public_key=bytes(row["public_key"]),
            valid_from=row["valid_from"],
            retired_at=row["retired_at"],
            revoked_from=row["revoked_from"],
        )
    siblings = {}
    if leaf is not None:
        siblings = {
            NodeId(level, (leaf.index >> level) ^ 1): Hash(bytes(h))
            for level, h in enumerate(row["siblings"])
            if h is not None
        }
    return VerificationLookup(
        certificate=_certificate(row) if row["number"] is not None else None,
        key=key,
        leaf=leaf,
        log_size=row["log_size"],
        log_edge=tuple(Hash(bytes(h)) for h in row["log_edge"]),
        siblings=siblings,
        last_entry=bytes(row["last_entry"]) if row["last_entry"] is not None else None,
    )
