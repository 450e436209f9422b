"""What the ``amu-bevis`` subcommands share: argument types (a bad value is refused by argparse
with a message naming the option, before anything touches a database), the actor of an
operator's change, subcommands whose every action names a school, and running one action on
the database with a domain error reported as the option it came from."""

from __future__ import annotations

import argparse
import getpass
import os
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import asyncpg
from rich.console import Console
from rich.markup import escape

from issuers.errors import IssuingError
from registry import db
from service import migrations
from service.settings import Settings

_INSTITUTION = re.compile(r"\d{6}")


def institution_number(text: str) -> str:
    """A school's institution number: six digits."""
    if not _INSTITUTION.fullmatch(text):
        raise argparse.ArgumentTypeError("an institution number is 6 digits, e.g. 751234")
    return text


def operator() -> str:
    """The actor of a CLI change: the OS user running it."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (a bare container)
        user = f"uid-{os.getuid()}"
    return f"operator:{user}"


def school_actions(
    commands: Any, name: str, help_text: str
) -> Callable[[str, str], argparse.ArgumentParser]:
    """Add the subcommand ``name``; returns the maker of its actions, each taking ``--school``."""
    parser = commands.add_parser(name, help=help_text)
    actions = parser.add_subparsers(dest="action", required=True)

    def action(action_name: str, action_help: str) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = actions.add_parser(action_name, help=action_help)
        sub.add_argument(
            "--school",
            required=True,
            type=institution_number,
            help="the school's institution number",
        )
        return sub

    return action


async def on_database(
    settings: Settings,
    options: Mapping[str, str],
    work: Callable[[asyncpg.Connection], Awaitable[int]],
) -> int:
    """Run ``work`` on a connection as the settings' database role, once the migrations are
    known to be current. A domain error is printed naming the option its field came from
    (``options``: field -> option) and exits 2."""
    if settings.database_url is None:
        raise ValueError("the CLI resolves the database before running a command")
    conn = await asyncpg.connect(
        settings.database_url, server_settings=db.schema_settings(settings.database_schema)
    )
    try:
        await migrations.require_current(conn)
        return await work(conn)
    except IssuingError as e:
        option = options.get(e.field or "", e.field)
        message = f"{option}: {e}" if option else str(e)
        Console(stderr=True, highlight=False).print(f"[red]{escape(message)}[/red]")
        return 2
    finally:
        await conn.close()
