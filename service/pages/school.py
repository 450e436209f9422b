"""Skolens overblik: a logged-in school's teams with each participant's result, certificate and
delivery, the overdue list, and dead-lettered deliveries with a retry button.

A school logs in with its own API credential on a form; the session then names only that
school, and every query is limited to it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import asyncpg
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from issuers import credentials, overview_store, school_store
from issuers.cpr import mask
from issuers.workdays import DANISH_WORKDAYS
from registry import codes
from registry.clock import Clock, today_in_denmark
from service.pages import view
from service.pages.deliveries import CHANNEL_TEXT, STATE_TEXT, Delivery
from service.pages.web import Page, redirect

# (group, category) -> what the result means, in the school's words (DOMAIN.md, 002 §3).
RESULT_TEXT = {
    (1, 1): "Bestået – bevis",
    (1, 2): "Fritaget for prøven, målet nået – bevis",
    (1, 3): "IKV – bevis",
    (1, 4): "Ikke bestået",
    (1, 5): "Afbrudt eller ikke mødt til prøven",
    (1, 6): "Fritaget for prøven, målet ikke nået",
    (2, 1): "Målet nået – bevis",
    (2, 2): "IKV – bevis",
    (2, 3): "Målet ikke nået",
    (2, 4): "Afbrudt",
}
# Results and certificates are due within 10 working days of the course's end (001).
DEADLINE_WORKING_DAYS = 10


def _delivery_line(d: Delivery) -> dict[str, Any]:
    return {
        "number": d.certificate_number,
        "state": STATE_TEXT.get(d.state, d.state),
        "channel": CHANNEL_TEXT.get(d.channel or "", None),
        "due": view.day(d.due_on),
        "attempts": len(d.attempts),
        "error": d.last_error,
    }


class SchoolPages(Controller):
    path = "/skole"

    @get("/log-ind")
    async def login_page(self, *, page: NamedDependency[Page]) -> Template:
        return page.render("school_login.html")

    @post("/log-ind", status_code=303)
    async def login(
        self,
        *,
        page: NamedDependency[Page],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
    ) -> Any:
        form = await page.form()
        parsed = credentials.parse_token(form.get("noegle", "").strip())
        school_id = None
        if parsed is not None:
            async with pool.acquire() as conn:
                school_id = await credentials.school_of(conn, *parsed)
        if school_id is None:
            return page.render("school_login.html", {"refused": True}, status_code=401)
        return redirect(
            "/skole", cookies=[page.context.session_cookie("school", school_id, clock())]
        )

    @post("/log-ud", status_code=303)
    async def logout(self, *, page: NamedDependency[Page]) -> Redirect:
        return await page.log_out()

    @get("/")
    async def overview(
        self,
        *,
        page: NamedDependency[Page],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
    ) -> Template:
        school_id = page.require("school").subject
        today = today_in_denmark(clock())
        async with pool.acquire() as conn:
            school = await school_store.school(conn, school_id)
            if school is None:
                raise NotFoundException
            teams = await overview_store.teams_of(conn, school_id)
            numbers = [
                p.certificate_number for t in teams for p in t.participants if p.certificate_number
            ]
            deliveries = await page.context.deliveries.of_certificates(conn, numbers)
            dead, overdue_deliveries = await page.context.deliveries.needing_attention(
                conn, school_id, today
            )
        overdue_results = []
        shown_teams = []
        for t in teams:
            deadline = DANISH_WORKDAYS.add_working_days(t.end_date, DEADLINE_WORKING_DAYS)
            rows = []
            for p in t.participants:
                mine = deliveries.get(p.certificate_number or "", [])
                rows.append(
                    {
                        "name": p.name,
                        "cpr": mask(p.cpr),
                        "result": RESULT_TEXT.get((p.result_group or 0, p.result_category or 0))
                        if p.result_category
                        else None,
                        "number": p.certificate_number,
                        "status": view.STATUS_TEXT.get(p.certificate_status or "", None),
                        "delivery": STATE_TEXT.get(mine[-1].state) if mine else None,
                    }
                )
                if p.result_category is None and deadline < today:
                    overdue_results.append(
                        {"team": t.reference, "name": p.name, "deadline": view.day(deadline)}
                    )
            shown_teams.append(
                {
                    "reference": t.reference,
                    "goal": f"{t.goal_number} {t.goal_title}",
                    "period": f"{view.day(t.start_date)} – {view.day(t.end_date)}",
                    "participants": rows,
                }
            )
        return page.render(
            "school.html",
            {
                "school": school,
                "teams": shown_teams,
                "overdue_results": overdue_results,
                "overdue_deliveries": [_delivery_line(d) for d in overdue_deliveries],
                "dead": [_delivery_line(d) for d in dead],
                "retried": page.request.query_params.get("forsoegt"),
                "retried_count": page.request.query_params.get("antal", "0"),
            },
        )

    @post("/leveringer/{number:str}/forsoeg-igen", status_code=303)
    async def retry(
        self,
        *,
        number: FromPath[str],
        page: NamedDependency[Page],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
    ) -> Redirect:
        """Put a dead-lettered delivery of one of the school's certificates back in the queue."""
        school_id = page.require("school").subject
        await page.form()
        if not codes.is_certificate_number(number):
            raise NotFoundException
        async with pool.acquire() as conn:
            count = await page.context.deliveries.retry(conn, school_id, number, clock())
        return redirect(f"/skole?forsoegt={quote(number)}&antal={count}#doede")
