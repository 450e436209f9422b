"""Connections and migrations.

Migrations are the numbered ``*.sql`` files in ``registry/migrations``, applied in order,
each in its own transaction, under an advisory lock so that several processes starting at
once apply each file exactly once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import asyncpg
from asyncpg.pool import PoolConnectionProxy

# What store functions take: a bare connection or one borrowed from a pool.
Connection = asyncpg.Connection | PoolConnectionProxy

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_LOCK_ID = 0x414D55  # "AMU": one advisory lock for migrations
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    """Every migration file shipped with the package, in order."""
    found = []
    for entry in resources.files("registry.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    return found


async def migrate(conn: Connection) -> list[str]:
    """Apply the migrations this database lacks; return the names of those applied."""
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
        for migration in migrations():
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
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_ID)
    return applied


def schema_settings(schema: str | None) -> dict[str, str]:
    """Server settings that put every query of a connection into one schema."""
    if schema is None:
        return {}
    if not _SCHEMA_NAME.match(schema):
        raise ValueError("database schema names are lower-case letters, digits and _")
    return {"search_path": schema}


async def create_pool(dsn: str, *, schema: str | None, size: int) -> asyncpg.Pool:
    """A connection pool whose connections all work in ``schema`` (or the default)."""
    pool = await asyncpg.create_pool(
        dsn, min_size=1, max_size=size, server_settings=schema_settings(schema)
    )
    if pool is None:  # only for a pool created without awaiting, which we never do
        raise RuntimeError("asyncpg returned no pool")
    return pool
