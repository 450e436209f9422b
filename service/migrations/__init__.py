"""The database schema: the numbered ``*.sql`` files in this folder, applied in order, each in
its own transaction, under an advisory lock so that several processes starting at once apply
each file exactly once. The schema is the whole service's (the register's tables and the
schools'), so it lives with the composition root. Migrations run as the role that owns the
tables; after every run ``grants.sql`` gives the service's role exactly what it needs, and the
service, which may not migrate, only checks that the schema is current::

    applied = await migrations.apply(owner_conn, service_role="amu_service")
    await migrations.require_current(service_conn)   # raises SchemaNotCurrentError
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from registry.db import Connection

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_LOCK_ID = 0x414D55  # "AMU": one advisory lock for migrations


class SchemaNotCurrentError(RuntimeError):
    """The database lacks migrations this release needs (or has ones it does not know)."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def available() -> list[Migration]:
    """Every migration file shipped with the package, in order."""
    found = []
    for entry in resources.files("service.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    return found


def _identifier(name: str) -> str:
    """``name`` quoted as an SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def grants_sql(*, schema: str, service_role: str) -> str:
    """The statements of ``grants.sql`` for ``service_role`` on the tables in ``schema``."""
    text = resources.files("service.migrations").joinpath("grants.sql").read_text("utf-8")
    return text.replace("{schema}", _identifier(schema)).replace(
        "{service}", _identifier(service_role)
    )


async def apply(conn: Connection, *, service_role: str | None = None) -> list[str]:
    """Apply the migrations this database lacks; return the names of those applied. Then, when
    ``service_role`` is given and is not the connection's own role, grant it what the service
    needs (``grants.sql``) and nothing more, whether or not anything was applied."""
    # Only when missing: a role that may not create tables can then run a migration that finds
    # nothing to do (demo mode with one URL that is the service's role).
    if await conn.fetchval("SELECT to_regclass('schema_migrations')") is None:
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version integer PRIMARY KEY,
                   name text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
    applied: list[str] = []
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_ID)
    try:
        done = {row["version"] for row in await conn.fetch("SELECT version FROM schema_migrations")}
        for migration in available():
            if migration.version in done:
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                    migration.version,
                    migration.name,
                )
            applied.append(migration.name)
        if service_role is not None and service_role != await conn.fetchval("SELECT current_user"):
            schema = await conn.fetchval("SELECT current_schema()")
            async with conn.transaction():
                await conn.execute(grants_sql(schema=schema, service_role=service_role))
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_ID)
    return applied


async def require_current(conn: Connection) -> None:
    """Raise SchemaNotCurrentError unless every migration of this release has been applied: the
    service runs as a role that cannot migrate (``amu-bevis migrate`` does). Newer migrations
    are no reason to stop (an older release still serving while a newer one migrated)."""
    if await conn.fetchval("SELECT to_regclass('schema_migrations')") is None:
        done: set[int] = set()
    else:
        done = {row["version"] for row in await conn.fetch("SELECT version FROM schema_migrations")}
    missing = sorted({m.version for m in available()} - done)
    if missing:
        raise SchemaNotCurrentError(
            f"the database lacks migrations {missing}: run `amu-bevis migrate` "
            "(it connects with AMU_MIGRATION_DATABASE_URL, as the tables' owner)"
        )
