"""The school API: a school authenticates with its own credential and acts only for itself.

One router under ``/api/schools/{school_id}``, guarded by ``SchoolGuard`` (the credential must
be the path's school's): teams and participations, composite courses (sammensatte forløb),
corrections and revocations, the certificates it issued in every form, its quarterly report,
and its deliveries (``deliveries``).
"""

from __future__ import annotations

from typing import Annotated

import asyncpg
from litestar import Response, Router, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody, PathParameter
from litestar.types import Guard

from issuers import reports
from issuers.composite import CompositeCourses
from issuers.corrections import (
    CorrectionIn,
    CorrectionOut,
    Corrections,
    RevocationIn,
    RevocationOut,
)
from issuers.errors import InvalidInputError
from issuers.idempotency import IdempotentRequest
from issuers.issuing import Issuer
from issuers.requests import (
    AttemptIn,
    CompositeCourseIn,
    CompositeCourseOut,
    CompositeCourseView,
    FactsUpdateIn,
    OverdueOut,
    ParticipationOut,
    TeamResultsIn,
    TeamResultsOut,
)
from registry.clock import Clock, today_in_denmark
from service.api import deliveries, forms
from service.api.forms import PRIVATE
from service.api.parameters import (
    CertificateNumber,
    ParticipationId,
    SchoolId,
    answered,
    provide_write,
)

# -- teams and participations -----------------------------------------------------------------


@post(
    "/teams",
    status_code=201,
    summary="Report a team's results and issue its certificates",
    responses={201: ResponseSpec(data_container=TeamResultsOut, description="Issued")},
)
async def post_team(
    issuer: NamedDependency[Issuer],
    write: NamedDependency[IdempotentRequest],
    data: JSONBody[TeamResultsIn],
) -> Response[bytes]:
    """Repeating a request with the same Idempotency-Key returns the first answer."""
    return answered(await issuer.issue_team(write, data), 201)


@get("/participations/{participation:uuid}", summary="A participation as the rules see it")
async def get_participation(
    issuer: NamedDependency[Issuer], school_id: SchoolId, participation: ParticipationId
) -> ParticipationOut:
    """The computed result group and category, documents due and deadlines."""
    return await issuer.participation(school_id, participation)


@post(
    "/participations/{participation:uuid}/attempts",
    status_code=201,
    summary="Record an exam attempt, retake or rescheduled exam",
    responses={201: ResponseSpec(data_container=ParticipationOut, description="Recorded")},
)
async def post_attempt(
    issuer: NamedDependency[Issuer],
    write: NamedDependency[IdempotentRequest],
    participation: ParticipationId,
    data: JSONBody[AttemptIn],
) -> Response[bytes]:
    """Attempts are appended, never changed; certificates now due are issued at once."""
    return answered(await issuer.record_attempt(write, participation, data), 201)


@patch(
    "/participations/{participation:uuid}",
    summary="Record a dispensation, judgement, IKV outcome or drop-out",
    responses={200: ResponseSpec(data_container=ParticipationOut, description="Recorded")},
)
async def patch_participation(
    issuer: NamedDependency[Issuer],
    write: NamedDependency[IdempotentRequest],
    participation: ParticipationId,
    data: JSONBody[FactsUpdateIn],
) -> Response[bytes]:
    """Members left out stay as they were; certificates now due are issued at once."""
    return answered(await issuer.update_facts(write, participation, data), 200)


@get("/overdue", summary="Results late or due within three working days")
async def overdue(issuer: NamedDependency[Issuer], school_id: SchoolId) -> list[OverdueOut]:
    return await issuer.overdue(school_id)


# -- composite courses ------------------------------------------------------------------------


@post(
    "/composite-courses",
    status_code=201,
    summary="Declare a composite course of the school's teams, one goal each",
    responses={201: ResponseSpec(data_container=CompositeCourseOut, description="Declared")},
)
async def declare(
    composite_courses: NamedDependency[CompositeCourses],
    write: NamedDependency[IdempotentRequest],
    data: JSONBody[CompositeCourseIn],
) -> Response[bytes]:
    """Repeating a request with the same Idempotency-Key returns the first answer."""
    return answered(await composite_courses.declare(write, data), 201)


@get(
    "/composite-courses/{reference:str}",
    summary="A composite course: each goal's result per participant",
)
async def view(
    composite_courses: NamedDependency[CompositeCourses],
    school_id: SchoolId,
    reference: Annotated[
        str,
        PathParameter(description="The composite course's reference, as the school declared it"),
    ],
) -> CompositeCourseView:
    """Goals not taken have no result; the combined document is shown when due, never
    registered as a certificate."""
    return await composite_courses.view(school_id, reference)


# -- corrections and revocations --------------------------------------------------------------


@post(
    "/certificates/{number:str}/corrections",
    status_code=201,
    summary="Cancel a certificate and issue its replacement",
    responses={201: ResponseSpec(data_container=CorrectionOut, description="Corrected")},
)
async def correct(
    corrections: NamedDependency[Corrections],
    write: NamedDependency[IdempotentRequest],
    number: CertificateNumber,
    data: JSONBody[CorrectionIn],
) -> Response[bytes]:
    """The old certificate stays on record as cancelled, pointing to its replacement.
    Repeating a request with the same Idempotency-Key returns the first answer."""
    return answered(await corrections.correct(write, number, data), 201)


@post(
    "/certificates/{number:str}/revocation",
    status_code=201,
    summary="Revoke a certificate, with a reason category",
    responses={201: ResponseSpec(data_container=RevocationOut, description="Revoked")},
)
async def revoke(
    corrections: NamedDependency[Corrections],
    write: NamedDependency[IdempotentRequest],
    number: CertificateNumber,
    data: JSONBody[RevocationIn],
) -> Response[bytes]:
    """Repeating a request with the same Idempotency-Key returns the first answer."""
    return answered(await corrections.revoke(write, number, data.reason), 201)


REPORT_YEARS = (1990, 2999)
"""A report's quarter and the three before it must be real dates (year 0000 was a 500)."""

# -- its quarterly report (the certificates it issued, in every form: ``forms``) --------------


@get(
    "/reports/{quarter:str}",
    media_type=reports.MEDIA_TYPE,
    summary="The quarterly results report, e.g. 2026K4",
)
async def report(
    pool: NamedDependency[asyncpg.Pool],
    clock: NamedDependency[Clock],
    school_id: SchoolId,
    quarter: Annotated[
        str,
        PathParameter(description="The quarter, YYYYKn: the year and K1 to K4 (e.g. 2026K4)"),
    ],
) -> Response[bytes]:
    """Every participation ended in the quarter and the three before it, retakes as rows of
    their own (docs/formats.md, "Quarterly results report")."""
    wanted = reports.parse_quarter(quarter)
    if not REPORT_YEARS[0] <= wanted.year <= REPORT_YEARS[1]:
        raise InvalidInputError(
            f"a report covers a quarter of {REPORT_YEARS[0]} to {REPORT_YEARS[1]}", field="quarter"
        )
    async with pool.acquire() as conn:
        body = await reports.quarterly_report(
            conn, school_id, wanted, today=today_in_denmark(clock())
        )
    return Response(
        body,
        media_type="text/csv",  # Litestar adds "; charset=utf-8" to text types
        headers={
            **PRIVATE,
            "Content-Disposition": f'attachment; filename="{wanted}-{school_id}.csv"',
        },
    )


def router(guard: Guard) -> Router:
    """Every school route, behind ``guard`` (``SchoolGuard``). The OpenAPI tags group the
    routes: "Schools" here, "Delivery" for ``deliveries``."""
    return Router(
        path="/api/schools/{school_id:str}",
        guards=[guard],
        security=[{"schoolCredential": []}],
        route_handlers=[
            Router(
                path="/",
                tags=["Schools"],
                dependencies={"write": Provide(provide_write)},
                route_handlers=[
                    post_team,
                    get_participation,
                    post_attempt,
                    patch_participation,
                    overdue,
                    declare,
                    view,
                    correct,
                    revoke,
                    *forms.school_handlers(),
                    report,
                ],
            ),
            deliveries.router(),
        ],
    )
