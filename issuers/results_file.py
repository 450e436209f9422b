"""A team's results from a file: CSV text or an ``.xlsx`` workbook, one row per participant.

Pure: bytes in, ``TeamResultsIn`` requests out, no database and no clock. Every problem comes
back as a ``RowError`` naming the file's line (the header is line 1) and column, in Danish,
so a school can fix its sheet; nothing is raised for bad input. Used by the schools' upload
page (``service/pages/school_report.py``) and the bulk import command; the layout is
docs/pages.md, "Indberetning fra fil"::

    rows, errors = read_rows(data, "hold.xlsx")          # errors: the file itself, or a cell
    teams, more = teams_from_rows(rows)                  # grouped by (goal, team_reference)
    for team in teams:
        team.request                                     # a TeamResultsIn, as the API takes it
        locate(team, "participants[1].cpr")              # (line, "cpr") of a rules refusal

Columns (the header row names them, in any order): ``goal, team_reference, start_date,
end_date, cpr, name, outcome``, optional ``exam_date``, ``periods`` (a split course:
``2026-01-05..2026-01-09;2026-02-02..2026-02-06``) and ``ikv`` (for 40080/40081:
``45564=amu-certificate;48596=education-plan``). Dates are ISO (2026-03-06) or Danish
(06-03-2026, 06.03.2026, 06/03/2026). A CSV may be separated by commas or semicolons, in UTF-8
(with or without BOM) or Windows-1252, as Excel writes it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import msgspec

from issuers.cpr import parse_cpr
from issuers.errors import InvalidInputError
from issuers.requests import (
    MAX_PARTICIPANTS,
    DispensationIn,
    IkvGoalIn,
    ParticipantIn,
    PeriodIn,
    TeamIn,
    TeamResultsIn,
)
from issuers.rules import IkvResult, Judgement, PartResult

MAX_BYTES = 2 * 1024 * 1024
"""The largest file read: a few thousand rows of a sheet are far below it."""
MAX_ROWS = 5000
"""The most participant rows in one file (a team has at most ``MAX_PARTICIPANTS``)."""
TEXT_MAX = 200

REQUIRED = ("goal", "team_reference", "start_date", "end_date", "cpr", "name", "outcome")
OPTIONAL = ("exam_date", "periods", "ikv")
COLUMNS = REQUIRED + OPTIONAL
TEAM_COLUMNS = ("goal", "team_reference", "start_date", "end_date", "periods")
"""Columns repeated on every row of a team: they must agree within the team."""

# Outcome code -> what it means, in the school's words (the form's choices, in this order).
OUTCOMES: dict[str, str] = {
    "passed": "Bestået prøve",
    "failed": "Ikke bestået prøve",
    "absent": "Udeblevet fra prøven",
    "dropped-out": "Afbrudt forløbet",
    "dispensation": "Fritaget for prøven, målet nået",
    "dispensation-not-reached": "Fritaget for prøven, målet ikke nået",
    "goal-reached": "Målet nået (mål uden prøve)",
    "goal-not-reached": "Målet ikke nået (mål uden prøve)",
    "ikv": "IKV: udfald pr. mål i kolonnen ikv (40080/40081)",
    "pending": "Intet resultat endnu",
}
# Danish words a sheet may use instead of the codes (lower case, spaces as hyphens).
_OUTCOME_WORDS = {
    "bestået": "passed",
    "ikke-bestået": "failed",
    "udeblevet": "absent",
    "afbrudt": "dropped-out",
    "fritaget": "dispensation",
    "fritaget-ikke-nået": "dispensation-not-reached",
    "nået": "goal-reached",
    "målet-nået": "goal-reached",
    "ikke-nået": "goal-not-reached",
    "målet-ikke-nået": "goal-not-reached",
    "afventer": "pending",
}
IKV_RESULTS: dict[str, IkvResult] = {
    **{r.value: r for r in IkvResult},
    "bevis": IkvResult.AMU_CERTIFICATE,
    "kompetencebevis": IkvResult.COMPETENCE_CERTIFICATE,
    "uddannelsesplan": IkvResult.EDUCATION_PLAN,
}
_EXAM = {"passed": PartResult.PASSED, "failed": PartResult.FAILED, "absent": PartResult.ABSENT}

_DATE_FORMATS = ("%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y", "%d/%m/%Y")
_GOAL = re.compile(r"^[0-9]{5}$")
_XLSX_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True, slots=True)
class RowError:
    """What is wrong, in Danish: at ``line`` of the file (None: the file as a whole) and in
    ``column`` (None: the whole row). Never carries a CPR number."""

    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"linje {self.line}")
        if self.column is not None:
            where.append(f"kolonne {self.column}")
        return f"{', '.join(where).capitalize()}: {self.message}" if where else self.message


@dataclass(frozen=True, slots=True)
class Row:
    """One participant row: its line in the file and its cells as text (stripped; '' empty)."""

    line: int
    values: Mapping[str, str]

    def get(self, column: str) -> str:
        return self.values.get(column, "")


@dataclass(frozen=True, slots=True)
class FileTeam:
    """One team of the file as the API takes it, and the line of each participant."""

    request: TeamResultsIn
    lines: tuple[int, ...]
    first_line: int


class _RefusedError(Exception):
    """An unreadable file (internal: ``read_rows`` returns it as an error)."""


# -- reading --------------------------------------------------------------------------------


def read_rows(
    data: bytes, filename: str, *, max_rows: int = MAX_ROWS
) -> tuple[list[Row], list[RowError]]:
    """The participant rows of a CSV or ``.xlsx`` file (by its name's ending, checked against
    its content), or what is wrong with it. Empty rows are skipped. A file that cannot be read
    at all gives no rows and one error without a line."""
    try:
        table = _table(data, filename.lower().strip())
        return _rows(table, max_rows=max_rows)
    except _RefusedError as e:
        return [], [RowError(None, None, str(e))]


def _table(data: bytes, name: str) -> Iterator[tuple[int, list[str]]]:
    if not data:
        raise _RefusedError("Filen er tom.")
    if len(data) > MAX_BYTES:
        raise _RefusedError(f"Filen er større end {MAX_BYTES // (1024 * 1024)} MB.")
    if name.endswith(".xlsx"):
        if not data.startswith(_XLSX_MAGIC):
            raise _RefusedError("Filen hedder .xlsx, men er ikke et Excel-regneark (.xlsx).")
        return _xlsx_cells(data)
    if name.endswith((".csv", ".txt")):
        if data.startswith(_XLSX_MAGIC):
            raise _RefusedError("Filen er et regneark, ikke en CSV-fil: giv den endelsen .xlsx.")
        return _csv_cells(data)
    if name.endswith((".xls", ".ods", ".numbers")):
        raise _RefusedError(
            "Gem regnearket som .xlsx (Excel-projektmappe) eller .csv, og prøv igen."
        )
    raise _RefusedError("Filtypen kendes ikke: brug en .csv- eller .xlsx-fil.")


def _csv_cells(data: bytes) -> Iterator[tuple[int, list[str]]]:
    if b"\x00" in data:
        raise _RefusedError("Filen er ikke en tekstfil (CSV).")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")  # Excel's "CSV (semikolonsepareret)"
    header = text.split("\n", 1)[0]
    delimiter = ";" if header.count(";") > header.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        for cells in reader:
            yield reader.line_num, cells
    except csv.Error as e:
        raise _RefusedError(f"Linje {reader.line_num}: CSV-filen kan ikke læses ({e}).") from e


def _xlsx_cells(data: bytes) -> Iterator[tuple[int, list[str]]]:
    # Imported here: only an upload of a spreadsheet needs it.
    from openpyxl import load_workbook  # noqa: PLC0415

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError) as e:
        raise _RefusedError(
            "Regnearket kan ikke læses: gem det igen som .xlsx, og prøv igen."
        ) from e
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        if sheet is None:
            raise _RefusedError("Regnearket har ingen ark.")
        try:
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield number, [_cell_text(v) for v in values]
        except (zipfile.BadZipFile, KeyError, ValueError, TypeError) as e:
            raise _RefusedError("Regnearket kan ikke læses: gem det igen som .xlsx.") from e
    finally:
        workbook.close()


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _rows(
    table: Iterator[tuple[int, list[str]]], *, max_rows: int
) -> tuple[list[Row], list[RowError]]:
    header: list[str] | None = None
    header_line = 0
    rows: list[Row] = []
    errors: list[RowError] = []
    for line, cells in table:
        stripped = [c.strip() for c in cells]
        if not any(stripped):
            continue
        if header is None:
            header, header_line = [c.lower() for c in stripped], line
            errors.extend(_header_errors(header, line))
            if errors:
                return [], errors
            continue
        if len(rows) >= max_rows:
            return [], [RowError(line, None, f"Filen har flere end {max_rows} deltagerrækker.")]
        extra = [c for c in stripped[len(header) :] if c]
        if extra:
            errors.append(RowError(line, None, "Rækken har flere celler end overskriften."))
        values = {name: cell for name, cell in zip(header, stripped, strict=False) if name}
        rows.append(Row(line, values))
    if header is None:
        return [], [RowError(None, None, "Filen har ingen rækker: den er tom.")]
    if not rows:
        return [], [RowError(header_line, None, "Filen har en overskrift, men ingen deltagere.")]
    return rows, errors


def _header_errors(header: Sequence[str], line: int) -> list[RowError]:
    errors = []
    seen: set[str] = set()
    for name in header:
        if not name:
            continue
        if name not in COLUMNS:
            errors.append(
                RowError(line, name, f"Kolonnen kendes ikke. Brug: {', '.join(COLUMNS)}.")
            )
        elif name in seen:
            errors.append(RowError(line, name, "Kolonnen står der to gange."))
        seen.add(name)
    errors.extend(
        RowError(line, name, "Kolonnen mangler i overskriften.")
        for name in REQUIRED
        if name not in seen
    )
    return errors


# -- from rows to teams ---------------------------------------------------------------------


@dataclass
class _Team:
    first: Row
    start: dt.date
    end: dt.date
    periods: list[PeriodIn] | None
    participants: list[ParticipantIn] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    cprs: dict[str, int] = field(default_factory=dict)


def teams_from_rows(rows: Iterable[Row]) -> tuple[list[FileTeam], list[RowError]]:
    """The rows grouped into teams by (goal, team_reference), in the order they first appear,
    each a ``TeamResultsIn``; and every error, per line and column. A team with any error is
    left out of the teams (the errors say why); the team's columns must agree on every row."""
    teams: dict[tuple[str, str], _Team] = {}
    broken: set[tuple[str, str]] = set()
    errors: list[RowError] = []
    for row in rows:
        found: list[RowError] = []
        goal = _goal(row, found)
        reference = _text(row, "team_reference", found)
        key = (goal or row.get("goal"), reference or row.get("team_reference"))
        start = _date(row, "start_date", found)
        end = _date(row, "end_date", found)
        periods = _periods(row, found)
        participant = _participant(row, found)
        team = teams.get(key)
        if team is None and start and end and not found:
            team = teams[key] = _Team(row, start, end, periods)
        elif team is not None:
            found.extend(_disagreements(team, row, start, end, periods))
        if team is not None and participant is not None and not found:
            cpr = parse_cpr(participant.cpr, field="cpr")
            if cpr in team.cprs:
                found.append(
                    RowError(row.line, "cpr", f"Samme person som på linje {team.cprs[cpr]}.")
                )
            else:
                team.cprs[cpr] = row.line
                team.participants.append(participant)
                team.lines.append(row.line)
        if found:
            broken.add(key)
            errors.extend(found)
    result = []
    for key, team in teams.items():
        if key in broken:
            continue
        if len(team.participants) > MAX_PARTICIPANTS:
            errors.append(
                RowError(team.first.line, "team_reference", "Holdet har over 1000 deltagere.")
            )
            continue
        request = TeamResultsIn(
            team=TeamIn(
                reference=key[1], goal=key[0], start=team.start, end=team.end, periods=team.periods
            ),
            participants=team.participants,
        )
        # Every constraint of the API's own decoding, checked once more on what we built.
        try:
            checked = msgspec.convert(msgspec.to_builtins(request), TeamResultsIn)
        except msgspec.ValidationError as e:
            errors.append(RowError(team.first.line, None, f"Holdet kan ikke indberettes ({e})."))
            continue
        result.append(FileTeam(checked, tuple(team.lines), team.first.line))
    return result, errors


def _disagreements(
    team: _Team, row: Row, start: dt.date | None, end: dt.date | None, periods: object
) -> list[RowError]:
    first = team.first.line
    text = f"Afviger fra holdets første række (linje {first})."
    found = []
    if start is not None and start != team.start:
        found.append(RowError(row.line, "start_date", text))
    if end is not None and end != team.end:
        found.append(RowError(row.line, "end_date", text))
    if row.get("periods") and periods != team.periods:
        found.append(RowError(row.line, "periods", text))
    return found


def _goal(row: Row, errors: list[RowError]) -> str | None:
    value = row.get("goal")
    if not value:
        errors.append(RowError(row.line, "goal", "Målnummeret mangler."))
        return None
    if value.isdigit() and len(value) < 5:
        value = value.zfill(5)  # a spreadsheet drops leading zeros of a number
    if not _GOAL.match(value):
        errors.append(RowError(row.line, "goal", "Et målnummer er fem cifre, fx 45564."))
        return None
    return value


def _text(row: Row, column: str, errors: list[RowError]) -> str | None:
    value = row.get(column)
    if not value:
        errors.append(RowError(row.line, column, "Feltet mangler."))
        return None
    if len(value) > TEXT_MAX:
        errors.append(RowError(row.line, column, f"Højst {TEXT_MAX} tegn."))
        return None
    return value


def parse_date(value: str) -> dt.date | None:
    """A date written ISO (2026-03-06) or Danish (06-03-2026, 06.03.2026, 06/03/2026)."""
    for form in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(value.strip(), form).date()  # noqa: DTZ007 (a day)
        except ValueError:
            continue
    return None


def _date(
    row: Row, column: str, errors: list[RowError], *, required: bool = True
) -> dt.date | None:
    value = row.get(column)
    if not value:
        if required:
            errors.append(RowError(row.line, column, "Datoen mangler."))
        return None
    day = parse_date(value)
    if day is None:
        errors.append(
            RowError(row.line, column, "Ikke en dato: skriv fx 2026-03-06 eller 06-03-2026.")
        )
    return day


def _periods(row: Row, errors: list[RowError]) -> list[PeriodIn] | None:
    value = row.get("periods")
    if not value:
        return None
    periods = []
    for index, part in enumerate(p for p in re.split(r"[;\s]+", value) if p):
        start, sep, end = part.partition("..")
        first, last = parse_date(start), parse_date(end)
        if not sep or first is None or last is None:
            errors.append(
                RowError(
                    row.line,
                    "periods",
                    f"Periode {index + 1}: skriv start..slut, fx 2026-01-05..2026-01-09.",
                )
            )
            return None
        if last < first:
            errors.append(
                RowError(row.line, "periods", f"Periode {index + 1} slutter, før den begynder.")
            )
            return None
        periods.append(PeriodIn(first, last))
    return periods


def outcome_code(value: str) -> str | None:
    """The outcome code for a code or a Danish word (``bestået``), or None."""
    word = re.sub(r"[\s_]+", "-", value.strip().lower())
    return word if word in OUTCOMES else _OUTCOME_WORDS.get(word)


def _ikv(row: Row, errors: list[RowError]) -> list[IkvGoalIn] | None:
    value = row.get("ikv")
    if not value:
        errors.append(
            RowError(
                row.line, "ikv", "Skriv udfaldet pr. mål, fx 45564=bevis;48596=uddannelsesplan."
            )
        )
        return None
    found = []
    for part in (p for p in re.split(r"[;\s]+", value) if p):
        goal, sep, result = part.replace(":", "=").partition("=")
        outcome = IKV_RESULTS.get(result.strip().lower())
        if not sep or not _GOAL.match(goal.strip()) or outcome is None:
            errors.append(
                RowError(
                    row.line,
                    "ikv",
                    "Skriv mål=udfald, hvor udfald er bevis, kompetencebevis eller "
                    "uddannelsesplan.",
                )
            )
            return None
        found.append(IkvGoalIn(goal=goal.strip(), result=outcome))
    return found


def _participant(row: Row, errors: list[RowError]) -> ParticipantIn | None:
    before = len(errors)
    cpr = row.get("cpr")
    if not cpr:
        errors.append(RowError(row.line, "cpr", "CPR-nummeret mangler."))
    else:
        if cpr.isdigit() and len(cpr) == 9:
            cpr = cpr.zfill(10)  # a spreadsheet drops a leading zero of a number
        try:
            parse_cpr(cpr, field="cpr")
        except InvalidInputError:
            errors.append(
                RowError(row.line, "cpr", "Ikke et CPR-nummer: skriv ddmmåå-xxxx (10 cifre).")
            )
    name = _text(row, "name", errors)
    exam_date = _date(row, "exam_date", errors, required=False)
    code = outcome_code(row.get("outcome"))
    if code is None:
        errors.append(
            RowError(
                row.line,
                "outcome",
                "Resultatet mangler eller kendes ikke. Brug: " + ", ".join(OUTCOMES) + ".",
            )
        )
    if row.get("exam_date") and code not in _EXAM:
        errors.append(
            RowError(
                row.line,
                "exam_date",
                "Kun en bestået, ikke bestået eller udeblevet prøve har en prøvedato.",
            )
        )
    ikv = _ikv(row, errors) if code == "ikv" else None
    if code != "ikv" and row.get("ikv"):
        errors.append(RowError(row.line, "ikv", "Kun resultatet ikv har udfald pr. mål."))
    if len(errors) > before or code is None or name is None:
        return None
    return _with_outcome(ParticipantIn(cpr=cpr, name=name, exam_date=exam_date, ikv=ikv), code)


def _with_outcome(participant: ParticipantIn, code: str) -> ParticipantIn:
    """The participant with the facts an outcome code stands for."""
    replace = msgspec.structs.replace
    if code in _EXAM:
        return replace(participant, exam=_EXAM[code])
    if code in {"dispensation", "dispensation-not-reached"}:
        reached = code == "dispensation"
        return replace(
            participant,
            dispensation=DispensationIn(applied_by_participant=True, assessment_replaces_exam=True),
            judgement=Judgement.GOAL_REACHED if reached else Judgement.GOAL_NOT_REACHED,
        )
    if code == "goal-reached":
        return replace(participant, judgement=Judgement.GOAL_REACHED)
    if code == "goal-not-reached":
        return replace(participant, judgement=Judgement.GOAL_NOT_REACHED)
    if code == "dropped-out":
        return replace(participant, dropped_out=True)
    return participant  # pending, ikv (its outcomes are the ikv list)


# -- from an API field back to the file ------------------------------------------------------

_PARTICIPANT_FIELD = re.compile(r"^participants\[(\d+)\]\.?(.*)$")


def column_of(api_field: str) -> str | None:
    """The file's column for a field as the API names it (``team.end`` -> ``end_date``,
    ``participants[0].attempts[0].heldOn`` -> ``exam_date``), or None."""
    rest = api_field
    if match := _PARTICIPANT_FIELD.match(api_field):
        rest = match.group(2)
    rest = rest.removeprefix("team.")
    head = re.split(r"[.\[]", rest, maxsplit=1)[0]
    return {
        "goal": "goal",
        "reference": "team_reference",
        "start": "start_date",
        "end": "end_date",
        "periods": "periods",
        "cpr": "cpr",
        "name": "name",
        "examDate": "exam_date",
        "attempts": "exam_date" if rest.endswith("heldOn") else "outcome",
        "exam": "outcome",
        "dispensation": "outcome",
        "judgement": "outcome",
        "droppedOut": "outcome",
        "examSkipped": "outcome",
        "enrolment": "outcome",
        "ikv": "ikv",
    }.get(head)


def locate(team: FileTeam, api_field: str | None) -> tuple[int, str | None]:
    """The (line, column) of ``team`` that a refusal naming ``api_field`` is about: a
    participant's own line, or the team's first line for the team's fields."""
    if api_field and (match := _PARTICIPANT_FIELD.match(api_field)):
        index = int(match.group(1))
        if index < len(team.lines):
            return team.lines[index], column_of(api_field)
    return team.first_line or (team.lines[0] if team.lines else 0), column_of(api_field or "")
