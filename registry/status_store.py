"""SQL for the status lists: each certificate's position and the bits that are set."""

from __future__ import annotations

from dataclasses import dataclass

from registry.db import Connection


@dataclass(frozen=True, slots=True)
class StatusPosition:
    list_id: int
    index: int


async def status_position(conn: Connection, number: str) -> StatusPosition | None:
    row = await conn.fetchrow(
        "SELECT status_list_id, status_list_index FROM certificates WHERE number = $1", number
    )
    return StatusPosition(row["status_list_id"], row["status_list_index"]) if row else None


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
    rows = await conn.fetch(
        """SELECT c.status_list_index FROM certificates c
           WHERE c.status_list_id = $1 AND (
               EXISTS (SELECT 1 FROM certificate_events e
                       WHERE e.certificate_number = c.number AND e.kind <> 'issued')
               OR EXISTS (SELECT 1 FROM school_keys k
                          WHERE k.kid = c.kid AND k.revoked_from <= c.issued_at))
           ORDER BY 1""",
        list_id,
    )
    return [r["status_list_index"] for r in rows]
