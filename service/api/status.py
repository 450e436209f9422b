"""Revocation status over HTTP: the published status lists (the entry a certificate's
Verifiable Credential carries is ``registry.status_entry``).

``GET /api/status/{list}`` is public: a list is bits, not people. It is built from the
append-only status events on every request, so it is always current, and signed
(eddsa-jcs-2022) with the register's active log key, named as a ``did:key`` that
``GET /api/log/keys`` publishes.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from litestar import Controller, Request, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

from formats.multibase import did_key_verification_method
from formats.vc import sign_credential
from registry import status_list, status_store
from registry.keys import ed25519_key
from registry.transparency import log
from service.services import services_of


class StatusListController(Controller):
    path = "/api/status"
    tags = ["Verification"]  # noqa: RUF012 - Litestar's own class attribute

    @get("/{list_id:int}", summary="A revocation status list (W3C Bitstring Status List)")
    async def status_list(
        self, request: Request[Any, Any, Any], list_id: FromPath[int]
    ) -> dict[str, Any]:
        services = services_of(request)
        async with services.pool.acquire() as conn:
            if list_id < 1 or not await status_store.status_list_exists(conn, list_id):
                raise NotFoundException("The register has no status list with this number")
            positions = await status_store.status_bits(conn, list_id)
            key = await log.active_log_key(conn)
        if key is None:
            raise NotFoundException("The register has no log key yet")
        now = services.clock()
        base = services.settings.public_base_url
        credential = status_list.status_list_credential(
            status_list.list_url(base, list_id),
            status_list.encode_list(positions),
            issuer=base,
            valid_from=now,
        )
        return sign_credential(
            credential,
            ed25519_key(services.keys, key.kid),
            verification_method=did_key_verification_method(
                Ed25519PublicKey.from_public_bytes(key.public_key)
            ),
            created=now,
        )
