"""``amu-bevis``: the one console script.

amu-bevis serve      migrate and serve; refuses to start while any setting would fake
                     production (docs/operations.md)
amu-bevis serve --demo  (or AMU_DEMO=1) also seed the demo, start the local Digital Post
                     test server and, without DATABASE_URL, an embedded PostgreSQL
amu-bevis serve --workers N  (or AMU_WORKERS=N) serve from N processes (docs/operations.md)
amu-bevis migrate    apply migrations only (as AMU_MIGRATION_DATABASE_URL's role, the tables'
                     owner; the service itself connects as DATABASE_URL's, which cannot)
amu-bevis rotate-key | rotate-log-key | revoke-key | retention | audit
                     the register's trust commands (docs/registry.md)
amu-bevis credentials create | list | rotate | revoke | events
                     the schools' API credentials (docs/operations.md)
amu-bevis catalogue import | schools add | list | disable
                     putting it into use (docs/catalogue.md)
amu-bevis staff grant | revoke | list
                     school staff and their roles (docs/operations.md)
amu-bevis worker     deliver certificates (several may run at once; docs/delivery.md)
amu-bevis --version  the installed version

Every setting is an environment variable (docs/configuration.md); a bad value stops any
command before it starts, with one line per bad variable.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import importlib.metadata
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg
import uvicorn

from registry import db
from registry.clock import system_clock
from registry.transparency.log import ensure_log_key
from service import (
    credentials_cli,
    demo,
    logging_setup,
    metrics,
    migrations,
    onboarding_cli,
    results_cli,
    roles,
    staff_cli,
    startup_checks,
    trust_cli,
)
from service.adapters import key_store_for
from service.app import create_app, issuer_for
from service.delivery import run_worker_process, start_local_delivery
from service.embedded import EmbeddedSupervisor, start_embedded
from service.settings import Settings, hand_down_to_workers
from service.variables import SettingsError

log = logging.getLogger("amu-bevis")


class RefusedError(Exception):
    """A start refused once the database says who the settings' roles are."""


def resolve_database(settings: Settings) -> Settings:
    """Settings with database URLs: the given ones, or in demo mode the embedded server's, with
    an owner and a service role made on it. Raises ValueError outside demo mode without one
    (the start checks refuse that first)."""
    if settings.database_url:
        if settings.migration_database_url or not settings.demo:
            return settings
        # Demo mode against a server with one URL: it migrates as well as serves.
        return dataclasses.replace(settings, migration_database_url=settings.database_url)
    if not settings.demo:
        raise ValueError("DATABASE_URL is not set")
    uri = start_embedded(settings.data_dir)
    owner_url, service_url = asyncio.run(roles.embedded_roles(uri))
    log.warning("demo mode: embedded PostgreSQL running under %s", settings.data_dir / "pg")
    return dataclasses.replace(settings, database_url=service_url, migration_database_url=owner_url)


async def _service_role(settings: Settings) -> str:
    """The role DATABASE_URL connects as: the one migrations grant to. Outside demo mode it
    must not be a superuser (no grant could hold it back)."""
    assert settings.database_url is not None  # noqa: S101 - resolve_database guarantees it
    role = await roles.connected_role(settings.database_url)
    if role.superuser and not settings.demo:
        raise RefusedError(
            "DATABASE_URL connects as a superuser: the service's role must be one that "
            "cannot change the tables (docs/operations.md)"
        )
    return role.name


async def _prepare(settings: Settings, *, seed: bool) -> list[demo.DemoCredential]:
    """Migrate as the owner, granting the service's role what it needs; seed the demo."""
    # resolve_database guarantees both URLs.
    assert settings.database_url is not None  # noqa: S101
    assert settings.migration_database_url is not None  # noqa: S101
    service_role = await _service_role(settings)
    conn = await asyncpg.connect(
        settings.migration_database_url,
        server_settings=db.schema_settings(settings.database_schema),
    )
    try:
        if not settings.demo and service_role == await conn.fetchval("SELECT current_user"):
            raise RefusedError(
                "AMU_MIGRATION_DATABASE_URL and DATABASE_URL connect as the same role: the "
                "service must not connect as the tables' owner (docs/operations.md)"
            )
        applied = await migrations.apply(conn, service_role=service_role)
        for name in applied:
            log.info("applied migration %s", name)
        if not seed:
            return []
        keys = key_store_for(settings)
        made = await demo.seed_demo(conn, keys, now=system_clock())
    finally:
        await conn.close()
    if made:  # a fresh demo: issue a few teams so the pages have something to show
        pool = await db.create_pool(settings.database_url, schema=settings.database_schema, size=2)
        try:
            async with pool.acquire() as pooled:
                await ensure_log_key(pooled, keys, name=settings.log_origin, now=system_clock())
            issued = await demo.seed_demo_teams(
                issuer_for(settings, pool, keys, system_clock),
                today=system_clock().date(),
            )
            log.info("demo: issued %d certificates on three teams", issued)
        finally:
            await pool.close()
    return made


def _print_credentials(made: Sequence[demo.DemoCredential], data_dir: Path) -> None:
    """Save fresh demo credentials to ``demo.env`` (owner-only) and say where, never printing a
    secret: the terminal scrollback and a captured log are not places for credentials."""
    env_file = data_dir / "demo.env"
    if not made:
        print(f"Demo already seeded; its credentials are in {env_file}")  # noqa: T201
        return
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a") as out:
        out.writelines(f"export AMU_SCHOOL_{c.school_id}={c.token}\n" for c in made)
    schools = ", ".join(f"{c.school_name} ({c.school_id})" for c in made)
    print(f"Demo API credentials for {schools} saved to {env_file}")  # noqa: T201


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


_REFUSED = (
    "amu-bevis: refusing to start. Set these (docs/operations.md), or run the demo with "
    "`amu-bevis serve --demo`:"
)
_BAD_SETTINGS = "amu-bevis: refusing to start. These settings are wrong (docs/configuration.md):"


def _refuse(problems: Sequence[str], heading: str = _REFUSED) -> int:
    """Print every refusal to stderr; the exit status of a refused start."""
    print(  # noqa: T201
        heading,
        *(f"  - {problem}" for problem in problems),
        sep="\n",
        file=sys.stderr,
    )
    return 2


def _announce_unsafe(settings: Settings) -> None:
    """Log, at every start, the modes that are allowed but must never pass unnoticed."""
    if settings.demo:
        log.warning("demo mode: seeded demo data and development defaults; not for production")
    if settings.delivery.memo_validation == "off-unvalidated":
        log.warning(
            "AMU_MEMO_VALIDATION=off-unvalidated: MeMo messages are sent WITHOUT being "
            "validated against the MeMo schema"
        )


def workers_refusals(settings: Settings) -> list[str]:
    """Why ``serve`` must not run ``settings.workers`` processes; [] when it may."""
    if settings.workers < 1:
        return ["AMU_WORKERS (--workers) must be at least 1"]
    if settings.workers == 1:
        return []
    # Outside demo mode the start checks refuse an unset AMU_SESSION_SECRET for any number of
    # processes; in demo mode the parent hands a random one down (hand_down_to_workers).
    if settings.key_store == "memory":
        return [
            (
                "AMU_KEY_STORE=memory keeps each process's keys to itself: several workers need "
                "AMU_KEY_STORE=file"
            )
        ]
    return []


def _start_metrics(settings: Settings) -> metrics.Listener | None:
    """The metrics listener. A taken port stops the start, except in demo mode, where another
    local `serve` may hold the default port: then it is logged and skipped."""
    try:
        listener = metrics.start_listener(settings)
    except OSError as e:
        where = f"{settings.watch.metrics_host}:{settings.watch.metrics_port}"
        if not settings.demo:
            raise RefusedError(
                f"the metrics listener cannot bind {where} (AMU_METRICS_PORT)"
            ) from e
        log.warning("metrics: %s is taken; serving no metrics (AMU_METRICS_PORT)", where)
        return None
    if listener is not None:
        log.info("metrics on http://%s:%d/metrics", listener.host, listener.port)
    return listener


def serve(settings: Settings) -> None:
    """Migrate (and in demo mode seed the demo), then serve until stopped: in this process, or
    with ``settings.workers`` > 1 in that many processes under uvicorn's supervisor, each
    building the app from the environment this process hands down."""
    embedded = settings.database_url is None
    settings = resolve_database(settings)
    # Restarts the embedded PostgreSQL if it dies; meanwhile requests are 503 with Retry-After.
    supervisor = EmbeddedSupervisor(settings.data_dir).start() if embedded else None
    made = asyncio.run(_prepare(settings, seed=settings.demo))
    if settings.demo:
        _print_credentials(made, settings.data_dir)
    print(f"Serving on http://{settings.host}:{settings.port} (OpenAPI at /schema)")  # noqa: T201
    # Before any process that counts starts: every one of them writes under <data dir>/metrics.
    metrics.prepare_multiprocess(settings)
    listener = _start_metrics(settings)
    delivery = start_local_delivery(settings, clock=system_clock)
    # uvicorn re-raises the signal that stopped it once it has shut down. Leave through Python
    # rather than the default handler, so that the atexit handlers run: they stop the embedded
    # PostgreSQL, which would otherwise outlive the server.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        if settings.workers == 1:
            uvicorn.run(create_app(settings), **_uvicorn_options(settings))
        else:
            # The metrics' multi-process folder and listener were made above, before the
            # workers start: each of them counts into that folder.
            hand_down_to_workers(settings)
            uvicorn.run(
                "service.app:app_from_environment",
                factory=True,
                workers=settings.workers,
                **_uvicorn_options(settings),
            )
    finally:
        delivery.stop()
        if listener is not None:
            listener.stop()
        if supervisor is not None:
            supervisor.stop()  # before the atexit handler stops the server for good


def _uvicorn_options(settings: Settings) -> dict[str, Any]:
    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": "info",
        "access_log": True,
        # No logging configuration of uvicorn's own: its loggers write through the root's one
        # handler, in the service's one format (service/logging_setup.py).
        "log_config": None,
        # uvicorn would believe X-Forwarded-For from any loopback peer; the app reads it from
        # AMU_TRUSTED_PROXIES only (service/proxies.py).
        "proxy_headers": False,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="amu-bevis", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="migrate and serve")
    serve_cmd.add_argument(
        "--demo",
        action="store_true",
        help="demo mode (as AMU_DEMO=1): seed the demo, local test server, embedded database",
    )
    serve_cmd.add_argument(
        "--workers",
        type=int,
        default=None,
        help="serve from this many processes (as AMU_WORKERS; default 1)",
    )
    commands.add_parser("migrate", help="apply migrations and exit")
    trust_cli.add_commands(commands)
    credentials_cli.add_commands(commands)
    results_cli.add_commands(commands)
    onboarding_cli.add_commands(commands)
    staff_cli.add_commands(commands)
    commands.add_parser("worker", help="deliver certificates until stopped")
    args = parser.parse_args(argv)

    try:
        settings = Settings.from_env(demo=getattr(args, "demo", False))
    except SettingsError as e:
        return _refuse(e.problems, _BAD_SETTINGS)
    if getattr(args, "workers", None) is not None:
        settings = dataclasses.replace(settings, workers=args.workers)
    logging_setup.configure(debug=settings.debug, log_format=settings.watch.log_format)
    # Checked before anything touches a database, so a refused start leaves nothing behind.
    if args.command in {"serve", "worker"}:
        problems = startup_checks.refusals(settings, now=system_clock())
        if args.command == "serve":
            problems += workers_refusals(settings)
    else:
        problems = startup_checks.database_refusals(settings)
    if problems:
        return _refuse(problems)
    if args.command in {"serve", "worker"}:
        _announce_unsafe(settings)
    try:
        return _run(args, settings)
    except RefusedError as e:
        return _refuse([str(e)])


def _version() -> str:
    """The installed distribution's version (pyproject.toml's)."""
    try:
        return importlib.metadata.version("amu-bevis")
    except importlib.metadata.PackageNotFoundError:  # run from a checkout that is not installed
        return "unknown (not installed)"


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "serve":
        serve(settings)
    elif args.command == "migrate":
        asyncio.run(_prepare(resolve_database(settings), seed=False))
    elif args.command in trust_cli.COMMANDS:
        settings = resolve_database(settings)
        if args.command != "audit":  # the audit reads the database as it finds it
            asyncio.run(_prepare(settings, seed=False))
        return trust_cli.run(args, settings)
    elif args.command in credentials_cli.COMMANDS:
        settings = resolve_database(settings)
        asyncio.run(_prepare(settings, seed=False))
        return credentials_cli.run(args, settings)
    elif args.command in results_cli.COMMANDS:
        settings = resolve_database(settings)
        asyncio.run(_prepare(settings, seed=False))
        return results_cli.run(args, settings)
    elif args.command in staff_cli.COMMANDS:
        settings = resolve_database(settings)
        asyncio.run(_prepare(settings, seed=False))
        return staff_cli.run(args, settings)
    elif args.command in onboarding_cli.COMMANDS:  # as the owner, once migrated
        settings = resolve_database(settings)
        asyncio.run(_prepare(settings, seed=False))
        return onboarding_cli.run(args, settings)
    elif args.command == "worker":
        settings = resolve_database(settings)
        asyncio.run(_prepare(settings, seed=False))
        run_worker_process(settings, clock=system_clock)
    return 0


if __name__ == "__main__":
    sys.exit(main())
