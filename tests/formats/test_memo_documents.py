"""The Digital Post message of a participation or combined document: valid MeMo 1.2, titled as
what it is and never as an AMU certificate, with the PDF and no signed record."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from lxml import etree

from formats.document import DocumentGoal, OtherDocument, OtherDocumentKind
from formats.errors import FormatError
from formats.memo import PDF_MEDIA_TYPE, build_document_memo, validate_memo
from formats.record import Participant, School
from tests.externals import require_shared
from tests.formats.test_memo import CREATED_AT, MESSAGE_UUID, PDF, SCHEMA, SENDER, M

GOAL = DocumentGoal(
    number="48113",
    title="Hygiejne & fødevaresikkerhed",
    duration_days="2",
    start=dt.date(2025, 3, 3),
    end=dt.date(2025, 3, 4),
)
PARTICIPATION = OtherDocument(
    id="0b7c6d3e-8f1a-4b2c-9d3e-4f5a6b7c8d9e",
    kind=OtherDocumentKind.PARTICIPATION,
    participant=Participant(cpr="010190-1234", name="Søren Ærø Åberg"),
    school=School(id="280727", name="AMU Syd"),
    reference="H-2025-07",
    goals=(GOAL,),
    issued_at=dt.datetime(2025, 3, 10, 9, 30, tzinfo=dt.UTC),
)
COMBINED = dataclasses.replace(
    PARTICIPATION,
    kind=OtherDocumentKind.COMBINED,
    reference="SF-2025-1",
    goals=(GOAL, dataclasses.replace(GOAL, number="47592", title="Gaffeltruck")),
)


def build(document: OtherDocument) -> bytes:
    return build_document_memo(
        document, message_uuid=MESSAGE_UUID, pdf=PDF, sender=SENDER, created_at=CREATED_AT
    )


@pytest.fixture
def schema() -> Path:
    return require_shared(SCHEMA)


@pytest.mark.parametrize("document", [PARTICIPATION, COMBINED], ids=["participation", "combined"])
def test_a_document_message_validates_and_never_claims_a_certificate(
    schema: Path, document: OtherDocument
) -> None:
    message = build(document)
    validate_memo(message, schema)
    root = etree.fromstring(message)
    # Every text the reader sees (the case system's name, "AMU-bevis", is the service's).
    shown = [
        root.findtext(f"{M}MessageHeader/{M}{path}") or "" for path in ("label", "notification")
    ] + [
        root.findtext(f"{M}MessageBody/{M}MainDocument/{M}{path}") or ""
        for path in ("label", "File/" + f"{M}filename")
    ]
    assert all(text and "AMU-bevis" not in text for text in shown), shown
    assert root.find(f"{M}MessageBody/{M}TechnicalDocument") is None
    main = root.find(f"{M}MessageBody/{M}MainDocument/{M}File")
    assert main is not None
    assert main.findtext(f"{M}encodingFormat") == PDF_MEDIA_TYPE
    assert base64.b64decode(main.findtext(f"{M}content") or "", validate=True) == PDF
    assert root.findtext(f"{M}MessageHeader/{M}ContentData/{M}CaseID/{M}caseID") == document.id


def test_the_titles_say_what_the_document_is() -> None:
    participation = etree.fromstring(build(PARTICIPATION))
    assert participation.findtext(f"{M}MessageHeader/{M}label") == (
        "Deltagelsesbevis: Hygiejne & fødevaresikkerhed"
    )
    assert participation.findtext(f"{M}MessageBody/{M}MainDocument/{M}File/{M}filename") == (
        "Deltagelsesbevis-H-2025-07.pdf"
    )
    combined = etree.fromstring(build(COMBINED))
    assert combined.findtext(f"{M}MessageHeader/{M}label") == (
        "Samlet bevis for sammensat forløb: SF-2025-1"
    )
    notification = combined.findtext(f"{M}MessageHeader/{M}notification") or ""
    assert notification.startswith("Du har fået et samlet bevis")


def test_control_characters_in_a_document_are_a_format_error() -> None:
    bad = dataclasses.replace(PARTICIPATION, reference="H\x01")
    with pytest.raises(FormatError, match="control character"):
        build(bad)
