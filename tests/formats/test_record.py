"""The record's canonical bytes are RFC 8785 exactly: checked against the rfc8785 package."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from formats.record import (
    Annotations,
    CertificateKind,
    CertificateRecord,
    Goal,
    Participant,
    School,
    canonical_json,
)

# Any text a school might send, control characters and astral symbols included.
TEXT = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=40)
DAYS = st.dates(dt.date(1990, 1, 1), dt.date(2060, 12, 31))


@st.composite
def records(draw: st.DrawFn) -> CertificateRecord:
    start = draw(DAYS)
    return CertificateRecord(
        number=draw(st.from_regex(r"\A20[0-9]{2}-[0-9]{7}\Z")),
        kind=draw(st.sampled_from(CertificateKind)),
        participant=Participant(cpr="010190-1234", name=draw(TEXT)),
        goal=Goal(draw(st.from_regex(r"\A[0-9]{5}\Z")), draw(TEXT), "2.5"),
        school=School("751234", draw(TEXT)),
        team=draw(TEXT),
        course_start=start,
        course_end=start + dt.timedelta(days=draw(st.integers(0, 30))),
        exam_date=draw(st.none() | DAYS),
        issued_at=draw(st.datetimes(timezones=st.just(dt.UTC))),
        annotations=Annotations(
            exam_passed=draw(st.none() | st.booleans()),
            dispensation=draw(st.booleans()),
            ikv=draw(st.booleans()),
        ),
        replaces=draw(st.none() | st.just("2026-0000001")),
    )


@given(records())
def test_canonical_bytes_are_exactly_what_rfc8785_writes(record: CertificateRecord) -> None:
    assert record.canonical_bytes() == rfc8785.dumps(record.to_json())


@given(records())
def test_canonical_bytes_round_trip_to_the_same_record(record: CertificateRecord) -> None:
    import json  # noqa: PLC0415

    again = CertificateRecord.from_json(json.loads(record.canonical_bytes()))
    assert again.canonical_bytes() == record.canonical_bytes()


@pytest.mark.parametrize("value", [{"n": 2**53}, {"f": 0.1}, {"l": ["a"]}, {"æ": "x"}])
def test_values_outside_the_record_shape_are_refused(value: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="canonical_json takes"):
        canonical_json(value)


@given(
    st.dictionaries(
        st.text(st.characters(max_codepoint=127), max_size=8),
        st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | TEXT,
        max_size=6,
    )
)
def test_canonical_json_of_flat_objects_is_rfc8785(value: dict[str, Any]) -> None:
    # The log's entries are flat objects like these (registry/transparency/log.py).
    assert canonical_json(value) == rfc8785.dumps(value)
