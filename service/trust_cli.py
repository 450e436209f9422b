"""The register's trust commands of ``amu-bevis`` (docs/registry.md)::

amu-bevis rotate-key --school 751234           retire a school's key, add a new one
amu-bevis rotate-log-key                       the same for the register's checkpoint key
amu-bevis revoke-key KID --from 2026-05-01     a compromised key: mark what it signed since
amu-bevis retention [--apply]                  what is past 30 years; --apply erases it
amu-bevis audit --checkpoint FILE              check everything from a saved checkpoint
    [--outside-checkpoints FILE]               and against the checkpoints kept outside
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import asyncpg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from issuers import retention
from registry import audit, db, keyhistory
from registry.clock import system_clock
from registry.errors import RegistryError
from registry.keyhistory_store import KeyTable
from registry.keys import FileKeyStore
from registry.transparency import copies
from registry.transparency.checkpoint import NoteVerifier
from registry.transparency.copies import FileCheckpointCopies
from service import migrations
from service.cli_options import institution_number
from service.settings import Settings

COMMANDS = ("rotate-key", "rotate-log-key", "revoke-key", "retention", "audit")
_SHOWN = 20  # certificate numbers listed in a report before "and N more"


def add_commands(commands: Any) -> None:
    """Add the trust subcommands to the CLI's subparsers."""
    rotate = commands.add_parser("rotate-key", help="retire a school's signing key, add a new one")
    rotate.add_argument(
        "--school", required=True, type=institution_number, help="the school's institution number"
    )
    commands.add_parser("rotate-log-key", help="retire the register's checkpoint key, add one")
    revoke = commands.add_parser("revoke-key", help="revoke a compromised key from a date")
    revoke.add_argument("kid", help="the key id (a school key or a log key)")
    revoke.add_argument(
        "--from",
        dest="revoked_from",
        required=True,
        type=_moment,
        help="YYYY-MM-DD (midnight UTC) or an ISO date-time with offset",
    )
    keep = commands.add_parser("retention", help="report (or --apply) the 30-year retention")
    keep.add_argument("--apply", action="store_true", help="erase the personal data past it")
    check = commands.add_parser("audit", help="verify the register from a saved checkpoint")
    check.add_argument("--checkpoint", required=True, type=Path, help="a saved signed checkpoint")
    check.add_argument(
        "--verifier-key", help="the log key to trust (C2SP vkey); default: the register's keys"
    )
    check.add_argument(
        "--outside-checkpoints",
        type=Path,
        help=f"the checkpoints the service kept outside the database; default: "
        f"{copies.FILE_NAME} in the data folder",
    )


def _moment(text: str) -> dt.datetime:
    try:
        if len(text) == 10:
            return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), dt.UTC)
        moment = dt.datetime.fromisoformat(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError("not a date (YYYY-MM-DD) or ISO date-time") from e
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError("a date-time needs its UTC offset")
    return moment


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run one trust subcommand against the settings' database; return the exit code."""
    return asyncio.run(_run(args, settings))


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    console = Console(highlight=False)
    if settings.database_url is None:
        raise ValueError("the CLI resolves the database before running a command")
    conn = await asyncpg.connect(
        settings.database_url, server_settings=db.schema_settings(settings.database_schema)
    )
    try:
        if args.command != "audit":  # the CLI migrated as the owner; the service's role cannot
            await migrations.require_current(conn)
        return await _dispatch(conn, args, settings, console)
    except RegistryError as e:
        console.print(f"[red]{e}[/red]")
        return 2
    finally:
        await conn.close()


async def _dispatch(
    conn: asyncpg.Connection, args: argparse.Namespace, settings: Settings, console: Console
) -> int:
    now = system_clock()
    if args.command == "audit":
        outside = args.outside_checkpoints or settings.data_dir / copies.FILE_NAME
        return await _audit(conn, args, outside, console)
    if args.command == "retention":
        report = await retention.run_retention(
            conn,
            now=now,
            apply=args.apply,
            print_retention=dt.timedelta(days=settings.delivery.print_retention_days),
        )
        _print_retention(report, console)
        return 0
    if settings.key_store == "memory":
        console.print("[red]Keys made now would die with this process: use AMU_KEY_STORE=file")
        return 2
    keys = FileKeyStore(settings.data_dir / "keys")
    if args.command == "revoke-key":
        revocation = await keyhistory.revoke(
            conn, keys, args.kid, revoked_from=args.revoked_from, now=now
        )
        console.print(
            f"Revoked {revocation.table} key {revocation.kid} from "
            f"{revocation.revoked_from.isoformat()}"
        )
        if revocation.successor is not None:
            console.print(f"It was active: new key {revocation.successor.kid} took over")
        if revocation.marked_certificates:
            _print_numbers("Marked (signed since)", revocation.marked_certificates, console)
        if revocation.marked_checkpoints:
            sizes = ", ".join(str(s) for s in revocation.marked_checkpoints)
            console.print(f"Checkpoints signed since, by tree size: {sizes}")
        return 0
    table: KeyTable = "school" if args.command == "rotate-key" else "log"
    new = await keyhistory.rotate_key(
        conn,
        keys,
        table,
        args.school if table == "school" else None,
        now=now,
        log_name=settings.log_origin,
    )
    retired = f", retired {new.replaced}" if new.replaced else ""
    console.print(f"{table} key of {new.owner}: new key {new.kid}{retired}")
    return 0


async def _audit(
    conn: asyncpg.Connection, args: argparse.Namespace, outside: Path, console: Console
) -> int:
    verifier = NoteVerifier.parse(args.verifier_key) if args.verifier_key else None
    note = args.checkpoint.read_bytes()
    kept = FileCheckpointCopies(outside).notes()
    if not kept:
        # Without them a truncated or rewound checkpoints table goes unseen: say so.
        console.print(f"[yellow]warning:[/yellow] no checkpoints kept outside at {outside}")
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task("Auditing leaves", total=await audit.tree_size(conn))
        report = await audit.audit(
            conn,
            note,
            verifier=verifier,
            progress=lambda n: bar.advance(task, n),
            outside=kept,
        )
    checkpoint = report.checkpoint
    saved = f"saved checkpoint of size {checkpoint.size}" if checkpoint else "no valid checkpoint"
    console.print(
        f"{report.leaves} leaves of {report.tree_size} and {report.certificates} certificates "
        f"checked ({report.erased} past retention: leaf only), from a {saved}"
    )
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")
    for finding in report.findings:
        console.print(f"[red]FAIL:[/red] {finding}")
    if report.ok:
        console.print("[green]The register is consistent with the saved checkpoint[/green]")
        return 0
    console.print(f"[red]{len(report.findings)} finding(s)[/red]")
    return 1


def _print_retention(report: retention.RetentionReport, console: Console) -> None:
    verb = "Erased" if report.applied else "Past retention (run with --apply to erase)"
    console.print(
        f"Retention as of {report.as_of}: kept {retention.RETENTION_YEARS} years after the exam"
    )
    _print_numbers(verb, [f"{d.number} (kept until {d.retain_until})" for d in report.due], console)
    console.print(f"Participations: {report.participations}")
    console.print(f"Participation and combined documents: {report.documents}")
    console.print(f"Print jobs with PDF and name past print retention: {report.print_jobs}")
    console.print(f"People whose e-Boks consents are past retention: {report.consents}")


def _print_numbers(title: str, items: list[str], console: Console) -> None:
    console.print(f"{title}: {len(items)}")
    for item in items[:_SHOWN]:
        console.print(f"  {item}")
    if len(items) > _SHOWN:
        console.print(f"  ... and {len(items) - _SHOWN} more")
