"""The service's pool keeps its sessions' errors out of PostgreSQL's own log."""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from registry import db


async def test_pool_sessions_log_no_detail_statement_or_parameter(
    database_url: str, schema: str
) -> None:
    pool = await db.create_pool(database_url, schema=schema, size=1)
    try:
        for _ in range(2):  # the pool's RESET ALL between borrowings keeps them
            async with pool.acquire() as conn:
                shown = {name: await conn.fetchval(f"SHOW {name}") for name in db.QUIET_LOGGING}
                assert await conn.fetchval("SHOW search_path") == schema
                await conn.execute("SET log_error_verbosity = verbose")
        assert shown == db.QUIET_LOGGING
    finally:
        await pool.close()


async def test_a_role_that_may_not_set_them_still_connects(database_url: str, schema: str) -> None:
    role = f"{schema}_plain"
    url = urlsplit(database_url)
    as_role = urlunsplit(url._replace(netloc=f"{role}@{url.hostname or ''}"))
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute(f"CREATE ROLE {role} LOGIN")
        try:
            pool = await db.create_pool(as_role, schema=schema, size=1)
        except asyncpg.InvalidAuthorizationSpecificationError:
            pytest.skip("this server does not let a new role in without a password")
        try:
            async with pool.acquire() as conn:
                assert await conn.fetchval("SHOW log_min_messages") != "fatal"  # not ours to set
                if not os.environ.get("DATABASE_URL"):  # the embedded server sets it for all
                    assert await conn.fetchval("SHOW log_error_verbosity") == "terse"
        finally:
            await pool.close()
    finally:
        await admin.execute(f"DROP ROLE IF EXISTS {role}")
        await admin.close()
