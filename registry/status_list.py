"""Revocation status as a W3C Bitstring Status List (www.w3.org/TR/vc-bitstring-status-list).

Pure: positions, clock and key are arguments. Each certificate owns one bit of one list; the bit
is set once the certificate is cancelled or revoked. A list is ``LIST_SIZE`` bits, GZIP-compressed
and written as multibase base64url without padding (prefix ``u``); index 0 is the left-most bit
of the first byte::

    encoded = encode_list([5, 17])                       # "uH4sI..."
    credential = status_list_credential(url, encoded, issuer=..., valid_from=now)
    signed = sign_credential(credential, key, verification_method=vm, created=now)
    is_set(decode_list(encoded), 17)                     # True
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import gzip
import zlib
from collections.abc import Iterable
from typing import Any

from formats.vc import VC_V2_CONTEXT, StatusEntry
from registry.errors import RegistryError

LIST_SIZE = 131_072  # the specification's minimum, 16 KiB: herd privacy for every holder
PURPOSE = "revocation"
_MULTIBASE_BASE64URL = "u"


class StatusListError(RegistryError):
    """An encoded status list is malformed or too short."""


def encode_list(positions: Iterable[int], size: int = LIST_SIZE) -> str:
    """The encodedList of a bitstring of ``size`` bits with these positions set.

    Raises ValueError for a position outside the list.
    """
    bits = bytearray(size // 8)
    for position in positions:
        if not 0 <= position < size:
            raise ValueError(f"position {position} is outside a list of {size}")
        bits[position // 8] |= 0x80 >> (position % 8)
    # mtime=0: the same bits always encode to the same text.
    compressed = gzip.compress(bytes(bits), mtime=0)
    return _MULTIBASE_BASE64URL + base64.urlsafe_b64encode(compressed).rstrip(b"=").decode()


def decode_list(encoded: str, *, minimum: int = LIST_SIZE) -> bytes:
    """The bitstring of an encodedList.

    Raises StatusListError if it is not multibase base64url GZIP of at least ``minimum`` bits.
    """
    if not encoded.startswith(_MULTIBASE_BASE64URL):
        raise StatusListError("the encodedList is not multibase base64url (no 'u' prefix)")
    text = encoded[1:]
    try:
        compressed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        bits = gzip.decompress(compressed)
    except (binascii.Error, ValueError, OSError, EOFError, zlib.error) as e:
        raise StatusListError("the encodedList is not base64url GZIP data") from e
    if len(bits) * 8 < minimum:
        raise StatusListError(f"the list has {len(bits) * 8} entries, fewer than {minimum}")
    return bits


def is_set(bits: bytes, position: int) -> bool:
    """Whether the bit at ``position`` is set (raises IndexError beyond the list)."""
    return bool(bits[position // 8] & (0x80 >> (position % 8)))


def list_url(base_url: str, list_id: int) -> str:
    return f"{base_url.rstrip('/')}/api/status/{list_id}"


def status_entry(base_url: str, list_id: int, index: int) -> StatusEntry:
    """The BitstringStatusListEntry a certificate at this position carries."""
    url = list_url(base_url, list_id)
    return StatusEntry(id=f"{url}#{index}", status_list_credential=url, status_list_index=index)


def status_list_credential(
    url: str, encoded: str, *, issuer: str, valid_from: dt.datetime
) -> dict[str, Any]:
    """The unsigned BitstringStatusListCredential for one list, published at ``url``."""
    return {
        "@context": [VC_V2_CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": valid_from.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": PURPOSE,
            "encodedList": encoded,
        },
    }
