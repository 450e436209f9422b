"""The schools' staff roles from the command line (docs/operations.md, "School staff and their
roles")::

amu-bevis staff grant --school 751234 --subject SUB --role administrator [--name "Karen Holm"]
amu-bevis staff revoke --school 751234 --subject SUB
amu-bevis staff list --school 751234 [--history]

This is how an operator appoints the first administrator of a newly onboarded school; from
then on its administrators grant and revoke roles on /skole/medarbejdere. ``SUB`` is the
person's subject at the staff identity provider (the page a person without a role reaches shows
it to them). Every change is recorded with the operator as its actor: ``operator:<the OS
user>``. A school that has an administrator keeps one: appoint another before revoking the last.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
from collections.abc import Sequence
from typing import Any

import asyncpg
from rich.console import Console
from rich.markup import escape

from issuers import staff
from registry.clock import system_clock, to_the_second
from service.cli_options import on_database, operator, school_actions
from service.settings import Settings

COMMANDS = ("staff",)
# Which option a domain error's field came from.
_OPTIONS = {
    "school_id": "--school",
    "subject": "--subject",
    "role": "--role",
    "name": "--name",
    "actor": "the operator (OS user)",
}


def add_commands(commands: Any) -> None:
    """Add ``staff`` and its actions to the CLI's subparsers."""
    action = school_actions(commands, "staff", "who may use a school's pages, and as what")

    grant = action("grant", "give a person a role at the school (replacing one they hold)")
    grant.add_argument(
        "--subject", required=True, help="the person's subject at the staff identity provider"
    )
    grant.add_argument("--role", required=True, choices=staff.ROLES)
    grant.add_argument("--name", help="the person's name, to help people read the list")
    revoke = action("revoke", "end a person's role at the school")
    revoke.add_argument("--subject", required=True, help="the person whose role ends")
    listing = action("list", "the school's live roles")
    listing.add_argument("--history", action="store_true", help="also the roles that ended")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run one ``staff`` action against the settings' database; return the exit code."""
    return asyncio.run(_run(args, settings))


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    return await on_database(
        settings, _OPTIONS, lambda conn: _dispatch(conn, args, Console(highlight=False))
    )


async def _dispatch(conn: asyncpg.Connection, args: argparse.Namespace, out: Console) -> int:
    now = to_the_second(system_clock())
    school: str = args.school
    if args.action == "grant":
        made = await staff.grant(
            conn, school, args.subject, args.role, actor=operator(), now=now, name=args.name
        )
        out.print(escape(f"Granted {made.role} at school {school} to {made.subject}"))
    elif args.action == "revoke":
        ended = await staff.revoke(conn, school, args.subject, actor=operator(), now=now)
        out.print(escape(f"Revoked the {ended.role} role of {ended.subject} at school {school}"))
    else:
        live = await staff.staff_of(conn, school)
        ended_roles = await staff.history_of(conn, school) if args.history else []
        _print_list([*live, *ended_roles], out)
    return 0


def _moment(at: dt.datetime | None) -> str:
    return "" if at is None else at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _print_list(found: Sequence[staff.StaffMember], out: Console) -> None:
    if not found:
        out.print("The school has no staff roles")
        return
    rows = [
        (
            m.subject,
            m.name or "",
            m.role,
            _moment(m.granted_at),
            m.granted_by,
            f"revoked {_moment(m.revoked_at)} by {m.revoked_by}" if m.revoked_at else "live",
        )
        for m in found
    ]
    header = ("subject", "name", "role", "granted", "by", "state")
    # Plain aligned columns, never cut: subjects are copied from here (as credentials_cli).
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        out.out(line.rstrip(), highlight=False)
