"""Document-signing credentials: the ECDSA P-256 key and X.509 certificate a school signs its
paper PDF (PAdES) and certificate XML (XMLDSig) with, and the signers built from them once.

Certificates come from a ``CertificateAuthority`` port. ``DevelopmentAuthority`` is a local CA
whose key lives in the key store, for the demo and tests; a production adapter would import the
school's own organisation certificate (e.g. OCES3) instead. Either way the registry publishes the
authority's certificate, so anyone can validate a PDF or XML signature offline::

    signers = await DocumentSigners(keys).for_school(conn, "751234")
    signers.pdf, signers.xml   # a PdfSigner and an XmlSigner, kept for the key's lifetime
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from formats.certificate_xml import XmlSigner
from formats.pdf import PdfSigner
from issuers import document_store
from issuers.errors import IssuingError
from registry.db import Connection
from registry.keys import KeyStore, ec_key

CERTIFICATE_LIFETIME = dt.timedelta(days=3 * 365)
AUTHORITY_LIFETIME = dt.timedelta(days=20 * 365)


class NoDocumentCertificateError(IssuingError):
    """The school has no document-signing certificate yet."""


@dataclass(frozen=True, slots=True)
class DocumentCredentials:
    kid: str
    certificate: x509.Certificate
    authority: x509.Certificate


class CertificateAuthority(Protocol):
    """Issues the X.509 certificate for a school's document-signing key."""

    async def certify(
        self, conn: Connection, *, school_id: str, school_name: str, now: dt.datetime
    ) -> DocumentCredentials:
        """Make a key for the school, certify it, store both; return the new credentials."""


class DevelopmentAuthority:
    """A local certificate authority for development and tests. Never for production."""

    NAME = "AMU-bevis udviklings-CA (ikke til produktion)"

    def __init__(self, keys: KeyStore) -> None:
        self._keys = keys

    async def certify(
        self, conn: Connection, *, school_id: str, school_name: str, now: dt.datetime
    ) -> DocumentCredentials:
        authority_kid, authority = await self._authority(conn, now)
        key = ec.generate_private_key(ec.SECP256R1())
        kid = f"{school_id}-doc-{secrets.token_hex(4)}"
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "DK"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, school_name),
                x509.NameAttribute(NameOID.SERIAL_NUMBER, f"INST:{school_id}"),
                x509.NameAttribute(NameOID.COMMON_NAME, f"{school_name} – AMU-beviser"),
            ]
        )
        certificate = _certificate(
            subject,
            key,
            issuer=authority.subject,
            signer=ec_key(self._keys, authority_kid),
            now=now,
            lifetime=CERTIFICATE_LIFETIME,
            authority=False,
        )
        self._keys.put(kid, key)
        await document_store.insert_school_certificate(
            conn,
            kid=kid,
            school_id=school_id,
            authority_kid=authority_kid,
            certificate=certificate.public_bytes(serialization.Encoding.DER),
            now=now,
        )
        return DocumentCredentials(kid, certificate, authority)

    async def _authority(self, conn: Connection, now: dt.datetime) -> tuple[str, x509.Certificate]:
        found = await document_store.active_authority(conn)
        if found is not None:
            return found[0], x509.load_der_x509_certificate(found[1])
        key = ec.generate_private_key(ec.SECP256R1())
        kid = f"doc-ca-{secrets.token_hex(4)}"
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "DK"),
                x509.NameAttribute(NameOID.COMMON_NAME, self.NAME),
            ]
        )
        certificate = _certificate(
            name,
            key,
            issuer=name,
            signer=key,
            now=now,
            lifetime=AUTHORITY_LIFETIME,
            authority=True,
        )
        self._keys.put(kid, key)
        der = certificate.public_bytes(serialization.Encoding.DER)
        await document_store.insert_authority(conn, kid=kid, certificate=der, now=now)
        return kid, certificate


# Key usages no certificate of ours grants: the keys only sign (documents, or certificates).
_NEVER_USED_FOR = dict.fromkeys(
    ("key_encipherment", "data_encipherment", "key_agreement", "encipher_only", "decipher_only"),
    False,
)


def _certificate(
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    *,
    issuer: x509.Name,
    signer: ec.EllipticCurvePrivateKey,
    now: dt.datetime,
    lifetime: dt.timedelta,
    authority: bool,
) -> x509.Certificate:
    """An X.509 certificate for ``key``: a CA that signs certificates (``authority``), or a
    school's document key that signs PDFs and XML (digital signature, non-repudiation)."""
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + lifetime)
        .add_extension(
            x509.BasicConstraints(ca=authority, path_length=0 if authority else None),
            critical=True,
        )
        .add_extension(
            x509.KeyUsage(
                digital_signature=not authority,
                content_commitment=not authority,
                key_cert_sign=authority,
                crl_sign=authority,
                **_NEVER_USED_FOR,
            ),
            critical=True,
        )
        .sign(signer, hashes.SHA256())
    )


async def active_credentials(conn: Connection, school_id: str) -> DocumentCredentials | None:
    """The school's document key id and certificate, with its authority's; None if none."""
    found = await document_store.active_school_certificate(conn, school_id)
    if found is None:
        return None
    kid, certificate, authority = found
    return DocumentCredentials(
        kid,
        x509.load_der_x509_certificate(certificate),
        x509.load_der_x509_certificate(authority),
    )


async def authorities(conn: Connection) -> list[x509.Certificate]:
    """Every document authority's certificate, retired ones included (for validators)."""
    return [x509.load_der_x509_certificate(d) for d in await document_store.authorities(conn)]


@dataclass(frozen=True, slots=True)
class Signers:
    pdf: PdfSigner
    xml: XmlSigner
    credentials: DocumentCredentials


class DocumentSigners:
    """One PDF and one XML signer per school document key, built once and kept.

    They only sign; ``issuers.documents.CertificateDocuments`` makes the documents with them.
    """

    def __init__(self, keys: KeyStore) -> None:
        self._keys = keys
        self._cache: dict[str, Signers] = {}

    async def for_school(self, conn: Connection, school_id: str) -> Signers:
        """The school's signers; raises NoDocumentCertificateError if it has no certificate."""
        credentials = await active_credentials(conn, school_id)
        if credentials is None:
            raise NoDocumentCertificateError(
                "the school has no document-signing certificate", field="school"
            )
        cached = self._cache.get(credentials.kid)
        if cached is None:
            key = ec_key(self._keys, credentials.kid)
            cached = Signers(
                pdf=PdfSigner(key, credentials.certificate, chain=(credentials.authority,)),
                xml=XmlSigner(key, credentials.certificate, key_name=credentials.kid),
                credentials=credentials,
            )
            self._cache[credentials.kid] = cached
        return cached
