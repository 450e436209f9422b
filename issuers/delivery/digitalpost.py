"""Digital Post adapters: ``GatewayDigitalPost`` for an operator's gateway that speaks our
documented protocol (the local test server speaks it too), ``MemoryDigitalPost`` in the process
for tests.

The protocol is ours, not the real Digital Post's (NgDP); docs/delivery.md describes it::

    POST {base}/lookup/digital-post-recipients  {"cpr": "..."} -> {"canReceive": true}
    POST {base}/memo/messages  (MeMo XML)  -> 201 {"receipt": "..."}, 200 for a known UUID
"""

from __future__ import annotations

import threading
import uuid

import httpx

from formats.memo import MemoMessage
from issuers.delivery.errors import ChannelUnavailableError
from issuers.delivery.http import post_json, post_memo
from issuers.delivery.ports import Receipt


class GatewayDigitalPost:
    """Digital Post through a gateway at ``base_url`` that speaks our protocol (module
    docstring), through the caller's HTTP client: its timeouts, and in production its HTTPS
    with the OCES client certificate. The local test server speaks the same protocol, so in demo
    mode this adapter talks plain HTTP to it. A native NgDP adapter does not exist yet."""

    def __init__(self, client: httpx.AsyncClient, base_url: str) -> None:
        self._client = client
        self._base = base_url.rstrip("/")

    async def can_receive(self, cpr: str) -> bool:
        answer = await post_json(
            self._client,
            f"{self._base}/lookup/digital-post-recipients",
            {"cpr": cpr},  # in the body: a CPR number never goes into a URL
            what="the Digital Post lookup",
        )
        can = answer.get("canReceive") if isinstance(answer, dict) else None
        if not isinstance(can, bool):
            raise ChannelUnavailableError("the Digital Post lookup gave no answer")
        return can

    async def send(self, message: MemoMessage, message_uuid: uuid.UUID) -> Receipt:
        return await post_memo(self._client, f"{self._base}/memo/messages", message, message_uuid)


class MemoryDigitalPost:
    """Digital Post in this process: keeps every message by UUID; ``exempt`` people cannot
    receive digital post."""

    def __init__(self, exempt: frozenset[str] = frozenset()) -> None:
        self.exempt = set(exempt)
        self.messages: dict[uuid.UUID, MemoMessage] = {}
        self.sends = 0
        self._lock = threading.Lock()

    async def can_receive(self, cpr: str) -> bool:
        return cpr not in self.exempt

    async def send(self, message: MemoMessage, message_uuid: uuid.UUID) -> Receipt:
        with self._lock:
            self.sends += 1
            self.messages.setdefault(message_uuid, message)
        return f"memory-digital-post:{message_uuid}"
