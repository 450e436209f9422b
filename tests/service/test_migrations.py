"""Schema changes are ordered migration files; an empty database migrates to the latest."""

from __future__ import annotations

import asyncpg

from service import migrations


async def test_an_empty_schema_migrates_to_the_latest_version(conn: asyncpg.Connection) -> None:
    versions = [r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")]
    assert versions == [m.version for m in migrations.available()]
    assert await conn.fetchval("SELECT to_regclass('certificates') IS NOT NULL")


async def test_migrating_twice_applies_nothing_more(conn: asyncpg.Connection) -> None:
    assert await migrations.apply(conn) == []


def test_migration_files_are_numbered_without_gaps() -> None:
    versions = [m.version for m in migrations.available()]
    assert versions == list(range(1, len(versions) + 1))
