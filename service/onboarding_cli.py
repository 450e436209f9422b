"""The operators' commands of ``amu-bevis`` for putting the service into use (docs/catalogue.md)::

amu-bevis catalogue import FILE [--full]     load the goal catalogue (CSV or JSON Lines)
amu-bevis schools add --number 751234 --name NAME --cvr 29183746 --ownership public
    --signing-certificate CHAIN.pem --signing-key KEY.pem [--credential-file FILE]
amu-bevis schools list
amu-bevis schools disable NUMBER             refuse its credentials; what it issued stays valid

They connect as AMU_MIGRATION_DATABASE_URL's role, the tables' owner: the service's role may
only read the catalogue and cannot disable a school.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
from pathlib import Path
from typing import Any

import asyncpg
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from issuers import credentials, onboarding, school_store
from issuers.catalogue import Format, InvalidCatalogueError
from registry import db
from registry.clock import system_clock
from registry.keys import FileKeyStore
from service import migrations
from service.cli_options import operator
from service.settings import Settings

COMMANDS = ("catalogue", "schools")
_SHOWN = 20  # goal numbers listed per kind before "and N more"
_FORMATS: dict[str, Format] = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def add_commands(commands: Any) -> None:
    """Add the onboarding subcommands to the CLI's subparsers."""
    catalogue = commands.add_parser("catalogue", help="the AMU goal catalogue")
    catalogue_commands = catalogue.add_subparsers(dest="action", required=True)
    load = catalogue_commands.add_parser("import", help="import a catalogue file, all or nothing")
    load.add_argument("file", type=Path, help="a .csv or .jsonl file (docs/catalogue.md)")
    load.add_argument(
        "--full",
        action="store_true",
        help="the file is the whole catalogue: close the goals it does not list",
    )
    load.add_argument(
        "--format", choices=("csv", "jsonl"), help="default: from the file's extension"
    )
    schools = commands.add_parser("schools", help="onboard, list and disable schools")
    school_commands = schools.add_subparsers(dest="action", required=True)
    add = school_commands.add_parser("add", help="register a school with its signing certificate")
    add.add_argument("--number", required=True, help="institution number, 6 digits")
    add.add_argument("--name", required=True, help="the school's name as certificates show it")
    add.add_argument("--cvr", required=True, help="CVR number, 8 digits")
    add.add_argument("--ownership", required=True, help="public or private")
    add.add_argument(
        "--signing-certificate",
        required=True,
        type=Path,
        help="PEM: the school's document-signing certificate, then its issuing CA's",
    )
    add.add_argument(
        "--signing-key",
        required=True,
        type=Path,
        help="PEM: the certificate's unencrypted ECDSA P-256 private key",
    )
    add.add_argument(
        "--credential-file",
        type=Path,
        help="also make an API credential and write it to this new file (mode 0600)",
    )
    school_commands.add_parser("list", help="every school, disabled ones marked")
    disable = school_commands.add_parser("disable", help="refuse a school's credentials")
    disable.add_argument("number", help="the school's institution number")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run one onboarding subcommand as the tables' owner; return the exit code."""
    return asyncio.run(_run(args, settings))


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    console = Console(highlight=False)
    url = settings.migration_database_url or settings.database_url
    if url is None:
        raise ValueError("the CLI resolves the database before running a command")
    try:
        inputs = _read_inputs(args)
    except onboarding.OnboardingError as e:
        console.print(f"[red]{e.field}: {escape(str(e))}[/red]")
        return 2
    conn = await asyncpg.connect(url, server_settings=db.schema_settings(settings.database_schema))
    try:
        await migrations.require_current(conn)
        return await _dispatch(conn, args, settings, inputs, console)
    except InvalidCatalogueError as e:
        for error in e.errors:
            console.print(f"[red]{escape(str(error))}[/red]")
        console.print(f"[red]{len(e.errors)} error(s): nothing was imported[/red]")
        return 1
    except onboarding.OnboardingError as e:
        console.print(f"[red]{e.field}: {escape(str(e))}[/red]")
        return 2
    finally:
        await conn.close()


def _read(path: Path, option: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise onboarding.OnboardingError(f"cannot read {path} ({e.strerror})", field=option) from e


def _read_inputs(args: argparse.Namespace) -> dict[str, bytes]:
    """Read the files a command names before touching the database."""
    if args.command == "catalogue":
        return {"file": _read(args.file, "FILE")}
    if args.action == "add":
        return {
            "certificate": _read(args.signing_certificate, "--signing-certificate"),
            "key": _read(args.signing_key, "--signing-key"),
        }
    return {}


async def _dispatch(
    conn: asyncpg.Connection,
    args: argparse.Namespace,
    settings: Settings,
    inputs: dict[str, bytes],
    console: Console,
) -> int:
    now = system_clock()
    if args.command == "catalogue":
        format_: Format | None = args.format or _FORMATS.get(args.file.suffix.lower())
        if format_ is None:
            raise onboarding.OnboardingError(
                "name a .csv or .jsonl file, or give --format", field="FILE"
            )
        summary = await onboarding.import_catalogue(
            conn, inputs["file"], format_, source=args.file.name, full=args.full, now=now
        )
        _print_summary(summary, console)
        return 0
    if args.action == "list":
        _print_schools(await school_store.all_schools(conn), console)
        return 0
    if args.action == "disable":
        disabled = await onboarding.disable_school(conn, args.number, now=now)
        console.print(f"School {args.number} disabled since {disabled.isoformat()}")
        return 0
    return await _add(conn, args, settings, inputs, console, now=now)


async def _add(
    conn: asyncpg.Connection,
    args: argparse.Namespace,
    settings: Settings,
    inputs: dict[str, bytes],
    console: Console,
    *,
    now: dt.datetime,
) -> int:
    school = onboarding.NewSchool.checked(
        number=args.number, name=args.name, cvr=args.cvr, ownership=args.ownership
    )
    if settings.key_store == "memory":
        console.print("[red]Keys made now would die with this process: use AMU_KEY_STORE=file")
        return 2
    if args.credential_file is not None and args.credential_file.exists():
        raise onboarding.OnboardingError("the file exists already", field="--credential-file")
    keys = FileKeyStore(settings.data_dir / "keys")
    authority = onboarding.ImportedCertificate(keys, inputs["certificate"], inputs["key"])
    async with conn.transaction():
        made = await onboarding.add_school(conn, keys, school, authority, now=now)
        token = None
        if args.credential_file is not None:
            _info, token = await credentials.create(
                conn, school.number, "onboarding", operator(), now
            )
    console.print(
        f"School {school.number} {escape(school.name)} added; document key {made.kid}, "
        f"certificate valid until {made.certificate.not_valid_after_utc.date().isoformat()}"
    )
    if token is not None:
        # Written, never printed: a terminal's scrollback is no place for a credential.
        fd = os.open(args.credential_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(f"export AMU_SCHOOL_{school.number}={token}\n")
        console.print(f"API credential written to {args.credential_file}")
    return 0


def _print_summary(summary: onboarding.ImportSummary, console: Console) -> None:
    for title, numbers in (
        ("added", summary.added),
        ("changed", summary.changed),
        ("closed", summary.closed),
    ):
        shown = ", ".join(numbers[:_SHOWN])
        more = f" and {len(numbers) - _SHOWN} more" if len(numbers) > _SHOWN else ""
        console.print(f"{title}: {len(numbers)}" + (f" ({shown}{more})" if numbers else ""))
    console.print(f"unchanged: {len(summary.unchanged)}")


def _print_schools(schools: list[school_store.SchoolRow], console: Console) -> None:
    table = Table("number", "name", "CVR", "ownership", "disabled since")
    for school in schools:
        disabled = school.disabled_at.isoformat() if school.disabled_at else ""
        table.add_row(school.id, escape(school.name), school.cvr, school.ownership, disabled)
    console.print(table)
