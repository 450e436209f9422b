"""The schools' API credentials from the command line (docs/operations.md, "API credentials")::

amu-bevis credentials create --school 751234 --label "Studieadministration"
                                             prints the new token, once, on stdout
amu-bevis credentials list --school 751234   id, label, created, last used, state
amu-bevis credentials rotate --school 751234 ID [--overlap HOURS]
                                             a new token; the old one works 24 hours more
amu-bevis credentials revoke --school 751234 ID
amu-bevis credentials events --school 751234 [--credential ID]   the audit trail

Every change is recorded with the operator as its actor: ``operator:<the OS user>``. The token
goes to stdout alone (so it can be piped into a secret store); what it is goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from collections.abc import Sequence
from typing import Any

import asyncpg
from rich.console import Console
from rich.markup import escape

from issuers import credentials
from registry.clock import system_clock, to_the_second
from service.cli_options import on_database, operator, school_actions
from service.settings import Settings

COMMANDS = ("credentials",)
# Which option or argument a domain error's field came from.
_OPTIONS = {
    "school_id": "--school",
    "credential_id": "ID",
    "label": "--label",
    "overlap": "--overlap",
    "actor": "the operator (OS user)",
}


def _hours(text: str) -> dt.timedelta:
    try:
        return dt.timedelta(hours=float(text))
    except (ValueError, OverflowError) as e:
        raise argparse.ArgumentTypeError("a number of hours, e.g. 24 or 0") from e


def add_commands(commands: Any) -> None:
    """Add ``credentials`` and its actions to the CLI's subparsers."""
    action = school_actions(commands, "credentials", "the schools' API credentials")

    create = action("create", "make a credential; prints its token once")
    create.add_argument("--label", required=True, help="what uses it (at most 100 characters)")
    action("list", "the school's credentials")
    rotate = action("rotate", "replace a credential with a new one")
    rotate.add_argument("credential_id", metavar="ID", help="the credential to replace")
    rotate.add_argument(
        "--overlap",
        type=_hours,
        default=credentials.DEFAULT_OVERLAP,
        help="hours the old credential keeps working (default 24; 0 for a leaked one)",
    )
    revoke = action("revoke", "stop a credential from working, at once")
    revoke.add_argument("credential_id", metavar="ID", help="the credential to revoke")
    trail = action("events", "the audit trail: changes and every use")
    trail.add_argument("--credential", help="only this credential's events")
    trail.add_argument("--limit", type=int, default=200, help="newest first, at most this many")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run one ``credentials`` action against the settings' database; return the exit code."""
    return asyncio.run(_run(args, settings))


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    # `events --credential` names the credential with an option, the other actions with ID.
    options = {**_OPTIONS, "credential_id": "--credential"} if args.action == "events" else _OPTIONS
    err = Console(stderr=True, highlight=False)
    return await on_database(
        settings, options, lambda conn: _dispatch(conn, args, Console(highlight=False), err)
    )


async def _dispatch(
    conn: asyncpg.Connection, args: argparse.Namespace, out: Console, err: Console
) -> int:
    now = to_the_second(system_clock())
    school: str = args.school
    if args.action == "create":
        info, token = await credentials.create(conn, school, args.label, operator(), now)
        _print_token(info, token, err)
    elif args.action == "rotate":
        info, token = await credentials.rotate(
            conn, school, args.credential_id, operator(), now, overlap=args.overlap
        )
        until = to_the_second(now + args.overlap)
        err.print(f"{args.credential_id} keeps working until {_moment(until)}")
        _print_token(info, token, err)
    elif args.action == "revoke":
        info = await credentials.revoke(conn, school, args.credential_id, operator(), now)
        out.print(escape(f"Revoked {info.id} ({info.label}) of school {school}"))
    elif args.action == "list":
        _print_list(await credentials.list_of(conn, school), now, out)
    else:
        trail = await credentials.events(
            conn, school, credential_id=args.credential, limit=args.limit
        )
        _print_events(trail, out)
    return 0


def _print_token(info: credentials.CredentialInfo, token: str, err: Console) -> None:
    err.print(escape(f"New API credential {info.id} ({info.label}) for school {info.school_id}."))
    err.print(
        "[yellow]Store the token now, in the school system's secret store: it is shown "
        "only this once and cannot be recovered.[/yellow]"
    )
    sys.stdout.write(token + "\n")  # alone on stdout, unwrapped, for a pipe
    sys.stdout.flush()


def _moment(at: dt.datetime | None) -> str:
    return "" if at is None else at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _state(info: credentials.CredentialInfo, now: dt.datetime) -> str:
    state = credentials.state(info, now)
    if state == "revoked":
        return f"revoked {_moment(info.revoked_at)}"
    if state == "replaced":
        return f"replaced by {info.replaced_by}, works until {_moment(info.expires_at)}"
    if state == "expired":
        return f"replaced by {info.replaced_by}, expired {_moment(info.expires_at)}"
    return "active"


def _print_list(found: list[credentials.CredentialInfo], now: dt.datetime, out: Console) -> None:
    if not found:
        out.print("The school has no API credentials")
        return
    rows = [
        (
            info.id,
            info.label,
            _moment(info.created_at),
            info.created_by or "",
            _moment(info.last_used_at) or "never",
            _state(info, now),
        )
        for info in found
    ]
    _print_table(("id", "label", "created", "by", "last used", "state"), rows, out)


def _print_events(trail: list[credentials.CredentialEvent], out: Console) -> None:
    if not trail:
        out.print("No credential events")
        return
    rows = [
        (
            _moment(event.at),
            event.credential_id,
            event.event,
            event.actor,
            event.route or "",
            event.client or "",
            event.detail or "",
        )
        for event in trail
    ]
    _print_table(("at", "credential", "event", "actor", "route", "client", "detail"), rows, out)


def _print_table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]], out: Console) -> None:
    """Plain aligned columns, never wrapped or cut: ids are copied from here and lines grepped
    (a rich table squeezes cells to the terminal's width)."""
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        out.out(line.rstrip(), highlight=False)
