"""What the pages show about delivery: the DeliveryStatus port and its adapters.

Delivery (issuers/delivery) keeps jobs and attempts; the pages only read them and let a school
put a dead-lettered job back in the queue. ``service.pages.deliveries_store`` is the adapter
over ``issuers.delivery``'s job and history stores (the one the app uses); ``NoDeliveryData``
shows every certificate as not yet delivered, for a service without delivery.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from registry.db import Connection

CHANNEL_TEXT = {
    "digital-post": "Digital Post",
    "eboks": "e-Boks",
    "paper": "papir (print)",
}
STATE_TEXT = {
    "pending": "venter på levering",
    "running": "leveres nu",
    "delivered": "leveret",
    "dead": "opgivet efter gentagne fejl",
}


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    started_at: dt.datetime
    outcome: str | None
    channel: str | None


@dataclass(frozen=True, slots=True)
class Delivery:
    certificate_number: str
    state: str  # pending, running, delivered, dead
    channel: str | None
    due_on: dt.date
    finished_at: dt.datetime | None
    last_error: str | None
    attempts: tuple[DeliveryAttempt, ...] = ()


class DeliveryStatus(Protocol):
    async def of_certificates(
        self, conn: Connection, numbers: Sequence[str]
    ) -> dict[str, list[Delivery]]:
        """The deliveries of each certificate (absent: none yet)."""

    async def needing_attention(
        self, conn: Connection, school_id: str, today: dt.date
    ) -> tuple[list[Delivery], list[Delivery]]:
        """A school's (dead-lettered, overdue) deliveries."""

    async def retry(self, conn: Connection, school_id: str, number: str, now: dt.datetime) -> int:
        """Put a certificate's dead-lettered deliveries back in the queue; how many."""


class NoDeliveryData:
    """No delivery data in the service yet: nothing delivered, nothing to retry."""

    # The port's signatures; this adapter has nothing to look up.
    # ruff: noqa: ARG002

    async def of_certificates(
        self, conn: Connection, numbers: Sequence[str]
    ) -> dict[str, list[Delivery]]:
        return {}

    async def needing_attention(
        self, conn: Connection, school_id: str, today: dt.date
    ) -> tuple[list[Delivery], list[Delivery]]:
        return [], []

    async def retry(self, conn: Connection, school_id: str, number: str, now: dt.datetime) -> int:
        return 0
