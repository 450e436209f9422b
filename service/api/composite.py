"""The school API for composite courses (sammensatte forløb): a school declares which of its
teams run as one course and sees, per participant, each goal's result and whether the combined
document is due. ``school_guard`` checks the credential against the path; the store keeps every
course and team within the school."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody

from issuers.composite import CompositeCourses
from issuers.requests import CompositeCourseIn, CompositeCourseOut, CompositeCourseView
from service.api.schools import IdempotencyKey, school_guard
from service.services import Services, services_of


def _courses(services: Services) -> CompositeCourses:
    return CompositeCourses(services.pool, services.clock)


class CompositeCourseController(Controller):
    path = "/api/schools/{school_id:str}/composite-courses"
    guards = [school_guard]  # noqa: RUF012 - Litestar's own class attribute
    tags = ["Schools"]  # noqa: RUF012
    security = [{"schoolCredential": []}]  # noqa: RUF012

    @post(
        "/",
        status_code=201,
        summary="Declare a composite course of the school's teams, one goal each",
        responses={201: ResponseSpec(data_container=CompositeCourseOut, description="Declared")},
    )
    async def declare(
        self,
        request: Request[Any, Any, Any],
        school_id: FromPath[str],
        data: JSONBody[CompositeCourseIn],
        idempotency_key: IdempotencyKey,
    ) -> CompositeCourseOut:
        """Repeating a request with the same Idempotency-Key returns the first answer."""
        return await _courses(services_of(request)).declare(
            school_id, idempotency_key, await request.body(), data
        )

    @get("/{reference:str}", summary="A composite course: each goal's result per participant")
    async def view(
        self, request: Request[Any, Any, Any], school_id: FromPath[str], reference: FromPath[str]
    ) -> CompositeCourseView:
        """Goals not taken have no result; the combined document is shown when due, never
        registered as a certificate."""
        return await _courses(services_of(request)).view(school_id, reference)
