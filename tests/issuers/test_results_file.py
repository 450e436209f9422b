"""Reading a team's results from a CSV or .xlsx file: rows, teams, and every error named by
line and column."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence

import pytest
from openpyxl import Workbook

from issuers import results_file
from issuers.requests import IkvGoalIn
from issuers.results_file import RowError, locate, read_rows, teams_from_rows
from issuers.rules import IkvResult, Judgement, PartResult

HEADER = "goal,team_reference,start_date,end_date,cpr,name,outcome"
CSV = f"""{HEADER}
45564,H-101,2026-03-02,2026-03-06,010190-1234,Anna Jensen,passed
45564,H-101,02-03-2026,06-03-2026,0202851235,Bo Hansen,ikke bestået
48596,H-102,2026-03-09,2026-03-10,030370-1236,Carl Dam,afbrudt
"""


# A spreadsheet's date cell comes back as a naive datetime.
EXCEL_DATETIME = dt.datetime(2026, 3, 2)  # noqa: DTZ001


def _xlsx(rows: Sequence[Sequence[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_csv_becomes_one_request_per_team() -> None:
    rows, errors = read_rows(CSV.encode(), "hold.csv")
    assert errors == []
    assert [r.line for r in rows] == [2, 3, 4]
    teams, errors = teams_from_rows(rows)
    assert errors == []
    assert [t.request.team.reference for t in teams] == ["H-101", "H-102"]
    first = teams[0]
    assert first.lines == (2, 3)
    assert first.request.team.start == dt.date(2026, 3, 2)
    assert [p.exam for p in first.request.participants] == [PartResult.PASSED, PartResult.FAILED]
    assert teams[1].request.participants[0].dropped_out is True


def test_semicolons_a_bom_and_windows_1252_as_excel_writes_them() -> None:
    text = CSV.replace(",", ";").replace("Jensen", "Sørensen")
    for data in (b"\xef\xbb\xbf" + text.encode(), text.encode("cp1252")):
        rows, errors = read_rows(data, "HOLD.CSV")
        assert errors == []
        teams, errors = teams_from_rows(rows)
        assert errors == []
        assert teams[0].request.participants[0].name == "Anna Sørensen"


def test_an_xlsx_with_dates_and_numbers_as_cells() -> None:
    data = _xlsx(
        [
            [*HEADER.split(","), "exam_date"],
            [45564, "H-101", EXCEL_DATETIME, dt.date(2026, 3, 6), 101901234, "Anna", "passed",
             dt.date(2026, 3, 5)],
            [],
            ["45564", "H-101", "2026-03-02", "06.03.2026", "020285-1235", "Bo", "udeblevet", None],
        ]
    )  # fmt: skip
    rows, errors = read_rows(data, "hold.xlsx")
    assert errors == []
    assert [r.line for r in rows] == [2, 4]
    teams, errors = teams_from_rows(rows)
    assert errors == []
    (team,) = teams
    anna, bo = team.request.participants
    assert anna.cpr == "0101901234"  # the leading zero Excel dropped
    assert anna.exam_date == dt.date(2026, 3, 5)
    assert bo.exam is PartResult.ABSENT


def test_every_outcome_maps_to_the_facts_the_api_takes() -> None:
    lines = [HEADER + ",ikv"]
    outcomes = list(results_file.OUTCOMES)
    for i, outcome in enumerate(outcomes):
        ikv = "45564=bevis;48596=uddannelsesplan" if outcome == "ikv" else ""
        goal = "40080" if outcome == "ikv" else "45564"
        lines.append(f"{goal},H-{i},2026-03-02,2026-03-06,0101901{i:03d},P {i},{outcome},{ikv}")
    rows, errors = read_rows("\n".join(lines).encode(), "x.csv")
    teams, errors = teams_from_rows(rows)
    assert errors == []
    by = {o: t.request.participants[0] for o, t in zip(outcomes, teams, strict=True)}
    assert by["dispensation"].dispensation is not None
    assert by["dispensation"].judgement is Judgement.GOAL_REACHED
    assert by["dispensation-not-reached"].judgement is Judgement.GOAL_NOT_REACHED
    assert by["goal-not-reached"].judgement is Judgement.GOAL_NOT_REACHED
    assert by["ikv"].ikv == [
        IkvGoalIn("45564", IkvResult.AMU_CERTIFICATE),
        IkvGoalIn("48596", IkvResult.EDUCATION_PLAN),
    ]
    assert by["pending"].exam is None
    assert by["pending"].judgement is None


def test_a_split_course_has_its_periods() -> None:
    data = (
        f"{HEADER},periods\n"
        "45564,H-1,2026-01-05,2026-02-06,010190-1234,A,passed,"
        "2026-01-05..2026-01-09;05-02-2026..06-02-2026\n"
    )
    teams, errors = teams_from_rows(read_rows(data.encode(), "x.csv")[0])
    assert errors == []
    periods = teams[0].request.team.periods
    assert periods is not None
    assert [(p.start, p.end) for p in periods] == [
        (dt.date(2026, 1, 5), dt.date(2026, 1, 9)),
        (dt.date(2026, 2, 5), dt.date(2026, 2, 6)),
    ]


@pytest.mark.parametrize(
    ("row", "column"),
    [
        ("4556,H-1,2026-03-02,2026-03-06,010190-1234,A,passed", None),  # zero-filled: fine
        ("4556X,H-1,2026-03-02,2026-03-06,010190-1234,A,passed", "goal"),
        (",H-1,2026-03-02,2026-03-06,010190-1234,A,passed", "goal"),
        ("45564,,2026-03-02,2026-03-06,010190-1234,A,passed", "team_reference"),
        ("45564,H-1,2026-13-02,2026-03-06,010190-1234,A,passed", "start_date"),
        ("45564,H-1,2026-03-02,,010190-1234,A,passed", "end_date"),
        ("45564,H-1,2026-03-02,2026-03-06,320190-1234,A,passed", "cpr"),
        ("45564,H-1,2026-03-02,2026-03-06,,A,passed", "cpr"),
        ("45564,H-1,2026-03-02,2026-03-06,010190-1234,,passed", "name"),
        (f"45564,H-1,2026-03-02,2026-03-06,010190-1234,{'x' * 201},passed", "name"),
        ("45564,H-1,2026-03-02,2026-03-06,010190-1234,A,maybe", "outcome"),
        ("45564,H-1,2026-03-02,2026-03-06,010190-1234,A,", "outcome"),
    ],
)
def test_a_bad_cell_is_named_by_line_and_column(row: str, column: str | None) -> None:
    rows, errors = read_rows(f"{HEADER}\n\n{row}\n".encode(), "x.csv")
    assert errors == []
    teams, errors = teams_from_rows(rows)
    if column is None:
        assert errors == []
        assert teams[0].request.team.goal == "04556"
        return
    assert teams == []
    assert [(e.line, e.column) for e in errors] == [(3, column)]
    assert str(errors[0]).startswith(f"Linje 3, kolonne {column}: ")
    assert "0101" not in str(errors[0])  # never the CPR number


def test_optional_columns_are_checked_against_the_outcome() -> None:
    data = (
        f"{HEADER},exam_date,ikv,periods\n"
        "45564,H-1,2026-03-02,2026-03-06,010190-1234,A,afbrudt,2026-03-06,,\n"
        "45564,H-1,2026-03-02,2026-03-06,020190-1234,B,passed,6/3/26x,45564=bevis,\n"
        "40080,H-2,2026-03-02,2026-03-06,030190-1234,C,ikv,,45564=maybe,\n"
        "40080,H-3,2026-03-02,2026-03-06,030190-1234,C,ikv,,,2026-03-02-2026-03-03\n"
    )
    teams, errors = teams_from_rows(read_rows(data.encode(), "x.csv")[0])
    assert teams == []
    assert sorted((e.line, e.column) for e in errors) == [
        (2, "exam_date"),
        (3, "exam_date"),
        (3, "ikv"),
        (4, "ikv"),
        (5, "ikv"),
        (5, "periods"),
    ]


def test_team_columns_must_agree_and_a_person_comes_once() -> None:
    data = (
        f"{HEADER}\n"
        "45564,H-1,2026-03-02,2026-03-06,010190-1234,A,passed\n"
        "45564,H-1,2026-03-03,2026-03-07,020190-1234,B,passed\n"
        "45564,H-1,2026-03-02,2026-03-06,0101901234,A again,passed\n"
        "45564,H-2,2026-03-02,2026-03-06,010190-1234,A,passed\n"
    )
    teams, errors = teams_from_rows(read_rows(data.encode(), "x.csv")[0])
    assert [t.request.team.reference for t in teams] == ["H-2"]  # H-1 is left out whole
    assert [(e.line, e.column) for e in errors] == [(3, "start_date"), (3, "end_date"), (4, "cpr")]
    assert "linje 2" in errors[0].message
    assert "linje 2" in errors[2].message


@pytest.mark.parametrize(
    ("data", "name", "words"),
    [
        (b"", "x.csv", "tom"),
        (b"\n\n", "x.csv", "tom"),
        (HEADER.encode() + b"\n", "x.csv", "ingen deltagere"),
        (b"a,b\n", "x.pdf", "Filtypen"),
        (b"a,b\n", "x.xls", ".xlsx"),
        (b"not a zip", "x.xlsx", "ikke et Excel"),
        (b"PK\x03\x04 broken", "x.xlsx", "kan ikke læses"),
        (b"PK\x03\x04 broken", "x.csv", ".xlsx"),
        (b"\x00\x01binary", "x.csv", "ikke en tekstfil"),
        (b"x" * (results_file.MAX_BYTES + 1), "x.csv", "2 MB"),
        (b'goal,"team_reference\n', "x.csv", "kan ikke læses"),
    ],
)
def test_a_bad_file_is_one_error_in_danish(data: bytes, name: str, words: str) -> None:
    rows, errors = read_rows(data, name)
    assert rows == []
    assert len(errors) == 1
    assert words in str(errors[0])


def test_an_empty_sheet_and_a_sheet_without_participants() -> None:
    rows, errors = read_rows(_xlsx([]), "x.xlsx")
    assert (rows, [e.line for e in errors]) == ([], [None])
    assert "tom" in errors[0].message
    rows, errors = read_rows(_xlsx([HEADER.split(",")]), "x.xlsx")
    assert (rows, [e.line for e in errors]) == ([], [1])


def test_the_header_names_unknown_doubled_and_missing_columns() -> None:
    rows, errors = read_rows(b"goal,team,goal,cpr,name,outcome,start_date\n1,2\n", "x.csv")
    assert rows == []
    assert {(e.line, e.column) for e in errors} == {
        (1, "team"),
        (1, "goal"),
        (1, "team_reference"),
        (1, "end_date"),
    }


def test_too_many_rows_and_a_row_too_wide() -> None:
    line = "45564,H-1,2026-03-02,2026-03-06,010190-1234,A,passed\n"
    rows, errors = read_rows((HEADER + "\n" + line * 4).encode(), "x.csv", max_rows=3)
    assert rows == []
    assert [(e.line, e.column) for e in errors] == [(5, None)]
    rows, errors = read_rows((HEADER + "\n" + line.strip() + ",extra\n").encode(), "x.csv")
    assert errors == [RowError(2, None, "Rækken har flere celler end overskriften.")]


def test_a_refusal_by_api_field_points_back_into_the_file() -> None:
    teams, _ = teams_from_rows(read_rows(CSV.encode(), "x.csv")[0])
    team = teams[0]
    assert locate(team, "participants[1].cpr") == (3, "cpr")
    assert locate(team, "participants[0].attempts[0].heldOn") == (2, "exam_date")
    assert locate(team, "participants[1].dispensation.appliedByParticipant") == (3, "outcome")
    assert locate(team, "team.end") == (2, "end_date")
    assert locate(team, "participants[0].periods[0].end") == (2, "periods")
    assert locate(team, None) == (2, None)
