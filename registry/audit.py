"""The audit: check the whole register against a checkpoint saved earlier.

Trust nothing the database says about itself. From a signed checkpoint the auditor kept, the
audit recomputes every leaf hash from its entry and every stored tree node from the leaves,
checks that the saved checkpoint's tree is a prefix of today's (its root recomputed, and the
consistency proof the register serves verified), and that every stored row matches its leaf:
the event's kind, time, reason and replacement, the SHA-256 of the certificate's JWS, the JWS's
signature by the school key it names, valid at the record's issue time in the key history::

    report = await audit(conn, Path("checkpoint.txt").read_bytes(), progress=bar.advance)
    for finding in report.findings:     # empty when the register is intact
        print(finding)

Findings name the certificate and leaf, never personal data. Certificates signed by a key after
the date it was revoked from are warnings, not findings: the register marks them itself.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from formats.errors import FormatError
from formats.jws import read_header, verify_record
from formats.record import CertificateRecord
from registry import audit_store, binding, certificate_store, keyhistory
from registry.audit_store import AuditRow
from registry.db import Connection
from registry.errors import CheckpointError, NotFoundError, ProofError
from registry.keyhistory import KeyState
from registry.transparency import log, merkle, proofs
from registry.transparency.checkpoint import Checkpoint, NoteVerifier, open_checkpoint
from registry.transparency.merkle import Hash, RightEdge

BATCH = 1000


@dataclass(frozen=True, slots=True)
class Finding:
    """Something that does not check out, and where."""

    problem: str
    certificate: str | None = None
    leaf: int | None = None

    def __str__(self) -> str:
        where = [f"certificate {self.certificate}"] if self.certificate else []
        where += [f"leaf {self.leaf}"] if self.leaf is not None else []
        return f"{', '.join(where)}: {self.problem}" if where else self.problem


@dataclass(slots=True)
class AuditReport:
    checkpoint: Checkpoint | None = None
    tree_size: int = 0
    leaves: int = 0
    certificates: int = 0
    erased: int = 0  # certificates past retention: only their leaf is checked
    findings: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


async def tree_size(conn: Connection) -> int:
    """The number of leaves the audit will read (for a progress bar)."""
    head = await audit_store.head(conn)
    return head[0] if head else 0


async def audit(
    conn: Connection,
    note: bytes,
    *,
    verifier: NoteVerifier | None = None,
    progress: Callable[[int], object] | None = None,
    outside: Sequence[bytes] = (),
) -> AuditReport:
    """Audit the register from the signed checkpoint ``note``.

    ``verifier`` is the log key the auditor trusts; by default any key of the register's log
    key history may have signed the note. ``progress`` is called with the number of leaves
    checked after each batch. ``outside`` are the checkpoints the service kept outside the
    database (``registry.transparency.copies``): each must be in ``log_checkpoints`` and a
    prefix of today's tree. Reads one snapshot of the database (repeatable read).
    """
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        return await _Audit(conn, progress).run(note, verifier, outside)


class _Audit:
    def __init__(self, conn: Connection, progress: Callable[[int], object] | None) -> None:
        self.conn = conn
        self.progress = progress
        self.report = AuditReport()
        self.keys: dict[str, certificate_store.SchoolKey] = {}
        self.pre_binding: list[str] = []  # certificates whose 'issued' leaf is entry v1
        self.outside_roots: dict[int, set[bytes]] = {}

    def fail(self, problem: str, certificate: str | None = None, leaf: int | None = None) -> None:
        finding = Finding(problem, certificate, leaf)
        if finding not in self.report.findings:  # two checks may see one edit the same way
            self.report.findings.append(finding)

    async def run(
        self, note: bytes, verifier: NoteVerifier | None, outside: Sequence[bytes]
    ) -> AuditReport:
        report = self.report
        head = await audit_store.head(self.conn)
        if head is None:
            self.fail("the log head is missing: every leaf is read as beyond it")
        size, head_edge = head or (0, [])
        report.tree_size = size
        self.keys = {k.kid: k for k in await certificate_store.all_keys(self.conn)}
        self.key_history = await audit_store.key_history(self.conn)
        self.key_leaves: dict[str, set[str]] = {}
        checkpoint = await self._open(note, verifier)
        report.checkpoint = checkpoint
        if checkpoint is not None and checkpoint.size > size:
            self.fail(f"the saved checkpoint has {checkpoint.size} leaves, the log only {size}")
        stored_roots = await audit_store.stored_checkpoint_roots(self.conn)
        await self._check_stored_notes()
        await self._check_outside(outside, stored_roots, size)
        for index in await audit_store.leaves_beyond(self.conn, size):
            self.fail("a leaf is stored beyond the log head", leaf=index)

        edge, checkpoint_root = await self._walk(
            size, checkpoint.size if checkpoint else None, stored_roots
        )
        root = edge.root()
        if edge.size != size or _head_root(size, head_edge) != root:
            self.fail("the log head does not match the tree recomputed from the leaves")
        if checkpoint is not None and checkpoint.size <= edge.size:
            await self._check_consistency(checkpoint, checkpoint_root, root, edge.size)
        for number, kind in await audit_store.unlogged_events(self.conn):
            self.fail(f"its '{kind}' event is not in the log", number)
        for number in await audit_store.unissued_certificates(self.conn):
            self.fail("it has no 'issued' event", number)
        self._check_key_history_logged()
        if self.pre_binding:
            shown = ", ".join(self.pre_binding[:5]) + (" ..." if len(self.pre_binding) > 5 else "")
            report.warnings.append(
                Finding(
                    f"{len(self.pre_binding)} certificate(s) were logged before entry v2 bound "
                    f"their verification code, status position and retention date ({shown}): "
                    "for these the log binds the signed record only"
                )
            )
        return report

    async def _check_stored_notes(self) -> None:
        """Each stored checkpoint is the note its key signed over its size and root."""
        keys = {k.kid: k for k in await log.log_keys(self.conn)}
        for stored in await audit_store.stored_checkpoints(self.conn):
            key = keys.get(stored.kid)
            opened = None
            if key is not None:
                public = Ed25519PublicKey.from_public_bytes(key.public_key)
                opened = _open_with_any(stored.note, [NoteVerifier(key.name, public)])
            if opened is None or (opened.size, opened.root_hash) != (
                stored.size,
                stored.root_hash,
            ):
                self.fail(
                    f"the stored checkpoint of size {stored.size} is not a note log key "
                    f"{stored.kid} signed over its size and root"
                )

    async def _check_outside(
        self, notes: Sequence[bytes], stored_roots: dict[int, list[bytes]], size: int
    ) -> None:
        """Every checkpoint kept outside the database must still be in log_checkpoints, and the
        log must not have shrunk below it (its root is compared in the walk)."""
        verifiers = [
            NoteVerifier(k.name, Ed25519PublicKey.from_public_bytes(k.public_key))
            for k in await log.log_keys(self.conn)
        ]
        for note in notes:
            checkpoint = _open_with_any(note, verifiers)
            if checkpoint is None:
                self.fail("a checkpoint kept outside the database is not signed by a log key")
                continue
            self.outside_roots.setdefault(checkpoint.size, set()).add(checkpoint.root_hash)
            if checkpoint.root_hash not in stored_roots.get(checkpoint.size, []):
                self.fail(
                    f"the checkpoint of size {checkpoint.size} kept outside the database is "
                    "missing from log_checkpoints"
                )
            if checkpoint.size > size:
                self.fail(
                    f"a checkpoint kept outside the database has {checkpoint.size} leaves, the "
                    f"log only {size}: the log was rewound"
                )
        latest = await audit_store.latest_checkpoint_size(self.conn)
        if self.outside_roots and (latest or 0) < max(self.outside_roots):
            self.fail(
                f"log_checkpoints ends at size {latest or 0}, below the {max(self.outside_roots)} "
                "of the checkpoints kept outside the database"
            )

    async def _walk(
        self, size: int, checkpoint_size: int | None, stored_roots: dict[int, list[bytes]]
    ) -> tuple[RightEdge, Hash | None]:
        """Every leaf, batch by batch: rebuild the tree and check the rows against the leaves.

        Returns the rebuilt tree and its root at the saved checkpoint's size."""
        edge = RightEdge.empty()
        checkpoint_root: Hash | None = None
        while edge.size < size:
            rows = await audit_store.audit_rows(self.conn, edge.size, BATCH)
            expected: dict[tuple[int, int], tuple[bytes, int]] = {}
            for row in rows:
                if row.index != edge.size:
                    self.fail(f"leaves {edge.size} to {row.index - 1} are missing", leaf=edge.size)
                    return edge, checkpoint_root
                leaf = merkle.leaf_hash(row.entry)
                number = self._check_leaf(row, leaf)
                edge, nodes = edge.append(leaf)
                for node in nodes:
                    expected[(node.level, node.index)] = (node.hash, row.index)
                if edge.size == checkpoint_size:
                    checkpoint_root = edge.root()
                if any(root != edge.root() for root in stored_roots.get(edge.size, [])):
                    self.fail(
                        f"a stored checkpoint of size {edge.size} has another root",
                        number,
                        row.index,
                    )
                if any(r != edge.root() for r in self.outside_roots.get(edge.size, set())):
                    self.fail(
                        f"the checkpoint of size {edge.size} kept outside the database has "
                        "another root: the log was rewritten",
                        number,
                        row.index,
                    )
                self.report.leaves += 1
            await self._check_nodes(expected, rows)
            if self.progress is not None:
                self.progress(len(rows))
            if not rows:
                self.fail(f"leaves {edge.size} to {size - 1} are missing", leaf=edge.size)
                break
        return edge, checkpoint_root

    async def _open(self, note: bytes, verifier: NoteVerifier | None) -> Checkpoint | None:
        log_keys = await log.log_keys(self.conn)
        candidates = (
            [(verifier, None)]
            if verifier is not None
            else [
                (NoteVerifier(k.name, Ed25519PublicKey.from_public_bytes(k.public_key)), k)
                for k in log_keys
            ]
        )
        for candidate, key in candidates:
            try:
                checkpoint = open_checkpoint(note, candidate)
            except CheckpointError:
                continue
            if key is not None and key.revoked_from is not None:
                self.report.warnings.append(
                    Finding(
                        f"the checkpoint is signed by log key {key.kid}, revoked from "
                        f"{key.revoked_from:%Y-%m-%d}: save one signed by a current key"
                    )
                )
            return checkpoint
        self.fail("the saved checkpoint is not validly signed by a log key of the register")
        return None

    async def _check_consistency(
        self, checkpoint: Checkpoint, recomputed: Hash | None, root: Hash, size: int
    ) -> None:
        if checkpoint.size == 0:
            return  # the empty tree is a prefix of every tree
        if recomputed != checkpoint.root_hash:
            self.fail(
                f"the leaves no longer hash to the saved checkpoint's root (size "
                f"{checkpoint.size}): the log was rewritten"
            )
        nodes = log.PostgresNodeStore(self.conn)
        try:
            proof = await merkle.prove_consistency(nodes, checkpoint.size, size)
            proofs.verify_consistency(
                old_size=checkpoint.size,
                new_size=size,
                old_root=checkpoint.root_hash,
                new_root=root,
                proof=proof,
            )
        except (ProofError, NotFoundError) as e:
            self.fail(f"the consistency proof from the saved checkpoint fails: {e}")

    async def _check_nodes(
        self, expected: dict[tuple[int, int], tuple[bytes, int]], rows: Sequence[AuditRow]
    ) -> None:
        stored = await audit_store.stored_nodes(self.conn, list(expected))
        certificates = {row.index: row.leaf_certificate for row in rows}
        for node_id, (node, leaf) in expected.items():
            if stored.get(node_id) != node:
                level, index = node_id
                self.fail(
                    f"the stored tree node ({level}, {index}) does not recompute",
                    certificates.get(leaf),
                    leaf,
                )

    def _check_leaf(self, row: AuditRow, leaf: Hash) -> str | None:
        """Check one leaf against its rows; return the certificate number it names."""
        number = row.leaf_certificate
        if leaf != row.leaf_hash:
            self.fail("the stored leaf hash is not the hash of its entry", number, row.index)
        try:
            entry: dict[str, Any] = json.loads(row.entry)
        except ValueError:
            self.fail("the entry is not JSON", number, row.index)
            return number
        if str(entry.get("event", "")).startswith("key-") or row.key_kid is not None:
            self._check_key_leaf(row, entry)
            return None
        number = entry.get("certificate")
        if row.event_id is None or row.kind is None:
            self.fail("no status event belongs to this leaf", number, row.index)
            return number
        if number != row.leaf_certificate or number != row.event_certificate:
            self.fail(
                "the leaf, its entry and its event name different certificates", number, row.index
            )
        at = log.entry_time(row.at) if row.at else None
        stored = {"event": row.kind, "at": at, "reason": row.reason, "replacedBy": row.replaced_by}
        for name, value in stored.items():
            if entry.get(name) != value:
                self.fail(f"the event's {name} differs from the log entry's", number, row.index)
        if row.kind == "issued":
            self._check_certificate(row, entry, number)
        return number

    def _check_key_leaf(self, row: AuditRow, entry: dict[str, Any]) -> None:
        """A key history leaf must state exactly what the key tables hold."""
        kid = entry.get("kid")
        key = self.key_history.get(str(kid))
        if row.key_kid is None or kid != row.key_kid or key is None:
            self.fail(
                f"the key leaf names key {kid}, which the key tables do not hold", None, row.index
            )
            return
        kind = entry.get("event")
        self.key_leaves.setdefault(key.kid, set()).add(str(kind))
        stated: dict[str, object] = {"keyOf": f"{key.table}:{key.owner}"}
        if kind == "key-added":
            stated |= {
                "at": log.entry_time(key.valid_from),
                "publicKey": base64.urlsafe_b64encode(key.public_key).rstrip(b"=").decode(),
            }
        elif kind == "key-retired":
            stated["at"] = log.entry_time(key.retired_at) if key.retired_at else None
        elif kind == "key-revoked":
            stated |= {
                "at": log.entry_time(key.revoked_at) if key.revoked_at else None,
                "revokedFrom": log.entry_time(key.revoked_from) if key.revoked_from else None,
            }
        else:
            self.fail(f"the key leaf has an unknown event {kind}", None, row.index)
            return
        for name, value in stated.items():
            if entry.get(name) != value:
                self.fail(
                    f"key {key.kid}: the stored {name} differs from the log entry's",
                    None,
                    row.index,
                )

    def _check_key_history_logged(self) -> None:
        """Every key, retirement and revocation the key tables hold has its leaf."""
        for key in self.key_history.values():
            logged = self.key_leaves.get(key.kid, set())
            wanted = {"key-added"}
            wanted |= {"key-retired"} if key.retired_at else set()
            wanted |= {"key-revoked"} if key.revoked_from else set()
            for kind in sorted(wanted - logged):
                self.fail(f"key {key.kid}: its '{kind}' event is not in the log")

    def _check_certificate(self, row: AuditRow, entry: dict[str, Any], number: str | None) -> None:
        self.report.certificates += 1
        if entry.get("kid") != row.kid:
            self.fail("the signing key differs from the log entry's", number, row.index)
        if row.erased:
            self.report.erased += 1
            # Retention may blank a row only after its date (the date the leaf binds, below).
            if row.erased_at is None or (
                row.retain_until is not None and row.erased_at.date() <= row.retain_until
            ):
                self.fail("it was erased before its retention date", number, row.index)
        elif row.jws is None or row.payload is None:
            self.fail("the certificate row is missing", number, row.index)
            return
        # What the leaf binds: the record's digest, the CPR number against the record, and from
        # entry v2 the code (salted hash), the status position and the retention date. Retention
        # blanks cpr, payload and jws together; nothing else.
        bound = binding.read_issued(row.entry)
        if bound is not None and not bound.binds_row and number is not None:
            self.pre_binding.append(number)
        facts = binding.RowFacts(
            number=number or "",
            jws=row.jws,
            payload=row.payload,
            cpr=row.cpr,
            binding_salt=row.binding_salt,
            verification_code=row.verification_code,
            status_list=row.status_list,
            retain_until=row.retain_until,
        )
        for problem in binding.mismatches(bound, facts):
            self.fail(problem, number, row.index)
        if row.erased or row.jws is None:
            return
        key = self.keys.get(row.kid or "")
        try:
            header_kid = read_header(row.jws).get("kid")
        except FormatError:
            header_kid = None
        if key is None or header_kid != key.kid:
            self.fail("the JWS names no key of the key history", number, row.index)
            return
        try:
            payload = verify_record(row.jws, Ed25519PublicKey.from_public_bytes(key.public_key))
            record = CertificateRecord.from_json(json.loads(payload))
        except (FormatError, ValueError, KeyError, TypeError) as e:
            self.fail(f"the signature does not verify: {e}", number, row.index)
            return
        if payload != row.payload:
            self.fail("the stored record differs from the signed one", number, row.index)
        self._check_record(row, record, key, number)

    def _check_record(
        self,
        row: AuditRow,
        record: CertificateRecord,
        key: certificate_store.SchoolKey,
        number: str | None,
    ) -> None:
        if record.number != number or record.issued_at != row.issued_at:
            self.fail("the signed record's number or time differs from the row", number, row.index)
        if record.participant.cpr != row.cpr:
            self.fail("the stored CPR number differs from the signed record's", number, row.index)
        if not (record.school.id == key.school_id == row.school_id):
            self.fail("the record is signed by another school's key", number, row.index)
        state = keyhistory.key_state(key, at=record.issued_at)
        if state is KeyState.REVOKED and key.revoked_from is not None:
            self.report.warnings.append(
                Finding(
                    f"signed by key {key.kid} on or after {key.revoked_from:%Y-%m-%d}, the date "
                    "it was revoked from",
                    number,
                    row.index,
                )
            )
        elif state is not KeyState.VALID:
            self.fail(f"signed by key {key.kid} while it was {state.value}", number, row.index)


def _head_root(size: int, edge: Sequence[bytes]) -> Hash | None:
    """The root the head's edge gives; None when the edge is not one of a tree of ``size``."""
    try:
        return RightEdge(size, tuple(Hash(h) for h in edge)).root()
    except ValueError:
        return None


def _open_with_any(note: bytes, verifiers: Sequence[NoteVerifier]) -> Checkpoint | None:
    for verifier in verifiers:
        try:
            return open_checkpoint(note, verifier)
        except CheckpointError:
            continue
    return None
