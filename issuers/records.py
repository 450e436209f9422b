"""Signing a certificate record for the register, and the log events of new certificates.

Shared by everything that makes certificates (issuing a team, a correction's replacement), so
every certificate is signed and logged the same way::

    certificate = signed_certificate(record, key, signing_key, participation_id=pid)
    stored = await certificate_store.insert_certificates(conn, [certificate])
    await log.append(conn, issued_events(stored))   # last: it locks the log head
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from formats.jws import sign_payload
from formats.record import CertificateRecord
from registry import certificate_store, codes
from registry.transparency import log


def signed_certificate(
    record: CertificateRecord,
    key: certificate_store.SchoolKey,
    signing_key: Ed25519PrivateKey,
    *,
    participation_id: uuid.UUID | None,
) -> certificate_store.NewCertificate:
    """The register row of a record: its canonical bytes signed as a JWS with ``key``'s id and
    a fresh verification code. ``signing_key`` is the private half of ``key``."""
    payload = record.canonical_bytes()
    return certificate_store.NewCertificate(
        number=record.number,
        school_id=record.school.id,
        participation_id=participation_id,
        cpr=record.participant.cpr,
        kid=key.kid,
        payload=payload,
        jws=sign_payload(payload, signing_key, kid=key.kid),
        verification_code=codes.new_verification_code(),
        issued_at=record.issued_at,
        kind=record.kind.value,
        goal_number=record.goal.number,
    )


def issued_events(
    stored: Sequence[tuple[int, certificate_store.NewCertificate]],
) -> list[log.Event]:
    """The log events of certificates just inserted, as `insert_certificates` returns them."""
    return [
        log.Event(
            event_id=event_id,
            certificate_number=c.number,
            kind="issued",
            at=c.issued_at,
            jws=c.jws,
            kid=c.kid,
        )
        for event_id, c in stored
    ]
