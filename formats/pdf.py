"""The paper certificate: a one-page Danish PDF/A-1b document with a PAdES signature.

Build one ``PdfSigner`` per school key when the process starts, then render as many
certificates as needed; the key is parsed once, not per signature::

    signer = PdfSigner(school_key, school_certificate, chain=[school_ca])
    pdf = signer.render(record, code="7KQ2-MX4P", verify_base_url="https://bevis.example",
                        signed_at=now, description=goal_description)
    other = signer.render_document(document, signed_at=document.issued_at)  # formats.document

The page says what the certificate must say (DOMAIN.md) and carries a QR code for
``<base>/tjek/<number>?kode=<code>``; the signature names the issuing school as its signer.
Participation and combined documents (``formats.document``) are drawn by the same layout code
under their own titles and signed the same way, with their own reason.
The signature is PAdES baseline B-B (``ETSI.CAdES.detached``, SHA-256, no timestamp), added
by pyHanko as an incremental update, so the signed file is the
unsigned PDF/A document plus one revision and stays PDF/A-1b. ``render`` runs its own event
loop (pyHanko is async inside); from async code use ``render_async`` or a worker thread.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import io
from collections.abc import Callable, Sequence
from typing import NewType

from asn1crypto import algos, cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError, as_signing_certificate_v2, simple_cms_attribute
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.sign.signers.pdf_signer import PdfSigningSession
from pyhanko.sign.timestamps import TimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

from formats.document import OtherDocument
from formats.errors import FormatError
from formats.pdf_layout import render_unsigned, render_unsigned_document
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
        self,
        record: CertificateRecord,
        code: str,
        verify_base_url: str,
        signed_at: dt.datetime,
        *,
        description: str = "",
    ) -> SignedPdf:
        """The signed PDF of ``record`` with the verification link and code printed on it, and
        the goal's competence ``description`` from the catalogue.

        Raises FormatError if the record cannot be shown, PdfSigningError if signing fails.
        """
        return asyncio.run(
            self.render_async(record, code, verify_base_url, signed_at, description=description)
        )

    async def render_async(
        self,
        record: CertificateRecord,
        code: str,
        verify_base_url: str,
        signed_at: dt.datetime,
        *,
        description: str = "",
    ) -> SignedPdf:
        """``render`` for callers already inside an event loop.

        It computes for tens of milliseconds without yielding; a server that must stay
        responsive calls ``await asyncio.to_thread(signer.render, ...)`` instead.
        """
        if signed_at.tzinfo is None:
            raise FormatError("signed_at must be timezone-aware")
        unsigned = render_unsigned(
            record,
            code=code,
            verify_base_url=verify_base_url,
            created=signed_at,
            description=description,
        )
        meta = dataclasses.replace(self._signature_meta, name=record.school.name)
        return await self._sign(unsigned, meta, signed_at)

    def render_document(self, document: OtherDocument, signed_at: dt.datetime) -> SignedPdf:
        """The signed PDF of a participation or combined document (not an AMU certificate).

        Raises FormatError if the document cannot be shown, PdfSigningError if signing fails.
        """
        if signed_at.tzinfo is None:
            raise FormatError("signed_at must be timezone-aware")
        unsigned = render_unsigned_document(document, created=signed_at)
        meta = dataclasses.replace(
            self._signature_meta,
            name=document.school.name,
            reason=_DOCUMENT_REASONS[document.kind.value],
        )
        return asyncio.run(self._sign(unsigned, meta, signed_at))

    async def _sign(
        self, unsigned: bytes, meta: signers.PdfSignatureMetadata, signed_at: dt.datetime
    ) -> SignedPdf:
        writer = IncrementalPdfFileWriter(io.BytesIO(unsigned))
        pin_clock(writer, signed_at)
        _add_invisible_field(writer)
        pdf_signer = _PdfSignerAt(meta, self._signer, signed_at)
        try:
            out = await pdf_signer.async_sign_pdf(
                writer,
                existing_fields_only=True,
                bytes_reserved=self._bytes_reserved,
                output=io.BytesIO(),
            )
        except SigningError as e:
            raise PdfSigningError("pyHanko could not sign the PDF") from e
        return SignedPdf(out.getvalue())


_DOCUMENT_REASONS = {
    "participation": "Udstedelse af deltagelsesbevis (ikke et AMU-bevis)",
    "combined": "Udstedelse af samlet bevis for sammensat forløb (ikke et AMU-bevis)",
}


def _add_invisible_field(writer: IncrementalPdfFileWriter) -> None:
    """An invisible signature field that still has an (empty) appearance.

    pyHanko's invisible field has a zero-size box and the print flag, which PDF/A accepts
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
    """A pyHanko signer over a parsed ``cryptography`` key, with its CMS parts encoded once.

    pyHanko's SimpleSigner re-parses its DER key for every signature, and its CMS assembly
    builds and DER-encodes the same certificates, identifiers and signing-certificate
    attribute with asn1crypto every time (most of the signing time). For the signatures
    PdfSigner asks for (PAdES, ``_DIGEST``, no timestamp) this signer splices the parts that
    never change, encoded once, around the two that do: the document digest and the signature
    value. The result is the CMS object pyHanko would build (tests/formats/test_pdf.py compares
    the two); any other request goes to pyHanko's own assembly.
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
        self._template = _CmsTemplate(self, _DIGEST, asn1_x509.Certificate.load(der), others)

    async def async_sign(  # noqa: PLR0917 - pyHanko's signature, positional arguments and all
        self,
        data_digest: bytes,
        digest_algorithm: str,
        dry_run: bool = False,
        use_pades: bool = False,
        timestamper: TimeStamper | None = None,
        signed_attr_settings: PdfCMSSignedAttributes | None = None,
        is_pdf_sig: bool = True,
        encap_content_info: object = None,
    ) -> cms.ContentInfo:
        """The CMS signature of ``data_digest``, from the pre-encoded parts where it can be."""
        extra_attributes = signed_attr_settings is not None and (
            signed_attr_settings.cades_signed_attrs is not None
            or signed_attr_settings.adobe_revinfo_attr is not None
        )
        if (
            digest_algorithm.lower() != _DIGEST
            or not use_pades
            or not is_pdf_sig
            or timestamper is not None
            or encap_content_info is not None
            or extra_attributes
        ):
            return await super().async_sign(
                data_digest,
                digest_algorithm,
                dry_run=dry_run,
                use_pades=use_pades,
                timestamper=timestamper,
                signed_attr_settings=signed_attr_settings,
                is_pdf_sig=is_pdf_sig,
                encap_content_info=encap_content_info,
            )
        return self._template.sign(data_digest, lambda data: self._sign(data, _DIGEST))

    async def async_sign_raw(
        self,
        data: bytes,
        digest_algorithm: str,
        dry_run: bool = False,  # noqa: ARG002 - pyHanko passes it by name
    ) -> bytes:
        # A dry run (pyHanko measuring the size) signs for real: simpler than a placeholder,
        # and PdfSigner reserves the room up front, so pyHanko does not ask for one.
        return self._sign(data, digest_algorithm)

    def _sign(self, data: bytes, digest_algorithm: str) -> bytes:
        algorithm = _HASHES[digest_algorithm.lower()]()
        if isinstance(self._key, rsa.RSAPrivateKey):
            return self._key.sign(data, padding.PKCS1v15(), algorithm)
        return self._key.sign(data, ec.ECDSA(algorithm))


class _CmsTemplate:
    """A detached CMS SignedData (RFC 5652) with PAdES's signed attributes, mostly pre-encoded.

    The layout is pyHanko's for a PAdES baseline B-B signature: signed attributes
    content-type, message-digest and signing-certificate-v2 in that order, the signer
    identified by issuer and serial number, every certificate of the chain embedded.
    """

    def __init__(
        self,
        signer: signers.Signer,
        digest_algorithm: str,
        signing_cert: asn1_x509.Certificate,
        chain: Sequence[asn1_x509.Certificate],
    ) -> None:
        digest = algos.DigestAlgorithm({"algorithm": digest_algorithm}).dump()
        version = b"\x02\x01\x01"  # INTEGER 1: v1 for both SignedData and SignerInfo
        self._content_type = simple_cms_attribute("content_type", "data").dump()  # type: ignore[no-untyped-call]
        self._message_digest_type = cms.CMSAttributeType("message_digest").dump()
        self._signing_certificate = simple_cms_attribute(  # type: ignore[no-untyped-call]
            "signing_certificate_v2", as_signing_certificate_v2(signing_cert, digest_algorithm)
        ).dump()
        identifier = cms.IssuerAndSerialNumber(
            {"issuer": signing_cert.issuer, "serial_number": signing_cert.serial_number}
        )
        self._signer_head = version + identifier.dump() + digest
        self._signature_algorithm = signer.get_signature_mechanism_for_digest(
            digest_algorithm
        ).dump()
        unique = dict.fromkeys(certificate.dump() for certificate in [signing_cert, *chain])
        self._data_head = (
            version
            + _der(0x31, digest)
            + cms.EncapsulatedContentInfo({"content_type": "data"}).dump()
            + _der(0xA0, b"".join(unique))  # [0] IMPLICIT CertificateSet
        )
        self._signed_data_type = cms.ContentType("signed_data").dump()

    def sign(self, data_digest: bytes, sign: Callable[[bytes], bytes]) -> cms.ContentInfo:
        """The ContentInfo for ``data_digest``; ``sign`` signs the DER of the signed attributes."""
        message_digest = _der(0x30, self._message_digest_type + _der(0x31, _der(0x04, data_digest)))
        attributes = self._content_type + message_digest + self._signing_certificate
        signature = sign(_der(0x31, attributes))  # signed as a SET OF, stored as [0] IMPLICIT
        signer_info = _der(
            0x30,
            self._signer_head
            + _der(0xA0, attributes)
            + self._signature_algorithm
            + _der(0x04, signature),
        )
        signed_data = _der(0x30, self._data_head + _der(0x31, signer_info))
        return cms.ContentInfo.load(_der(0x30, self._signed_data_type + _der(0xA0, signed_data)))


def _der(tag: int, content: bytes) -> bytes:
    """One DER element: the tag, the definite length, the content."""
    size = len(content)
    if size < 0x80:
        return bytes((tag, size)) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(length))) + length + content
