"""Indberet hold: a school reports a team in the browser, by form (``/skole/hold/ny``) or by
uploading a CSV or ``.xlsx`` file (``/skole/hold/upload``), sees what the rules decide first,
and then reports it (``/skole/hold/indberet``).

Nothing is stored until "Indberet". A preview with nothing refused keeps the checked requests
in the browser's server-side session with a one-time random key, which the preview's form
carries; reporting sends each team through ``Issuer.issue_team``, the API's own path, with an
idempotency key made from that key. A double click or a reload therefore reports nothing
twice: the repeat gets the first answer. A registrar or an administrator may report.

The file layout and its parsing are ``issuers.results_file`` (shared with the bulk import);
the preview is ``issuers.team_preview`` (the rules engine, nothing written).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from typing import Any

import asyncpg
import msgspec
from litestar import Controller, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.response import Template

from issuers import catalogue_store, results_file, school_store, team_preview
from issuers.cpr import mask
from issuers.errors import ConflictError, IdempotencyConflictError, IssuingError
from issuers.idempotency import IdempotentRequest
from issuers.issuing import Issuer
from issuers.requests import TeamResultsIn, TeamResultsOut
from issuers.results_file import FileTeam, Row, RowError
from issuers.rules import Assessment, DocumentKind
from registry.clock import Clock, today_in_denmark
from registry.db import Connection
from service.pages import view
from service.pages.school import RESULT_TEXT
from service.pages.web import Page

PENDING = "team_report"  # in the session: the previewed requests and their one-time key
ROUTE = "/skole/hold/indberet"
ROWS = 5  # empty participant rows on a new form; "Flere rækker" adds as many again
MAX_FORM_ROWS = 200
PERIODS = 3  # period rows for a split course
GOALS_LISTED = 200
UPLOAD_MAX_BYTES = results_file.MAX_BYTES + 64 * 1024  # the file, its multipart wrapping, CSRF
UPLOAD_BODY_LIMIT = 2 * UPLOAD_MAX_BYTES  # above this Litestar answers 413 unread

DOCUMENT_TEXT = {
    DocumentKind.AMU_CERTIFICATE: "AMU-bevis",
    DocumentKind.IKV_ACTIVITY_CERTIFICATE: "Bevis for IKV-forløbet",
    DocumentKind.PARTICIPATION_DOCUMENT: "Deltagerbevis",
    DocumentKind.COMPETENCE_CERTIFICATE: "Kompetencebevis",
    DocumentKind.EDUCATION_PLAN: "Uddannelsesplan",
    DocumentKind.COMBINED_DOCUMENT: "Samlet bevis",
}
COLUMN_TEXT = {
    "goal": "Mål",
    "team_reference": "Holdreference",
    "start_date": "Startdato",
    "end_date": "Slutdato",
    "periods": "Perioder",
    "cpr": "CPR-nummer",
    "name": "Navn",
    "outcome": "Resultat",
    "exam_date": "Prøvedato",
    "ikv": "IKV-udfald",
}
# The engine's refusals (issuers.rules, rule codes) in the school's words.
RULE_TEXT = {
    "dispensation-after-collective-shortening": (
        "Deltagere på et kollektivt afkortet forløb kan ikke fritages for prøven."
    ),
    "dispensation-without-attached-exam": (
        "Målet havde ingen prøve ved holdets start: vælg målet nået eller målet ikke nået."
    ),
    "exam-result-without-attached-exam": (
        "Målet havde ingen prøve ved holdets start: vælg målet nået eller målet ikke nået."
    ),
    "attempt-in-future": "Prøvedatoen ligger i fremtiden.",
    "exam-parts-mismatch": (
        "Målets prøve har flere prøvedele. Indberet dem hver for sig gennem skolens API."
    ),
    "result-before-course-end": "Resultatet ligger før forløbets slutdato.",
    "exam-before-course-start": "Prøvedatoen ligger før holdets startdato.",
    "exam-outside-window": "Prøvedatoen ligger uden for den tilladte periode for prøven.",
    "date-out-of-range": "Datoen skal ligge fra 1990 og højst et år frem.",
    "unknown-goal": "Målet findes ikke i målkataloget.",
    "ikv-outcome-outside-ikv-goal": "IKV-udfald hører kun til mål 40080 og 40081.",
    "teacher-judgement-on-ikv-goal": (
        "Mål 40080 og 40081 bedømmes med IKV-udfald pr. mål: vælg resultatet IKV."
    ),
    "ikv-outcome-for-ikv-goal": "En IKV vurderer andre mål end 40080 og 40081.",
    "duplicate-ikv-outcome": "Hvert mål må kun have ét IKV-udfald.",
    "invalid-period": "En periode slutter, før den begynder.",
    "authority-exam-not-applicable": "Målets prøve holdes ikke af en anden myndighed.",
}
# Input checks (issuers.inputs), by the file's column.
INPUT_TEXT = {
    "goal": "Målet findes ikke i målkataloget.",
    "team_reference": "Holdreferencen kan ikke bruges: højst 200 almindelige tegn.",
    "start_date": "Datoen skal ligge fra 1990 og højst et år frem.",
    "end_date": "Slutdatoen ligger før startdatoen eller mere end et år frem.",
    "periods": "Perioderne skal ligge inden for holdets start- og slutdato.",
    "cpr": "Ikke et gyldigt CPR-nummer (eller en fødselsdato i fremtiden).",
    "name": "Navnet kan ikke bruges: brug bogstaver, højst 200 tegn.",
}
_SCHOOL_CLOSED = "Skolen er lukket for indberetning. Kontakt registrets drift."
_STALE = (
    "Forhåndsvisningen er ikke længere gyldig",
    (
        "Indberetningen hører til en ældre forhåndsvisning. Udfyld eller upload holdet igen, "
        "se forhåndsvisningen, og tryk så Indberet."
    ),
)
_GOAL_PREFIX = re.compile(r"^\s*([0-9]{1,5})\b")


# -- what the school sees ----------------------------------------------------------------


def problem_text(problem: team_preview.Problem) -> str:
    """A refusal of the preview or of reporting, in Danish."""
    if problem.field == "school":
        return _SCHOOL_CLOSED
    if problem.rule in RULE_TEXT:
        return RULE_TEXT[problem.rule]
    column = results_file.column_of(problem.field)
    if problem.rule is None and "same person" in problem.message:
        return "Samme person står to gange på holdet."
    if problem.rule is None and column in INPUT_TEXT:
        return INPUT_TEXT[column]
    return f"Reglerne tillader det ikke (regel {problem.rule or 'inddata'})."


def _decision(assessment: Assessment) -> dict[str, Any]:
    category = assessment.category.number if assessment.category is not None else None
    result = (
        RESULT_TEXT.get((assessment.group.number, category), "")
        if category is not None
        else "Intet slutresultat endnu"
    )
    d = assessment.deadlines
    deadlines = [
        (label, view.day(day))
        for label, day in (
            ("Bevis senest", d.certificate_by),
            ("Resultat meddelt senest", d.result_notice_by),
            ("Klagefrist", d.complaint_by),
            ("Omprøve senest", d.retake_by),
        )
        if day is not None
    ]
    return {
        "group": assessment.group.number,
        "category": category,
        "result": result,
        "certificate": any(
            doc.kind in (DocumentKind.AMU_CERTIFICATE, DocumentKind.IKV_ACTIVITY_CERTIFICATE)
            and not doc.optional
            for doc in assessment.documents
        ),
        "documents": [
            DOCUMENT_TEXT.get(doc.kind, doc.kind.value)
            + (f" ({', '.join(doc.goals)})" if doc.goals != (assessment.goal,) else "")
            + (" – frivilligt" if doc.optional else "")
            for doc in assessment.documents
        ],
        "deadlines": deadlines,
    }


def _error_line(error: RowError, *, file: bool = False) -> dict[str, Any]:
    """An error as a page shows it: a file's column by its name in the file, a form's in
    words."""
    column = error.column
    if column is not None:
        column = f"kolonne {column}" if file else COLUMN_TEXT.get(column, column)
    return {"line": error.line, "column": column, "message": error.message}


async def _previews(
    conn: Connection, school_id: str, teams: Sequence[FileTeam], today: Any
) -> tuple[list[dict[str, Any]], list[RowError], list[TeamResultsIn]]:
    """Each team as the preview shows it, the rules' refusals located in the file, and the
    checked requests (for the session when nothing is refused)."""
    shown, errors, checked = [], [], []
    for team in teams:
        found = await team_preview.preview_team(conn, school_id, team.request, today=today)
        own = [
            RowError(*results_file.locate(team, p.field), problem_text(p)) for p in found.problems
        ]
        mine = list(own)
        rows = []
        for p, line in zip(found.participants, team.lines, strict=True):
            problems = [
                RowError(*results_file.locate(team, q.field), problem_text(q)) for q in p.problems
            ]
            mine.extend(problems)
            rows.append(
                {
                    "line": line,
                    "name": p.name,
                    "cpr": mask(found.request.participants[p.index].cpr),
                    "decision": _decision(p.assessment) if p.assessment is not None else None,
                    "errors": [_error_line(e) for e in problems],
                }
            )
        request = found.request
        shown.append(
            {
                "reference": request.team.reference,
                "goal": request.team.goal,
                "goal_title": found.goal_title,
                "period": f"{view.day(request.team.start)} – {view.day(request.team.end)}",
                "periods": [
                    f"{view.day(p.start)} – {view.day(p.end)}" for p in request.team.periods or []
                ],
                "errors": [_error_line(e) for e in own],
                "participants": rows,
                "ok": found.ok,
            }
        )
        errors.extend(mine)
        checked.append(request)
    return shown, errors, checked


def _keep_pending(page: Page, requests: Sequence[TeamResultsIn]) -> str:
    key = secrets.token_urlsafe(18)
    page.keep(PENDING, {"key": key, "teams": [msgspec.json.encode(r).decode() for r in requests]})
    return key


# -- the form ------------------------------------------------------------------------------

_TEAM_FIELDS = {
    "goal": "maal",
    "team_reference": "hold",
    "start_date": "start",
    "end_date": "slut",
    "periods": "periode_start_0",
}
_ROW_FIELDS = {
    "cpr": "cpr",
    "name": "navn",
    "outcome": "resultat",
    "exam_date": "proevedato",
    "ikv": "ikv",
}


def _count(value: str | None, default: int, most: int) -> int:
    try:
        return max(1, min(most, int(value or default)))
    except ValueError:
        return default


def _rows_of_form(form: dict[str, str], count: int) -> list[Row]:
    goal = form.get("maal", "").strip()
    if match := _GOAL_PREFIX.match(goal):
        goal = match.group(1)  # "45564 Svejsning" from the list: the number
    periods = ";".join(
        f"{form.get(f'periode_start_{i}', '').strip()}..{form.get(f'periode_slut_{i}', '').strip()}"
        for i in range(PERIODS)
        if form.get(f"periode_start_{i}", "").strip() or form.get(f"periode_slut_{i}", "").strip()
    )
    team = {
        "goal": goal,
        "team_reference": form.get("hold", "").strip(),
        "start_date": form.get("start", "").strip(),
        "end_date": form.get("slut", "").strip(),
        "periods": periods,
    }
    rows = []
    for i in range(count):
        values = {
            column: form.get(f"{name}_{i}", "").strip() for column, name in _ROW_FIELDS.items()
        }
        if any(values.values()):
            rows.append(Row(i + 1, {**team, **values}))
    return rows


def _form_errors(errors: Sequence[RowError]) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """The errors by form field name (the first per field) and as a summary with links."""
    by_field: dict[str, str] = {}
    summary = []
    for e in errors:
        column = e.column or ""
        if column in _TEAM_FIELDS:
            name = _TEAM_FIELDS[column]
            where = COLUMN_TEXT[column]
        elif column in _ROW_FIELDS and e.line:
            name = f"{_ROW_FIELDS[column]}_{e.line - 1}"
            where = f"Deltager {e.line}, {COLUMN_TEXT[column].lower()}"
        else:
            name = "deltagere" if e.line else "maal"
            where = f"Deltager {e.line}" if e.line else "Holdet"
        if name in by_field:
            continue
        by_field[name] = e.message
        summary.append({"field": name, "where": where, "message": e.message})
    return by_field, summary


async def _goal_choices(conn: Connection, search: str) -> list[dict[str, str]]:
    words = search.split()[:10]
    found = await catalogue_store.search(conn, words, limit=GOALS_LISTED, after=None)
    return [{"number": g.goal.number, "title": g.goal.title} for g in found if not g.closed]


async def _form_page(
    page: Page,
    conn: Connection,
    school_id: str,
    *,
    form: dict[str, str] | None = None,
    count: int = ROWS,
    errors: Sequence[RowError] = (),
    preview: list[dict[str, Any]] | None = None,
    key: str | None = None,
    status_code: int = 200,
) -> Template:
    school = await school_store.school(conn, school_id)
    if school is None:
        raise NotFoundException
    search = page.request.query_params.get("soeg", "")[:200]
    by_field, summary = _form_errors(errors)
    return page.render(
        "school_report.html",
        {
            "school": school,
            "search": search,
            "goals": await _goal_choices(conn, search),
            "entered": form or {},
            "rows": range(count),
            "count": count,
            "periods": range(PERIODS),
            "outcomes": results_file.OUTCOMES,
            "errors": by_field,
            "summary": summary,
            "preview": preview,
            "key": key,
        },
        status_code=status_code,
    )


async def _reporter(page: Page, conn: Connection) -> str:
    """The school of the registrar or administrator on this page."""
    return (await page.current_staff(conn, "registrar")).subject


class SchoolReportPages(Controller):
    path = "/skole/hold"

    @get("/ny")
    async def form_page(
        self, *, page: NamedDependency[Page], pool: NamedDependency[asyncpg.Pool]
    ) -> Template:
        """The form to report a team (``?soeg=``: goals of the catalogue to pick from)."""
        async with pool.acquire() as conn:
            school_id = await _reporter(page, conn)
            return await _form_page(page, conn, school_id)

    @post("/ny", status_code=200)
    async def preview_form(
        self,
        *,
        page: NamedDependency[Page],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
    ) -> Template:
        """More empty rows, or the preview of the team entered: what the rules decide and
        every bad field, nothing stored."""
        form = await page.form()
        count = _count(form.get("raekker"), ROWS, MAX_FORM_ROWS)
        async with pool.acquire() as conn:
            school_id = await _reporter(page, conn)
            if form.get("handling") == "flere":
                count = min(MAX_FORM_ROWS, count + ROWS)
                return await _form_page(page, conn, school_id, form=form, count=count)
            rows = _rows_of_form(form, count)
            if not rows:
                errors = [RowError(1, "cpr", "Udfyld mindst én deltager.")]
                return await _form_page(
                    page, conn, school_id, form=form, count=count, errors=errors, status_code=400
                )
            teams, errors = results_file.teams_from_rows(rows)
            preview, refused, checked = await _previews(
                conn, school_id, teams, today_in_denmark(clock())
            )
            errors = [*errors, *refused]
            key = _keep_pending(page, checked) if not errors and checked else None
            return await _form_page(
                page,
                conn,
                school_id,
                form=form,
                count=count,
                errors=errors,
                preview=preview,
                key=key,
                status_code=400 if errors else 200,
            )

    @get("/upload")
    async def upload_page(
        self, *, page: NamedDependency[Page], pool: NamedDependency[asyncpg.Pool]
    ) -> Template:
        """The form to upload a CSV or .xlsx file of teams."""
        async with pool.acquire() as conn:
            school_id = await _reporter(page, conn)
            school = await school_store.school(conn, school_id)
        return page.render("school_report_upload.html", _upload_values(school))

    @post("/upload", status_code=200, request_max_body_size=UPLOAD_BODY_LIMIT)
    async def preview_upload(
        self,
        *,
        page: NamedDependency[Page],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
    ) -> Template:
        """The preview of every team in the file, or what is wrong with the file."""
        form = await page.request.form()
        upload = form.get("fil")
        async with pool.acquire() as conn:
            school_id = await _reporter(page, conn)
            school = await school_store.school(conn, school_id)
            if not isinstance(upload, UploadFile) or not upload.filename:
                errors = [RowError(None, None, "Vælg en fil at uploade.")]
                return _upload_refused(page, school, errors)
            data = await upload.read(results_file.MAX_BYTES + 1)
            rows, errors = results_file.read_rows(data, upload.filename)
            if not rows:
                return _upload_refused(page, school, errors)
            teams, more = results_file.teams_from_rows(rows)
            preview, refused, checked = await _previews(
                conn, school_id, teams, today_in_denmark(clock())
            )
        errors = [*errors, *more, *refused]
        key = _keep_pending(page, checked) if not errors and checked else None
        return page.render(
            "school_report_preview.html",
            {
                **_upload_values(school),
                "filename": upload.filename,
                "preview": preview,
                "errors": [_error_line(e, file=True) for e in sorted(errors, key=_order)],
                "key": key,
            },
            status_code=400 if errors else 200,
        )

    @post("/indberet", status_code=200)
    async def commit(
        self,
        *,
        page: NamedDependency[Page],
        pool: NamedDependency[asyncpg.Pool],
        issuer: NamedDependency[Issuer],
    ) -> Template:
        """Report the previewed teams through the API's path, each once: a repeat of the same
        preview's key answers what the first did."""
        form = await page.form()
        async with pool.acquire() as conn:
            school_id = await _reporter(page, conn)
        pending = page.kept(PENDING)
        if (
            not isinstance(pending, dict)
            or not isinstance(pending.get("key"), str)
            or not secrets.compare_digest(pending["key"], form.get("noegle", ""))
        ):
            return page.error(409, message=_STALE)
        key: str = pending["key"]
        reported = []
        for index, body in enumerate(pending.get("teams") or []):
            raw = str(body).encode()
            request = msgspec.json.decode(raw, type=TeamResultsIn)
            write = IdempotentRequest(school_id, f"side-{key}-{index}", raw, "POST", ROUTE, ROUTE)
            try:
                issued = await issuer.issue_team(write, request)
            except IssuingError as e:
                reported.append(_refused_team(request, e))
                continue
            reported.append(_issued_team(request, issued.answer))
        return page.render(
            "school_report_done.html",
            {"teams": reported, "all_ok": all(t["ok"] for t in reported)},
            status_code=200 if all(t["ok"] for t in reported) else 409,
        )


def _order(error: RowError) -> tuple[int, str]:
    return (error.line or 0, error.column or "")


def _upload_values(school: school_store.SchoolRow | None) -> dict[str, Any]:
    if school is None:
        raise NotFoundException
    return {
        "school": school,
        "columns": results_file.COLUMNS,
        "required": results_file.REQUIRED,
        "outcomes": results_file.OUTCOMES,
        "max_mb": results_file.MAX_BYTES // (1024 * 1024),
        "max_rows": results_file.MAX_ROWS,
    }


def _upload_refused(
    page: Page, school: school_store.SchoolRow | None, errors: Sequence[RowError]
) -> Template:
    return page.render(
        "school_report_upload.html",
        {**_upload_values(school), "errors": [_error_line(e, file=True) for e in errors]},
        status_code=400,
    )


def _refused_team(request: TeamResultsIn, e: IssuingError) -> dict[str, Any]:
    if isinstance(e, ConflictError) and e.field == "team.reference":
        text = "Holdet er allerede indberettet for målet. Brug en ny holdreference."
    elif isinstance(e, IdempotencyConflictError):
        text = "Indberetningen kunne ikke genkendes. Start forfra med en ny forhåndsvisning."
    else:
        text = problem_text(team_preview.Problem(e.field or "", getattr(e, "rule", None), str(e)))
    return {
        "reference": request.team.reference,
        "goal": request.team.goal,
        "ok": False,
        "error": text,
        "participants": [],
    }


def _issued_team(request: TeamResultsIn, answer: TeamResultsOut) -> dict[str, Any]:
    return {
        "reference": request.team.reference,
        "goal": request.team.goal,
        "ok": True,
        "error": None,
        "participants": [
            {
                "name": p.name,
                "result": RESULT_TEXT.get((p.result_group, p.result_category or 0))
                if p.result_category
                else "Intet slutresultat endnu",
                "numbers": [c.number for c in p.certificates],
            }
            for p in answer.participants
        ],
    }
