"""Putting the service into use: importing the goal catalogue and onboarding schools. The
operator's CLI (``amu-bevis catalogue`` / ``schools``) and the demo call these, as the tables'
owner::

    summary = await import_catalogue(conn, data, "csv", source="goals.csv", full=True, now=now)
    school = NewSchool.checked(number="751234", name="...", cvr="29183746", ownership="public")
    await add_school(conn, keys, school, ImportedCertificate(keys, chain_pem, key_pem), now=now)
    await disable_school(conn, "751234", now=now)

Each raises ``OnboardingError`` naming the offending option, or ``InvalidCatalogueError``
listing every bad line, and changes nothing then.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Literal

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from formats.errors import FormatError
from formats.text import clean_text
from issuers import catalogue, catalogue_store, document_store, school_store
from issuers.catalogue import Format, InvalidCatalogueError
from issuers.document_keys import CertificateAuthority, DocumentCredentials
from issuers.errors import IssuingError
from registry import certificate_store
from registry.db import Connection
from registry.keys import KeyStore, public_bytes

Ownership = Literal["public", "private"]


class OnboardingError(IssuingError):
    """An operator's input that cannot be used; ``field`` names the option (``--cvr``)."""


# -- the goal catalogue --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImportSummary:
    added: list[str]
    changed: list[str]
    closed: list[str]
    unchanged: list[str]


async def import_catalogue(
    conn: Connection,
    data: bytes,
    format: Format,  # noqa: A002 - the word the CLI uses
    *,
    source: str,
    full: bool,
    now: dt.datetime,
) -> ImportSummary:
    """Import a catalogue file in one transaction: all of it, or nothing.

    Raises InvalidCatalogueError with every bad line (and every line whose exam history the
    file would rewrite); nothing is stored then, not even the attempt.
    """
    lines = catalogue.parse(data, format)
    async with conn.transaction():
        await catalogue_store.lock_catalogue(conn)
        stored = await catalogue_store.stored_goals(conn)
        plan = catalogue.plan_import(lines, stored, full=full, today=now.date())
        if plan.errors:
            raise InvalidCatalogueError(plan.errors)
        summary = ImportSummary(
            added=[c.after.number for c in plan.added],
            changed=[c.after.number for c in plan.changed],
            closed=[c.after.number for c in plan.closed],
            unchanged=plan.unchanged,
        )
        if not plan.changes:
            return summary  # the same file again: nothing to record
        import_id = await catalogue_store.insert_import(
            conn,
            catalogue_store.ImportRecord(
                imported_at=now,
                source=source,
                sha256=hashlib.sha256(data).digest(),
                full=full,
                added=len(plan.added),
                changed=len(plan.changed),
                closed=len(plan.closed),
                unchanged=len(plan.unchanged),
            ),
        )
        await catalogue_store.save_goals(
            conn,
            import_id,
            [
                *(("added", c) for c in plan.added),
                *(("changed", c) for c in plan.changed),
                *(("closed", c) for c in plan.closed),
            ],
            now=now,
        )
    return summary


# -- schools -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewSchool:
    number: str  # institution number (institutionsnummer)
    name: str
    cvr: str
    ownership: Ownership

    @classmethod
    def checked(cls, *, number: str, name: str, cvr: str, ownership: str) -> NewSchool:
        """The school, its values checked; raises OnboardingError naming the option."""
        if not re.fullmatch(r"[0-9]{6}", number):
            raise OnboardingError("an institution number is six digits", field="--number")
        if not re.fullmatch(r"[1-9][0-9]{7}", cvr):
            raise OnboardingError(
                "a CVR number is eight digits, not starting with 0", field="--cvr"
            )
        if ownership not in ("public", "private"):
            raise OnboardingError("is public or private", field="--ownership")
        try:
            clean = clean_text(name)
        except FormatError as e:
            raise OnboardingError(str(e), field="--name") from e
        if len(clean) > 200:
            raise OnboardingError("is longer than 200 characters", field="--name")
        return cls(number, clean, cvr, "public" if ownership == "public" else "private")


async def add_school(
    conn: Connection,
    keys: KeyStore,
    school: NewSchool,
    authority: CertificateAuthority,
    *,
    now: dt.datetime,
) -> DocumentCredentials:
    """Register a school in one transaction: the school, a fresh Ed25519 key for its records
    and its document-signing certificate from ``authority`` (``ImportedCertificate`` for a
    real one, ``DevelopmentAuthority`` in the demo). Raises OnboardingError for a school
    number already registered."""
    async with conn.transaction():
        if await school_store.school(conn, school.number) is not None:
            raise OnboardingError("a school with this number is registered", field="--number")
        await school_store.insert_school(
            conn,
            school_id=school.number,
            name=school.name,
            cvr=school.cvr,
            ownership=school.ownership,
        )
        private = Ed25519PrivateKey.generate()
        kid = f"{school.number}-{secrets.token_hex(4)}"
        keys.put(kid, private)
        await certificate_store.insert_key(
            conn, kid=kid, school_id=school.number, public_key=public_bytes(private), valid_from=now
        )
        return await authority.certify(
            conn, school_id=school.number, school_name=school.name, now=now
        )


async def disable_school(conn: Connection, number: str, *, now: dt.datetime) -> dt.datetime:
    """Disable a school: its API credentials are refused and it cannot issue; what it issued
    stays valid. Returns when it was disabled (the first time, if it already was). Raises
    OnboardingError for an unknown school."""
    disabled = await school_store.disable_school(conn, number, now=now)
    if disabled is None:
        raise OnboardingError("no school has this number", field="NUMBER")
    return disabled


class ImportedCertificate:
    """A ``CertificateAuthority`` for a school's own document-signing certificate (e.g. an
    OCES3 organisation certificate): it imports the certificate, its issuer's and the key
    rather than making them.

    ``chain_pem`` holds the school's certificate first and then its issuing CA's; ``key_pem``
    the certificate's unencrypted ECDSA P-256 private key (PKCS#8 or SEC1). Raises
    OnboardingError naming ``--signing-certificate`` or ``--signing-key``.
    """

    def __init__(self, keys: KeyStore, chain_pem: bytes, key_pem: bytes) -> None:
        self._keys = keys
        try:
            chain = x509.load_pem_x509_certificates(chain_pem)
        except ValueError as e:
            raise OnboardingError(
                "is not a PEM file of X.509 certificates", field="--signing-certificate"
            ) from e
        if len(chain) < 2:  # the certificate and its issuer
            raise OnboardingError(
                "must hold the school's certificate followed by its issuing CA's certificate",
                field="--signing-certificate",
            )
        self.certificate, self.issuer = chain[0], chain[1]
        try:
            key = serialization.load_pem_private_key(key_pem, password=None)
        except (ValueError, TypeError) as e:
            raise OnboardingError(
                "is not an unencrypted PEM private key", field="--signing-key"
            ) from e
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise OnboardingError("must be an ECDSA P-256 key", field="--signing-key")
        self.key = key
        self._check()

    def _check(self) -> None:
        own = self.certificate.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        mine = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        if own != mine:
            raise OnboardingError("is not the certificate's key", field="--signing-key")
        try:
            self.certificate.verify_directly_issued_by(self.issuer)
        except (ValueError, TypeError, InvalidSignature) as e:
            raise OnboardingError(
                "the second certificate did not issue the first", field="--signing-certificate"
            ) from e
        try:
            usage = self.certificate.extensions.get_extension_for_class(x509.KeyUsage).value
        except x509.ExtensionNotFound:
            return
        if not usage.digital_signature:
            raise OnboardingError(
                "the certificate may not make digital signatures", field="--signing-certificate"
            )

    async def certify(
        self,
        conn: Connection,
        *,
        school_id: str,
        school_name: str,  # noqa: ARG002 - the port's; the certificate already names the school
        now: dt.datetime,
    ) -> DocumentCredentials:
        if not (
            self.certificate.not_valid_before_utc <= now < self.certificate.not_valid_after_utc
        ):
            raise OnboardingError("the certificate is not valid now", field="--signing-certificate")
        issuer_der = self.issuer.public_bytes(serialization.Encoding.DER)
        authority_kid = await school_store.document_authority_kid(conn, issuer_der)
        if authority_kid is None:
            authority_kid = f"ca-{hashlib.sha256(issuer_der).hexdigest()[:16]}"
            await document_store.insert_authority(
                conn, kid=authority_kid, certificate=issuer_der, now=now
            )
        kid = f"{school_id}-doc-{secrets.token_hex(4)}"
        self._keys.put(kid, self.key)
        await document_store.insert_school_certificate(
            conn,
            kid=kid,
            school_id=school_id,
            authority_kid=authority_kid,
            certificate=self.certificate.public_bytes(serialization.Encoding.DER),
            now=now,
        )
        return DocumentCredentials(kid, self.certificate, self.issuer)
