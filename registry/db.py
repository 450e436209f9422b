"""Connections: the type store functions take, and pools that work in one schema."""

from __future__ import annotations

import re

import asyncpg
from asyncpg.pool import PoolConnectionProxy

# What store functions take: a bare connection or one borrowed from a pool.
Connection = asyncpg.Connection | PoolConnectionProxy

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def schema_settings(schema: str | None) -> dict[str, str]:
    """Server settings that put every query of a connection into one schema."""
    if schema is None:
        return {}
    if not _SCHEMA_NAME.match(schema):
        raise ValueError("database schema names are lower-case letters, digits and _")
    return {"search_path": schema}


# What PostgreSQL writes to its own log about the service's sessions. A constraint violation's
# DETAIL line quotes the row (a CPR number and a name), the failing statement may quote values,
# and an error's text can quote the value it refused: the service gets every error itself
# (asyncpg raises it) and logs it scrubbed, so the server keeps none of it. These are superuser
# settings: a role that may not set them gets them from the server's configuration instead
# (docs/logs.md; the embedded server sets them server-wide).
QUIET_LOGGING = {
    "log_error_verbosity": "terse",  # no DETAIL, HINT, QUERY or CONTEXT
    "log_min_error_statement": "panic",  # never the failing statement
    "log_min_messages": "fatal",  # not the session's errors either
    "log_statement": "none",
    "log_min_duration_statement": "-1",
    "log_parameter_max_length": "0",
    "log_parameter_max_length_on_error": "0",
}


async def may_quiet_logging(conn: asyncpg.Connection) -> bool:
    """Whether this connection's role may set ``QUIET_LOGGING``."""
    try:
        allowed = await conn.fetchval(
            "SELECT bool_and(has_parameter_privilege(p, 'SET')) FROM unnest($1::text[]) p",
            list(QUIET_LOGGING),
        )
    except asyncpg.UndefinedFunctionError:  # before PostgreSQL 15: only a superuser may
        allowed = await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    return bool(allowed)


async def create_pool(dsn: str, *, schema: str | None, size: int) -> asyncpg.Pool:
    """A connection pool whose connections all work in ``schema`` (or the default) and keep
    their errors out of PostgreSQL's log (``QUIET_LOGGING``, when the role may set it)."""
    settings = schema_settings(schema)
    # Sent at connection start, the settings are each session's defaults, which the pool's
    # RESET ALL on release keeps; a role that may not set them would be refused at start.
    probe = await asyncpg.connect(dsn)
    try:
        if await may_quiet_logging(probe):
            settings |= QUIET_LOGGING
    finally:
        await probe.close()
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=size, server_settings=settings)
    if pool is None:  # only for a pool created without awaiting, which we never do
        raise RuntimeError("asyncpg returned no pool")
    return pool
