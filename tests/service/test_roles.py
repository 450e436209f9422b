"""Least privilege in the database: the service's role (DATABASE_URL) can change no schema and no
signed row. Each forbidden operation fails for want of a privilege, not because a trigger
happened to catch it (triggers are what such a role could otherwise switch off)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from service import cli, migrations, roles
from service.settings import Settings
from service.startup_checks import database_refusals
from tests.conftest import DatabaseRoles

# The columns retention may blank; every other column of certificates is signed or bound.
RETENTION_COLUMNS = {"cpr", "payload", "jws", "erased_at"}
APPEND_ONLY = (
    "log_leaves",
    "log_nodes",
    "log_checkpoints",
    "certificate_events",
    "log_keys",
    "credential_events",
)
# What of a school's API credential may change: its use, its replacement, its revocation.
CREDENTIAL_COLUMNS = {"last_used_at", "revoked_at", "expires_at", "replaced_by"}


@pytest.fixture
async def service(
    database_roles: DatabaseRoles, migrated: str
) -> AsyncIterator[asyncpg.Connection]:
    """A connection as the service role into the migrated schema."""
    conn = await asyncpg.connect(
        database_roles.service_url, server_settings={"search_path": migrated}
    )
    try:
        yield conn
    finally:
        await conn.close()


async def _columns(conn: asyncpg.Connection, table: str) -> list[str]:
    rows = await conn.fetch(
        """SELECT column_name FROM information_schema.columns
           WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position""",
        table,
    )
    return [r["column_name"] for r in rows]


async def _refused(conn: asyncpg.Connection, statement: str) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await conn.execute(statement)


FORBIDDEN = [
    "CREATE TABLE sneaky (id integer)",
    "CREATE FUNCTION sneaky() RETURNS integer LANGUAGE sql AS 'SELECT 1'",
    "DROP TABLE certificates",
    "DROP TRIGGER certificates_append_only ON certificates",
    "ALTER TABLE certificates DISABLE TRIGGER certificates_append_only",
    "ALTER TABLE log_leaves DISABLE TRIGGER ALL",
    "ALTER TABLE certificates ADD COLUMN sneaky text",
    "TRUNCATE log_nodes",
    "TRUNCATE log_checkpoints",
    "TRUNCATE log_leaves",
    "TRUNCATE certificates",
    "TRUNCATE certificate_events",
    "SET session_replication_role = replica",
    "DELETE FROM certificates",
    "DELETE FROM schools",
    "DELETE FROM api_credentials",
    "TRUNCATE credential_events",
    "INSERT INTO schema_migrations (version, name) VALUES (999, 'sneaky')",
    "DELETE FROM schema_migrations",
    "SELECT setval('certificate_serial', 1)",
    "SELECT setval('status_list_position', 0)",
    # Sessions are found by their id's hash, never re-keyed; a staff role is only revoked.
    "UPDATE sessions SET key_sha256 = key_sha256",
    "UPDATE school_staff SET role = role",
    "UPDATE school_staff SET subject = subject",
    "UPDATE school_staff SET granted_by = granted_by",
    "TRUNCATE school_staff",
    "DELETE FROM school_staff",
    "CREATE TEMP TABLE sneaky AS SELECT * FROM certificates LIMIT 0; DROP TABLE certificates",
    *(f"DELETE FROM {table}" for table in APPEND_ONLY),  # noqa: S608 - constant names
]


@pytest.mark.parametrize("statement", FORBIDDEN)
async def test_the_service_role_may_not(service: asyncpg.Connection, statement: str) -> None:
    await _refused(service, statement)


async def test_the_service_role_may_update_no_signed_certificate_column(
    service: asyncpg.Connection,
) -> None:
    columns = await _columns(service, "certificates")
    assert set(columns) > RETENTION_COLUMNS  # the grant names real columns
    signed = [c for c in columns if c not in RETENTION_COLUMNS]
    assert {"number", "kid", "school_id", "status_list_index", "retain_until"} <= set(signed)
    for column in signed:
        await _refused(service, f"UPDATE certificates SET {column} = {column}")  # noqa: S608


@pytest.mark.parametrize("table", APPEND_ONLY)
async def test_the_service_role_may_update_no_column_of_the_log(
    service: asyncpg.Connection, table: str
) -> None:
    columns = await _columns(service, table)
    assert columns
    # log_keys may only be retired or revoked: those columns are granted, the rest are not.
    granted = {"retired_at", "revoked_from", "revoked_at"} if table == "log_keys" else set()
    for column in columns:
        if column not in granted:
            await _refused(service, f"UPDATE {table} SET {column} = {column}")  # noqa: S608


async def test_the_service_role_may_not_change_what_a_credential_is(
    service: asyncpg.Connection,
) -> None:
    columns = await _columns(service, "api_credentials")
    assert set(columns) > CREDENTIAL_COLUMNS  # the grant names real columns
    assert {"id", "school_id", "secret_sha256", "label", "created_by"} <= set(columns)
    for column in columns:
        if column not in CREDENTIAL_COLUMNS:
            await _refused(service, f"UPDATE api_credentials SET {column} = {column}")  # noqa: S608
    await service.execute("UPDATE api_credentials SET last_used_at = now() WHERE false")


async def test_the_service_role_is_no_superuser_and_owns_nothing(
    service: asyncpg.Connection,
) -> None:
    row = await service.fetchrow(
        "SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles "
        "WHERE rolname = current_user"
    )
    assert row is not None
    assert tuple(row) == (False, False, False, False)
    owned = await service.fetchval(
        """SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner
           WHERE r.rolname = current_user"""
    )
    assert owned == 0


async def test_the_service_role_keeps_the_sessions(service: asyncpg.Connection) -> None:
    """Sessions are made, renewed, read and deleted (logout, expiry) by the service."""
    key = b"k" * 32
    await service.execute(
        "INSERT INTO sessions (key_sha256, value, expires_at) VALUES ($1, 'x', now())", key
    )
    await service.execute("UPDATE sessions SET value = 'y', expires_at = NULL")
    assert await service.fetchval("SELECT value FROM sessions") == b"y"
    await service.execute("DELETE FROM sessions")
    assert await service.fetchval("SELECT count(*) FROM school_staff") == 0


async def test_the_service_role_does_what_retention_needs(
    service: asyncpg.Connection,
) -> None:
    """The granted writes are reachable (no rows yet: the statements plan and run)."""
    await service.execute("UPDATE certificates SET cpr = NULL, payload = NULL, jws = NULL")
    await service.execute("UPDATE participations SET cpr = NULL, name = NULL, facts = '{}'")
    assert await service.fetchval("SELECT count(*) FROM certificates") == 0


async def test_regranting_takes_away_what_the_file_no_longer_grants(
    database_roles: DatabaseRoles,
    migrated: str,
    service: asyncpg.Connection,
    conn: asyncpg.Connection,
) -> None:
    # Something granted by hand outside grants.sql ...
    await conn.execute(f"GRANT DELETE ON certificates TO {database_roles.service}")
    await service.execute("DELETE FROM certificates WHERE false")
    # ... is gone once the migrations run again.
    owner = await asyncpg.connect(
        database_roles.owner_url, server_settings={"search_path": migrated}
    )
    try:
        assert await migrations.apply(owner, service_role=database_roles.service) == []
    finally:
        await owner.close()
    await _refused(service, "DELETE FROM certificates WHERE false")


async def test_the_service_finds_an_unmigrated_schema_and_says_how_to_fix_it(
    database_roles: DatabaseRoles, schema: str
) -> None:
    conn = await asyncpg.connect(
        database_roles.service_url, server_settings={"search_path": schema}
    )
    try:
        with pytest.raises(migrations.SchemaNotCurrentError, match="amu-bevis migrate"):
            await migrations.require_current(conn)
    finally:
        await conn.close()


async def test_a_migrated_schema_is_current(service: asyncpg.Connection) -> None:
    await migrations.require_current(service)


def test_outside_demo_both_roles_are_required_and_distinct() -> None:
    none = database_refusals(Settings())
    assert any("DATABASE_URL is not set" in p for p in none)
    assert any("AMU_MIGRATION_DATABASE_URL is not set" in p for p in none)
    same = database_refusals(
        Settings(database_url="postgresql://a@h/d", migration_database_url="postgresql://a@h/d")
    )
    assert len(same) == 1
    assert "the same" in same[0]
    assert "postgresql://" not in same[0]  # a URL may carry a password
    assert (
        database_refusals(
            Settings(database_url="postgresql://s@h/d", migration_database_url="postgresql://o@h/d")
        )
        == []
    )
    assert database_refusals(Settings(demo=True)) == []


async def test_migrate_runs_as_the_owner_and_grants_to_the_service(
    cli_env: Path, database_roles: DatabaseRoles, schema: str
) -> None:
    assert await asyncio.to_thread(cli.main, ["migrate"]) == 0
    conn = await asyncpg.connect(
        database_roles.service_url, server_settings={"search_path": schema}
    )
    try:
        await migrations.require_current(conn)
        owner = await conn.fetchval(
            "SELECT tableowner FROM pg_tables WHERE schemaname = $1 AND tablename = 'log_nodes'",
            schema,
        )
        assert owner == database_roles.owner
        await _refused(conn, "TRUNCATE log_nodes")
    finally:
        await conn.close()


async def test_migrate_refuses_a_service_url_that_connects_as_a_superuser(
    cli_env: Path,
    database_url: str,
    schema: str,
    conn_for_tables: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert await asyncio.to_thread(cli.main, ["migrate"]) == 2
    err = capsys.readouterr().err
    assert "DATABASE_URL connects as a superuser" in err
    assert database_url not in err


async def test_migrate_refuses_the_owner_as_the_service(
    cli_env: Path,
    database_roles: DatabaseRoles,
    conn_for_tables: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Spelled differently, so only the database can tell it is the same role.
    monkeypatch.setenv(
        "DATABASE_URL",
        database_roles.owner_url
        + ("&" if "?" in database_roles.owner_url else "?")
        + "application_name=x",
    )
    assert await asyncio.to_thread(cli.main, ["migrate"]) == 2
    assert "connect as the same role" in capsys.readouterr().err


@pytest.fixture
async def conn_for_tables(database_url: str, schema: str) -> AsyncIterator[None]:
    """After the test: the refused migration created no table."""
    yield
    conn = await asyncpg.connect(database_url)
    try:
        tables = await conn.fetchval(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1", schema
        )
    finally:
        await conn.close()
    assert tables == 0


def test_a_url_is_rewritten_for_another_role_keeping_host_and_options() -> None:
    socket = "postgresql://postgres:@/postgres?host=/data/pg"
    assert roles.url_as(socket, "amu_owner", database="amu") == (
        "postgresql://amu_owner@/amu?host=/data/pg"
    )
    tcp = "postgresql://postgres:old@127.0.0.1:5432/test?sslmode=require"
    assert roles.url_as(tcp, "amu_service", password="p@ss:/w") == (
        "postgresql://amu_service:p%40ss%3A%2Fw@127.0.0.1:5432/test?sslmode=require"
    )
