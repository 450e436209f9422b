"""The paper certificate PDF, checked from outside: pyHanko's validator, poppler, zbar, PDFBox.

- the PAdES signature validates with pyHanko against a TEST CA made here, and with poppler's
  pdfsig;
- pdftotext shows every field, æøå intact, the annotations in words, never special conditions;
- pdftoppm draws a page that is not blank, and zbarimg reads the QR code's URL off it;
- PDFBox's preflight, the PDF/A validator Debian packages, passes the file (see ``_preflight``);
- the extracted text matches ``tests/assets/pdf/sample.txt``. PDFs hold signatures and IDs
  that change every time, so the golden is the text. When the layout changes on purpose, run
  with ``AMU_REGENERATE_GOLDEN=1``: a differing golden gets a ``.new`` file beside it and the
  test fails with the diff; review it and move the ``.new`` file over the old one.

``python -m tests.formats.test_pdf OUT.pdf`` writes the sample certificate to look at.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import itertools
import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.signers import SimpleSigner
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore
from reportlab.pdfgen.canvas import Canvas

from formats import pdf_text
from formats.document import DocumentGoal, OtherDocument, OtherDocumentKind
from formats.errors import FormatError
from formats.pdf import PdfSigner, PdfSigningError
from formats.pdf_layout import REGULAR, register_fonts, render_unsigned
from formats.pdf_pdfa import ICC_PROFILE, to_pdfa
from formats.record import (
    Annotations,
    CertificateKind,
    CertificateRecord,
    Goal,
    Participant,
    School,
)
from tests import externals
from tests.externals import ROOT, require_tool
from tests.golden import assert_golden

GOLDEN = ROOT / "tests" / "assets" / "pdf"
SIGNED_AT = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)
BASE_URL = "https://bevis.example"
CODE = "7KQ2-MX4P"
URL = f"{BASE_URL}/tjek/280727-2026-000123?kode={CODE}"
# Words a sentence about special exam conditions would need; none may ever be printed.
SPECIAL_CONDITIONS = ("særlig", "vilkår", "ekstra tid", "forlænget", "hjælpemid", "tillægstid")

RECORD = CertificateRecord(
    number="280727-2026-000123",
    kind=CertificateKind.AMU,
    participant=Participant(cpr="010190-1234", name="Åse Ærø Ødegård"),
    goal=Goal(
        number="48596",
        title="Svejsning af rør – kvalitetsstyring på værksted og byggeplads",
        duration_days="2.5",
    ),
    school=School(id="280727", name="Uddannelsescenter Øresund"),
    team="H-26-017",
    course_start=dt.date(2026, 11, 9),
    course_end=dt.date(2026, 11, 11),
    exam_date=dt.date(2026, 11, 11),
    issued_at=dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC),
    annotations=Annotations(exam_passed=True, dispensation=False, ikv=False),
    replaces="280727-2026-000099",
)

# PDFBox 2.0 preflight and the jars Debian splits its dependencies into.
JARS = ("preflight", "pdfbox2", "fontbox2", "xmpbox", "commons-logging", "javax.activation")
JARS_WITH_JAXB = (*JARS, "jaxb-api")


@dataclass(frozen=True)
class Pki:
    """A TEST CA and a school signing certificate it issued."""

    ca: x509.Certificate
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    certificate: x509.Certificate


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["ec-p256", "rsa-2048"])
def pki(request: pytest.FixtureRequest) -> Pki:
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    if request.param == "rsa-2048":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        key = ec.generate_private_key(ec.SECP256R1())
    return _make_pki(key)


@pytest.fixture(scope="module")
def signer(pki: Pki) -> PdfSigner:
    return PdfSigner(pki.key, pki.certificate, chain=[pki.ca])


DESCRIPTION = (
    "Deltageren kan svejse rør i stål efter gældende kvalitetskrav og dokumentere "
    "svejsningen på værksted og byggeplads."
)


@pytest.fixture(scope="module")
def signed(signer: PdfSigner) -> bytes:
    return signer.render(RECORD, CODE, BASE_URL, SIGNED_AT, description=DESCRIPTION)


@pytest.fixture(scope="module")
def text(signed: bytes) -> str:
    return _pdftotext(signed)


# --- signature -------------------------------------------------------------------------------


def test_pyhanko_accepts_the_signature(signed: bytes, pki: Pki) -> None:
    status = _validate(signed, pki.ca)
    assert status.intact
    assert status.valid
    assert status.trusted
    assert status.bottom_line
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert status.signer_reported_dt == SIGNED_AT
    assert status.signing_cert.subject.native["common_name"] == "TEST Uddannelsescenter Øresund"


def test_signature_is_a_pades_incremental_update(signed: bytes) -> None:
    reader = PdfFileReader(_stream(signed))
    (signature,) = reader.embedded_signatures
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert signature.signed_revision == 1  # revision 0 is the unsigned PDF/A document
    assert reader.xrefs.total_revisions == 2


async def test_the_cms_object_is_the_one_pyhanko_would_build(signed: bytes, pki: Pki) -> None:
    # PdfSigner splices pre-encoded parts around the digest and the signature; pyHanko's own
    # assembly, given the same key, certificates and document digest, must agree with it.
    reader = PdfFileReader(_stream(signed))
    (signature,) = reader.embedded_signatures
    ours = signature.signed_data
    (attributes,) = [info["signed_attrs"] for info in ours["signer_infos"]]
    (digest,) = [a["values"][0].native for a in attributes if a["type"].native == "message_digest"]
    key = keys.PrivateKeyInfo.load(
        pki.key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    reference = SimpleSigner(
        signing_cert=asn1_x509.Certificate.load(
            pki.certificate.public_bytes(serialization.Encoding.DER)
        ),
        signing_key=key,
        cert_registry=SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
            [asn1_x509.Certificate.load(pki.ca.public_bytes(serialization.Encoding.DER))]
        ),
    )
    theirs = (await reference.async_sign(digest, "sha256", use_pades=True))["content"]
    for field in ("version", "digest_algorithms", "encap_content_info"):
        assert ours[field].dump() == theirs[field].dump(), field
    # pyHanko collects the certificates in a set, so their order is not fixed.
    assert sorted(c.dump() for c in ours["certificates"]) == sorted(
        c.dump() for c in theirs["certificates"]
    )
    (our_info,), (their_info,) = ours["signer_infos"], theirs["signer_infos"]
    if isinstance(pki.key, rsa.RSAPrivateKey):  # PKCS #1 v1.5 is deterministic: every byte
        assert our_info.dump() == their_info.dump()
    for field in ("version", "sid", "digest_algorithm", "signed_attrs", "signature_algorithm"):
        assert our_info[field].dump() == their_info[field].dump(), field
    assert not our_info["unsigned_attrs"].native


def test_poppler_pdfsig_accepts_the_signature_too(signed: bytes) -> None:
    # A second, independent implementation (poppler with NSS). It does not know the TEST CA,
    # so it checks only that the signature is sound and covers the whole file.
    pdfsig = require_tool("pdfsig")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "certificate.pdf"
        path.write_bytes(signed)
        out = _run([pdfsig, str(path)]).stdout.decode()
    assert "Signature Type: ETSI.CAdES.detached" in out
    assert "Total document signed" in out
    assert "Signature Validation: Signature is Valid." in out


def test_a_changed_byte_breaks_the_signature(signed: bytes, pki: Pki) -> None:
    position = signed.index(b"/Type /Page") + 1
    tampered = signed[:position] + b"X" + signed[position + 1 :]
    assert not _validate(tampered, pki.ca).intact


def test_a_foreign_ca_is_not_trusted(signed: bytes) -> None:
    stranger = _make_pki(ec.generate_private_key(ec.SECP256R1()))
    status = _validate(signed, stranger.ca)
    assert status.intact
    assert not status.bottom_line


def test_the_key_must_match_the_certificate(pki: Pki) -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(PdfSigningError, match="does not match"):
        PdfSigner(other, pki.certificate)


def test_only_rsa_and_ec_keys_sign() -> None:
    pki = _make_pki(ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(PdfSigningError, match="RSA or EC"):
        PdfSigner(ed25519.Ed25519PrivateKey.generate(), pki.certificate)  # type: ignore[arg-type]


def test_signing_time_must_be_timezone_aware(signer: PdfSigner) -> None:
    with pytest.raises(FormatError, match="timezone-aware"):
        signer.render(RECORD, CODE, BASE_URL, SIGNED_AT.replace(tzinfo=None))


async def test_render_async_inside_an_event_loop(signer: PdfSigner, pki: Pki) -> None:
    pdf = await signer.render_async(RECORD, CODE, BASE_URL, SIGNED_AT)
    # The validator runs its own event loop: keep it off this one.
    status = await asyncio.to_thread(_validate, pdf, pki.ca)
    assert status.bottom_line


# --- what the page says ----------------------------------------------------------------------


def test_every_field_of_the_record_is_printed(text: str) -> None:
    flat = _flat(text)
    for expected in (
        "AMU-bevis",
        "Åse Ærø Ødegård",
        "010190-xxxx",
        "48596",
        "Svejsning af rør – kvalitetsstyring på værksted og byggeplads",
        "2,5 dage",
        "Uddannelsescenter Øresund",
        "institutionsnr. 280727",
        "H-26-017",
        "9. november 2026 – 11. november 2026",
        "Prøvedato 11. november 2026",
        "Udstedt 20. november 2026",
        "280727-2026-000123",
        "Prøven er bestået.",
        "Dette bevis erstatter bevis nr. 280727-2026-000099, som er annulleret.",
        URL,
        f"Kontrolkode: {CODE}",
    ):
        assert expected in flat, f"{expected!r} is not on the page"


def test_the_full_cpr_number_is_never_printed(text: str) -> None:
    assert "1234" not in text
    assert "010190-xxxx" in text


def test_danish_letters_survive_extraction(text: str) -> None:
    assert {"æ", "ø", "å", "Æ", "Ø", "Å"} <= set(text)
    assert "\ufffd" not in text


@pytest.mark.parametrize(
    ("exam_passed", "dispensation", "ikv"),
    list(itertools.product([True, False, None], [False, True], [False, True])),
)
def test_annotations_are_plain_words(
    signer: PdfSigner, exam_passed: bool | None, dispensation: bool, ikv: bool
) -> None:
    annotations = Annotations(exam_passed=exam_passed, dispensation=dispensation, ikv=ikv)
    record = replace(RECORD, annotations=annotations, replaces=None)
    flat = _flat(_pdftotext(signer.render(record, CODE, BASE_URL, SIGNED_AT)))
    expected = {
        pdf_text.EXAM_PASSED: exam_passed is True,
        pdf_text.EXAM_NOT_PASSED: exam_passed is False and not dispensation,
        pdf_text.DISPENSATION: dispensation,
        pdf_text.IKV: ikv,
        pdf_text.NO_EXAM: exam_passed is None and not dispensation and not ikv,
    }
    for sentence, shown in expected.items():
        assert (sentence in flat) == shown, (sentence, annotations)
    assert "erstatter" not in flat
    lowered = flat.lower()
    for word in SPECIAL_CONDITIONS:
        assert word not in lowered


def test_the_ikv_activity_certificate_says_what_it_is_for(signer: PdfSigner) -> None:
    record = replace(
        RECORD,
        kind=CertificateKind.IKV_ACTIVITY,
        goal=Goal(number="40080", title="Individuel kompetencevurdering i AMU", duration_days="1"),
        exam_date=None,
        annotations=Annotations(exam_passed=None, dispensation=False, ikv=True),
    )
    flat = _flat(_pdftotext(signer.render(record, CODE, BASE_URL, SIGNED_AT)))
    assert "for individuel kompetencevurdering (IKV)" in flat
    assert "1 dag " in flat
    assert "Prøvedato" not in flat


def test_the_longest_plausible_texts_still_fit_one_page(signer: PdfSigner, pki: Pki) -> None:
    record = replace(
        RECORD,
        participant=Participant(
            cpr="010190-1234",
            name="Marie-Louise Østergaard Kjærsgaard-Åberg Christensen Bækkelund Frederiksen",
        ),
        goal=Goal(
            number="40081",
            title="Anvendelse af digitale løsninger og teknologier i forbindelse med "
            "kvalitetssikring, dokumentation og opfølgning på byggepladsen",
            duration_days="0.5",
        ),
        school=School(
            id="280727",
            name="Erhvervsskolen Nordsjælland, Afdeling for Arbejdsmarkedsuddannelser og "
            "Efter- og Videreuddannelse",
        ),
        team="HOLD-2026-ØST-0017-AFTEN-WEEKEND",
        annotations=Annotations(exam_passed=True, dispensation=True, ikv=True),
    )
    base = "https://verifikation.amu-beviser.undervisningsministeriet.example/offentlig"
    pdf = signer.render(record, "ABCD-EFGH-IJKL-MNOP", base, SIGNED_AT)
    assert _validate(pdf, pki.ca).bottom_line
    assert record.participant.name in _flat(_pdftotext(pdf))


def test_texts_too_long_for_one_page_are_refused(signer: PdfSigner) -> None:
    record = replace(RECORD, goal=replace(RECORD.goal, title="Svejsning af rør " * 120))
    with pytest.raises(FormatError, match="one page"):
        signer.render(record, CODE, BASE_URL, SIGNED_AT)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.text(
        st.sampled_from("abcdefghijklmnopqrstuvwxyzæøåABCDEFGHIJKLMNOPQRSTUVWXYZÆØÅéü-' "),
        min_size=1,
        max_size=80,
    ).filter(lambda s: s.strip() != "")
)
def test_any_name_is_printed_and_signed(name: str) -> None:
    # A fixed key of its own: Hypothesis does not mix with function-scoped fixtures.
    pki = _hypothesis_pki()
    record = replace(RECORD, participant=Participant(cpr="311299-9999", name=name))
    pdf = PdfSigner(pki.key, pki.certificate).render(record, CODE, BASE_URL, SIGNED_AT)
    assert _validate(pdf, pki.ca).bottom_line
    # Raw order: reading order drops the space between one-letter words ("B B" read as "BB").
    assert " ".join(name.split()) in _flat(_pdftotext(pdf, raw=True))


# --- the page as a person and a phone see it -------------------------------------------------


def test_the_page_is_a4_and_not_blank(signed: bytes) -> None:
    width, height, pixels = _render_gray(signed, dpi=50)
    assert (width, height) == (414, 585)  # A4 at 50 dpi, rounded up
    dark = sum(1 for value in pixels if value < 128)
    # Text, rules, the band and the QR code: a few percent of the page, not 0 and not all.
    assert 0.02 < dark / len(pixels) < 0.3


def test_the_qr_code_opens_the_verification_page(signed: bytes) -> None:
    zbarimg = require_tool("zbarimg")
    pdftoppm = require_tool("pdftoppm")
    with tempfile.TemporaryDirectory() as folder:
        pdf = Path(folder) / "certificate.pdf"
        pdf.write_bytes(signed)
        _run([pdftoppm, "-r", "150", "-png", "-singlefile", str(pdf), str(Path(folder) / "page")])
        done = _run([zbarimg, "--quiet", "--raw", str(Path(folder) / "page.png")])
    assert done.stdout.decode().strip() == URL


def test_a_long_verification_url_still_scans(signer: PdfSigner) -> None:
    # A longer URL needs a larger QR version than the sample's: more rows of runs to draw.
    base = "https://verifikation.amu-beviser.undervisningsministeriet.example/offentlig"
    code = "ABCD-EFGH-IJKL-MNOP"
    pdf = signer.render(RECORD, code, base, SIGNED_AT)
    assert _scan_qr(pdf) == pdf_text.verification_url(base, RECORD.number, code)


# --- PDF/A -----------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["signed", "unsigned"])
def test_pdfbox_preflight_passes(signed: bytes, which: str) -> None:
    pdf = signed if which == "signed" else _unsigned()
    # Claimed as PDF/A-1b, the part preflight validates, and it finds nothing at all: every
    # PDF/A-1b rule (fonts, colour, transparency, XMP, file syntax, annotations) holds.
    assert pdf.count(b'pdfaid:part="1"') == (2 if which == "signed" else 1)
    assert b'pdfaid:part="2"' not in pdf
    assert _preflight(pdf) == ("valid", [])


def test_what_an_employer_needs_is_printed(text: str) -> None:
    flat = _flat(text)
    assert "Kompetencebeskrivelse" in flat
    assert _flat(DESCRIPTION) in flat
    assert "lov om arbejdsmarkedsuddannelser m.v." in flat
    assert "AMU-bekendtgørelsen" in flat
    assert "underskrevet digitalt af Uddannelsescenter Øresund" in flat


def test_the_signature_names_the_school_as_signer(signed: bytes) -> None:
    reader = PdfFileReader(_stream(signed))
    (signature,) = reader.embedded_signatures
    assert signature.sig_object["/Name"] == RECORD.school.name


def test_a_long_description_is_cut_and_never_breaks_the_page(signer: PdfSigner) -> None:
    pdf = signer.render(RECORD, CODE, BASE_URL, SIGNED_AT, description="Lang tekst. " * 400)
    flat = _flat(_pdftotext(pdf))
    assert "Lang tekst. Lang tekst." in flat
    assert "…" in flat
    assert "Kontrollér beviset" in flat


def test_the_pdf_is_tagged_in_danish_with_a_title(signed: bytes) -> None:
    # qpdf reads the structure: /MarkInfo, /Lang, a StructTreeRoot whose Document element
    # holds the headings and paragraphs, and the page's marked content they point to.
    objects = _qpdf_json(signed)
    trailer = objects["trailer"]["value"]
    catalog = objects[_key(trailer["/Root"])]["value"]
    assert catalog["/MarkInfo"] == {"/Marked": True}
    assert catalog["/Lang"] == "u:da"
    assert catalog["/ViewerPreferences"] == {"/DisplayDocTitle": True}
    tree = objects[_key(catalog["/StructTreeRoot"])]["value"]
    assert tree["/Type"] == "/StructTreeRoot"
    document = objects[_key(tree["/K"])]["value"]
    assert document["/S"] == "/Document"
    roles = [objects[_key(kid)]["value"]["/S"] for kid in document["/K"]]
    assert roles.count("/H1") == 1
    assert {"/H2", "/P", "/Figure"} <= set(roles)
    assert len(roles) > 15
    page = next(o["value"] for o in objects.values() if _is_page(o))
    assert page["/StructParents"] == 0
    xmp = PdfFileReader(_stream(signed)).root["/Metadata"].data.decode()
    assert '<rdf:li xml:lang="x-default">AMU-bevis: Svejsning af rør' in xmp


COMBINED = OtherDocument(
    id="5b0c3f7e-2f43-4a43-9d0e-6a1f6c1f0001",
    kind=OtherDocumentKind.COMBINED,
    participant=RECORD.participant,
    school=RECORD.school,
    reference="SF-2026-11",
    goals=(
        DocumentGoal(
            "48596", "Svejsning af rør", "2.5", dt.date(2026, 11, 2), dt.date(2026, 11, 4)
        ),
        DocumentGoal("40001", "Gaffeltruck", "1", dt.date(2026, 11, 5), dt.date(2026, 11, 5)),
    ),
    issued_at=SIGNED_AT,
)
PARTICIPATION = replace(
    COMBINED, kind=OtherDocumentKind.PARTICIPATION, reference="H-26-017", goals=COMBINED.goals[:1]
)


@pytest.mark.parametrize("document", [PARTICIPATION, COMBINED], ids=["participation", "combined"])
def test_other_documents_say_what_they_are_and_are_not(
    signer: PdfSigner, pki: Pki, document: OtherDocument
) -> None:
    pdf = signer.render_document(document, SIGNED_AT)
    flat = _flat(_pdftotext(pdf))
    title = (
        "Deltagelsesbevis"
        if document.kind is OtherDocumentKind.PARTICIPATION
        else ("Samlet bevis for sammensat forløb")
    )
    assert title in flat
    assert "Dette dokument er ikke et AMU-bevis" in flat
    assert "AMU-bevis" not in flat.replace("ikke et AMU-bevis", "").replace("som et AMU-bevis", "")
    assert "Bevisnummer" not in flat
    assert "010190-xxxx" in flat
    assert "1234" not in flat
    for goal in document.goals:
        assert f"{goal.number} {goal.title}" in flat
    assert "underskrevet digitalt af Uddannelsescenter Øresund" in flat
    status = _validate(pdf, pki.ca)
    assert status.bottom_line
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    (signature,) = PdfFileReader(_stream(pdf)).embedded_signatures
    assert signature.sig_object["/Name"] == RECORD.school.name
    assert "ikke et AMU-bevis" in signature.sig_object["/Reason"]
    # PDF/A-1b, the part it claims, holds, and it is tagged.
    assert _preflight(pdf) == ("valid", [])
    catalog = _qpdf_json(pdf)
    assert any(
        isinstance(o.get("value"), dict) and o["value"].get("/Type") == "/StructTreeRoot"
        for o in catalog.values()
    )


def test_pdfa_rewrite_refuses_what_reportlab_did_not_write() -> None:
    # The rewrite slices objects by ReportLab's own offsets; anything else must not pass.
    drawing = _reportlab_drawing()
    assert to_pdfa(drawing, created=SIGNED_AT).startswith(b"%PDF-1.7\n")
    with pytest.raises(ValueError, match="trailer"):
        to_pdfa(b"%PDF-1.4\n1 0 obj\n<< >>\nendobj\n", created=SIGNED_AT)
    misplaced = drawing.replace(b"\n2 0 obj\n", b"\n9 0 obj\n", 1)
    with pytest.raises(ValueError, match="object 2"):
        to_pdfa(misplaced, created=SIGNED_AT)
    with pytest.raises(ValueError, match="timezone-aware"):
        to_pdfa(drawing, created=SIGNED_AT.replace(tzinfo=None))


def test_qpdf_finds_no_syntax_errors(signed: bytes) -> None:
    qpdf = require_tool("qpdf")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "certificate.pdf"
        path.write_bytes(signed)
        done = _run([qpdf, "--check", str(path)])
    assert b"No syntax or stream encoding errors found" in done.stdout


def test_every_font_is_embedded(signed: bytes) -> None:
    pdffonts = require_tool("pdffonts")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "certificate.pdf"
        path.write_bytes(signed)
        rows = _run([pdffonts, str(path)]).stdout.decode().splitlines()[2:]
    assert rows
    for row in rows:
        assert "DejaVuSans" in row
        assert row.split()[-5] == "yes", row  # the "emb" column


def test_xmp_and_output_intent(signed: bytes) -> None:
    reader = PdfFileReader(_stream(signed))
    assert "/Info" not in reader.trailer
    (intent,) = reader.root["/OutputIntents"]
    assert intent["/S"] == "/GTS_PDFA1"
    assert intent["/DestOutputProfile"].data == ICC_PROFILE.read_bytes()
    xmp = reader.root["/Metadata"].data.decode()
    assert 'pdfaid:part="1"' in xmp
    assert 'pdfaid:conformance="B"' in xmp
    # Both dates are the signing time given, not the clock of the machine that signed.
    assert 'xmp:CreateDate="2026-11-20T09:30:00+00:00"' in xmp
    assert 'xmp:ModifyDate="2026-11-20T09:30:00+00:00"' in xmp
    assert "1234" not in xmp


# --- golden ----------------------------------------------------------------------------------


def test_text_matches_the_golden(text: str) -> None:
    assert_golden(GOLDEN / "sample.txt", text.encode())


# --- the wording on its own ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "words"),
    [
        ("1", "1 dag"),
        ("2.5", "2,5 dage"),
        ("0.5", "0,5 dage"),
        ("5.0", "5 dage"),
        ("10", "10 dage"),
    ],
)
def test_duration_in_danish(days: str, words: str) -> None:
    assert pdf_text.duration(days) == words


def test_dates_in_danish() -> None:
    assert pdf_text.danish_date(dt.date(2026, 5, 1)) == "1. maj 2026"
    assert pdf_text.course_period(dt.date(2026, 5, 1), dt.date(2026, 5, 1)) == "1. maj 2026"
    # Issued late on New Year's Eve UTC is New Year's Day in Denmark.
    assert pdf_text.issue_date(dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)) == (
        "1. januar 2027"
    )


def test_cpr_mask_hides_the_sequence_number_and_never_echoes_bad_input() -> None:
    assert pdf_text.masked_cpr("010190-1234") == "010190-xxxx"
    assert pdf_text.masked_cpr("0101901234") == "010190-xxxx"
    with pytest.raises(FormatError) as caught:
        pdf_text.masked_cpr("01019-12345")
    assert "01019" not in str(caught.value)


def test_verification_url_encodes_its_parts() -> None:
    assert pdf_text.verification_url("https://x.example/", "A/1", "k d&") == (
        "https://x.example/tjek/A%2F1?kode=k%20d%26"
    )
    with pytest.raises(FormatError):
        pdf_text.verification_url("javascript:alert(1)", "1", "2")


# --- helpers ---------------------------------------------------------------------------------


def _make_pki(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> Pki:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "TEST AMU school CA")])
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    end = dt.datetime(2045, 1, 1, tzinfo=dt.UTC)
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(key_cert_sign=True), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    school = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "TEST Uddannelsescenter Øresund"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "TEST 280727"),
        ]
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(school)
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(key_cert_sign=False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    return Pki(ca=ca, key=key, certificate=certificate)


def _key_usage(*, key_cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not key_cert_sign,
        content_commitment=not key_cert_sign,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=key_cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


_HYPOTHESIS_PKI: list[Pki] = []


def _hypothesis_pki() -> Pki:
    if not _HYPOTHESIS_PKI:
        _HYPOTHESIS_PKI.append(_make_pki(ec.generate_private_key(ec.SECP256R1())))
    return _HYPOTHESIS_PKI[0]


def _stream(pdf: bytes) -> io.BytesIO:
    return io.BytesIO(pdf)


def _validate(pdf: bytes, ca: x509.Certificate) -> PdfSignatureStatus:
    root = asn1_x509.Certificate.load(ca.public_bytes(serialization.Encoding.DER))
    context = ValidationContext(trust_roots=[root], allow_fetching=False)
    reader = PdfFileReader(_stream(pdf))
    (signature,) = reader.embedded_signatures
    return validate_pdf_signature(signature, context)


def _unsigned() -> bytes:
    return render_unsigned(RECORD, code=CODE, verify_base_url=BASE_URL, created=SIGNED_AT)


def _reportlab_drawing() -> bytes:
    """A one-page drawing as ReportLab writes it, before the PDF/A rewrite."""
    register_fonts()
    out = io.BytesIO()
    canvas = Canvas(out, pageCompression=1, invariant=1, initialFontName=REGULAR)
    canvas.drawString(72, 720, "Åse Ærø Ødegård")
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def _scan_qr(pdf: bytes) -> str:
    """What zbarimg reads off the page drawn at 150 dpi."""
    zbarimg = require_tool("zbarimg")
    pdftoppm = require_tool("pdftoppm")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "certificate.pdf"
        path.write_bytes(pdf)
        _run([pdftoppm, "-r", "150", "-png", "-singlefile", str(path), str(Path(folder) / "page")])
        done = _run([zbarimg, "--quiet", "--raw", str(Path(folder) / "page.png")])
    return done.stdout.decode().strip()


def _run(command: list[str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(command, capture_output=True, check=True, timeout=120)  # noqa: S603


def _pdftotext(pdf: bytes, *, raw: bool = False) -> str:
    """The page's text in reading order, or with ``raw`` in the order the page draws it."""
    pdftotext = require_tool("pdftotext")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "certificate.pdf"
        path.write_bytes(pdf)
        mode = ["-raw"] if raw else []
        return _run([pdftotext, *mode, "-enc", "UTF-8", str(path), "-"]).stdout.decode()


def _flat(text: str) -> str:
    return " ".join(text.split())


def _render_gray(pdf: bytes, *, dpi: int) -> tuple[int, int, bytes]:
    """Page 1 as 8-bit grey pixels (pdftoppm's PGM: a short text header, then the bytes)."""
    pdftoppm = require_tool("pdftoppm")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "certificate.pdf"
        path.write_bytes(pdf)
        pgm = _run([pdftoppm, "-r", str(dpi), "-gray", "-singlefile", str(path)]).stdout
    match = re.match(rb"P5\s+(\d+)\s+(\d+)\s+255\s", pgm)
    assert match is not None, "pdftoppm did not write a PGM"
    width, height = int(match.group(1)), int(match.group(2))
    pixels = pgm[match.end() :]
    assert len(pixels) == width * height
    return width, height, pixels


def _qpdf_json(pdf: bytes) -> dict[str, Any]:
    """The objects of the file's last revision as ``qpdf --json`` shows them."""
    qpdf = require_tool("qpdf")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "document.pdf"
        path.write_bytes(pdf)
        done = _run([qpdf, "--json=2", "--json-key=qpdf", str(path)])
    found: dict[str, Any] = json.loads(done.stdout)["qpdf"][1]
    return found


def _key(reference: str) -> str:
    return f"obj:{reference}"


def _is_page(found: dict[str, Any]) -> bool:
    value = found.get("value")
    return isinstance(value, dict) and value.get("/Type") == "/Page"


def _preflight(pdf: bytes) -> tuple[str, list[str]]:
    """PDFBox 2.0's preflight (Debian libpdfbox2-java): the verdict and its error lines.

    It is the only PDF/A validator Debian packages (veraPDF is not), and it implements
    PDF/A-1b only: so that is the part our PDFs claim.
    """
    java = require_tool("java")
    jars = [Path("/usr/share/java") / f"{name}.jar" for name in JARS_WITH_JAXB]
    absent = [jar.name for jar in jars if not jar.exists()]
    if absent:
        externals.missing(", ".join(absent))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "certificate.pdf"
        path.write_bytes(pdf)
        done = subprocess.run(  # noqa: S603 - fixed arguments, our own temporary file
            [
                java,
                "-cp",
                ":".join(str(jar) for jar in jars),
                "org.apache.pdfbox.preflight.Validator_A1b",
                str(path),
            ],
            capture_output=True,
            check=False,
            timeout=120,
        )
    out = done.stdout.decode()
    if "is a valid PDF/A-1b file" in out:
        assert done.returncode == 0, out
        return "valid", []
    assert "is not a valid PDF/A-1b file" in out, (out, done.stderr.decode()[-2000:])
    errors = [line.strip() for line in out.splitlines() if re.match(r"\d+(\.\d+)* : ", line)]
    return "not valid", errors


def _write_sample(out: Path) -> None:
    """Write the sample certificate, signed with a throwaway TEST key, to ``out``."""
    pki = _make_pki(ec.generate_private_key(ec.SECP256R1()))
    signer = PdfSigner(pki.key, pki.certificate, chain=[pki.ca])
    out.write_bytes(signer.render(RECORD, CODE, BASE_URL, SIGNED_AT, description=DESCRIPTION))


if __name__ == "__main__":
    _write_sample(Path(sys.argv[1]))
