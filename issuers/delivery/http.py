"""What the gateway adapters share: posting a MeMo message and reading the answer.

A timeout, a lost connection, 408, 429 or a 5xx answer means "try again later"
(ChannelUnavailableError): the message may or may not have arrived, and the fixed message UUID
makes the retry safe. Any other 4xx means the channel refused this very message
(ChannelRefusedError). Error texts name the status, never the message or the recipient.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from formats.memo import MemoMessage
from issuers.delivery.errors import ChannelRefusedError, ChannelUnavailableError
from issuers.delivery.ports import Receipt

MEMO_MEDIA_TYPE = "application/xml"
UUID_HEADER = "X-Message-UUID"
_RETRYABLE = {408, 425, 429}


async def post_json(client: httpx.AsyncClient, url: str, body: Any, *, what: str) -> Any:
    """POST ``body`` as JSON and return the decoded answer; raises as the module says."""
    response = await _post(client, url, what=what, json=body)
    return response.json()


async def post_memo(
    client: httpx.AsyncClient, url: str, message: MemoMessage, message_uuid: uuid.UUID
) -> Receipt:
    """POST one MeMo message; the answer's ``receipt`` for a new or an already known UUID."""
    response = await _post(
        client,
        url,
        what="the MeMo message",
        content=bytes(message),
        headers={"Content-Type": MEMO_MEDIA_TYPE, UUID_HEADER: str(message_uuid)},
    )
    try:
        receipt = response.json()["receipt"]
    except (ValueError, KeyError, TypeError) as e:
        raise ChannelUnavailableError("the channel's answer carried no receipt") from e
    if not isinstance(receipt, str) or not receipt:
        raise ChannelUnavailableError("the channel's answer carried no receipt")
    return receipt


async def _post(client: httpx.AsyncClient, url: str, *, what: str, **kwargs: Any) -> httpx.Response:
    try:
        response = await client.post(url, **kwargs)
    except httpx.TimeoutException as e:
        raise ChannelUnavailableError(f"no answer in time to {what}") from e
    except httpx.HTTPError as e:
        raise ChannelUnavailableError(f"could not send {what}: {type(e).__name__}") from e
    status = response.status_code
    if status < 300:
        return response
    if status >= 500 or status in _RETRYABLE:
        raise ChannelUnavailableError(f"the channel answered {status} to {what}")
    raise ChannelRefusedError(f"the channel refused {what} with {status}: {_title(response)}")


def _title(response: httpx.Response) -> str:
    """The problem document's title (RFC 9457), or a placeholder. Never the body itself."""
    try:
        title = response.json().get("title")
    except (ValueError, AttributeError):
        return "no reason given"
    return title[:200] if isinstance(title, str) else "no reason given"
