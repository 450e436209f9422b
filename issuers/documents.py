"""Every document of a certificate, made on request from its verified record, in one place.

The signed record (compact JWS) is stored at issuing and served as it is. The others are views
of the record, signed now: the Verifiable Credential with the school's active Ed25519 key, the
certificate XML and the paper PDF with the school's document key (ECDSA P-256, X.509 from the
document authority), and the MeMo message around the PDF. Delivery, the forms API and the pages
all make them here, so every copy of a document is made the same way::

    documents = CertificateDocuments(keys, DocumentSigners(keys), clock,
                                     public_base_url="https://bevis.example", memo_schema=None)
    pdf = await documents.pdf(conn, record, code="ABCD-EFGH")
    credential = await documents.credential(conn, record)   # dict, eddsa-jcs-2022 proof

ReportLab, pyHanko, XMLDSig and the MeMo schema check compute for tens of milliseconds without
yielding, so they run in a worker thread: the event loop stays free for other requests.

Published material lets anyone check these offline: ``issuer_document`` (the verification
methods a credential's proof names) and the document authorities' certificates (PEM).
"""

from __future__ import annotations

import asyncio
import functools
import secrets
import uuid
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from formats import vc
from formats.errors import FormatError
from formats.memo import (
    MemoMessage,
    MemoSender,
    build_document_memo,
    build_memo,
    validate_memo,
)
from formats.multibase import public_key_multibase
from formats.record import CertificateRecord
from issuers import document_store, other_documents, school_store
from issuers.document_keys import DocumentSigners, authorities
from issuers.errors import ConflictError
from issuers.other_document_store import StoredDocument
from registry import certificate_store
from registry.clock import Clock
from registry.db import Connection
from registry.errors import NotFoundError
from registry.keys import KeyStore, ed25519_key
from registry.status_entry import certificate_status_entry

JWS_MEDIA_TYPE = "application/vnd.amu-bevis.certificate+jws"
VC_MEDIA_TYPE = "application/vc+ld+json"
PEM_CHAIN_MEDIA_TYPE = "application/pem-certificate-chain"
CONTEXT_MEDIA_TYPE = "application/ld+json"
MEMO_MEDIA_TYPE = "application/xml"
CID_CONTEXT = "https://www.w3.org/ns/cid/v1"
_SALT_BYTES = 16
_NOT_VALID_AT_ISSUE = (
    "the school's document certificate was not valid when this certificate was issued"
)


class DocumentUnavailableError(ConflictError):
    """This document cannot be made for the certificate now (the school's keys do not allow it)."""


class CertificateDocuments:
    """Makes the documents of certificates with the service's keys, clock and public address.

    ``memo_schema`` is the MeMo XSD every message is checked against before it is handed out;
    None checks nothing.
    """

    def __init__(
        self,
        keys: KeyStore,
        signers: DocumentSigners,
        clock: Clock,
        *,
        public_base_url: str,
        memo_schema: Path | None,
    ) -> None:
        self._keys = keys
        self._signers = signers
        self._clock = clock
        self._base = public_base_url.rstrip("/")
        self._memo_schema = memo_schema

    def issuer_id(self, school_id: str) -> str:
        """The school as a credential's issuer: its controller document on this service."""
        return f"{self._base}/issuers/{school_id}"

    async def pdf(self, conn: Connection, record: CertificateRecord, *, code: str) -> bytes:
        """The paper PDF with its QR code and ``code`` and the goal's competence description,
        PAdES-signed by the issuing school and dated its issue time.

        Raises NoDocumentCertificateError when the school has no document certificate, and
        DocumentUnavailableError when its certificate was not valid at the issue time.
        """
        signers = await self._signers.for_school(conn, record.school.id)
        certificate = signers.credentials.certificate
        if not (
            certificate.not_valid_before_utc <= record.issued_at <= certificate.not_valid_after_utc
        ):
            raise DocumentUnavailableError(_NOT_VALID_AT_ISSUE, field="school")
        # The catalogue's competence description as it reads now: what the goal means to an
        # employer, not part of the signed record.
        description = await document_store.goal_description(conn, record.goal.number)
        return await asyncio.to_thread(
            functools.partial(
                signers.pdf.render,
                record,
                code,
                self._base,
                record.issued_at,
                description=description,
            )
        )

    async def memo(
        self,
        conn: Connection,
        record: CertificateRecord,
        stored: certificate_store.StoredCertificate,
        *,
        code: str,
        message_uuid: uuid.UUID,
        sender: MemoSender,
    ) -> MemoMessage:
        """The MeMo message of ``record`` with its PDF and signed record, created at the issue
        time: every retry of a delivery is the same message, byte for byte, but for the PDF's
        signature, which is made afresh.

        Raises what ``pdf`` raises, and FormatError when the message fails the MeMo schema.
        """
        message = build_memo(
            record,
            message_uuid=message_uuid,
            pdf=await self.pdf(conn, record, code=code),
            signed_record=stored.jws,
            sender=sender,
            created_at=stored.issued_at,
        )
        if self._memo_schema is not None:
            await asyncio.to_thread(validate_memo, message, self._memo_schema)
        return message

    async def document_pdf(self, conn: Connection, document: StoredDocument) -> bytes:
        """The signed PDF of a participation or combined document (``OtherDocuments.pdf``).

        Raises NoDocumentCertificateError when the school has no document certificate.
        """
        return await other_documents.OtherDocuments(self._signers).pdf(conn, document)

    async def document_memo(
        self,
        conn: Connection,
        document: StoredDocument,
        *,
        message_uuid: uuid.UUID,
        sender: MemoSender,
    ) -> MemoMessage:
        """The MeMo message of a participation or combined document around its signed PDF,
        created at its issue time. Raises what ``document_pdf`` raises, and FormatError when the
        message fails the MeMo schema."""
        message = build_document_memo(
            other_documents.document_of(document),
            message_uuid=message_uuid,
            pdf=await self.document_pdf(conn, document),
            sender=sender,
            created_at=document.issued_at,
        )
        if self._memo_schema is not None:
            await asyncio.to_thread(validate_memo, message, self._memo_schema)
        return message

    async def delivered_memo(
        self,
        conn: Connection,
        record: CertificateRecord,
        stored: certificate_store.StoredCertificate,
        *,
        code: str,
    ) -> MemoMessage:
        """The MeMo message delivery sends for ``record``: its job's messageUUID, the school as
        sender. Raises NotFoundError when no delivery job exists for it, and what ``memo``
        raises."""
        message_uuid = await document_store.message_uuid(conn, record.number)
        school = await school_store.school(conn, record.school.id)
        if message_uuid is None or school is None:
            raise NotFoundError("No Digital Post message exists for this certificate")
        return await self.memo(
            conn,
            record,
            stored,
            code=code,
            message_uuid=message_uuid,
            sender=MemoSender(cvr=school.cvr, name=school.name),
        )

    async def xml(self, conn: Connection, record: CertificateRecord) -> bytes:
        """The certificate XML with the school's XMLDSig signature.

        Raises NoDocumentCertificateError when the school has no document certificate, and
        DocumentUnavailableError when its certificate was not valid at the issue time.
        """
        signers = await self._signers.for_school(conn, record.school.id)
        try:
            return await asyncio.to_thread(signers.xml.sign, record)
        except FormatError as e:
            raise DocumentUnavailableError(_NOT_VALID_AT_ISSUE, field="school") from e

    async def credential(self, conn: Connection, record: CertificateRecord) -> dict[str, Any]:
        """The OpenBadgeCredential of ``record``, proved now with the school's active key.

        A fresh random salt hides the CPR number behind its hash. ``credentialStatus`` points at
        the certificate's bit in the register's Bitstring Status List (``/api/status/{list}``).
        Raises DocumentUnavailableError when the school has no active signing key.
        """
        key = await certificate_store.active_key(conn, record.school.id)
        if key is None:
            raise DocumentUnavailableError("the school has no active signing key", field="school")
        private = ed25519_key(self._keys, key.kid)
        issuer = self.issuer_id(record.school.id)
        unsigned = vc.build_credential(
            record,
            issuer=issuer,
            salt=secrets.token_urlsafe(_SALT_BYTES),
            credential_id=f"{self._base}/tjek/{record.number}",
            status=await certificate_status_entry(conn, self._base, record.number),
        )
        return vc.sign_credential(
            unsigned,
            private,
            verification_method=f"{issuer}#{key.kid}",
            created=self._clock(),
        )

    async def issuer_document(self, conn: Connection, school_id: str) -> dict[str, Any]:
        """The school's controller document: every Ed25519 key it has signed with, as Multikey.

        Retired keys stay listed, so credentials proved before a rotation still verify.
        Raises NotFoundError when the school has never had a key.
        """
        keys = [k for k in await certificate_store.all_keys(conn) if k.school_id == school_id]
        if not keys:
            raise NotFoundError("No such issuer")
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
