"""The status entry a certificate's Verifiable Credential carries: its bit in a published list.

    entry = await certificate_status_entry(conn, "https://bevis.example", "2026-0000042")
    entry.to_json()   # {"type": "BitstringStatusListEntry", "statusListIndex": "17", ...}

The list itself is served at ``status_list.list_url`` (``GET /api/status/{list}``).
"""

from __future__ import annotations

from formats.vc import StatusEntry
from registry import status_list, status_store
from registry.db import Connection


async def certificate_status_entry(
    conn: Connection, base_url: str, number: str
) -> StatusEntry | None:
    """The ``credentialStatus`` entry of certificate ``number``; None for an unknown number."""
    position = await status_store.status_position(conn, number)
    if position is None:
        return None
    return status_list.status_entry(base_url, position.list_id, position.index)
