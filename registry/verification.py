"""Verification for authorities: is this certificate genuine, and is it still valid?

The answer comes from the signature, not from the row: the stored JWS is verified with the
school's published key, its payload must be the stored canonical bytes, the key must have been
valid when the record says it was signed, and the record's 'issued' leaf must be proven included
in the log's current tree. Everything is read in one round trip, then checked in memory::

    found = await certificate_store.verification_lookup(conn, number)  # one statement
    result = verification_of(found, code)  # pure: code, signature, key history, proof
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from formats.errors import FormatError
from formats.jws import verify_record
from formats.record import CertificateRecord
from registry import certificate_store, codes, keyhistory
from registry.db import Connection
from registry.errors import ProofError
from registry.transparency import log, merkle, proofs
from registry.transparency.merkle import Hash, RightEdge


class VerificationStatus(StrEnum):
    VALID = "valid"
    CANCELLED = "cancelled"  # annulleret, possibly replaced by another certificate
    REVOKED = "revoked"
    # Signed by a school key on or after the date the key was revoked from (compromised).
    KEY_REVOKED = "key-revoked"
    UNKNOWN = "unknown"  # no such number, or the code does not match
    INVALID = "invalid"  # the stored record fails its signature check: report, never trust


@dataclass(frozen=True, slots=True)
class Verification:
    status: VerificationStatus
    record: CertificateRecord | None = None
    status_at: dt.datetime | None = None
    status_reason: str | None = None
    replaced_by: str | None = None


async def verify_certificate(conn: Connection, number: str, code: str) -> Verification:
    """Check a certificate number and verification code against the register."""
    if not codes.is_certificate_number(number):
        return Verification(VerificationStatus.UNKNOWN)
    return verification_of(await certificate_store.verification_lookup(conn, number), code)


def verification_of(found: certificate_store.VerificationLookup, code: str) -> Verification:
    """The verdict on what `certificate_store.verification_lookup` read, for one who typed ``code``.

    No I/O: the code, the signature, the key history and the inclusion proof, in memory.
    """
    stored, key = found.certificate, found.key
    # The column decides "unknown", as the access log's match does (registry.ratelimit); a code
    # that matches the column but not the code the leaf binds is a row edited behind the
    # register's back, and answers "invalid" below.
    if stored is None or not codes.code_matches(code, stored.verification_code):
        return Verification(VerificationStatus.UNKNOWN)
    record = record_signed_by(stored, key)
    # Beyond its signature and inclusion, the row must be what its 'issued' leaf recorded
    # (code, status position, retention date, CPR number; the lookup reads that leaf into
    # ``issued_entry``), and its status what the log's latest leaf for it says: a row edited
    # behind the register's back is "invalid", never "valid".
    if (
        record is None
        or key is None
        or not is_included(stored, found)
        or stored.leaf_mismatches()
        or not _status_is_logged(stored, found)
    ):
        return Verification(VerificationStatus.INVALID)
    # The key history: the key must have been valid when the record says it was signed.
    key_state = keyhistory.key_state(key, at=record.issued_at)
    if key_state in (keyhistory.KeyState.NOT_YET_VALID, keyhistory.KeyState.RETIRED):
        return Verification(VerificationStatus.INVALID)
    if stored.status is None and key_state is keyhistory.KeyState.REVOKED:
        return Verification(
            VerificationStatus.KEY_REVOKED,
            record,
            status_at=key.revoked_from,
            status_reason="key-compromise",
        )
    if stored.status is None:
        return Verification(VerificationStatus.VALID, record)
    return Verification(
        VerificationStatus(stored.status.kind),
        record,
        status_at=stored.status.at,
        status_reason=stored.status.reason,
        replaced_by=stored.status.replaced_by,
    )


def _entry_about(entry: bytes | None, number: str) -> dict[str, Any] | None:
    """A log entry as JSON if it is one about certificate ``number``, else None."""
    if entry is None:
        return None
    try:
        parsed = json.loads(entry)
    except ValueError:
        return None
    if not isinstance(parsed, dict) or parsed.get("certificate") != number:
        return None
    return parsed


def _status_is_logged(
    stored: certificate_store.StoredCertificate, found: certificate_store.VerificationLookup
) -> bool:
    """Whether the status the event rows give is the one the certificate's latest leaf states
    (an 'issued' leaf: still valid), so a deleted or edited revocation never reads as valid."""
    entry = _entry_about(found.last_entry, stored.number)
    if entry is None:
        return False
    status = stored.status
    if entry.get("event") == "issued":
        return status is None
    stated = (entry.get("event"), entry.get("reason"), entry.get("at"), entry.get("replacedBy"))
    return status is not None and stated == (
        status.kind,
        status.reason,
        log.entry_time(status.at),
        status.replaced_by,
    )


async def verified_record(
    conn: Connection, stored: certificate_store.StoredCertificate
) -> CertificateRecord | None:
    """The record if its signature verifies with the published key of ``stored.kid``."""
    return record_signed_by(stored, await certificate_store.key(conn, stored.kid))


async def verified_records(
    conn: Connection, stored: Sequence[certificate_store.StoredCertificate]
) -> list[tuple[certificate_store.StoredCertificate, CertificateRecord]]:
    """The certificates whose records verify, each with its record; their keys read at once."""
    keys = await certificate_store.keys(conn, [c.kid for c in stored])
    checked = ((c, record_signed_by(c, keys.get(c.kid))) for c in stored)
    return [(c, record) for c, record in checked if record is not None]


def record_signed_by(
    stored: certificate_store.StoredCertificate, key: certificate_store.SchoolKey | None
) -> CertificateRecord | None:
    """The record if ``stored.jws`` verifies with ``key`` (the key of ``stored.kid``), its
    payload is the stored canonical bytes, and the record is the key's school's and this
    number's; else None."""
    if key is None or key.kid != stored.kid:
        return None
    try:
        payload = verify_record(stored.jws, _public_key(key.public_key))
    except (FormatError, ValueError):  # ValueError: the stored key is no Ed25519 key
        return None
    if payload != stored.payload:
        return None
    record = CertificateRecord.from_json(json.loads(payload))
    # A school's key vouches only for that school's certificates.
    if record.number != stored.number or record.school.id != key.school_id:
        return None
    return record


def is_included(
    stored: certificate_store.StoredCertificate, found: certificate_store.VerificationLookup
) -> bool:
    """Whether the certificate's issuing is a leaf of the log, naming this exact signed record,
    and the leaf is included in the log's current tree (proof checked, not assumed)."""
    leaf = found.leaf
    if leaf is None or merkle.leaf_hash(leaf.entry) != leaf.leaf_hash:
        return False
    entry = _entry_about(leaf.entry, stored.number)
    if entry is None or entry.get("recordSha256") != log.record_digest(stored.jws):
        return False
    try:
        head = RightEdge(found.log_size, found.log_edge)
        # The proof's perfect subtrees are stored nodes; only the part of it right of the
        # leaf's subtree that is not yet complete folds from the head's own edge.
        known = dict(zip(merkle.right_edge(head.size), head.hashes, strict=True))
        known.update(found.siblings)
        plan = merkle.inclusion_plan(leaf.index, head.size)
        proof = plan.assemble([known[node] for node in plan.node_ids])
        proofs.verify_inclusion(
            leaf_hash=leaf.leaf_hash,
            index=leaf.index,
            size=head.size,
            proof=proof,
            root=_root(head),
        )
    except (ProofError, KeyError, ValueError):
        return False
    return True


@functools.lru_cache(maxsize=1024)
def _public_key(raw: bytes) -> Ed25519PublicKey:
    # Only bytes -> object: the key's history (retired, revoked) is read fresh every time.
    return Ed25519PublicKey.from_public_bytes(raw)


@functools.lru_cache(maxsize=8)
def _root(head: RightEdge) -> Hash:
    # The head changes only when the log grows; many verifications share one.
    return head.root()
