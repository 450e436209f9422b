"""A school's results from a file, in bulk (docs/import-results.md)::

amu-bevis import-results FILE --school 751234 [--refused-file OUT.csv]

One row per participant (the layout of ``issuers.results_file``: CSV or ``.xlsx``). Rows are
grouped into teams; every team the school has not reported yet is issued through the same
rules and signing as the API (``issuers.bulk_issuing``), 50 teams per transaction. A team the
register already holds is counted as already present, so a rerun after a crash continues where
it stopped. Refused rows go to the refused file (default ``FILE.refused.csv``) with their line,
column and reason; no CPR number is ever printed or written there. Exit 0 when every team was
issued or already present, 1 when anything was refused, 2 when nothing could be issued.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from issuers import results_file
from issuers.bulk_issuing import IN_FLIGHT, BatchOutcome, BulkIssuer, Refusal, TeamToImport
from issuers.errors import IssuingError
from registry import db
from registry.clock import system_clock
from service import migrations
from service.adapters import key_store_for
from service.app import certifier_for
from service.cli_options import institution_number
from service.settings import Settings

COMMANDS = ("import-results",)
MAX_ROWS = 1_000_000  # a whole term of a large school, or its history, in one file
# The file reader takes at most results_file.MAX_BYTES at a time (an upload's limit): a larger
# CSV is read in pieces of whole lines, each under the header, with the lines renumbered.
CHUNK_BYTES = results_file.MAX_BYTES // 2


def add_commands(commands: Any) -> None:
    """Add ``import-results`` to the CLI's subparsers."""
    parser = commands.add_parser(
        "import-results", help="issue a file of results (one row per participant) in bulk"
    )
    parser.add_argument("file", type=Path, metavar="FILE", help="a .csv or .xlsx file")
    parser.add_argument(
        "--school", required=True, type=institution_number, help="the school's institution number"
    )
    parser.add_argument(
        "--refused-file",
        type=Path,
        help="where refused rows are written (default: FILE.refused.csv)",
    )


@dataclass(slots=True)
class Summary:
    """The run's counts, and every refused row."""

    teams: int = 0
    certificates: int = 0
    participants: int = 0
    present: int = 0
    refused_teams: int = 0
    refused: list[Refusal] = field(default_factory=list)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Import the file into the settings' database; return the exit code."""
    return asyncio.run(_run(args, settings))


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    err = Console(stderr=True, highlight=False)
    path: Path = args.file
    refused_file: Path = args.refused_file or path.with_name(path.name + ".refused.csv")
    try:
        data = await asyncio.to_thread(path.read_bytes)
    except OSError as e:
        err.print(f"[red]FILE: cannot be read ({escape(e.strerror or str(e))})[/red]")
        return 2
    summary = Summary()
    rows, errors = _read(data, path.name)
    teams, more = results_file.teams_from_rows(rows)
    file_errors = [*errors, *more]
    summary.refused.extend(Refusal(e.line, e.column or "", e.message) for e in file_errors)
    summary.refused_teams += _teams_of(rows, file_errors)
    if settings.database_url is None:
        raise ValueError("the CLI resolves the database before running a command")
    pool = await db.create_pool(
        settings.database_url, schema=settings.database_schema, size=IN_FLIGHT
    )
    try:
        async with pool.acquire() as conn:
            await migrations.require_current(conn)
        bulk = BulkIssuer(pool, certifier_for(settings, key_store_for(settings)), system_clock)
        await _issue(bulk, args.school, teams, summary, err)
    except IssuingError as e:
        err.print(f"[red]{escape(f'--school: {e}' if e.field == 'school' else str(e))}[/red]")
        _report(summary, refused_file, err)
        return 2
    finally:
        await pool.close()
    _report(summary, refused_file, err)
    return 1 if summary.refused else 0


async def _issue(
    bulk: BulkIssuer,
    school: str,
    teams: Sequence[results_file.FileTeam],
    summary: Summary,
    err: Console,
) -> None:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]} participants/s"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    total = sum(len(t.lines) for t in teams)
    with Progress(*columns, console=err) as bar:
        task = bar.add_task("Importing participants", total=total, rate="-")

        def batch_done(batch: Sequence[TeamToImport], _outcome: BatchOutcome) -> None:
            bar.advance(task, sum(len(t.lines) for t in batch))
            speed = bar.tasks[0].speed
            bar.update(task, rate=f"{speed:,.0f}" if speed else "-")

        outcome = await bulk.import_teams(
            school, [TeamToImport(t.request, t.lines) for t in teams], progress=batch_done
        )
    summary.teams += outcome.issued_teams
    summary.certificates += outcome.certificates
    summary.participants += outcome.participants
    summary.present += outcome.present_teams
    summary.refused_teams += len(outcome.refused)
    summary.refused.extend(r for _team, r in outcome.refused)


def _read(data: bytes, name: str) -> tuple[list[results_file.Row], list[results_file.RowError]]:
    """``results_file.read_rows`` over a file of any size (a CSV past the reader's limit in
    pieces; a workbook is read whole, within the limit)."""
    if len(data) <= CHUNK_BYTES or name.lower().endswith(".xlsx"):
        return results_file.read_rows(data, name, max_rows=MAX_ROWS)
    lines = data.splitlines(keepends=True)
    header = lines[0] if lines[0].endswith((b"\n", b"\r")) else lines[0] + b"\n"
    rows: list[results_file.Row] = []
    errors: list[results_file.RowError] = []
    first = 1  # index into lines of the piece's first data line (file line first + 1)
    while first < len(lines):
        end, size = first, len(header)
        while end < len(lines) and (end == first or size + len(lines[end]) <= CHUNK_BYTES):
            size += len(lines[end])
            end += 1
        if any(line.strip() for line in lines[first:end]):
            got, wrong = results_file.read_rows(
                header + b"".join(lines[first:end]), name, max_rows=MAX_ROWS
            )
            shift = first - 1  # the piece's line 2 is the file's line first + 1
            rows.extend(results_file.Row(r.line + shift, r.values) for r in got)
            errors.extend(
                results_file.RowError(
                    None if e.line is None else e.line + shift, e.column, e.message
                )
                for e in wrong
            )
        first = end
    return rows, errors


def _teams_of(rows: Sequence[results_file.Row], errors: Sequence[results_file.RowError]) -> int:
    """How many teams the file's errors refuse (a row's team is its goal and reference)."""
    by_line = {row.line: (row.get("goal"), row.get("team_reference")) for row in rows}
    keys = {by_line.get(e.line, ("", f"line {e.line}")) for e in errors if e.line is not None}
    return len(keys) + (1 if any(e.line is None for e in errors) and not keys else 0)


def _report(summary: Summary, refused_file: Path, err: Console) -> None:
    err.print(
        f"Issued {summary.teams} teams ({summary.participants} participants, "
        f"{summary.certificates} certificates); already present {summary.present} teams; "
        f"refused {summary.refused_teams} teams ({len(summary.refused)} rows)",
        soft_wrap=True,
    )
    if not summary.refused:
        return
    with refused_file.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(("line", "field", "reason"))
        ordered = sorted(summary.refused, key=lambda r: (r.line is None, r.line or 0))
        for r in ordered:
            writer.writerow(("" if r.line is None else r.line, r.field, r.reason))
    err.print(f"[yellow]Refused rows: {escape(str(refused_file))}[/yellow]", soft_wrap=True)
