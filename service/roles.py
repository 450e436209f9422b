"""The two database roles: the tables' owner, which runs the migrations, and the service's, which
may only read and write the rows it needs (``migrations/grants.sql``): no DDL, no TRUNCATE, no
trigger control, no superuser settings. On a PostgreSQL server an administrator makes them once
(docs/operations.md); the embedded demo database makes them here, over its superuser socket::

    owner_url, service_url = await roles.embedded_roles(superuser_url)
    role = await roles.connected_role(service_url)   # who a URL connects as
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg

# The embedded server is private to one checkout, so fixed names cannot collide there.
EMBEDDED_OWNER = "amu_owner"
EMBEDDED_SERVICE = "amu_service"
EMBEDDED_DATABASE = "amu"


@dataclass(frozen=True, slots=True)
class ConnectedRole:
    """The role a URL connects as, and whether it is one that no service should use."""

    name: str
    superuser: bool


def url_as(url: str, user: str, *, password: str | None = None, database: str | None = None) -> str:
    """``url`` with its user (and password, and database when given) replaced."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    userinfo = quote(user, safe="") + (":" + quote(password, safe="") if password else "")
    path = "/" + quote(database, safe="") if database is not None else parts.path
    return urlunsplit((parts.scheme, f"{userinfo}@{host}", path, parts.query, parts.fragment))


async def ensure_role(conn: asyncpg.Connection, name: str, *, password: str | None = None) -> None:
    """Make ``name`` a login role without any special power (``conn`` may create roles); keep
    one that exists. Roles are the whole server's, so another process may make it first."""
    quoted = '"' + name.replace('"', '""') + '"'
    if not await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", name):
        with contextlib.suppress(asyncpg.DuplicateObjectError):  # made meanwhile elsewhere
            await conn.execute(
                f"CREATE ROLE {quoted} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
                "NOBYPASSRLS"
            )
    if password is not None:
        # A parameter cannot stand for the password here; a literal quoted by the server can.
        literal = await conn.fetchval("SELECT quote_literal($1::text)", password)
        await conn.execute(f"ALTER ROLE {quoted} PASSWORD {literal}")


async def embedded_roles(superuser_url: str) -> tuple[str, str]:
    """Make the owner and service roles and the database the owner owns on the embedded server
    (whose superuser ``superuser_url`` connects over its socket, trusted); return the owner's
    and the service's URLs."""
    conn = await asyncpg.connect(superuser_url)
    try:
        await ensure_role(conn, EMBEDDED_OWNER)
        await ensure_role(conn, EMBEDDED_SERVICE)
        exists = await conn.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", EMBEDDED_DATABASE
        )
        if not exists:
            # Its public schema belongs to the database's owner (PostgreSQL 15 and later), so
            # the owner role creates the tables there and nobody else can.
            await conn.execute(f"CREATE DATABASE {EMBEDDED_DATABASE} OWNER {EMBEDDED_OWNER}")
    finally:
        await conn.close()
    return (
        url_as(superuser_url, EMBEDDED_OWNER, database=EMBEDDED_DATABASE),
        url_as(superuser_url, EMBEDDED_SERVICE, database=EMBEDDED_DATABASE),
    )


async def connected_role(url: str) -> ConnectedRole:
    """The role ``url`` connects as (a URL may leave the user to the environment)."""
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow(
            "SELECT rolname, rolsuper FROM pg_roles WHERE rolname = current_user"
        )
    finally:
        await conn.close()
    if row is None:  # current_user is always a role
        raise RuntimeError("the connected role is not in pg_roles")
    return ConnectedRole(name=row["rolname"], superuser=row["rolsuper"])
