"""Random (version 4) UUIDs made many at a time, for paths that make one per row.

``uuid.uuid4`` asks the kernel for 16 bytes per id; a batch asks once for all of them. The ids
are the same kind (122 random bits from ``os.urandom``, version 4, RFC 4122 variant)::

    team_id, *participation_ids = random_uuids(1 + len(participants))
"""

from __future__ import annotations

import os
import uuid


def random_uuids(count: int) -> list[uuid.UUID]:
    """``count`` fresh version-4 UUIDs from one ``os.urandom`` call."""
    raw = os.urandom(16 * count)
    return [uuid.UUID(bytes=raw[i : i + 16], version=4) for i in range(0, 16 * count, 16)]
