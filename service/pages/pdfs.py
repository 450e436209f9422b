"""The paper certificate as a download: the CertificatePdfs port and its adapter.

``DocumentKeyPdfs`` signs with the school's document-signing certificate from
``issuers.document_keys`` (a local CA in the demo, the school's own certificate in production),
the same PDF the forms API serves and delivery sends: one rendering for every copy.
"""

from __future__ import annotations

from typing import Protocol

from formats.record import CertificateRecord
from issuers.document_keys import DocumentSigners, NoDocumentCertificateError
from registry.db import Connection


class PdfUnavailableError(Exception):
    """No PDF can be made for this certificate (no signing certificate for its school)."""


class CertificatePdfs(Protocol):
    async def render(self, conn: Connection, record: CertificateRecord, *, code: str) -> bytes:
        """The signed PDF of ``record``; raises PdfUnavailableError when none can be made."""


class DocumentKeyPdfs:
    """Signs with the school's document-signing certificate (``issuers.document_keys``)."""

    def __init__(self, signers: DocumentSigners, verify_base_url: str) -> None:
        self._signers = signers
        self._base = verify_base_url

    async def render(self, conn: Connection, record: CertificateRecord, *, code: str) -> bytes:
        try:
            return await self._signers.signed_pdf(
                conn, record, code=code, verify_base_url=self._base
            )
        except NoDocumentCertificateError as e:
            raise PdfUnavailableError(record.school.id) from e
