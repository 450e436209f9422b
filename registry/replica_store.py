"""SQL for how far a streaming read replica is behind its primary (`registry.reads`).

Every function takes the connection it runs on: `primary_position` the primary's, `replica_state`
the replica's. Both work for a role without any special privilege.
"""

from __future__ import annotations

from dataclasses import dataclass

from registry.db import Connection


@dataclass(frozen=True, slots=True)
class ReplicaState:
    """Whether the replica had replayed a position of the primary's, and if not, how old the
    last transaction it did replay is (seconds; None when it has replayed none since it
    started)."""

    reached: bool
    behind_seconds: float | None


async def primary_position(conn: Connection) -> str:
    """The primary's current WAL position (a ``pg_lsn`` as text)."""
    return str(await conn.fetchval("SELECT pg_current_wal_lsn()::text"))


async def replica_state(conn: Connection, position: str) -> ReplicaState:
    """How the replica stands against the primary's ``position``. A server that is no replica
    has replayed nothing: ``reached`` false, ``behind_seconds`` None."""
    row = await conn.fetchrow(
        """SELECT coalesce(pg_last_wal_replay_lsn() >= $1::text::pg_lsn, false) AS reached,
                  extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 AS behind""",
        position,
    )
    if row is None:  # a SELECT without FROM always returns its row
        raise RuntimeError("the replica's state returned no row")
    return ReplicaState(reached=row["reached"], behind_seconds=row["behind"])
