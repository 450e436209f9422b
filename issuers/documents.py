"""Every form of one stored certificate, made on request from its verified record.

The signed record (compact JWS) is stored at issuing and served as it is. The others are views
of the record, signed now: the Verifiable Credential with the school's active Ed25519 key, the
certificate XML and the paper PDF with the school's document key (ECDSA P-256, X.509 from the
document authority), and the MeMo message with the messageUUID its delivery job fixed::

    forms = CertificateForms(keys, clock, DocumentSigners(keys), public_base_url=url,
                             memo_schema=None)
    credential = await forms.credential(conn, record)   # dict, eddsa-jcs-2022 proof
    pdf = await forms.pdf(conn, record, code="ABCD-EFGH")

Published material lets anyone check these offline: ``issuer_document`` (the verification
methods a credential's proof names) and the document authorities' certificates (PEM).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from litestar.exceptions import HTTPException, NotFoundException

from formats import vc
from formats.errors import FormatError
from formats.memo import MemoSender, build_memo, validate_memo
from formats.multibase import public_key_multibase
from formats.record import CertificateRecord
from issuers import document_store, school_store
from issuers.document_keys import DocumentSigners, authorities
from registry import certificate_store, trust_store
from registry.db import Connection
from registry.keys import KeyStore, ed25519_key

JWS_MEDIA_TYPE = "application/vnd.amu-bevis.certificate+jws"
VC_MEDIA_TYPE = "application/vc+ld+json"
PEM_CHAIN_MEDIA_TYPE = "application/pem-certificate-chain"
CONTEXT_MEDIA_TYPE = "application/ld+json"
MEMO_MEDIA_TYPE = "application/xml"
CID_CONTEXT = "https://www.w3.org/ns/cid/v1"
_SALT_BYTES = 16


class FormUnavailableError(HTTPException):
    """This form cannot be made for the certificate (409 Conflict)."""

    status_code = 409


class CertificateForms:
    """Makes the forms of certificates with the running service's keys and settings.

    ``memo_schema``: the MeMo schema each message is validated against, or None.
    """

    def __init__(
        self,
        keys: KeyStore,
        clock: Callable[[], dt.datetime],
        signers: DocumentSigners,
        *,
        public_base_url: str,
        memo_schema: Path | None,
    ) -> None:
        self._keys = keys
        self._clock = clock
        self._signers = signers
        self._base = public_base_url.rstrip("/")
        self._memo_schema = memo_schema

    def issuer_id(self, school_id: str) -> str:
        """The school as a credential's issuer: its controller document on this service."""
        return f"{self._base}/issuers/{school_id}"

    async def credential(self, conn: Connection, record: CertificateRecord) -> dict[str, Any]:
        """The OpenBadgeCredential of ``record``, proved now with the school's active key.

        A fresh random salt hides the CPR number behind its hash. ``credentialStatus`` points at
        the certificate's bit in the register's Bitstring Status List (``/api/status/{list}``).
        """
        key = await certificate_store.active_key(conn, record.school.id)
        if key is None:
            raise FormUnavailableError("the school has no active signing key")
        private = ed25519_key(self._keys, key.kid)
        issuer = self.issuer_id(record.school.id)
        unsigned = vc.build_credential(
            record,
            issuer=issuer,
            salt=secrets.token_urlsafe(_SALT_BYTES),
            credential_id=f"{self._base}/tjek/{record.number}",
            status=await trust_store.certificate_status_entry(conn, self._base, record.number),
        )
        return vc.sign_credential(
            unsigned,
            private,
            verification_method=f"{issuer}#{key.kid}",
            created=self._clock(),
        )

    async def xml(self, conn: Connection, record: CertificateRecord) -> bytes:
        """The certificate XML with the school's XMLDSig signature."""
        signers = await self._signers.for_school(conn, record.school.id)
        try:
            return await asyncio.to_thread(signers.xml.sign, record)
        except FormatError as e:
            # The school's document certificate came after this certificate was issued.
            raise FormUnavailableError(
                "the school's document certificate was not valid when this certificate was issued"
            ) from e

    async def pdf(self, conn: Connection, record: CertificateRecord, *, code: str) -> bytes:
        """The paper PDF with its QR code and code, PAdES-signed at the issue time."""
        signers = await self._signers.for_school(conn, record.school.id)
        certificate = signers.credentials.certificate
        if not (
            certificate.not_valid_before_utc <= record.issued_at <= certificate.not_valid_after_utc
        ):
            raise FormUnavailableError(
                "the school's document certificate was not valid when this certificate was issued"
            )
        return await signers.signed_pdf(record, code=code, verify_base_url=self._base)

    async def memo(
        self,
        conn: Connection,
        record: CertificateRecord,
        stored: certificate_store.StoredCertificate,
        code: str,
    ) -> bytes:
        """The MeMo message delivery sends: its job's messageUUID, created at the issue time.

        The PDF inside is signed afresh, so its bytes differ from the delivered copy's; every
        other byte is the same. NotFoundException when no delivery job exists for it.
        """
        message_uuid = await document_store.message_uuid(conn, record.number)
        school = await school_store.school(conn, record.school.id)
        if message_uuid is None or school is None:
            raise NotFoundException("No Digital Post message exists for this certificate")
        message = build_memo(
            record,
            message_uuid=message_uuid,
            pdf=await self.pdf(conn, record, code=code),
            signed_record=stored.jws,
            sender=MemoSender(cvr=school.cvr, name=school.name),
            created_at=stored.issued_at,
        )
        if self._memo_schema is not None:
            await asyncio.to_thread(validate_memo, message, self._memo_schema)
        return message

    async def issuer_document(self, conn: Connection, school_id: str) -> dict[str, Any] | None:
        """The school's controller document: every Ed25519 key it has signed with, as Multikey.

        Retired keys stay listed, so credentials proved before a rotation still verify.
        """
        keys = [k for k in await certificate_store.all_keys(conn) if k.school_id == school_id]
        if not keys:
            return None
        issuer = self.issuer_id(school_id)
        methods = [
            {
                "id": f"{issuer}#{k.kid}",
                "type": "Multikey",
                "controller": issuer,
                "publicKeyMultibase": public_key_multibase(
                    Ed25519PublicKey.from_public_bytes(k.public_key)
                ),
            }
            for k in keys
        ]
        return {
            "@context": [CID_CONTEXT],
            "id": issuer,
            "verificationMethod": methods,
            "assertionMethod": [m["id"] for m in methods],
        }


async def authorities_pem(conn: Connection) -> bytes:
    """Every document authority's certificate, PEM, oldest first (retired ones too)."""
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in await authorities(conn))
