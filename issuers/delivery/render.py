"""PDF renderers for delivery (the ``Renderer`` port), on ``formats.pdf``.

``PdfaRenderer`` renders the certificate page (PDF/A-2b, QR code to ``/tjek``) unsigned: the
schools have Ed25519 keys for their JWS, and a PAdES signature needs an RSA or EC key with an
X.509 certificate, which no school has yet. ``PadesRenderer`` signs with one ``PdfSigner`` per
school once they do. The signed record travels with every MeMo message anyway (its technical
document), so the certificate stays verifiable either way. Both render with the issue time as
the document time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from formats.pdf import PdfSigner
from formats.pdf_layout import render_unsigned
from formats.record import CertificateRecord
from issuers.delivery.errors import UndeliverableError


class PdfaRenderer:
    """The unsigned PDF/A page; ``public_base_url`` is where ``/tjek/<number>`` answers."""

    def __init__(self, public_base_url: str) -> None:
        self._base = public_base_url

    async def render(self, record: CertificateRecord, code: str) -> bytes:
        # ReportLab and the PDF/A pass block for a while: keep the event loop free.
        return await asyncio.to_thread(
            render_unsigned,
            record,
            code=code,
            verify_base_url=self._base,
            created=record.issued_at,
        )


class PadesRenderer:
    """The page with a PAdES signature by the issuing school's ``PdfSigner``."""

    def __init__(self, signers: Mapping[str, PdfSigner], public_base_url: str) -> None:
        self._signers = signers
        self._base = public_base_url

    async def render(self, record: CertificateRecord, code: str) -> bytes:
        signer = self._signers.get(record.school.id)
        if signer is None:
            raise UndeliverableError("the school has no PDF signing certificate", field="school")
        return await signer.render_async(record, code, self._base, record.issued_at)
