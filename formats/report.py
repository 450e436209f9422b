"""The quarterly report of course results to the ministry's statistics (002 §2, §3, §5, §6).

Each quarter a school reports every course participation that ended in that quarter and updates
those of the three quarters before it: one final result per participation, retakes as rows of
their own. The file is CSV, ``;``-separated, UTF-8; docs/formats.md has the field table::

    report = build_report(rows, Quarter(2025, 1), institution="280727")
    lines = report_lines(rows, Quarter(2025, 1))   # the same selection, as dataclasses

Glossary: *omprøve* is a retake; *flyttet prøve* an exam moved for a reasonable cause such as
illness (§ 18 stk. 8), funded like a retake but not one; *udlicitering* is outsourcing a course
to a subcontractor, in which case the approved school reports it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum, StrEnum
from typing import NewType

from formats.errors import FormatError

QuarterlyReport = NewType("QuarterlyReport", bytes)

NOT_RELEVANT = "Ej relevant"
IKV_GOALS = frozenset({"40080", "40081"})
FIELDS = (
    "Kvartal",
    "Institutionsnummer",
    "UdfoerendeInstitution",
    "Holdreference",
    "Fagkode",
    "CPR",
    "Startdato",
    "Slutdato",
    "Proeveforsoeg",
    "Proevedato",
    "ResultatProevebelagt",
    "ResultatIkkeProevebelagt",
    "OMPPÅ",
    "OMPÅE",
)
_GOAL = re.compile(r"\d{5}")
_CPR = re.compile(r"(\d{6})-?(\d{4})")


class ReportDataError(FormatError):
    """A result row cannot be reported as given; the message names the row and the field."""


class ResultGroup(IntEnum):
    """Whether a UVM exam was attached to the goal on the course's start date (002 §3)."""

    EXAM = 1  # categories 1-6 in ResultatProevebelagt
    NO_EXAM = 2  # categories 1-4 in ResultatIkkeProevebelagt


class Attempt(StrEnum):
    """Which exam attempt a row reports (002 §5, 001 "Omprøver")."""

    ORDINARY = "ordinaer"
    RETAKE = "omproeve"
    RESCHEDULED = "flyttet"  # § 18 stk. 8: funded like a retake, keeps the right to one


_CATEGORIES = {ResultGroup.EXAM: range(1, 7), ResultGroup.NO_EXAM: range(1, 5)}
_ATTEMPT_ORDER = {Attempt.ORDINARY: 0, Attempt.RESCHEDULED: 1, Attempt.RETAKE: 2}


@dataclass(frozen=True, slots=True, order=True)
class Quarter:
    """A calendar quarter, e.g. ``Quarter(2025, 1)`` for January to March 2025 ("2025K1")."""

    year: int
    number: int

    def __post_init__(self) -> None:
        if self.number not in range(1, 5):
            raise ValueError("a quarter is numbered 1 to 4")

    @classmethod
    def of(cls, day: dt.date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, 3 * self.number - 2, 1)

    @property
    def last_day(self) -> dt.date:
        return self.plus(1).first_day - dt.timedelta(days=1)

    def plus(self, quarters: int) -> Quarter:
        index = self.year * 4 + self.number - 1 + quarters
        return Quarter(index // 4, index % 4 + 1)

    def __str__(self) -> str:
        return f"{self.year}K{self.number}"


@dataclass(frozen=True, slots=True)
class ParticipationResult:
    """One participation's final result, or one retake or moved exam of it.

    ``institution`` ran the course; ``outsourced_by`` is the approved school that outsourced
    it to them and therefore reports it. ``category`` is ``None`` while there is no final
    result ("Ej relevant"). ``attempt_date`` is the date of a retake or moved exam and
    ``retake_fte`` its full-time equivalents (årselever, the OMPÅE mark) as the school's
    funding rules compute them; both stay empty on the ordinary row. ``held=False`` marks a
    course or exam that was planned but never held: it is not reported (002 §6.1).
    """

    institution: str
    team: str
    goal: str
    cpr: str  # DDMMYY-SSSS; sensitive: never in an error message
    start: dt.date
    end: dt.date
    group: ResultGroup
    category: int | None
    attempt: Attempt = Attempt.ORDINARY
    attempt_date: dt.date | None = None
    retake_fte: Decimal = Decimal(0)
    outsourced_by: str | None = None
    held: bool = True

    @property
    def reporter(self) -> str:
        """The institution that reports this row: the approved school."""
        return self.outsourced_by or self.institution

    @property
    def reported_on(self) -> dt.date:
        """The date that places the row in a quarter: the end, or the retake's date."""
        return self.attempt_date or self.end


@dataclass(frozen=True, slots=True)
class ReportLine:
    """One line of the report file, in the order and wording of ``FIELDS``."""

    quarter: Quarter
    row: ParticipationResult

    def values(self) -> tuple[str, ...]:
        row = self.row
        result = NOT_RELEVANT if row.category is None else str(row.category)
        funded = row.attempt is not Attempt.ORDINARY
        return (
            str(self.quarter),
            row.reporter,
            row.institution if row.outsourced_by else "",
            row.team,
            row.goal,
            _cpr_digits(row.cpr),
            row.start.isoformat(),
            row.end.isoformat(),
            row.attempt.value,
            row.attempt_date.isoformat() if row.attempt_date else "",
            result if row.group is ResultGroup.EXAM else "",
            result if row.group is ResultGroup.NO_EXAM else "",
            "1" if funded else "",
            f"{row.retake_fte:.4f}" if funded else "",
        )


def report_lines(
    rows: Iterable[ParticipationResult], quarter: Quarter, *, institution: str | None = None
) -> list[ReportLine]:
    """The rows the report for ``quarter`` carries, in file order.

    Those reported on a date in ``quarter`` or the three quarters before it, held, and (when
    ``institution`` is given) reported by that institution. Raises ReportDataError for a row
    that breaks the reporting rules, including a second final result for one participation.
    """
    rows = list(rows)
    for index, row in enumerate(rows):
        _check(index, row)
    _check_unique(rows)
    first, last = quarter.plus(-3).first_day, quarter.last_day
    chosen = [
        row
        for row in rows
        if row.held
        and first <= row.reported_on <= last
        and (institution is None or row.reporter == institution)
    ]
    chosen.sort(key=_file_order)
    return [ReportLine(Quarter.of(row.reported_on), row) for row in chosen]


def build_report(
    rows: Iterable[ParticipationResult], quarter: Quarter, *, institution: str | None = None
) -> QuarterlyReport:
    """The report file for ``quarter``: a header line, then ``report_lines``, CRLF-ended.

    Raises ReportDataError as ``report_lines`` does.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(FIELDS)
    writer.writerows(line.values() for line in report_lines(rows, quarter, institution=institution))
    return QuarterlyReport(buffer.getvalue().encode("utf-8"))


def _check(index: int, row: ParticipationResult) -> None:
    def fail(field: str, problem: str) -> ReportDataError:
        return ReportDataError(
            f"row {index} (team {row.team!r}, goal {row.goal}): {field} {problem}"
        )

    if not _GOAL.fullmatch(row.goal):
        raise fail("goal", "is not a five-digit AMU goal number")
    if not _CPR.fullmatch(row.cpr):
        raise fail("cpr", "is not a CPR number")  # never echo the value
    if row.end < row.start:
        raise fail("end", "is before start")
    if row.category is not None and row.category not in _CATEGORIES[row.group]:
        raise fail("category", f"{row.category} does not exist in result group {row.group.value}")
    if row.goal in IKV_GOALS and (row.group is ResultGroup.EXAM or row.category == 2):
        # 002 §4: IKV is reported in group 2 with category 1, 3 or 4 only.
        raise fail("category", "for IKV must be 1, 3 or 4 in result group 2")
    if row.attempt is Attempt.ORDINARY:
        if row.attempt_date is not None or row.retake_fte:
            raise fail("attempt_date", "and retake_fte belong to retakes, not the ordinary row")
    elif row.attempt_date is None or row.attempt_date < row.start:
        raise fail("attempt_date", "of a retake or moved exam must be on or after start")
    if row.retake_fte < 0:
        raise fail("retake_fte", "is negative")


def _check_unique(rows: list[ParticipationResult]) -> None:
    # 002 §6.2: one result per participation; every retake kept as its own row.
    seen: set[tuple[object, ...]] = set()
    for index, row in enumerate(rows):
        if not row.held:
            continue
        key = (
            row.reporter,
            row.team,
            row.goal,
            _cpr_digits(row.cpr),
            row.attempt,
            row.attempt_date,
        )
        if key in seen:
            raise ReportDataError(
                f"row {index} (team {row.team!r}, goal {row.goal}): a second result for the "
                "same participation and attempt"
            )
        seen.add(key)


def _file_order(row: ParticipationResult) -> tuple[object, ...]:
    return (
        row.reporter,
        row.goal,
        row.team,
        row.start,
        _cpr_digits(row.cpr),
        _ATTEMPT_ORDER[row.attempt],
        row.reported_on,
    )


def _cpr_digits(cpr: str) -> str:
    return cpr.replace("-", "")
