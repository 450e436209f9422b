"""Reading a catalogue file and planning its import (issuers/catalogue.py): every bad line is
named with its field, history is merged and never rewritten, a full import closes goals."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal
from importlib import resources

import pytest

from issuers.catalogue import (
    Goal,
    InvalidCatalogueError,
    Line,
    LineError,
    StoredGoal,
    merge_periods,
    parse,
    plan_import,
)
from issuers.rules import ExamAttachment

HEADER = (
    "number,title,duration_days,description,valid_from,valid_to,exam_periods,exam_parts,ikv,"
    "authority_certificate\n"
)
GOOD = "45365,Rengøring på hospitaler,3.0,,2016-01-01,,2018-01-01..2021-07-01;2027-01-01..,1,,\n"
TODAY = dt.date(2026, 3, 2)


def _errors(data: str, format: str = "csv") -> list[tuple[int, str]]:  # noqa: A002
    with pytest.raises(InvalidCatalogueError) as refused:
        parse(data.encode(), format)  # type: ignore[arg-type]
    return [(e.line, e.field) for e in refused.value.errors]


def test_a_good_csv_line() -> None:
    [line] = parse((HEADER + GOOD).encode(), "csv")
    assert line.line == 2
    assert line.goal == Goal(
        number="45365",
        title="Rengøring på hospitaler",
        duration_days=Decimal("3.0"),
        valid_from=dt.date(2016, 1, 1),
        exam_periods=(
            ExamAttachment(dt.date(2018, 1, 1), dt.date(2021, 7, 1)),
            ExamAttachment(dt.date(2027, 1, 1)),
        ),
    )


def test_the_same_goal_as_json_lines() -> None:
    jsonl = (
        '{"number": "45365", "title": "Rengøring på hospitaler", "duration_days": 3,'
        ' "valid_from": "2016-01-01", "exam_periods": [{"from": "2018-01-01",'
        ' "until": "2021-07-01"}, {"from": "2027-01-01", "until": null}]}\n'
    )
    assert parse(jsonl.encode(), "jsonl")[0].goal == parse((HEADER + GOOD).encode(), "csv")[0].goal


def test_a_byte_order_mark_and_blank_lines_are_fine() -> None:
    assert len(parse(("\ufeff" + HEADER + GOOD + "\n,,,,,,,,,\n").encode(), "csv")) == 1


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ("4536,Titel,3,,2016-01-01,,,,,", "number"),
        ("45365,,3,,2016-01-01,,,,,", "title"),
        ("45365,Tit\u202ael,3,,2016-01-01,,,,,", "title"),
        ("45365,Titel,0,,2016-01-01,,,,,", "duration_days"),
        ("45365,Titel,tre,,2016-01-01,,,,,", "duration_days"),
        ("45365,Titel,3.25,,2016-01-01,,,,,", "duration_days"),
        ("45365,Titel,3,,2016-02-30,,,,,", "valid_from"),
        ("45365,Titel,3,,1.1.2016,,,,,", "valid_from"),
        ("45365,Titel,3,,2016-01-01,2015-01-01,,,,", "valid_to"),
        ("45365,Titel,3,,2016-01-01,,2019-01-01,,,", "exam_periods"),
        ("45365,Titel,3,,2016-01-01,,2019-01-01..2018-01-01,,,", "exam_periods"),
        ("45365,Titel,3,,2016-01-01,,2019-01-01..;2020-01-01..,,,", "exam_periods"),
        ("45365,Titel,3,,2016-01-01,,,6,,", "exam_parts"),
        ("45365,Titel,3,,2016-01-01,,,,måske,", "ikv"),
        ("45365,Titel,3,,2016-01-01,,,,,ja tak", "authority_certificate"),
        ("45365,Titel,3", "line"),
    ],
)
def test_a_bad_value_names_its_line_and_field(line: str, field: str) -> None:
    assert _errors(HEADER + GOOD.replace("45365", "40080") + line + "\n") == [(3, field)]


def test_every_bad_line_is_reported_not_just_the_first() -> None:
    data = HEADER + "1,Titel,3,,2016-01-01,,,,,\n" + GOOD + "45366,,x,,,,,,,\n"
    assert _errors(data) == [
        (2, "number"),
        (4, "title"),
        (4, "duration_days"),
        (4, "valid_from"),
    ]


def test_a_goal_twice_in_a_file_is_refused() -> None:
    with pytest.raises(InvalidCatalogueError) as refused:
        parse((HEADER + GOOD + GOOD).encode(), "csv")
    assert refused.value.errors == [LineError(3, "number", "45365 is on line 2 too")]


def test_a_bad_header_names_the_column() -> None:
    assert _errors("number,title,days,valid_from\n") == [(1, "days"), (1, "duration_days")]
    assert _errors("") == [(1, "header")]


def test_bad_json_lines() -> None:
    data = '{"number": "45365"\n[1]\n{"number": "45365", "colour": "red"}\n'
    assert _errors(data, "jsonl") == [(1, "line"), (2, "line"), (3, "colour")]


def test_bytes_that_are_not_utf8_name_their_line() -> None:
    data = (HEADER + GOOD).encode() + b"45366,R\xe6ngoring,3,,2016-01-01,,,,,\n"
    with pytest.raises(InvalidCatalogueError) as refused:
        parse(data, "csv")
    assert [(e.line, e.field) for e in refused.value.errors] == [(3, "file")]


def test_the_bundled_sample_catalogue_parses() -> None:
    data = resources.files("service").joinpath("catalogue", "sample-catalogue.csv").read_bytes()
    goals = {line.goal.number: line.goal for line in parse(data, "csv")}
    assert len(goals) > 28  # the eight the tests use and more
    assert goals["40125"].exam_parts == 2
    assert goals["44806"].authority_certificate
    assert goals["40080"].ikv
    assert goals["40081"].ikv
    assert goals["45365"].exam_periods[1] == ExamAttachment(dt.date(2027, 1, 1))


# -- history ------------------------------------------------------------------------------------

OPEN_2019 = ExamAttachment(dt.date(2019, 8, 1))


def test_an_open_period_is_ended_not_deleted() -> None:
    ended = ExamAttachment(dt.date(2019, 8, 1), dt.date(2025, 1, 1))
    assert merge_periods([OPEN_2019], [ended]) == (ended,)


def test_a_period_the_file_leaves_out_is_kept() -> None:
    later = ExamAttachment(dt.date(2027, 1, 1))
    closed = ExamAttachment(dt.date(2018, 1, 1), dt.date(2021, 7, 1))
    assert merge_periods([closed], [later]) == (closed, later)


def test_a_closed_period_may_be_extended_or_reopened_but_not_shortened() -> None:
    closed = ExamAttachment(dt.date(2018, 1, 1), dt.date(2021, 7, 1))
    longer = ExamAttachment(dt.date(2018, 1, 1), dt.date(2022, 1, 1))
    assert merge_periods([closed], [longer]) == (longer,)
    reopened = ExamAttachment(dt.date(2018, 1, 1))
    assert merge_periods([closed], [reopened]) == (reopened,)
    with pytest.raises(ValueError, match="never shortened"):
        merge_periods([closed], [ExamAttachment(dt.date(2018, 1, 1), dt.date(2020, 1, 1))])


def test_a_moved_start_date_is_refused() -> None:
    with pytest.raises(ValueError, match="overlaps the stored period from 2019-08-01"):
        merge_periods([OPEN_2019], [ExamAttachment(dt.date(2019, 9, 1))])


def _goal(number: str = "40125", **changes: object) -> Goal:
    base = Goal(number, "Svejsning", Decimal("5.0"), dt.date(2015, 7, 1), exam_periods=(OPEN_2019,))
    return replace(base, **changes)  # type: ignore[arg-type]


def _lines(*goals: Goal) -> list[Line]:
    return [Line(i + 2, g) for i, g in enumerate(goals)]


def test_the_same_file_twice_changes_nothing() -> None:
    goal = _goal()
    first = plan_import(_lines(goal), {}, full=True, today=TODAY)
    assert [c.after for c in first.added] == [goal]
    again = plan_import(_lines(goal), {"40125": StoredGoal(goal, False)}, full=True, today=TODAY)
    assert again.changes == []
    assert again.unchanged == ["40125"]


def test_a_goal_missing_from_a_full_import_is_closed_once() -> None:
    kept, gone = _goal(), _goal("42638", exam_periods=())
    stored = {"40125": StoredGoal(kept, False), "42638": StoredGoal(gone, False)}
    partial = plan_import(_lines(kept), stored, full=False, today=TODAY)
    assert partial.closed == []
    plan = plan_import(_lines(kept), stored, full=True, today=TODAY)
    assert [(c.before, c.after.valid_to) for c in plan.closed] == [(gone, TODAY)]
    stored["42638"] = StoredGoal(plan.closed[0].after, True)
    assert plan_import(_lines(kept), stored, full=True, today=TODAY).changes == []


def test_a_closed_goal_that_comes_back_is_reopened() -> None:
    goal = _goal()
    stored = {"40125": StoredGoal(_goal(valid_to=TODAY), True)}
    plan = plan_import(_lines(goal), stored, full=True, today=TODAY)
    assert [c.after for c in plan.changed] == [goal]


def test_a_history_rewrite_is_an_error_on_its_line() -> None:
    stored = {"40125": StoredGoal(_goal(), False)}
    moved = _goal(exam_periods=(ExamAttachment(dt.date(2019, 9, 1)),))
    plan = plan_import(_lines(_goal("42638"), moved), stored, full=True, today=TODAY)
    assert [(e.line, e.field) for e in plan.errors] == [(3, "exam_periods")]
