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


async def create_pool(dsn: str, *, schema: str | None, size: int) -> asyncpg.Pool:
    """A connection pool whose connections all work in ``schema`` (or the default)."""
    pool = await asyncpg.create_pool(
        dsn, min_size=1, max_size=size, server_settings=schema_settings(schema)
    )
    if pool is None:  # only for a pool created without awaiting, which we never do
        raise RuntimeError("asyncpg returned no pool")
    return pool
