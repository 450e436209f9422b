"""The AMU goal catalogue as data: reading a catalogue file and planning its import. Pure: the
caller reads the file and applies the plan (``issuers.onboarding``); docs/catalogue.md is the
format::

    lines = parse(data, "csv")                 # raises InvalidCatalogueError (every bad line)
    plan = plan_import(lines, stored, full=True, today=today)
    plan.added, plan.changed, plan.closed, plan.unchanged, plan.errors

Every end date in the catalogue is the first day on which the thing no longer holds: a goal
``valid_to`` 2026-01-01 may be started until 31 December 2025, an exam period ``..2021-07-01``
was attached until 30 June 2021 (``rules.ExamAttachment.detached_on``).

History is never lost (the rules decide on what was attached on a course's start date): a
stored exam period keeps its start date; the file may end an open period, extend or reopen a
closed one and add new ones, but not shorten a closed period or add one that overlaps what is
stored. A goal a full import no longer lists is closed, never deleted.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

import msgspec

from formats.errors import FormatError
from formats.text import clean_text
from issuers.rules import ExamAttachment

Format = Literal["csv", "jsonl"]
FIELDS = (
    "number",
    "title",
    "duration_days",
    "description",
    "valid_from",
    "valid_to",
    "exam_periods",
    "exam_parts",
    "ikv",
    "authority_certificate",
)
REQUIRED = frozenset({"number", "title", "duration_days", "valid_from"})
MAX_TITLE = 200
MAX_DESCRIPTION = 4000
MAX_EXAM_PARTS = 5  # goals.exam_parts CHECK
MAX_DURATION = Decimal("999.9")  # numeric(4, 1)
FIRST_DATE = dt.date(1985, 1, 1)  # AMU began in 1985; an earlier date is a typing error
_NUMBER = re.compile(r"^[0-9]{5}$")
_TRUE = {"true": True, "ja": True, "yes": True, "1": True}
_FALSE = {"false": False, "nej": False, "no": False, "0": False, "": False}


@dataclass(frozen=True, slots=True)
class LineError:
    """What is wrong with one line of a catalogue file (line 1 is the CSV header)."""

    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, {self.field}: {self.message}"


class InvalidCatalogueError(Exception):
    """A catalogue file (or its import) with at least one bad line; ``errors`` has them all."""

    def __init__(self, errors: Sequence[LineError]) -> None:
        super().__init__(f"{len(errors)} error(s) in the catalogue file")
        self.errors = list(errors)


@dataclass(frozen=True, slots=True)
class Goal:
    """One AMU goal with everything the catalogue says about it."""

    number: str
    title: str
    duration_days: Decimal
    valid_from: dt.date
    valid_to: dt.date | None = None
    description: str = ""
    exam_periods: tuple[ExamAttachment, ...] = ()
    exam_parts: int = 1
    ikv: bool = False
    authority_certificate: bool = False


@dataclass(frozen=True, slots=True)
class Line:
    """A goal as one line of a file gives it."""

    line: int
    goal: Goal


@dataclass(frozen=True, slots=True)
class StoredGoal:
    goal: Goal
    closed: bool  # a full import closed it (it may come back)


@dataclass(frozen=True, slots=True)
class Change:
    """A goal whose stored state changes: ``before`` is None for a goal new to the catalogue."""

    before: Goal | None
    after: Goal


@dataclass(frozen=True, slots=True)
class ImportPlan:
    added: list[Change] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)  # reopened goals too
    closed: list[Change] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)

    @property
    def changes(self) -> list[Change]:
        return [*self.added, *self.changed, *self.closed]


# -- reading a file ------------------------------------------------------------------------------


def parse(data: bytes, format: Format) -> list[Line]:  # noqa: A002 - the word the CLI uses
    """The goals of a catalogue file (UTF-8, an optional byte-order mark).

    Raises InvalidCatalogueError naming every bad line and field; a file with duplicate goal
    numbers, or a goal with overlapping exam periods, is refused too.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise InvalidCatalogueError([LineError(line, "file", "is not UTF-8")]) from e
    return parse_csv(text) if format == "csv" else parse_jsonl(text)


def parse_csv(text: str) -> list[Line]:
    """The goals of a CSV catalogue (comma-separated, header row); see ``parse``."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    errors: list[LineError] = []
    try:
        header = next(reader, None)
    except csv.Error as e:
        raise InvalidCatalogueError([LineError(1, "header", f"is not valid CSV ({e})")]) from e
    if header is None:
        raise InvalidCatalogueError([LineError(1, "header", "the file is empty")])
    names = [h.strip() for h in header]
    errors.extend(
        LineError(1, name or "header", "is not a catalogue column")
        for name in names
        if name not in FIELDS
    )
    errors.extend(LineError(1, name, "column is missing") for name in sorted(REQUIRED - set(names)))
    if len(set(names)) != len(names):
        errors.append(LineError(1, "header", "names a column twice"))
    if errors:
        raise InvalidCatalogueError(errors)
    rows: list[tuple[int, dict[str, Any]]] = []
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            errors.append(LineError(line, "line", f"is not valid CSV ({e})"))
            break  # the reader cannot find where the next line starts
        if not any(cell.strip() for cell in row):
            continue  # blank lines are allowed (a trailing newline, a spreadsheet's last row)
        if len(row) != len(names):
            errors.append(
                LineError(line, "line", f"has {len(row)} fields, the header {len(names)}")
            )
            continue
        rows.append((line, dict(zip(names, row, strict=True))))
    return _lines(rows, errors)


def parse_jsonl(text: str) -> list[Line]:
    """The goals of a JSON Lines catalogue (one object per line); see ``parse``."""
    errors: list[LineError] = []
    rows: list[tuple[int, dict[str, Any]]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            value = msgspec.json.decode(raw)
        except msgspec.DecodeError:
            errors.append(LineError(number, "line", "is not a JSON object"))
            continue
        if not isinstance(value, dict):
            errors.append(LineError(number, "line", "is not a JSON object"))
            continue
        unknown = sorted(set(value) - set(FIELDS))
        errors.extend(LineError(number, name, "is not a catalogue field") for name in unknown)
        if not unknown:
            rows.append((number, value))
    return _lines(rows, errors)


def _lines(rows: Iterable[tuple[int, Mapping[str, Any]]], errors: list[LineError]) -> list[Line]:
    lines: list[Line] = []
    first_line: dict[str, int] = {}
    for line, row in rows:
        found: list[LineError] = []
        goal = _goal(line, row, found)
        errors.extend(found)
        if goal is None:
            continue
        if goal.number in first_line:
            errors.append(
                LineError(line, "number", f"{goal.number} is on line {first_line[goal.number]} too")
            )
            continue
        first_line[goal.number] = line
        lines.append(Line(line, goal))
    if errors:
        raise InvalidCatalogueError(sorted(errors, key=lambda e: e.line))
    return lines


class _BadValueError(Exception):
    """One field's value is wrong (collected into a LineError)."""


def _goal(line: int, row: Mapping[str, Any], errors: list[LineError]) -> Goal | None:
    values: dict[str, Any] = {}
    for name in FIELDS:
        raw = row.get(name)
        if isinstance(raw, str):
            raw = raw.strip()
        if raw is None or raw == "":
            if name in REQUIRED:
                errors.append(LineError(line, name, "is required"))
                continue
            raw = None
        try:
            values[name] = _READERS[name](raw)
        except _BadValueError as e:
            errors.append(LineError(line, name, str(e)))
    if errors:
        return None
    goal = Goal(**values)
    if goal.valid_to is not None and goal.valid_to <= goal.valid_from:
        errors.append(LineError(line, "valid_to", "must be after valid_from"))
        return None
    return goal


def _number(raw: Any) -> str:
    if not isinstance(raw, str) or not _NUMBER.match(raw):
        raise _BadValueError("must be five digits")
    return raw


def _text(limit: int) -> Any:
    def read(raw: Any) -> str:
        if raw is None:
            return ""
        if not isinstance(raw, str):
            raise _BadValueError("must be text")
        if len(raw) > limit:
            raise _BadValueError(f"is longer than {limit} characters")
        try:
            return clean_text(raw)
        except FormatError as e:
            raise _BadValueError(str(e)) from e

    return read


def _duration(raw: Any) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise _BadValueError("must be a number of days such as 3 or 3.5")
    try:
        days = Decimal(str(raw).replace(",", "."))
    except InvalidOperation as e:
        raise _BadValueError("must be a number of days such as 3 or 3.5") from e
    if not days.is_finite() or days <= 0 or days > MAX_DURATION:
        raise _BadValueError(f"must be more than 0 and at most {MAX_DURATION}")
    if days != days.quantize(Decimal("0.1")):
        raise _BadValueError("has more than one decimal")
    return days.quantize(Decimal("0.1"))


def _date(raw: Any) -> dt.date:
    if not isinstance(raw, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        raise _BadValueError("must be a date YYYY-MM-DD")
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError as e:
        raise _BadValueError("is not a calendar date") from e
    if day < FIRST_DATE:
        raise _BadValueError(f"is before {FIRST_DATE.isoformat()}")
    return day


def _optional_date(raw: Any) -> dt.date | None:
    return None if raw is None else _date(raw)


def _periods(raw: Any) -> tuple[ExamAttachment, ...]:
    """``2018-01-01..2021-07-01;2027-01-01..`` in CSV, a list of {"from", "until"} in JSON."""
    if raw is None:
        return ()
    pairs: list[tuple[Any, Any]] = []
    if isinstance(raw, str):
        for part in raw.split(";"):
            start, sep, until = part.strip().partition("..")
            if not sep:
                raise _BadValueError(f"'{part.strip()}' is not FROM.. or FROM..UNTIL")
            pairs.append((start.strip(), until.strip() or None))
    elif isinstance(raw, list):
        for item in raw:
            if not isinstance(item, dict) or set(item) - {"from", "until"} or "from" not in item:
                raise _BadValueError('must be a list of {"from": DATE, "until": DATE or null}')
            pairs.append((item["from"], item.get("until")))
    else:
        raise _BadValueError("must be periods such as 2019-08-01.. or 2018-01-01..2021-07-01")
    periods = []
    for start, until in pairs:
        attached = ExamAttachment(_date(start), _optional_date(until))
        if attached.detached_on is not None and attached.detached_on <= attached.attached_from:
            raise _BadValueError(f"the period from {attached.attached_from} ends before it starts")
        periods.append(attached)
    periods.sort(key=lambda p: p.attached_from)
    for earlier, later in itertools.pairwise(periods):
        if _overlap(earlier, later):
            raise _BadValueError(
                f"the periods from {earlier.attached_from} and {later.attached_from} overlap"
            )
    return tuple(periods)


def _overlap(a: ExamAttachment, b: ExamAttachment) -> bool:
    a_end, b_end = a.detached_on or dt.date.max, b.detached_on or dt.date.max
    return a.attached_from < b_end and b.attached_from < a_end


def _parts(raw: Any) -> int:
    if raw is None:
        return 1
    if isinstance(raw, str) and raw.isdigit():
        raw = int(raw)
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= MAX_EXAM_PARTS:
        raise _BadValueError(f"must be a whole number from 1 to {MAX_EXAM_PARTS}")
    return raw


def _flag(raw: Any) -> bool:
    if raw is None:
        return False
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.lower() in _TRUE | _FALSE:
        return (_TRUE | _FALSE)[raw.lower()]
    raise _BadValueError("must be true or false")


_READERS: dict[str, Any] = {
    "number": _number,
    "title": _text(MAX_TITLE),
    "duration_days": _duration,
    "description": _text(MAX_DESCRIPTION),
    "valid_from": _date,
    "valid_to": _optional_date,
    "exam_periods": _periods,
    "exam_parts": _parts,
    "ikv": _flag,
    "authority_certificate": _flag,
}


# -- planning an import --------------------------------------------------------------------------


def merge_periods(
    stored: Sequence[ExamAttachment], given: Sequence[ExamAttachment]
) -> tuple[ExamAttachment, ...]:
    """The exam history after an import: ``stored`` with what the file ``given`` says.

    A stored period keeps its start date. The file may end an open period, extend or reopen a
    closed one, and add new periods. A stored period the file leaves out stays as it is.
    Raises ValueError when the file would shorten a closed period or adds a period that
    overlaps a stored one (a moved start date): history is never rewritten.
    """
    by_start = {p.attached_from: p for p in stored}
    for period in given:
        old = by_start.get(period.attached_from)
        if (
            old is not None
            and old.detached_on is not None
            and (period.detached_on is not None and period.detached_on < old.detached_on)
        ):
            raise ValueError(
                f"would end the stored period from {old.attached_from} on {period.detached_on} "
                f"instead of {old.detached_on}: an ended exam period is never shortened"
            )
        by_start[period.attached_from] = period
    merged = sorted(by_start.values(), key=lambda p: p.attached_from)
    for earlier, later in itertools.pairwise(merged):
        if _overlap(earlier, later):
            new, kept = (later, earlier) if later in given else (earlier, later)
            raise ValueError(
                f"the period from {new.attached_from} overlaps the stored period from "
                f"{kept.attached_from}: a start date is never moved (list the stored period "
                "with its end, then the new one)"
            )
    return tuple(merged)


def plan_import(
    lines: Sequence[Line], stored: Mapping[str, StoredGoal], *, full: bool, today: dt.date
) -> ImportPlan:
    """What importing ``lines`` does to the ``stored`` catalogue.

    ``full``: the file is the whole catalogue, so a stored goal it does not list is closed
    (``valid_to`` today, unless it ended earlier). The same file twice changes nothing the
    second time. Errors (a history the file would rewrite) are in ``plan.errors``.
    """
    plan = ImportPlan()
    for line in lines:
        old = stored.get(line.goal.number)
        if old is None:
            plan.added.append(Change(None, line.goal))
            continue
        try:
            periods = merge_periods(old.goal.exam_periods, line.goal.exam_periods)
        except ValueError as e:
            plan.errors.append(LineError(line.line, "exam_periods", str(e)))
            continue
        new = replace(line.goal, exam_periods=periods)
        if new == old.goal and not old.closed:
            plan.unchanged.append(new.number)
        else:
            plan.changed.append(Change(old.goal, new))
    if full:
        listed = {line.goal.number for line in lines}
        for number in sorted(set(stored) - listed):
            old = stored[number]
            if old.closed:
                continue
            ends = today if old.goal.valid_to is None else min(old.goal.valid_to, today)
            ends = max(ends, old.goal.valid_from + dt.timedelta(days=1))
            plan.closed.append(Change(old.goal, replace(old.goal, valid_to=ends)))
    return plan
