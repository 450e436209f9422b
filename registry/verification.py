"""Verification for authorities: is this certificate genuine, and is it still valid?

The answer comes from the signature, not from the row: the stored JWS is verified with the
school's published key, and its payload must be the stored canonical bytes.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from enum import StrEnum

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from formats.errors import FormatError
from formats.jws import verify_record
from formats.record import CertificateRecord
from registry import codes, keyhistory, log, merkle, store
from registry.db import Connection
from registry.errors import ProofError


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
    stored = await store.certificate(conn, number) if codes.is_certificate_number(number) else None
    if stored is None or not codes.code_matches(code, stored.verification_code):
        return Verification(VerificationStatus.UNKNOWN)
    record = await verified_record(conn, stored)
    key = await store.key(conn, stored.kid)
    if record is None or key is None or not await is_logged(conn, stored):
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


async def verified_record(
    conn: Connection, stored: store.StoredCertificate
) -> CertificateRecord | None:
    """The record if its signature verifies with the published key of ``stored.kid``."""
    key = await store.key(conn, stored.kid)
    if key is None:
        return None
    try:
        payload = verify_record(stored.jws, Ed25519PublicKey.from_public_bytes(key.public_key))
    except FormatError:
        return None
    if payload != stored.payload:
        return None
    record = CertificateRecord.from_json(json.loads(payload))
    # A school's key vouches only for that school's certificates.
    if record.number != stored.number or record.school.id != key.school_id:
        return None
    return record


async def is_logged(conn: Connection, stored: store.StoredCertificate) -> bool:
    """Whether the certificate's issuing is a leaf of the log, naming this exact signed record,
    and the leaf is included in the log's current tree (proof checked, not assumed)."""
    leaf = await log.issued_leaf(conn, stored.number)
    if leaf is None:
        return False
    entry = json.loads(leaf.entry)
    if entry.get("recordSha256") != log.record_digest(stored.jws):
        return False
    if merkle.leaf_hash(leaf.entry) != leaf.leaf_hash:
        return False
    size = await log.size(conn)
    nodes = log.PostgresNodeStore(conn)
    proof = await merkle.prove_inclusion(nodes, leaf.index, size)
    root = (await merkle.read_right_edge(nodes, size)).root()
    try:
        merkle.verify_inclusion(
            leaf_hash=leaf.leaf_hash, index=leaf.index, size=size, proof=proof, root=root
        )
    except ProofError:
        return False
    return True
