"""The paper certificate as a download: the CertificatePdfs port and its adapters.

``formats.pdf.PdfSigner`` signs with a school's X.509 certificate (PAdES). The port hides
where that certificate comes from:

- ``DocumentKeyPdfs`` signs with the school's document-signing certificate from
  ``issuers.document_keys`` (a local CA in the demo, the school's own certificate in
  production): the adapter to use once the app hands its ``DocumentSigners`` to the pages.
- ``DevelopmentSelfSignedPdfs`` makes a self-signed EC P-256 certificate per school, in
  memory, named "UDVIKLING" (development), so the demo and the tests download real, signed
  PDF/A documents without a CA. Never for production: no one trusts that signer.
- ``UnavailablePdfs`` refuses, so the page says the PDF is not available yet.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from formats.pdf import PdfSigner
from formats.record import CertificateRecord
from issuers.document_keys import DocumentSigners, NoDocumentCertificateError
from registry.db import Connection


class PdfUnavailableError(Exception):
    """No PDF can be made for this certificate (no signing certificate for its school)."""


class CertificatePdfs(Protocol):
    async def render(
        self, conn: Connection, record: CertificateRecord, *, code: str, signed_at: dt.datetime
    ) -> bytes:
        """The signed PDF of ``record``; raises PdfUnavailableError when none can be made."""


class UnavailablePdfs:
    async def render(
        self,
        conn: Connection,  # noqa: ARG002 - the port's signature
        record: CertificateRecord,
        *,
        code: str,  # noqa: ARG002 - the port's signature
        signed_at: dt.datetime,  # noqa: ARG002
    ) -> bytes:
        raise PdfUnavailableError(record.school.id)


class DevelopmentSelfSignedPdfs:
    """Signs with a self-signed development certificate per school. Never for production."""

    def __init__(self, verify_base_url: str) -> None:
        self._base = verify_base_url
        self._signers: dict[str, PdfSigner] = {}
        self._lock = threading.Lock()

    def _signer(self, school_id: str, school_name: str, now: dt.datetime) -> PdfSigner:
        with self._lock:
            signer = self._signers.get(school_id)
            if signer is None:
                signer = self._signers[school_id] = _self_signed(school_id, school_name, now)
            return signer

    async def render(
        self,
        conn: Connection,  # noqa: ARG002 - the port's signature
        record: CertificateRecord,
        *,
        code: str,
        signed_at: dt.datetime,
    ) -> bytes:
        signer = self._signer(record.school.id, record.school.name, signed_at)
        # Signing computes for tens of milliseconds: off the event loop.
        return await asyncio.to_thread(signer.render, record, code, self._base, signed_at)


class DocumentKeyPdfs:
    """Signs with the school's document-signing certificate (``issuers.document_keys``)."""

    def __init__(self, signers: DocumentSigners, verify_base_url: str) -> None:
        self._signers = signers
        self._base = verify_base_url

    async def render(
        self, conn: Connection, record: CertificateRecord, *, code: str, signed_at: dt.datetime
    ) -> bytes:
        try:
            signers = await self._signers.for_school(conn, record.school.id)
        except NoDocumentCertificateError as e:
            raise PdfUnavailableError(record.school.id) from e
        return await asyncio.to_thread(signers.pdf.render, record, code, self._base, signed_at)


def _self_signed(school_id: str, school_name: str, now: dt.datetime) -> PdfSigner:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, f"{school_name} (UDVIKLING)"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, school_name),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"Institution {school_id}"),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "DK"),
        ]
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return PdfSigner(key, certificate)
