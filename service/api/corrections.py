"""The school API for corrections and revocations: a school acts only for its own certificates
(``school_guard`` checks the credential against the path; the store checks the certificate)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, post
from litestar.params import FromPath, JSONBody

from issuers.corrections import (
    CorrectionIn,
    CorrectionOut,
    Corrections,
    RevocationIn,
    RevocationOut,
)
from issuers.delivery.outbox import PostgresOutbox
from service.api.schools import school_guard
from service.services import Services, services_of


def _corrections(services: Services) -> Corrections:
    return Corrections(
        services.pool,
        services.keys,
        services.clock,
        verify_base_url=f"{services.settings.public_base_url}/tjek",
        outbox=PostgresOutbox(max_failures=services.settings.delivery.max_failures),
    )


class CorrectionsController(Controller):
    path = "/api/schools/{school_id:str}/certificates/{number:str}"
    guards = [school_guard]  # noqa: RUF012 - Litestar's own class attribute
    tags = ["Schools"]  # noqa: RUF012
    security = [{"schoolCredential": []}]  # noqa: RUF012

    @post("/corrections", status_code=201, summary="Cancel a certificate and issue its replacement")
    async def correct(
        self,
        request: Request[Any, Any, Any],
        school_id: FromPath[str],
        number: FromPath[str],
        data: JSONBody[CorrectionIn],
    ) -> CorrectionOut:
        """The old certificate stays on record as cancelled, pointing to its replacement."""
        return await _corrections(services_of(request)).correct(school_id, number, data)

    @post("/revocation", status_code=201, summary="Revoke a certificate, with a reason category")
    async def revoke(
        self,
        request: Request[Any, Any, Any],
        school_id: FromPath[str],
        number: FromPath[str],
        data: JSONBody[RevocationIn],
    ) -> RevocationOut:
        return await _corrections(services_of(request)).revoke(school_id, number, data.reason)
