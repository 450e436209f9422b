"""The quarterly results report of one school, built from its participations and attempts.

Each participation gives its ordinary row (the final result the issuing stored: result group and
category, ``None`` while there is none) and one row per retake or moved exam the rules engine
marks for funding (``AttemptReport.funding_marks``); ``formats.report`` chooses the rows of the
quarter and writes the file::

    report = await quarterly_report(conn, "751234", Quarter(2026, 4), today=today)

OMPÅE (retake full-time equivalents) is written as 0: it is computed by the funding rules of the
IEU instruction (§ 20.1.8), which the service does not hold yet.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from formats.report import (
    Attempt,
    ParticipationResult,
    Quarter,
    QuarterlyReport,
    ResultGroup,
    build_report,
)
from issuers import document_store, participations, rules, school_store
from issuers.errors import InvalidInputError
from registry.db import Connection

MEDIA_TYPE = "text/csv; charset=utf-8"
RETAKE_FTE_UNKNOWN = Decimal(0)
# A retake is held within four weeks of the end (longer after a moved exam): a year back is ample
# for the rows of the quarter and the three before it.
_LOOK_BACK = dt.timedelta(days=366)
_QUARTER = re.compile(r"(\d{4})K([1-4])")


def parse_quarter(text: str) -> Quarter:
    """``2025K1`` as a Quarter; InvalidInputError naming ``quarter`` otherwise."""
    match = _QUARTER.fullmatch(text)
    if match is None:
        raise InvalidInputError("a quarter is written like 2025K1", field="quarter")
    return Quarter(int(match.group(1)), int(match.group(2)))


async def quarterly_report(
    conn: Connection, school_id: str, quarter: Quarter, *, today: dt.date
) -> QuarterlyReport:
    """The report file of ``school_id`` for ``quarter`` (formats.report.build_report)."""
    first = quarter.plus(-3).first_day
    found = await document_store.participations_ended(
        conn, school_id, first=first - _LOOK_BACK, last=quarter.last_day
    )
    goals = await school_store.goals(conn, {p.goal_number for p in found})
    catalogue = {number: goal.to_catalogue() for number, goal in goals.items()}
    rows: list[ParticipationResult] = []
    for participation in found:
        rows.extend(_rows(school_id, participation, catalogue, today))
    return build_report(rows, quarter, institution=school_id)


def _rows(
    school_id: str,
    found: document_store.ReportedParticipation,
    catalogue: rules.Catalogue,
    today: dt.date,
) -> list[ParticipationResult]:
    periods = participations.periods_from_json(found.periods, found.start, found.end)
    start, end = min(p.start for p in periods), max(p.end for p in periods)
    ordinary = ParticipationResult(
        institution=school_id,
        team=found.team_reference,
        goal=found.goal_number,
        cpr=found.cpr,
        start=start,
        end=end,
        group=ResultGroup(found.result_group),
        category=found.result_category,
    )
    if not found.attempts:
        return [ordinary]
    assessment = participations.assess(
        participations.participation(
            goal=found.goal_number,
            team_reference=found.team_reference,
            periods=periods,
            facts=participations.facts_from_json(found.facts),
            attempts=[participations.attempt_from_json(a) for a in found.attempts],
        ),
        catalogue,
        today=today,
    )
    return [ordinary] + [
        ParticipationResult(
            institution=school_id,
            team=found.team_reference,
            goal=found.goal_number,
            cpr=found.cpr,
            start=start,
            end=end,
            group=ResultGroup(found.result_group),
            category=report.category.number if report.category else None,
            attempt=Attempt.RETAKE if report.is_retake else Attempt.RESCHEDULED,
            attempt_date=report.held_on,
            retake_fte=RETAKE_FTE_UNKNOWN,
        )
        for report in assessment.attempts
        if report.reported_as_retake and report.funding_marks
    ]
