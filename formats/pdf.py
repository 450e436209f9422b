"""The paper certificate: a one-page Danish PDF/A-2b document with a PAdES signature.

Build one ``PdfSigner`` per school key when the process starts, then render as many
certificates as needed; the key is parsed once, not per signature::

    signer = PdfSigner(school_key, school_certificate, chain=[school_ca])
    pdf = signer.render(record, code="7KQ2-MX4P", verify_base_url="https://bevis.example",
                        signed_at=now)

The page says what the certificate must say (DOMAIN.md) and carries a QR code for
``<base>/tjek/<number>?kode=<code>``. The signature is PAdES baseline B-B (``ETSI.CAdES.detached``,
SHA-256, no timestamp), added by pyHanko as an incremental update, so the signed file is the
unsigned PDF/A document plus one revision and stays PDF/A-2b. ``render`` runs its own event
loop (pyHanko is async inside); from async code use ``render_async`` or a worker thread.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from collections.abc import Callable, Sequence
from typing import NewType

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers.pdf_signer import PdfSigningSession
from pyhanko_certvalidator.registry import SimpleCertificateStore

from formats.errors import FormatError
from formats.pdf_layout import render_unsigned
from formats.pdf_pdfa import pin_clock
from formats.record import CertificateRecord

SignedPdf = NewType("SignedPdf", bytes)
SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

SIGNATURE_FIELD = "AMU-bevis"
MEDIA_TYPE = "application/pdf"
_DIGEST = "sha256"
_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


class PdfSigningError(FormatError):
    """The PDF could not be signed (a key or certificate pyHanko cannot use)."""


class PdfSigner:
    """Renders certificate records as signed PDFs with one school's key and certificate."""

    def __init__(
        self,
        key: SigningKey,
        certificate: x509.Certificate,
        *,
        chain: Sequence[x509.Certificate] = (),
    ) -> None:
        """Keep the key and certificates for every later signature.

        ``chain`` holds the intermediate (and optionally root) certificates to embed.
        Raises PdfSigningError if the key is not RSA or EC or does not match the certificate.
        """
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise PdfSigningError("the signing key must be RSA or EC")
        if key.public_key() != certificate.public_key():
            raise PdfSigningError("the signing key does not match the certificate")
        self._signer = _CachedKeySigner(key, certificate, chain)
        # Room for the CMS object: the embedded certificates, the signature and the signed
        # attributes. Fixed, so pyHanko need not sign a dummy first to measure it.
        # pyHanko counts hex digits: two per byte.
        self._bytes_reserved = 2 * (
            2048
            + sum(len(c.public_bytes(serialization.Encoding.DER)) for c in [certificate, *chain])
        )
        self._signature_meta = signers.PdfSignatureMetadata(
            field_name=SIGNATURE_FIELD,
            md_algorithm=_DIGEST,
            subfilter=fields.SigSeedSubFilter.PADES,
            reason="Udstedelse af AMU-bevis",
        )

    def render(
        self, record: CertificateRecord, code: str, verify_base_url: str, signed_at: dt.datetime
    ) -> SignedPdf:
        """The signed PDF of ``record`` with the verification link and code printed on it.

        Raises FormatError if the record cannot be shown, PdfSigningError if signing fails.
        """
        return asyncio.run(self.render_async(record, code, verify_base_url, signed_at))

    async def render_async(
        self, record: CertificateRecord, code: str, verify_base_url: str, signed_at: dt.datetime
    ) -> SignedPdf:
        """``render`` for callers already inside an event loop.

        It computes for tens of milliseconds without yielding; a server that must stay
        responsive calls ``await asyncio.to_thread(signer.render, ...)`` instead.
        """
        if signed_at.tzinfo is None:
            raise FormatError("signed_at must be timezone-aware")
        unsigned = render_unsigned(
            record, code=code, verify_base_url=verify_base_url, created=signed_at
        )
        writer = IncrementalPdfFileWriter(io.BytesIO(unsigned))
        pin_clock(writer, signed_at)
        _add_invisible_field(writer)
        pdf_signer = _PdfSignerAt(self._signature_meta, self._signer, signed_at)
        try:
            out = await pdf_signer.async_sign_pdf(
                writer,
                existing_fields_only=True,
                bytes_reserved=self._bytes_reserved,
                output=io.BytesIO(),
            )
        except SigningError as e:
            raise PdfSigningError("pyHanko could not sign the certificate PDF") from e
        return SignedPdf(out.getvalue())


def _add_invisible_field(writer: IncrementalPdfFileWriter) -> None:
    """An invisible signature field that still has an (empty) appearance.

    pyHanko's invisible field has a zero-size box and the print flag, which PDF/A-2 accepts
    without an appearance; PDFBox's preflight, the validator we have, wants one anyway.
    """
    fields.append_signature_field(writer, fields.SigFieldSpec(SIGNATURE_FIELD))
    zero = generic.NumberObject(0)  # type: ignore[no-untyped-call]
    empty = generic.StreamObject(
        {
            generic.pdf_name("/Type"): generic.pdf_name("/XObject"),
            generic.pdf_name("/Subtype"): generic.pdf_name("/Form"),
            generic.pdf_name("/BBox"): generic.ArrayObject([zero] * 4),
        },
        stream_data=b"",
    )
    for name, _value, ref in fields.enumerate_sig_fields(writer):
        if name == SIGNATURE_FIELD:
            widget = ref.get_object()
            appearance = {generic.pdf_name("/N"): writer.add_object(empty)}
            widget["/AP"] = generic.DictionaryObject(appearance)  # type: ignore[no-untyped-call]


class _PdfSignerAt(signers.PdfSigner):
    """pyHanko's PdfSigner with the signing time given instead of read from the clock."""

    def __init__(
        self, meta: signers.PdfSignatureMetadata, signer: signers.Signer, at: dt.datetime
    ) -> None:
        super().__init__(meta, signer)
        self._at = at

    def init_signing_session(
        self, pdf_out: BasePdfFileWriter, existing_fields_only: bool = False
    ) -> PdfSigningSession:
        session = super().init_signing_session(pdf_out, existing_fields_only)
        # Used for the CMS signing-time attribute and the signature dictionary's /M.
        session.system_time = self._at
        return session


class _CachedKeySigner(signers.Signer):
    """A pyHanko signer over a parsed ``cryptography`` key.

    pyHanko's SimpleSigner re-parses its DER key for every signature; this one keeps the key.
    """

    def __init__(
        self, key: SigningKey, certificate: x509.Certificate, chain: Sequence[x509.Certificate]
    ) -> None:
        self._key = key
        der = certificate.public_bytes(serialization.Encoding.DER)
        others = [
            asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in chain
        ]
        super().__init__(
            signing_cert=asn1_x509.Certificate.load(der),
            cert_registry=SimpleCertificateStore.from_certs(others),  # type: ignore[no-untyped-call]
        )

    async def async_sign_raw(
        self,
        data: bytes,
        digest_algorithm: str,
        dry_run: bool = False,  # noqa: ARG002 - pyHanko passes it by name
    ) -> bytes:
        # A dry run (pyHanko measuring the size) signs for real: simpler than a placeholder,
        # and PdfSigner reserves the room up front, so pyHanko does not ask for one.
        algorithm = _HASHES[digest_algorithm.lower()]()
        if isinstance(self._key, rsa.RSAPrivateKey):
            return self._key.sign(data, padding.PKCS1v15(), algorithm)
        return self._key.sign(data, ec.ECDSA(algorithm))
