"""PDF renderers for delivery (the ``Renderer`` port), on ``formats.pdf``.

``PadesRenderer`` is the real adapter: the certificate page (PDF/A-2b, QR code to ``/tjek``)
with a PAdES signature by the issuing school's document-signing certificate
(``issuers.document_keys``), exactly as the participant downloads it. ``PdfaRenderer`` renders
the same page unsigned, for tests of the delivery machinery. Both render with the issue time as
the document time, so paper and digital copies say the same.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

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


SignerLookup = Callable[[str], Awaitable[PdfSigner | None]]
"""The PDF signer of a school (by institution number), or None when it has none."""


class PadesRenderer:
    """The page with a PAdES signature by the issuing school's ``PdfSigner``."""

    def __init__(self, signer_for: SignerLookup, public_base_url: str) -> None:
        self._signer_for = signer_for
        self._base = public_base_url

    async def render(self, record: CertificateRecord, code: str) -> bytes:
        signer = await self._signer_for(record.school.id)
        if signer is None:
            raise UndeliverableError("the school has no PDF signing certificate", field="school")
        return await signer.render_async(record, code, self._base, record.issued_at)
