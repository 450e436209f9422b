"""The text rules every form of a certificate shares (formats.text): what ``clean_name``
accepts, the MeMo builder, the certificate XML and the PDF accept; what ``printable`` refuses,
each of them refuses too, before anything is signed."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from formats.certificate_xml import to_xml
from formats.errors import FormatError, UnprintableTextError
from formats.memo import MemoSender, build_memo
from formats.pdf_layout import render_unsigned
from formats.record import (
    Annotations,
    CertificateKind,
    CertificateRecord,
    Goal,
    Participant,
    School,
)
from formats.text import carried_characters, clean_name, clean_text, printable

RECORD = CertificateRecord(
    number="2026-0000001",
    kind=CertificateKind.AMU,
    participant=Participant(cpr="010190-1234", name="Åse Ødegård"),
    goal=Goal(number="48113", title="Hygiejne for fødevarebranchen", duration_days="1.0"),
    school=School(id="751234", name="AMU Nordjylland"),
    team="H-101",
    course_start=dt.date(2026, 11, 9),
    course_end=dt.date(2026, 11, 10),
    exam_date=dt.date(2026, 11, 10),
    issued_at=dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC),
    annotations=Annotations(exam_passed=True, dispensation=False, ikv=False),
)
SIGNED_AT = RECORD.issued_at


def _memo(record: CertificateRecord) -> bytes:
    return build_memo(
        record,
        message_uuid=uuid.UUID("6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b"),
        pdf=b"%PDF-1.7\n%%EOF\n",
        signed_record="e30.e30.sig",
        sender=MemoSender(cvr="12345678", name=record.school.name),
        created_at=SIGNED_AT,
    )


def _every_form(record: CertificateRecord) -> None:
    _memo(record)
    to_xml(record)
    render_unsigned(
        record, code="ABCD-EFGH", verify_base_url="https://x.example", created=SIGNED_AT
    )


def _named(name: str) -> CertificateRecord:
    return dataclasses.replace(RECORD, participant=Participant(RECORD.participant.cpr, name))


# Random Unicode; and text drawn from what a name may hold, so that many examples are accepted.
_CARRIED = st.sampled_from(sorted(carried_characters())) | st.just(" ")
_ANY_TEXT = (
    st.text(_CARRIED, max_size=60)
    | st.text(st.characters() | _CARRIED, max_size=60)
    | st.text(st.characters(), max_size=20)
)


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(_ANY_TEXT)
def test_whatever_clean_name_accepts_every_form_carries(value: str) -> None:
    try:
        name = clean_name(value)
    except UnprintableTextError:
        return
    _every_form(_named(name))
    _every_form(dataclasses.replace(RECORD, team=clean_text(value)))


@given(_ANY_TEXT)
def test_clean_name_is_nfc_stable_and_never_blank(value: str) -> None:
    try:
        name = clean_name(value)
    except UnprintableTextError:
        return
    assert clean_name(name) == name  # cleaning twice changes nothing
    assert name == name.strip()
    assert name
    assert any(c.isalpha() for c in name)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("Åse\x00", "control"),
        ("Åse\x07", "control"),
        ("Åse\nØdegård", "control"),
        ("Åse\x85", "control"),  # C1: NEXT LINE
        ("\u202eÅse", "invisible"),  # RIGHT-TO-LEFT OVERRIDE
        ("Åse\u2066Ø\u2069", "invisible"),  # LEFT-TO-RIGHT ISOLATE
        ("Åse\u200e", "invisible"),  # LEFT-TO-RIGHT MARK
        ("Åse\u200f", "invisible"),  # RIGHT-TO-LEFT MARK
        ("\u200b\u200b", "invisible"),  # ZERO WIDTH SPACE
        ("\ufeffÅse", "invisible"),  # BYTE ORDER MARK
        ("Åse\u00a0Ødegård", "space"),  # NO-BREAK SPACE
        ("Åse\u2028", "separator"),  # LINE SEPARATOR
        ("\ue000", "private-use"),
        ("\ud800", "surrogate"),
        ("\u05d0\u05d1", "right-to-left"),  # Hebrew
        ("\u0645\u062d\u0645\u062f", "right-to-left"),  # Arabic
        ("山田", "font"),
        ("    ", "visible"),
        ("", "visible"),
        ("\u0301\u0301", "visible"),  # combining marks only
        ("1234", "letter"),
    ],
)
def test_clean_name_refuses_without_echoing_the_text(value: str, reason: str) -> None:
    with pytest.raises(UnprintableTextError, match=reason) as caught:
        clean_name(value)
    assert value.strip() == "" or value.strip() not in str(caught.value)


def test_clean_name_normalises_to_nfc_and_drops_outer_spaces() -> None:
    assert clean_name("  A\u030ase \u00d8deg\u00e5rd ") == "\u00c5se \u00d8deg\u00e5rd"
    assert clean_name("Zoë O'Brien-Smith") == "Zoë O'Brien-Smith"
    assert clean_text("H-101") == "H-101"


@pytest.mark.parametrize("bad", ["Åse\x07", "\u202eÅse", "山田", "Åse\u00a0Ø"])
def test_every_form_refuses_what_printable_refuses(bad: str) -> None:
    with pytest.raises(UnprintableTextError):
        printable(bad)
    for record in (_named(bad), dataclasses.replace(RECORD, team=bad)):
        for build in (_memo, to_xml):
            if build is _memo and record.team == bad:
                continue  # the MeMo message does not carry the team reference
            with pytest.raises(FormatError):
                build(record)
        with pytest.raises(FormatError):
            render_unsigned(
                record, code="ABCD", verify_base_url="https://x.example", created=SIGNED_AT
            )
