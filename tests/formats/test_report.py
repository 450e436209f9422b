"""The quarterly report: which participations it carries, and how each line reads."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from formats.report import (
    FIELDS,
    NOT_RELEVANT,
    Attempt,
    ParticipationResult,
    Quarter,
    ReportDataError,
    ResultGroup,
    build_report,
    report_lines,
)
from tests.golden import assert_golden

ASSETS = Path(__file__).resolve().parent.parent / "assets" / "report"
Q1_2025 = Quarter(2025, 1)  # reports 2024-04-01 .. 2025-03-31

BASE = ParticipationResult(
    institution="280727",
    team="TRUCK-11",
    goal="47592",
    cpr="010190-1234",
    start=dt.date(2025, 3, 3),
    end=dt.date(2025, 3, 7),
    group=ResultGroup.EXAM,
    category=1,
)


def row(**changes: object) -> ParticipationResult:
    return dataclasses.replace(BASE, **changes)  # type: ignore[arg-type]


def parse(report: bytes) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(report.decode("utf-8"), newline=""), delimiter=";")
    assert tuple(reader.fieldnames or ()) == FIELDS
    return list(reader)


def test_quarter_arithmetic() -> None:
    assert Quarter.of(dt.date(2024, 12, 31)) == Quarter(2024, 4)
    assert Quarter.of(dt.date(2025, 1, 1)) == Quarter(2025, 1)
    assert Quarter(2025, 1).plus(-3) == Quarter(2024, 2)
    assert Quarter(2024, 4).plus(1) == Quarter(2025, 1)
    assert Quarter(2024, 1).last_day == dt.date(2024, 3, 31)
    assert Quarter(2024, 4).last_day == dt.date(2024, 12, 31)
    assert Quarter(2024, 2).first_day == dt.date(2024, 4, 1)
    assert str(Quarter(2025, 3)) == "2025K3"
    with pytest.raises(ValueError, match="1 to 4"):
        Quarter(2025, 5)


@pytest.mark.parametrize(
    ("end", "reported"),
    [
        (dt.date(2024, 3, 31), False),  # four quarters back: no longer updated
        (dt.date(2024, 4, 1), True),  # first day of the oldest update quarter
        (dt.date(2024, 12, 31), True),  # across the year boundary
        (dt.date(2025, 1, 1), True),  # first day of the reported quarter
        (dt.date(2025, 3, 31), True),  # its last day
        (dt.date(2025, 4, 1), False),  # not ended yet as of the report
    ],
)
def test_quarter_boundaries(end: dt.date, reported: bool) -> None:
    lines = report_lines([row(start=end - dt.timedelta(days=4), end=end)], Q1_2025)
    assert len(lines) == (1 if reported else 0)
    if reported:
        assert lines[0].quarter == Quarter.of(end)


@given(end=st.dates(dt.date(2023, 1, 1), dt.date(2026, 12, 31)))
def test_a_participation_is_reported_in_four_consecutive_reports(end: dt.date) -> None:
    participation = row(start=end, end=end)
    reports = [q for q in map(Quarter(2022, 1).plus, range(24)) if report_lines([participation], q)]
    first = Quarter.of(end)
    assert reports == [first, first.plus(1), first.plus(2), first.plus(3)]


@pytest.mark.parametrize(
    ("group", "category", "exam_field", "no_exam_field"),
    [(ResultGroup.EXAM, c, str(c), "") for c in range(1, 7)]
    + [(ResultGroup.NO_EXAM, c, "", str(c)) for c in range(1, 5)]
    + [
        (ResultGroup.EXAM, None, NOT_RELEVANT, ""),
        (ResultGroup.NO_EXAM, None, "", NOT_RELEVANT),
    ],
)
def test_each_category_goes_in_its_groups_field(
    group: ResultGroup, category: int | None, exam_field: str, no_exam_field: str
) -> None:
    (line,) = parse(build_report([row(group=group, category=category)], Q1_2025))
    assert line["ResultatProevebelagt"] == exam_field
    assert line["ResultatIkkeProevebelagt"] == no_exam_field
    assert line["OMPPÅ"] == line["OMPÅE"] == ""
    assert line["Proeveforsoeg"] == "ordinaer"


@pytest.mark.parametrize(
    ("group", "category"),
    [(ResultGroup.EXAM, 0), (ResultGroup.EXAM, 7), (ResultGroup.NO_EXAM, 5)],
)
def test_a_category_outside_its_group_is_refused(group: ResultGroup, category: int) -> None:
    with pytest.raises(ReportDataError, match="category"):
        report_lines([row(group=group, category=category)], Q1_2025)


@pytest.mark.parametrize(("group", "category"), [(ResultGroup.EXAM, 1), (ResultGroup.NO_EXAM, 2)])
def test_ikv_is_reported_in_group_2_with_1_3_or_4(group: ResultGroup, category: int) -> None:
    with pytest.raises(ReportDataError, match="IKV"):
        report_lines([row(goal="40080", group=group, category=category)], Q1_2025)
    for allowed in (1, 3, 4):
        assert report_lines(
            [row(goal="40081", group=ResultGroup.NO_EXAM, category=allowed)], Q1_2025
        )


def test_retakes_are_separate_rows_and_never_overwrite() -> None:
    failed = row(end=dt.date(2025, 3, 7), category=4)
    retake = row(
        category=1,
        attempt=Attempt.RETAKE,
        attempt_date=dt.date(2025, 3, 21),
        retake_fte=Decimal("0.0042"),
    )
    lines = parse(build_report([retake, failed], Q1_2025))
    assert [line["Proeveforsoeg"] for line in lines] == ["ordinaer", "omproeve"]
    assert [line["ResultatProevebelagt"] for line in lines] == ["4", "1"]
    assert [line["Proevedato"] for line in lines] == ["", "2025-03-21"]
    assert [line["OMPPÅ"] for line in lines] == ["", "1"]
    assert [line["OMPÅE"] for line in lines] == ["", "0.0042"]


def test_a_retake_falls_in_the_quarter_it_is_held() -> None:
    failed = row(end=dt.date(2025, 3, 28), category=4)
    retake = row(attempt=Attempt.RETAKE, attempt_date=dt.date(2025, 4, 10))
    assert [line.row for line in report_lines([failed, retake], Q1_2025)] == [failed]
    in_q2 = report_lines([failed, retake], Quarter(2025, 2))
    assert [(line.quarter, line.row) for line in in_q2] == [
        (Q1_2025, failed),
        (Quarter(2025, 2), retake),
    ]


def test_a_second_retake_and_a_moved_exam_are_each_reported() -> None:
    moved = row(category=4, attempt=Attempt.RESCHEDULED, attempt_date=dt.date(2025, 3, 14))
    first = row(category=4, attempt=Attempt.RETAKE, attempt_date=dt.date(2025, 3, 20))
    second = row(category=1, attempt=Attempt.RETAKE, attempt_date=dt.date(2025, 3, 27))
    original = row(category=5)
    lines = parse(build_report([second, first, moved, original], Q1_2025))
    assert [(line["Proeveforsoeg"], line["ResultatProevebelagt"]) for line in lines] == [
        ("ordinaer", "5"),
        ("flyttet", "4"),
        ("omproeve", "4"),
        ("omproeve", "1"),
    ]
    assert [line["OMPPÅ"] for line in lines] == ["", "1", "1", "1"]


@pytest.mark.parametrize(
    "bad",
    [
        {"attempt": Attempt.RETAKE},  # no date
        {"attempt": Attempt.RETAKE, "attempt_date": dt.date(2025, 3, 2)},  # before start
        {"attempt_date": dt.date(2025, 3, 7)},  # a date on the ordinary row
        {"retake_fte": Decimal("0.01")},  # funding on the ordinary row
    ],
)
def test_attempt_fields_must_fit_the_attempt(bad: dict[str, object]) -> None:
    with pytest.raises(ReportDataError, match="attempt_date"):
        report_lines([row(**bad)], Q1_2025)


def test_one_final_result_per_participation() -> None:
    with pytest.raises(ReportDataError, match="second result") as caught:
        report_lines([row(category=1), row(category=4)], Q1_2025)
    assert "1234" not in str(caught.value)


def test_a_malformed_cpr_is_refused_without_echoing_it() -> None:
    with pytest.raises(ReportDataError, match="cpr") as caught:
        report_lines([row(cpr="01019-01234x")], Q1_2025)
    assert "01234" not in str(caught.value)


def test_courses_never_held_are_not_reported() -> None:
    planned = row(team="AFLYST-1", held=False, category=None)
    assert report_lines([planned], Q1_2025) == []
    # A cancelled plan does not count as a result of the participation held later.
    held = row(team="AFLYST-1")
    assert [line.row for line in report_lines([planned, held], Q1_2025)] == [held]


def test_the_approved_school_reports_an_outsourced_course() -> None:
    outsourced = row(institution="999001", outsourced_by="280727")
    (line,) = parse(build_report([outsourced], Q1_2025, institution="280727"))
    assert line["Institutionsnummer"] == "280727"
    assert line["UdfoerendeInstitution"] == "999001"
    assert report_lines([outsourced], Q1_2025, institution="999001") == []


def test_the_institution_filter_keeps_only_its_own_rows() -> None:
    own, other = row(), row(institution="111111")
    assert [line.row for line in report_lines([own, other], Q1_2025, institution="280727")] == [own]


def test_text_with_separators_and_danish_letters_round_trips() -> None:
    team = 'Hold; "Æble" Ø-vej\nÅ'
    (line,) = parse(build_report([row(team=team)], Q1_2025))
    assert line["Holdreference"] == team
    assert line["CPR"] == "0101901234"


def test_an_empty_report_is_just_the_header() -> None:
    assert build_report([], Q1_2025) == (";".join(FIELDS) + "\r\n").encode("utf-8")


def example_rows() -> list[ParticipationResult]:
    """A school's quarter: each category, the window's edges, retakes and an outsourced team."""
    exam, no_exam = ResultGroup.EXAM, ResultGroup.NO_EXAM
    day = dt.date
    rows = [row(cpr=f"0101{80 + c}-100{c}", category=c, team="TRUCK-11") for c in range(1, 7)] + [
        row(
            cpr=f"0202{80 + c}-200{c}",
            goal="44983",
            team="SVEJS-2",
            group=no_exam,
            category=c,
        )
        for c in range(1, 5)
    ]
    rows += [
        row(cpr="030385-3001", team="TRUCK-11", category=None),
        row(cpr="040486-4001", team="TRUCK-02", start=day(2024, 4, 1), end=day(2024, 4, 1)),
        row(cpr="040486-4002", team="TRUCK-01", start=day(2024, 3, 25), end=day(2024, 3, 31)),
        row(cpr="050587-5001", team="TRUCK-12", start=day(2025, 3, 31), end=day(2025, 4, 1)),
        row(cpr="060688-6001", team="TRUCK-11", category=4),
        row(
            cpr="060688-6001",
            team="TRUCK-11",
            category=1,
            attempt=Attempt.RETAKE,
            attempt_date=day(2025, 3, 21),
            retake_fte=Decimal("0.0040"),
        ),
        row(
            cpr="070789-7001",
            team="TRUCK-11",
            category=4,
            attempt=Attempt.RESCHEDULED,
            attempt_date=day(2025, 3, 14),
            retake_fte=Decimal("0.0040"),
        ),
        row(cpr="070789-7001", team="TRUCK-11", category=5),
        row(cpr="080890-8001", goal="40080", team="IKV-1", group=no_exam, category=3),
        row(cpr="090991-9001", team="AFLYST", held=False, category=None),
        row(
            cpr="101092-1001",
            institution="999001",
            outsourced_by="280727",
            team="UDL-7",
            group=exam,
            category=2,
        ),
        row(cpr="111193-1101", institution="111111", team="ANDEN-SKOLE"),
    ]
    return rows


def test_golden_report() -> None:
    report = build_report(example_rows(), Q1_2025, institution="280727")
    assert len(parse(report)) == 18
    assert_golden(ASSETS / "2025K1-280727.csv", report)
