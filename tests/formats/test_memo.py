"""The Digital Post message: always valid MeMo 1.2, carrying the PDF and the JWS unchanged."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import uuid
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from formats.errors import FormatError, MalformedDocumentError
from formats.jws import sign_record
from formats.memo import JWS_MEDIA_TYPE, NS, PDF_MEDIA_TYPE, MemoSender, build_memo, validate_memo
from formats.record import (
    Annotations,
    CertificateKind,
    CertificateRecord,
    Goal,
    Participant,
    School,
)
from formats.text import carried_characters
from tests.externals import require_shared
from tests.golden import assert_golden
from tests.helpers import stdout_of_another_process

ASSETS = Path(__file__).resolve().parent.parent / "assets" / "memo"
SCHEMA = "memo-xsd/Version1.2/MeMo_core.xsd"
M = f"{{{NS}}}"

RECORD = CertificateRecord(
    number="2025-280727-000123",
    kind=CertificateKind.AMU,
    participant=Participant(cpr="010190-1234", name="Søren Ærø Åberg"),
    goal=Goal(number="47592", title="Gaffeltruckcertifikat A & B", duration_days="5"),
    school=School(id="280727", name="AMU Syd"),
    team="GT-2025-03",
    course_start=dt.date(2025, 3, 3),
    course_end=dt.date(2025, 3, 7),
    exam_date=dt.date(2025, 3, 7),
    issued_at=dt.datetime(2025, 3, 10, 9, 30, tzinfo=dt.UTC),
    annotations=Annotations(exam_passed=True, dispensation=False, ikv=False),
)
SENDER = MemoSender(cvr="12345678", name="AMU Syd")
MESSAGE_UUID = uuid.UUID("6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b")
CREATED_AT = dt.datetime(2025, 3, 10, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
PDF = b"%PDF-1.7\n% not a real certificate, just fixed bytes\n%%EOF\n"
# Ed25519 signatures are deterministic, so a fixed key gives a fixed token for the golden file.
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
TOKEN = sign_record(RECORD, KEY, kid="280727-2025-1")


def build(record: CertificateRecord = RECORD, sender: MemoSender = SENDER) -> bytes:
    return build_memo(
        record,
        message_uuid=MESSAGE_UUID,
        pdf=PDF,
        signed_record=TOKEN,
        sender=sender,
        created_at=CREATED_AT,
    )


@pytest.fixture
def schema() -> Path:
    return require_shared(SCHEMA)


def test_a_built_message_validates(schema: Path) -> None:
    validate_memo(build(), schema)


@pytest.mark.parametrize(
    "sample", ["MeMo_Minimum_Example.xml", "MeMo_with_attachment.xml", "MeMo_Full_Example.xml"]
)
def test_the_official_samples_validate(schema: Path, sample: str) -> None:
    validate_memo(require_shared(f"memo-samples/{sample}").read_bytes(), schema)


@pytest.mark.parametrize(
    "path",
    [
        "memo:MessageHeader/memo:messageUUID",
        "memo:MessageHeader/memo:label",
        "memo:MessageHeader/memo:Sender/memo:label",
        "memo:MessageHeader/memo:Recipient/memo:idType",
        "memo:MessageBody/memo:createdDateTime",
        "memo:MessageBody/memo:MainDocument/memo:File",
        "memo:MessageBody/memo:MainDocument/memo:File/memo:content",
    ],
)
def test_a_message_missing_a_required_element_is_rejected(schema: Path, path: str) -> None:
    root = etree.fromstring(build())
    element = root.find(path.replace("memo:", M))
    assert element is not None
    parent = element.getparent()
    assert parent is not None
    parent.remove(element)
    with pytest.raises(MalformedDocumentError, match=r"not a valid MeMo 1\.2 message"):
        validate_memo(etree.tostring(root), schema)


def test_bytes_that_are_not_xml_are_rejected(schema: Path) -> None:
    with pytest.raises(MalformedDocumentError, match="not well-formed XML"):
        validate_memo(b"<memo:Message", schema)


def test_schema_errors_never_echo_a_cpr_number(schema: Path) -> None:
    # A pattern error quotes the offending value; a CPR number there must be blanked out.
    message = build().replace(str(MESSAGE_UUID).encode(), b"010190-1234")
    with pytest.raises(MalformedDocumentError) as caught:
        validate_memo(message, schema)
    assert "[CPR]" in str(caught.value)
    assert "1234" not in str(caught.value)


def test_an_absent_schema_is_a_format_error(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="cannot load the MeMo schema"):
        validate_memo(build(), tmp_path / "MeMo_core.xsd")


def test_the_pdf_and_the_jws_round_trip() -> None:
    root = etree.fromstring(build())
    main = root.find(f"{M}MessageBody/{M}MainDocument/{M}File")
    technical = root.find(f"{M}MessageBody/{M}TechnicalDocument/{M}File")
    assert main is not None
    assert technical is not None
    assert main.findtext(f"{M}encodingFormat") == PDF_MEDIA_TYPE
    assert main.findtext(f"{M}filename") == "AMU-bevis-2025-280727-000123.pdf"
    assert base64.b64decode(main.findtext(f"{M}content") or "", validate=True) == PDF
    assert technical.findtext(f"{M}encodingFormat") == JWS_MEDIA_TYPE
    jws = base64.b64decode(technical.findtext(f"{M}content") or "", validate=True)
    assert jws.decode("ascii") == TOKEN


def test_the_header_names_school_participant_and_certificate() -> None:
    root = etree.fromstring(build())
    header = root.find(f"{M}MessageHeader")
    assert header is not None
    assert header.findtext(f"{M}messageUUID") == str(MESSAGE_UUID)
    assert header.findtext(f"{M}label") == "AMU-bevis: Gaffeltruckcertifikat A & B"
    assert header.findtext(f"{M}Sender/{M}senderID") == "12345678"
    assert header.findtext(f"{M}Sender/{M}idType") == "CVR"
    assert header.findtext(f"{M}Recipient/{M}recipientID") == "0101901234"
    assert header.findtext(f"{M}Recipient/{M}idType") == "CPR"
    assert root.findtext(f"{M}MessageBody/{M}createdDateTime") == "2025-03-10T09:00:00Z"


def test_the_same_inputs_give_the_same_bytes_in_another_process() -> None:
    # A retried delivery, perhaps from another worker process, must be the very same message,
    # UUID included: a fresh interpreter with another hash seed builds the golden bytes.
    other = stdout_of_another_process(
        "import sys\nfrom tests.formats.test_memo import build\nsys.stdout.buffer.write(build())\n"
    )
    assert other == build()
    assert_golden(ASSETS / "certificate.memo.xml", other)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"message_uuid": uuid.UUID("6f1c2b3a-4d5e-1f60-8a7b-9c0d1e2f3a4b")}, "message_uuid"),
        ({"sender": MemoSender(cvr="1234567", name="AMU Syd")}, "sender.cvr"),
        ({"created_at": dt.datetime(2025, 3, 10, 10, 0)}, "created_at"),  # noqa: DTZ001
    ],
)
def test_inputs_memo_cannot_carry_are_refused(change: dict[str, object], field: str) -> None:
    arguments: dict[str, object] = {
        "message_uuid": MESSAGE_UUID,
        "pdf": PDF,
        "signed_record": TOKEN,
        "sender": SENDER,
        "created_at": CREATED_AT,
    } | change
    with pytest.raises(FormatError, match=field):
        build_memo(RECORD, **arguments)  # type: ignore[arg-type]


def test_a_malformed_cpr_is_refused_without_echoing_it() -> None:
    record = dataclasses.replace(RECORD, participant=Participant(cpr="0101-901234x", name="A"))
    with pytest.raises(FormatError) as caught:
        build(record)
    assert "901234" not in str(caught.value)


def test_control_characters_are_a_format_error() -> None:
    record = dataclasses.replace(RECORD, goal=dataclasses.replace(RECORD.goal, title="bad\x01"))
    # Refused by the text rules every form shares (formats.text), naming the kind of character.
    with pytest.raises(FormatError, match="control character"):
        build(record)


def test_long_texts_are_cut_to_the_schema_limit(schema: Path) -> None:
    goal = dataclasses.replace(RECORD.goal, title="Æ" * 1000)
    message = build(dataclasses.replace(RECORD, goal=goal, number="N" * 1000))
    validate_memo(message, schema)
    label = etree.fromstring(message).findtext(f"{M}MessageHeader/{M}label") or ""
    assert len(label) == 256
    assert label.endswith("…")


# Everything a record's text may hold (formats.text.printable), XML's specials made likely.
xml_text = st.text(
    st.sampled_from(sorted(carried_characters())) | st.sampled_from("æøåÆØÅ<>&\"'"),
    max_size=300,
)


@settings(max_examples=150, deadline=None)
@given(participant=xml_text, school=xml_text, title=xml_text, number=xml_text)
def test_any_names_give_a_valid_message(
    participant: str, school: str, title: str, number: str
) -> None:
    schema = require_shared(SCHEMA)
    record = dataclasses.replace(
        RECORD,
        number=number,
        participant=Participant(cpr=RECORD.participant.cpr, name=participant),
        goal=dataclasses.replace(RECORD.goal, title=title),
    )
    message = build(record, MemoSender(cvr=SENDER.cvr, name=school))
    validate_memo(message, schema)
    label = etree.fromstring(message).findtext(f"{M}MessageHeader/{M}Recipient/{M}label") or ""
    if len(participant) <= 256:
        assert label == participant
    else:
        assert participant.startswith(label.removesuffix("…"))


def test_golden_message() -> None:
    assert_golden(ASSETS / "certificate.memo.xml", build())
