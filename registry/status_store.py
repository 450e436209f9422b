"""SQL for the status lists: each certificate's position and the bits that are set."""

from __future__ import annotations

from dataclasses import dataclass

from registry.db import Connection


@dataclass(frozen=True, slots=True)
class StatusPosition:
    list_id: int
    index: int


# A certificate's position as its 'issued' leaf states it (entry v2, registry.binding); the
# columns only for certificates logged before the leaf bound it (v1). The leaf is the first of
# the certificate's leaves, found by the leaves' index on the certificate number.
_POSITION = """
    coalesce((convert_from(l.entry, 'UTF8')::jsonb #>> '{statusList,list}')::integer,
             c.status_list_id) AS list_id,
    coalesce((convert_from(l.entry, 'UTF8')::jsonb #>> '{statusList,index}')::integer,
             c.status_list_index) AS list_index
"""
_ISSUED_LEAF = """
    LEFT JOIN LATERAL (
        SELECT entry FROM log_leaves WHERE certificate_number = c.number ORDER BY idx LIMIT 1
    ) l ON true
"""


async def status_position(conn: Connection, number: str) -> StatusPosition | None:
    """Where the certificate's bit is, as its leaf binds it (a column edited behind the
    register's back does not move it)."""
    row = await conn.fetchrow(
        f"SELECT {_POSITION} FROM certificates c {_ISSUED_LEAF} WHERE c.number = $1",  # noqa: S608 - constant text
        number,
    )
    return StatusPosition(row["list_id"], row["list_index"]) if row else None


async def status_list_exists(conn: Connection, list_id: int) -> bool:
    """List 1 always exists; a later one once a certificate has a position in it."""
    if list_id == 1:
        return True
    found = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM certificates WHERE status_list_id = $1)", list_id
    )
    return bool(found)


async def status_bits(conn: Connection, list_id: int) -> list[int]:
    """The positions in one list whose bit is set: the certificate was cancelled or revoked,
    or was signed by a school key at or after the date the key was revoked from."""
    # The ended certificates are few (a partial unique index holds them); their positions are
    # read from their leaves, so swapped position columns cannot clear a revoked bit.
    rows = await conn.fetch(
        f"""WITH ended AS (
                SELECT certificate_number AS number FROM certificate_events
                WHERE kind <> 'issued'
                UNION
                SELECT c.number FROM school_keys k
                JOIN certificates c ON c.kid = k.kid AND c.issued_at >= k.revoked_from
                WHERE k.revoked_from IS NOT NULL)
            SELECT p.list_index FROM (
                SELECT {_POSITION} FROM ended JOIN certificates c USING (number) {_ISSUED_LEAF}
            ) p WHERE p.list_id = $1 ORDER BY 1""",  # noqa: S608 - constant text
        list_id,
    )
    return [r["list_index"] for r in rows]
