"""The certificate XML: schema, round trips, signatures checked by signxml and by xmlsec1.

Golden files live in tests/assets/xml/. When the format changes on purpose, run with
``AMU_REGENERATE_GOLDEN=1``: each differing golden file gets a ``<file>.new`` beside it and the
test fails with the diff; review it and move the ``.new`` file over the old one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from signxml.signer import XMLSigner

from formats.certificate_xml import (
    NAMESPACE,
    SCHEMA,
    SIGNATURE_METHOD,
    XmlSigner,
    XmlVerifier,
    from_xml,
    read_key_name,
    to_xml,
    verify_xml,
)
from formats.errors import FormatError, InvalidSignatureError, MalformedDocumentError
from formats.record import (
    Annotations,
    CertificateKind,
    CertificateRecord,
    Goal,
    Participant,
    School,
)
from formats.text import carried_characters
from tests.externals import ROOT, require_tool
from tests.golden import assert_golden
from tests.helpers import stdout_of_another_process

ASSETS = ROOT / "tests" / "assets"
GOLDEN = ASSETS / "xml"
KEY_PEM = ASSETS / "keys" / "TEST-KEY-xml-school-p256.key.pem"
CERT_PEM = ASSETS / "keys" / "TEST-KEY-xml-school-p256.cert.pem"
KEY_SEED = b"amu-bevis TEST KEY, never for production: XML signing key of school 280727"
KEY_NAME = "TEST-KEY-280727-xml-1"


def _seeded_test_key() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """How the committed TEST key and its self-signed certificate were made (deterministic)."""
    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551  # P-256 n
    scalar = int.from_bytes(hashlib.sha256(KEY_SEED).digest(), "big") % order
    key = ec.derive_private_key(scalar, ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "TEST KEY - NOT A REAL SCHOOL"),
            x509.NameAttribute(NameOID.COMMON_NAME, "TEST 280727 XML signing"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
        .not_valid_after(dt.datetime(2125, 1, 1, tzinfo=dt.UTC))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256(), ecdsa_deterministic=True)
    )
    return key, cert


def _load_test_key() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = serialization.load_pem_private_key(KEY_PEM.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key, x509.load_pem_x509_certificate(CERT_PEM.read_bytes())


TEST_KEY, TEST_CERT = _load_test_key()
SIGNER = XmlSigner(TEST_KEY, TEST_CERT, key_name=KEY_NAME)
VERIFIER = XmlVerifier(TEST_CERT)

# Every optional field present, Danish letters and every XML-special character.
FULL = CertificateRecord(
    number="280727-2026-000123",
    kind=CertificateKind.AMU,
    participant=Participant(cpr="010203-1234", name="Åse Ærø-Østergård <\"Bøje\"> & 'Co'"),
    goal=Goal(number="47596", title="Svejsning af rør & plader <MAG>", duration_days="2.5"),
    school=School(id="280727", name="AMU Sjælland"),
    team="H-2026-07 «øst»",
    course_start=dt.date(2026, 3, 2),
    course_end=dt.date(2026, 3, 4),
    exam_date=dt.date(2026, 3, 4),
    issued_at=dt.datetime(2026, 3, 5, 9, 30, tzinfo=dt.UTC),
    annotations=Annotations(exam_passed=True, dispensation=False, ikv=False),
    replaces="280727-2026-000099",
)
# Every optional field absent.
MINIMAL = CertificateRecord(
    number="280727-2026-000124",
    kind=CertificateKind.IKV_ACTIVITY,
    participant=Participant(cpr="311299-4001", name="Jens Hansen"),
    goal=Goal(number="40080", title="Individuel kompetencevurdering i AMU", duration_days="1"),
    school=School(id="280727", name="AMU Sjælland"),
    team="IKV-12",
    course_start=dt.date(2026, 4, 7),
    course_end=dt.date(2026, 4, 7),
    exam_date=None,
    issued_at=dt.datetime(2026, 4, 8, 8, 0, tzinfo=dt.UTC),
    annotations=Annotations(exam_passed=None, dispensation=False, ikv=True),
)


# --- helpers ---------------------------------------------------------------------------------


def _xmlsec1_verifies(document: bytes) -> bool:
    """Whether xmlsec1 accepts the signature, trusting only the TEST certificate."""
    xmlsec1 = require_tool("xmlsec1")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "certificate.xml"
        path.write_bytes(document)
        done = subprocess.run(  # noqa: S603 - fixed arguments, our own temporary file
            [
                xmlsec1,
                "--verify",
                "--trusted-pem",
                str(CERT_PEM),
                # The reference is URI="" (the whole document), so no --id-attr is needed;
                # allowing only that refuses any other reference.
                "--enabled-reference-uris",
                "empty",
                str(path),
            ],
            capture_output=True,
            check=False,
            timeout=60,
        )
    return done.returncode == 0


def _tamper(document: bytes, tag: str, nth: int = 0) -> bytes:
    """Change one byte in the text of the nth ``<tag>`` element, keeping the XML well-formed."""
    match = list(re.finditer(rb"<" + tag.encode() + rb">([^<]+)</", document))[nth]
    # The first ASCII letter or digit: changing part of a multi-byte letter (Å) would break
    # the UTF-8 rather than the signature.
    at = match.start(1) + re.search(rb"[A-Za-z0-9]", match.group(1)).start()  # type: ignore[union-attr]
    old = document[at : at + 1]
    new = b"1" if old.isdigit() and old != b"1" else b"2" if old.isdigit() else b"X"
    if old == new:
        new = b"Y"
    return document[:at] + new + document[at + 1 :]


# --- keys and golden files ------------------------------------------------------------------


def test_committed_test_key_is_the_seeded_one() -> None:
    key, cert = _seeded_test_key()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    assert pem == KEY_PEM.read_bytes()
    assert cert.public_bytes(serialization.Encoding.PEM) == CERT_PEM.read_bytes()


def test_golden_signed_full_record() -> None:
    assert_golden(GOLDEN / "certificate-amu-full.signed.xml", SIGNER.sign(FULL))


def test_golden_unsigned_minimal_record() -> None:
    assert_golden(GOLDEN / "certificate-ikv-activity-minimal.xml", to_xml(MINIMAL))


def test_golden_files_read_back_to_their_records() -> None:
    signed = (GOLDEN / "certificate-amu-full.signed.xml").read_bytes()
    assert VERIFIER.verify(signed) == FULL
    assert from_xml(signed) == FULL
    assert from_xml((GOLDEN / "certificate-ikv-activity-minimal.xml").read_bytes()) == MINIMAL


@pytest.mark.external
def test_xmlsec1_verifies_the_golden_signature() -> None:
    assert _xmlsec1_verifies((GOLDEN / "certificate-amu-full.signed.xml").read_bytes())


# --- schema ---------------------------------------------------------------------------------


@pytest.mark.parametrize("document", [to_xml(FULL), to_xml(MINIMAL), SIGNER.sign(FULL)])
def test_produced_documents_validate_against_the_schema(document: bytes) -> None:
    root = etree.fromstring(document)
    SCHEMA.assertValid(root)
    assert root.tag == f"{{{NAMESPACE}}}Certificate"


def test_signed_document_keeps_the_signature_as_the_last_child() -> None:
    root = etree.fromstring(SIGNER.sign(MINIMAL))
    assert root[-1].tag == "{http://www.w3.org/2000/09/xmldsig#}Signature"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"participant": Participant(cpr="0102031234", name="A")}, "Cpr"),
        ({"participant": Participant(cpr="010203-1234", name="")}, "Name"),
        ({"goal": Goal(number="4008", title="T", duration_days="1")}, "Number"),
        ({"goal": Goal(number="40080", title="T", duration_days="2,5")}, "DurationDays"),
        ({"team": ""}, "Team"),
        ({"number": "bad\x00number"}, "Number"),
        ({"replaces": ""}, "Replaces"),
    ],
)
def test_to_xml_refuses_what_the_schema_forbids(changes: dict[str, object], field: str) -> None:
    with pytest.raises(FormatError, match=field):
        to_xml(replace(MINIMAL, **changes))  # type: ignore[arg-type]


def test_to_xml_refuses_a_naive_issued_at() -> None:
    with pytest.raises(FormatError, match="issuedAt"):
        to_xml(replace(MINIMAL, issued_at=dt.datetime(2026, 4, 8, 8, 0)))  # noqa: DTZ001


def test_schema_errors_never_quote_the_cpr_number() -> None:
    with pytest.raises(FormatError) as caught:
        to_xml(replace(MINIMAL, participant=Participant(cpr="010203-12345", name="A")))
    assert "010203" not in str(caught.value)


@pytest.mark.parametrize(
    "document",
    [
        b"not xml",
        b"<Certificate/>",
        b'<Certificate xmlns="urn:amu-bevis:certificate:1"/>',
        to_xml(MINIMAL).replace(b"<Ikv>true</Ikv>", b"<Ikv>1</Ikv>"),
        to_xml(MINIMAL).replace(b"2026-04-07", b"2026-02-30"),
        to_xml(MINIMAL).replace(b"08:00:00Z", b"08:00:00+01:00"),
        to_xml(MINIMAL).replace(b"<Team>", b"<Secret>x</Secret><Team>"),
        to_xml(MINIMAL).replace(
            b"<Certificate ",
            b'<!DOCTYPE Certificate [<!ENTITY x "y">]><Certificate ',
        ),
    ],
)
def test_from_xml_refuses_documents_outside_the_schema(document: bytes) -> None:
    with pytest.raises(MalformedDocumentError):
        from_xml(document)


# --- signatures -----------------------------------------------------------------------------


def test_signing_gives_the_same_bytes_in_another_process() -> None:
    # RFC 6979 makes the signature deterministic; the canonical XML must be too, whatever the
    # hash seed or dict order, so a process of its own must sign to the golden bytes.
    other = stdout_of_another_process(
        "import sys\n"
        "from tests.formats.test_certificate_xml import FULL, SIGNER\n"
        "sys.stdout.buffer.write(SIGNER.sign(FULL))\n"
    )
    assert other == SIGNER.sign(FULL)
    assert_golden(GOLDEN / "certificate-amu-full.signed.xml", other)


def test_key_name_is_carried_for_choosing_the_certificate() -> None:
    assert read_key_name(SIGNER.sign(FULL)) == KEY_NAME
    assert read_key_name(to_xml(FULL)) is None


TAMPERED_FIELDS = [
    ("Number", 0),  # certificate number
    ("Kind", 0),
    ("Cpr", 0),
    ("Name", 0),  # participant
    ("Number", 1),  # goal number
    ("Title", 0),
    ("DurationDays", 0),
    ("Id", 0),
    ("Name", 1),  # school
    ("Team", 0),
    ("CourseStart", 0),
    ("CourseEnd", 0),
    ("ExamDate", 0),
    ("IssuedAt", 0),
    ("ExamPassed", 0),
    ("Dispensation", 0),
    ("Ikv", 0),
    ("Replaces", 0),
    ("ds:DigestValue", 0),
    ("ds:SignatureValue", 0),
]


@pytest.mark.parametrize(("tag", "nth"), TAMPERED_FIELDS)
def test_a_changed_byte_fails_signxml_verification(tag: str, nth: int) -> None:
    signed = SIGNER.sign(FULL)
    with pytest.raises(InvalidSignatureError):
        VERIFIER.verify(_tamper(signed, tag, nth))


@pytest.mark.external
@pytest.mark.parametrize(("tag", "nth"), TAMPERED_FIELDS)
def test_a_changed_byte_fails_xmlsec1_verification(tag: str, nth: int) -> None:
    signed = SIGNER.sign(FULL)
    assert _xmlsec1_verifies(signed)
    assert not _xmlsec1_verifies(_tamper(signed, tag, nth))


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda d: d.replace(b"    <ExamPassed>true</ExamPassed>\n", b""), id="drop"),
        pytest.param(lambda d: d.replace(b"<Team>", b"<Team>Extra"), id="insert"),
        pytest.param(lambda d: d.replace(b"<Kind>amu</Kind>", b"<Kind>amu </Kind>"), id="space"),
        pytest.param(
            lambda d: re.sub(rb"(?s)<ds:Signature .*</ds:Signature>", b"", d), id="unsigned"
        ),
    ],
)
def test_structural_changes_fail_verification(change: Callable[[bytes], bytes]) -> None:
    tampered = change(SIGNER.sign(FULL))
    assert tampered != SIGNER.sign(FULL)
    with pytest.raises(InvalidSignatureError):
        VERIFIER.verify(tampered)


def test_a_signature_over_part_of_the_document_is_refused() -> None:
    root = etree.fromstring(to_xml(FULL))
    root.set("Id", "part")
    signed = XMLSigner(signature_algorithm=SIGNATURE_METHOD).sign(
        root, key=TEST_KEY, cert=[TEST_CERT], reference_uri="#part"
    )
    with pytest.raises(InvalidSignatureError, match="whole document"):
        VERIFIER.verify(etree.tostring(signed))


def test_a_comment_is_not_part_of_the_record() -> None:
    """Comments are outside what exclusive c14n signs, so they may come and go harmlessly."""
    signed = SIGNER.sign(FULL).replace(b"<Team>H-2026", b"<Team>H-<!-- x -->2026")
    assert VERIFIER.verify(signed) == FULL


def test_another_schools_key_does_not_verify() -> None:
    other_key = ec.derive_private_key(7, ec.SECP256R1())
    other_cert = (
        x509.CertificateBuilder()
        .subject_name(TEST_CERT.subject)
        .issuer_name(TEST_CERT.issuer)
        .public_key(other_key.public_key())
        .serial_number(2)
        .not_valid_before(TEST_CERT.not_valid_before_utc)
        .not_valid_after(TEST_CERT.not_valid_after_utc)
        .sign(other_key, hashes.SHA256())
    )
    forged = XmlSigner(other_key, other_cert).sign(FULL)
    with pytest.raises(InvalidSignatureError):
        VERIFIER.verify(forged)
    with pytest.raises(InvalidSignatureError):
        verify_xml(SIGNER.sign(FULL), other_cert)


@pytest.mark.external
def test_xmlsec1_refuses_a_document_signed_by_another_key() -> None:
    other_key = ec.derive_private_key(7, ec.SECP256R1())
    other_cert = (
        x509.CertificateBuilder()
        .subject_name(TEST_CERT.subject)
        .issuer_name(TEST_CERT.issuer)
        .public_key(other_key.public_key())
        .serial_number(2)
        .not_valid_before(TEST_CERT.not_valid_before_utc)
        .not_valid_after(TEST_CERT.not_valid_after_utc)
        .sign(other_key, hashes.SHA256())
    )
    assert not _xmlsec1_verifies(XmlSigner(other_key, other_cert).sign(FULL))


def test_verification_time_is_the_issue_time_unless_given() -> None:
    signed = SIGNER.sign(FULL)
    assert VERIFIER.verify(signed, at=dt.datetime(2124, 12, 31, tzinfo=dt.UTC)) == FULL
    with pytest.raises(InvalidSignatureError):
        VERIFIER.verify(signed, at=dt.datetime(2125, 1, 2, tzinfo=dt.UTC))


def test_verifier_refuses_bytes_that_are_not_xml() -> None:
    with pytest.raises(MalformedDocumentError):
        VERIFIER.verify(b"\x00garbage")


def test_signer_refuses_a_key_that_is_not_its_certificates() -> None:
    with pytest.raises(ValueError, match="does not belong"):
        XmlSigner(ec.derive_private_key(7, ec.SECP256R1()), TEST_CERT)


def test_signer_refuses_a_key_on_another_curve() -> None:
    with pytest.raises(ValueError, match="P-256"):
        XmlSigner(ec.derive_private_key(7, ec.SECP384R1()), TEST_CERT)


def test_signer_refuses_a_record_issued_outside_the_certificate() -> None:
    with pytest.raises(FormatError, match="not valid at issuedAt"):
        SIGNER.sign(replace(FULL, issued_at=dt.datetime(2024, 12, 31, tzinfo=dt.UTC)))


# --- properties -----------------------------------------------------------------------------

# Any character XML 1.0 can carry, with the Danish letters and XML's specials made likely.
_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(
            codec="utf-8",
            exclude_categories=("Cs", "Cc"),
            exclude_characters="\ufffe\uffff",
        ),
        st.sampled_from("æøåÆØÅ<>&\"'\t\n\r ]]>"),
    ),
    min_size=1,
    max_size=40,
)
# What a record's names, title and team may hold (formats.text.printable), XML's specials likely.
_CARRIED = st.text(
    alphabet=st.sampled_from(sorted(carried_characters())) | st.sampled_from("æøåÆØÅ<>&\"' ]]>"),
    min_size=1,
    max_size=40,
)


@st.composite
def records(draw: st.DrawFn) -> CertificateRecord:
    moment = draw(
        st.datetimes(min_value=dt.datetime(2025, 1, 2), max_value=dt.datetime(2124, 12, 30))  # noqa: DTZ001
    )
    return CertificateRecord(
        number=draw(_TEXT),
        kind=draw(st.sampled_from(CertificateKind)),
        participant=Participant(
            cpr=draw(st.from_regex(r"[0-9]{6}-[0-9]{4}", fullmatch=True)), name=draw(_CARRIED)
        ),
        goal=Goal(
            number=draw(st.from_regex(r"[0-9]{5}", fullmatch=True)),
            title=draw(_CARRIED),
            duration_days=draw(st.from_regex(r"[0-9]{1,3}(\.[0-9]{1,2})?", fullmatch=True)),
        ),
        school=School(id=draw(_TEXT), name=draw(_CARRIED)),
        team=draw(_CARRIED),
        course_start=draw(st.dates()),
        course_end=draw(st.dates()),
        exam_date=draw(st.none() | st.dates()),
        issued_at=moment.replace(microsecond=0, tzinfo=dt.UTC),
        annotations=Annotations(
            exam_passed=draw(st.none() | st.booleans()),
            dispensation=draw(st.booleans()),
            ikv=draw(st.booleans()),
        ),
        replaces=draw(st.none() | _TEXT),
    )


@given(records())
def test_to_xml_from_xml_round_trip(record: CertificateRecord) -> None:
    document = to_xml(record)
    SCHEMA.assertValid(etree.fromstring(document))
    assert from_xml(document) == record


@given(records())
def test_sign_verify_round_trip(record: CertificateRecord) -> None:
    signed = SIGNER.sign(record)
    SCHEMA.assertValid(etree.fromstring(signed))
    assert VERIFIER.verify(signed) == record


@given(records(), st.data())
def test_any_changed_byte_of_the_signed_content_is_refused(
    record: CertificateRecord, data: st.DataObject
) -> None:
    signed = SIGNER.sign(record)
    start = signed.index(b"<Certificate")
    end = signed.index(b"<ds:Signature")
    at = data.draw(st.integers(min_value=start, max_value=end - 1), label="position")
    old = signed[at]
    new = data.draw(st.sampled_from(b"0123456789AZaz").filter(lambda b: b != old), label="new byte")
    tampered = signed[:at] + bytes([new]) + signed[at + 1 :]
    with pytest.raises((InvalidSignatureError, MalformedDocumentError)):
        VERIFIER.verify(tampered)


@pytest.mark.external
@settings(max_examples=20, deadline=None)
@given(records())
def test_xmlsec1_verifies_generated_records(record: CertificateRecord) -> None:
    assert _xmlsec1_verifies(SIGNER.sign(record))
