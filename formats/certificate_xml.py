"""The certificate as XML (schema ``amu-bevis-1.xsd``), enveloped-signed with XMLDSig.

Every document validates against our own schema, namespace ``urn:amu-bevis:certificate:1``.
The signature is ECDSA P-256 with SHA-256 (``ecdsa-sha256``), not the Ed25519 of the JWS:
signxml has no EdDSA and xmlsec1 gained it only in 1.3.10, after the Debian release we check
with. So the XML is signed with a separate per-school XML key and its X.509 certificate::

    signer = XmlSigner(xml_key, xml_cert, key_name="280727-xml-1")  # once, at start-up
    document = signer.sign(record)                                    # bytes
    record = XmlVerifier(xml_cert).verify(document)                   # or InvalidSignatureError
    record = from_xml(to_xml(record))                                 # unsigned, no trust

Signatures are deterministic (RFC 6979): the same record and key always give the same bytes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from importlib import resources
from typing import Any, NewType, cast

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from signxml.exceptions import SignXMLException
from signxml.signer import XMLSigner
from signxml.verifier import SignatureConfiguration, VerifyResult, XMLVerifier

from formats.errors import FormatError, InvalidSignatureError, MalformedDocumentError
from formats.record import (
    Annotations,
    CertificateKind,
    CertificateRecord,
    Goal,
    Participant,
    School,
)
from formats.text import printable

CertificateXml = NewType("CertificateXml", bytes)  # unsigned: a view, never proof
SignedCertificateXml = NewType("SignedCertificateXml", bytes)

NAMESPACE = "urn:amu-bevis:certificate:1"
MEDIA_TYPE = "application/vnd.amu-bevis.certificate+xml"
SIGNATURE_METHOD = SignatureMethod.ECDSA_SHA256

_DS = "http://www.w3.org/2000/09/xmldsig#"
_DS_SCHEMA_URL = "http://www.w3.org/TR/2002/REC-xmldsig-core-20020212/xmldsig-core-schema.xsd"
_C14N = CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0
_VERIFY_CONFIG = SignatureConfiguration(
    location="./",  # the signature is a child of the root, nowhere else
    expect_references=1,
    signature_methods=frozenset({SIGNATURE_METHOD}),
    digest_algorithms=frozenset({DigestAlgorithm.SHA256}),
)


def _q(name: str) -> str:
    return f"{{{NAMESPACE}}}{name}"


class _PackagedSchemas(etree.Resolver):
    """Serves the XMLDSig schema from signxml's copy instead of the network."""

    # lxml-stubs omit the context argument that lxml passes.
    def resolve(self, system_url: str, public_id: str, context: Any) -> Any:  # type: ignore[override]  # noqa: ARG002
        if system_url == _DS_SCHEMA_URL:
            path = resources.files("signxml.schemas").joinpath("xmldsig-core-schema.xsd")
            return self.resolve_string(path.read_bytes(), context, base_url=_DS_SCHEMA_URL)
        return None


def _load_schema() -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    parser.resolvers.add(_PackagedSchemas())
    source = resources.files("formats").joinpath("schemas", "amu-bevis-1.xsd")
    return etree.XMLSchema(etree.fromstring(source.read_bytes(), parser, base_url=str(source)))


SCHEMA = _load_schema()


def _safe_parser() -> etree.XMLParser:
    # Comments and processing instructions are dropped so that a field reads as one piece of
    # text, exactly as canonicalisation (which is what is signed) sees it.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


# --- record to XML --------------------------------------------------------------------------


def _leaf(parent: etree._Element, name: str, text: str) -> None:
    try:
        etree.SubElement(parent, _q(name)).text = text
    except ValueError as e:  # control characters, lone surrogates: XML 1.0 cannot carry them
        raise FormatError(f"{name} contains a character XML cannot carry") from e


def _bool_text(value: bool) -> str:
    return "true" if value else "false"


def _build(record: CertificateRecord) -> etree._Element:
    for text in (record.participant.name, record.goal.title, record.school.name, record.team):
        printable(text)  # the rules every form shares (formats.text)
    try:
        issued_at = record.to_json()["issuedAt"]
    except ValueError as e:
        raise FormatError("issuedAt must be timezone-aware") from e
    root = etree.Element(_q("Certificate"), nsmap={None: NAMESPACE})  # type: ignore[dict-item]
    _leaf(root, "Number", record.number)
    _leaf(root, "Kind", record.kind.value)
    participant = etree.SubElement(root, _q("Participant"))
    _leaf(participant, "Cpr", record.participant.cpr)
    _leaf(participant, "Name", record.participant.name)
    goal = etree.SubElement(root, _q("Goal"))
    _leaf(goal, "Number", record.goal.number)
    _leaf(goal, "Title", record.goal.title)
    _leaf(goal, "DurationDays", record.goal.duration_days)
    school = etree.SubElement(root, _q("School"))
    _leaf(school, "Id", record.school.id)
    _leaf(school, "Name", record.school.name)
    _leaf(root, "Team", record.team)
    _leaf(root, "CourseStart", record.course_start.isoformat())
    _leaf(root, "CourseEnd", record.course_end.isoformat())
    if record.exam_date is not None:
        _leaf(root, "ExamDate", record.exam_date.isoformat())
    _leaf(root, "IssuedAt", issued_at)
    annotations = etree.SubElement(root, _q("Annotations"))
    if record.annotations.exam_passed is not None:
        _leaf(annotations, "ExamPassed", _bool_text(record.annotations.exam_passed))
    _leaf(annotations, "Dispensation", _bool_text(record.annotations.dispensation))
    _leaf(annotations, "Ikv", _bool_text(record.annotations.ikv))
    if record.replaces is not None:
        _leaf(root, "Replaces", record.replaces)
    etree.indent(root, space="  ")
    _validate(root, FormatError)
    return root


def _validate(root: etree._Element, error: type[FormatError]) -> None:
    if not SCHEMA.validate(root):
        # The schema's own message quotes the offending value, which may be a CPR number:
        # name only the element.
        raise error(f"the certificate does not match amu-bevis-1.xsd at {_where(root)}")


def _where(root: etree._Element) -> str:
    """The element the first schema error is about, as local names from the root."""
    log: Any = SCHEMA.error_log  # lxml-stubs leave _ErrorLog empty
    first = log[0] if len(log) else None
    found = root.getroottree().xpath(first.path) if first is not None and first.path else []
    if not isinstance(found, list) or not found or not isinstance(found[0], etree._Element):
        return "the root"
    names = [etree.QName(e).localname for e in (found[0], *found[0].iterancestors())]
    return "/".join(reversed(names))


def _serialise(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def to_xml(record: CertificateRecord) -> CertificateXml:
    """The record as an unsigned document valid against amu-bevis-1.xsd.

    Raises FormatError if the record cannot be written so (an empty name, a CPR number that is
    not DDMMYY-SSSS, a control character, a naive issued_at); the message names the field.
    """
    return CertificateXml(_serialise(_build(record)))


# --- XML to record --------------------------------------------------------------------------


def _text(parent: etree._Element, name: str) -> str:
    element = parent.find(_q(name))
    if element is None or element.text is None:
        raise MalformedDocumentError(f"{name} is missing")
    return element.text


def _optional_text(parent: etree._Element, name: str) -> str | None:
    element = parent.find(_q(name))
    return None if element is None else _text(parent, name)


def _element(parent: etree._Element, name: str) -> etree._Element:
    element = parent.find(_q(name))
    if element is None:
        raise MalformedDocumentError(f"{name} is missing")
    return element


def _read(root: etree._Element) -> CertificateRecord:
    """Read a schema-valid tree; the schema has already fixed every lexical form."""
    participant = _element(root, "Participant")
    goal = _element(root, "Goal")
    school = _element(root, "School")
    annotations = _element(root, "Annotations")
    exam_date = _optional_text(root, "ExamDate")
    exam_passed = _optional_text(annotations, "ExamPassed")
    try:
        return CertificateRecord(
            number=_text(root, "Number"),
            kind=CertificateKind(_text(root, "Kind")),
            participant=Participant(cpr=_text(participant, "Cpr"), name=_text(participant, "Name")),
            goal=Goal(
                number=_text(goal, "Number"),
                title=_text(goal, "Title"),
                duration_days=_text(goal, "DurationDays"),
            ),
            school=School(id=_text(school, "Id"), name=_text(school, "Name")),
            team=_text(root, "Team"),
            course_start=dt.date.fromisoformat(_text(root, "CourseStart")),
            course_end=dt.date.fromisoformat(_text(root, "CourseEnd")),
            exam_date=dt.date.fromisoformat(exam_date) if exam_date is not None else None,
            issued_at=dt.datetime.fromisoformat(_text(root, "IssuedAt")),
            annotations=Annotations(
                exam_passed=None if exam_passed is None else exam_passed == "true",
                dispensation=_text(annotations, "Dispensation") == "true",
                ikv=_text(annotations, "Ikv") == "true",
            ),
            replaces=_optional_text(root, "Replaces"),
        )
    except ValueError as e:  # a date the schema's pattern lets through, e.g. 2026-02-30
        raise MalformedDocumentError("a date in the certificate is not a calendar date") from e


def _parse(data: bytes) -> etree._Element:
    try:
        root = etree.fromstring(data, _safe_parser())
    except etree.XMLSyntaxError as e:
        raise MalformedDocumentError("not well-formed XML") from e
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise MalformedDocumentError("a document type declaration is not allowed")
    return root


def from_xml(data: bytes) -> CertificateRecord:
    """Read a certificate document, signed or not, WITHOUT checking any signature.

    Use it for documents you produced yourself; anything received goes through XmlVerifier.
    Raises MalformedDocumentError if the bytes are not a document valid against amu-bevis-1.xsd.
    """
    root = _parse(data)
    _validate(root, MalformedDocumentError)
    return _read(root)


def read_key_name(data: bytes) -> str | None:
    """The unsigned ds:KeyName of a signed document, to choose the certificate to verify with.

    Raises MalformedDocumentError if the bytes are not XML.
    """
    name = _parse(data).find(f"{{{_DS}}}Signature/{{{_DS}}}KeyInfo/{{{_DS}}}KeyName")
    return None if name is None else name.text


# --- signing and verifying ------------------------------------------------------------------


class _Rfc6979Key:
    """Hands signxml a key that signs deterministically (RFC 6979).

    signxml only calls ``sign(data, signature_algorithm=...)`` and reads ``key_size``; a
    deterministic nonce makes golden files reproducible and removes the nonce-RNG as a risk.
    """

    def __init__(self, key: ec.EllipticCurvePrivateKey) -> None:
        self._key = key
        self.key_size = key.key_size

    def sign(self, data: bytes, signature_algorithm: ec.ECDSA) -> bytes:
        algorithm = signature_algorithm.algorithm
        if not isinstance(algorithm, hashes.HashAlgorithm):  # never prehashed here
            raise TypeError("expected a hash algorithm")
        return self._key.sign(data, ec.ECDSA(algorithm, deterministic_signing=True))


class XmlSigner:
    """Signs certificate records as XML with one school's XML key, loaded once.

    ``key`` is an ECDSA P-256 private key and ``cert`` its X.509 certificate, embedded in
    ds:X509Data; ``key_name``, if given, goes in ds:KeyName so a verifier can pick the cert.
    Raises ValueError if the key is not P-256 or does not belong to the certificate.
    """

    def __init__(
        self,
        key: ec.EllipticCurvePrivateKey,
        cert: x509.Certificate,
        *,
        key_name: str | None = None,
    ) -> None:
        if not isinstance(key.curve, ec.SECP256R1):
            raise ValueError("the XML signing key must be ECDSA P-256")  # noqa: TRY004
        if cert.public_key() != key.public_key():
            raise ValueError("the XML signing key does not belong to the certificate")
        self._key = _Rfc6979Key(key)
        self._cert = cert
        self._key_name = key_name

    def sign(self, record: CertificateRecord) -> SignedCertificateXml:
        """The record as a document with an enveloped signature over all of it.

        Raises FormatError if the record cannot be written as XML (see to_xml), or if the
        certificate is not valid at the record's issued_at (it would never verify).
        """
        if not (
            self._cert.not_valid_before_utc <= record.issued_at <= self._cert.not_valid_after_utc
        ):
            raise FormatError("the XML signing certificate is not valid at issuedAt")
        root = _build(record)
        # signxml fills the placeholder in place, so the signature gets a line of its own.
        etree.SubElement(root, f"{{{_DS}}}Signature", Id="placeholder", nsmap={"ds": _DS})
        etree.indent(root, space="  ")
        # A fresh signxml signer per call: it keeps per-call state, the key is what we reuse.
        signer = XMLSigner(
            signature_algorithm=SIGNATURE_METHOD,
            digest_algorithm=DigestAlgorithm.SHA256,
            c14n_algorithm=_C14N,
        )
        # signxml only calls sign() and reads key_size, which _Rfc6979Key provides.
        key = cast(ec.EllipticCurvePrivateKey, self._key)
        signed = signer.sign(root, key=key, cert=[self._cert], key_name=self._key_name)
        return SignedCertificateXml(_serialise(signed))


class XmlVerifier:
    """Verifies signed certificate documents against one trusted X.509 certificate.

    The certificate given is trusted as is; any certificate inside the document is ignored.
    """

    def __init__(self, cert: x509.Certificate) -> None:
        self._cert = cert

    def verify(self, data: bytes, *, at: dt.datetime | None = None) -> CertificateRecord:
        """The record a signed document carries, read only from what the signature covers.

        The certificate must be valid at ``at``, by default at the document's own issuedAt:
        a certificate stays genuine after the school's XML certificate expires.
        Raises InvalidSignatureError if the signature does not verify or any signed byte was
        changed, MalformedDocumentError if the bytes are not XML or the signed content does
        not match amu-bevis-1.xsd.
        """
        root = _parse(data)
        moment = at if at is not None else _claimed_issued_at(root)
        config = replace(_VERIFY_CONFIG, verification_time=moment)
        try:
            result = XMLVerifier().verify(data, x509_cert=self._cert, expect_config=config)
        except (SignXMLException, etree.LxmlError) as e:
            raise InvalidSignatureError("the XML signature does not verify") from e
        if not isinstance(result, VerifyResult):  # expect_references=1 gives one result
            raise InvalidSignatureError("the XML signature has more than one reference")
        reference = result.signature_xml.find(f"{{{_DS}}}SignedInfo/{{{_DS}}}Reference")
        if reference is None or reference.get("URI") != "":
            # Only a signature over the whole document says the document is what was signed.
            raise InvalidSignatureError("the XML signature does not cover the whole document")
        signed = result.signed_xml
        if signed is None:
            raise InvalidSignatureError("the XML signature covers no certificate")
        _validate(signed, MalformedDocumentError)
        record = _read(signed)
        if at is None and record.issued_at != moment:
            raise InvalidSignatureError("issuedAt is not the one that was signed")
        return record


def _claimed_issued_at(root: etree._Element) -> dt.datetime:
    """The unverified issuedAt, used only to choose when the certificate must be valid."""
    element = root.find(_q("IssuedAt"))
    if element is None or element.text is None:
        raise MalformedDocumentError("IssuedAt is missing")
    try:
        moment = dt.datetime.fromisoformat(element.text)
    except ValueError as e:
        raise MalformedDocumentError("IssuedAt is not a date and time") from e
    if moment.tzinfo is None:
        raise MalformedDocumentError("IssuedAt has no time zone")
    return moment


def verify_xml(
    data: bytes, cert: x509.Certificate, *, at: dt.datetime | None = None
) -> CertificateRecord:
    """Verify a signed certificate document once; see XmlVerifier.verify."""
    return XmlVerifier(cert).verify(data, at=at)
