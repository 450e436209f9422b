"""e-Boks adapters: ``GatewayEboks`` for an operator's gateway that speaks our documented
protocol (the local test server speaks it too), ``MemoryEboks`` in the process for tests.

Consent is not the distributor's business: the worker sends only when the school has recorded
the participant's consent (``eboks_consents``)::

    POST {base}/messages  (MeMo XML)  -> 201 {"receipt": "..."}, 200 for a known UUID
"""

from __future__ import annotations

import threading
import uuid

import httpx

from formats.memo import MemoMessage
from issuers.delivery.http import post_memo
from issuers.delivery.ports import Receipt


class GatewayEboks:
    """e-Boks through a gateway at ``base_url`` that speaks our protocol (module docstring),
    through the caller's HTTP client (in production HTTPS with the OCES client certificate).
    The protocol is ours, not the distributor's; the local test server speaks it too."""

    def __init__(self, client: httpx.AsyncClient, base_url: str) -> None:
        self._client = client
        self._base = base_url.rstrip("/")

    async def send(self, message: MemoMessage, message_uuid: uuid.UUID) -> Receipt:
        return await post_memo(self._client, f"{self._base}/messages", message, message_uuid)


class MemoryEboks:
    """e-Boks in this process: keeps every message by UUID."""

    def __init__(self) -> None:
        self.messages: dict[uuid.UUID, MemoMessage] = {}
        self.sends = 0
        self._lock = threading.Lock()

    async def send(self, message: MemoMessage, message_uuid: uuid.UUID) -> Receipt:
        with self._lock:
            self.sends += 1
            self.messages.setdefault(message_uuid, message)
        return f"memory-eboks:{message_uuid}"
