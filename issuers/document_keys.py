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
        authority_key = ec_key(self._keys, authority_kid)
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
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(authority.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + CERTIFICATE_LIFETIME)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
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
            .sign(authority_key, hashes.SHA256())
        )
        self._keys.put(kid, key)
        await conn.execute(
            """INSERT INTO school_document_certificates
                   (kid, school_id, authority_kid, certificate, valid_from)
               VALUES ($1, $2, $3, $4, $5)""",
            kid,
            school_id,
            authority_kid,
            certificate.public_bytes(serialization.Encoding.DER),
            now,
        )
        return DocumentCredentials(kid, certificate, authority)

    async def _authority(self, conn: Connection, now: dt.datetime) -> tuple[str, x509.Certificate]:
        row = await conn.fetchrow(
            """SELECT kid, certificate FROM document_authorities
               WHERE retired_at IS NULL ORDER BY valid_from DESC LIMIT 1"""
        )
        if row is not None:
            return row["kid"], x509.load_der_x509_certificate(bytes(row["certificate"]))
        key = ec.generate_private_key(ec.SECP256R1())
        kid = f"doc-ca-{secrets.token_hex(4)}"
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "DK"),
                x509.NameAttribute(NameOID.COMMON_NAME, self.NAME),
            ]
        )
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + AUTHORITY_LIFETIME)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(key, hashes.SHA256())
        )
        self._keys.put(kid, key)
        await conn.execute(
            "INSERT INTO document_authorities (kid, certificate, valid_from) VALUES ($1, $2, $3)",
            kid,
            certificate.public_bytes(serialization.Encoding.DER),
            now,
        )
        return kid, certificate


async def active_credentials(conn: Connection, school_id: str) -> DocumentCredentials | None:
    row = await conn.fetchrow(
        """SELECT c.kid, c.certificate, a.certificate AS authority
           FROM school_document_certificates c
           JOIN document_authorities a ON a.kid = c.authority_kid
           WHERE c.school_id = $1 AND c.retired_at IS NULL""",
        school_id,
    )
    if row is None:
        return None
    return DocumentCredentials(
        row["kid"],
        x509.load_der_x509_certificate(bytes(row["certificate"])),
        x509.load_der_x509_certificate(bytes(row["authority"])),
    )


async def authorities(conn: Connection) -> list[x509.Certificate]:
    """Every document authority's certificate, retired ones included (for validators)."""
    rows = await conn.fetch("SELECT certificate FROM document_authorities ORDER BY valid_from")
    return [x509.load_der_x509_certificate(bytes(r["certificate"])) for r in rows]


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
