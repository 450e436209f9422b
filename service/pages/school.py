"""Skolens overblik: a logged-in school's teams with each participant's result, certificate and
delivery, the overdue list, and dead-lettered deliveries with a retry button.

School staff log in as themselves with the staff identity provider (MitID Erhverv; the demo's
stand-in at ``/udvikling/log-ind/medarbejder``). A person is admitted to a school when they
hold a live role there (``issuers.staff_store``) and the provider says they act for that
school's organisation (its CVR number); with roles at several such schools they pick one. The
session then names only that school, with their role, and every query is limited to it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

import asyncpg
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath, SkipValidation
from litestar.response import Redirect, Template

from issuers import overview_store, school_store, staff_store
from issuers.cpr import mask
from issuers.workdays import DANISH_WORKDAYS
from registry import codes
from registry.clock import Clock, today_in_denmark
from service.identity import Identity, IdentityProvider, IdentityProviderUnavailableError
from service.pages import view
from service.pages.deliveries import CHANNEL_TEXT, STATE_TEXT, Delivery
from service.pages.sessions import Session
from service.pages.web import Page, form_action_policy, redirect

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
CALLBACK_PATH = "/skole/log-ind/svar"
ROLE_TEXT = {"administrator": "Administrator", "registrar": "Registrator"}
_PENDING = "staff_login"  # in the session: a proven identity choosing its school
_NO_STAFF_LOGIN = (
    "Log ind for skoler er ikke sat op",
    "Registret har ingen MitID Erhverv-forbindelse endnu. Kontakt registrets drift.",
)
_BROKER_AWAY = (
    "MitID Erhverv svarer ikke lige nu",
    "Vi kan ikke nå MitID Erhverv. Prøv igen om lidt.",
)

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
    async def login_page(
        self,
        *,
        page: NamedDependency[Page],
        staff_identity: NamedDependency[SkipValidation[IdentityProvider | None]],
    ) -> Template:
        # The form's answer redirects to the provider: form-action must allow its origin too.
        origin = await staff_identity.login_origin() if staff_identity is not None else None
        return page.render("school_login.html", headers=form_action_policy(origin))

    @post("/log-ind", status_code=303)
    async def start_login(
        self,
        *,
        page: NamedDependency[Page],
        staff_identity: NamedDependency[SkipValidation[IdentityProvider | None]],
    ) -> Any:
        """Start the OpenID Connect login at the staff identity provider."""
        if staff_identity is None:
            return page.error(503, message=_NO_STAFF_LOGIN)
        try:
            login = await staff_identity.begin_login(
                redirect_uri=page.context.absolute(CALLBACK_PATH)
            )
        except IdentityProviderUnavailableError:
            return page.error(503, message=_BROKER_AWAY)
        page.begin_login("staff", login)
        return redirect(login.url)

    @get("/log-ind/svar", status_code=303)
    async def finish_login(
        self,
        *,
        page: NamedDependency[Page],
        staff_identity: NamedDependency[SkipValidation[IdentityProvider | None]],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
    ) -> Any:
        """Admit the person to the one school they may act for, let them choose among several,
        or tell them to ask the school's administrator."""
        login = page.take_login("staff")
        if login is None or staff_identity is None:
            raise PermissionDeniedException("login state")
        try:
            found = await staff_identity.finish_login(
                params=dict(page.request.query_params),
                request=login,
                redirect_uri=page.context.absolute(CALLBACK_PATH),
            )
        except IdentityProviderUnavailableError:
            return page.error(503, message=_BROKER_AWAY)
        if found is None:
            raise PermissionDeniedException("login refused")
        admitted = await _admitted(pool, found.subject, found.organisation)
        now = clock()
        if len(admitted) == 1:
            page.log_in(_staff_session(found, admitted[0], now))
            return redirect("/skole")
        if not admitted:
            return page.render(
                "school_no_access.html",
                {"subject": found.subject, "name": found.name},
                status_code=403,
            )
        page.keep(
            _PENDING,
            {
                "subject": found.subject,
                "name": found.name,
                "organisation": found.organisation,
                "id_token": found.id_token,
                "at": int(now.timestamp()),
            },
        )
        return page.render(
            "school_choose.html",
            {
                "name": found.name,
                "schools": [
                    {"id": r.school_id, "name": r.school_name, "role": ROLE_TEXT[r.role]}
                    for r in admitted
                ],
            },
        )

    @post("/log-ind/vaelg", status_code=303)
    async def choose(
        self,
        *,
        page: NamedDependency[Page],
        pool: NamedDependency[asyncpg.Pool],
    ) -> Redirect:
        """The school a person with roles at several chose (checked again: roles may change)."""
        form = await page.form()
        pending = page.kept(_PENDING)
        if not isinstance(pending, dict) or not isinstance(pending.get("subject"), str):
            raise PermissionDeniedException("no login to finish")
        found = Identity(
            subject=pending["subject"],
            name=pending.get("name"),
            organisation=pending.get("organisation"),
            id_token=pending.get("id_token"),
        )
        admitted = await _admitted(pool, found.subject, found.organisation)
        chosen = [r for r in admitted if r.school_id == form.get("skole")]
        if not chosen:
            raise PermissionDeniedException("not one of their schools")
        login_at = dt.datetime.fromtimestamp(int(pending.get("at", 0)), dt.UTC)
        page.log_in(_staff_session(found, chosen[0], login_at))
        return redirect("/skole")

    @post("/log-ud", status_code=303)
    async def logout(
        self,
        *,
        page: NamedDependency[Page],
        staff_identity: NamedDependency[SkipValidation[IdentityProvider | None]],
    ) -> Response[Any]:
        return await page.log_out(staff_identity, provider="MitID Erhverv")  # None: ours only

    @get("/")
    async def overview(
        self,
        *,
        page: NamedDependency[Page],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
    ) -> Template:
        today = today_in_denmark(clock())
        async with pool.acquire() as conn:
            session = await page.current_staff(conn)
            school_id = session.subject
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
                "role": ROLE_TEXT.get(session.role or "", ""),
                "administrator": session.may("administrator"),
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
        async with pool.acquire() as conn:
            school_id = (await page.current_staff(conn, "registrar")).subject
            if not codes.is_certificate_number(number):
                raise NotFoundException
            count = await page.context.deliveries.retry(conn, school_id, number, clock())
        return redirect(f"/skole?forsoegt={quote(number)}&antal={count}#doede")


async def _admitted(
    pool: asyncpg.Pool, subject: str, organisation: str | None
) -> list[staff_store.StaffRole]:
    """The live roles of ``subject`` at schools of ``organisation`` (the CVR number the
    identity provider vouches for): a role at another organisation's school admits no one."""
    if not organisation:
        return []
    async with pool.acquire() as conn:
        roles = await staff_store.roles_of(conn, subject)
    return [r for r in roles if r.school_cvr == organisation]


def _staff_session(found: Identity, role: staff_store.StaffRole, login_at: dt.datetime) -> Session:
    return Session(
        "school",
        role.school_id,
        login_at,
        role=role.role,
        actor=found.subject,
        name=found.name,
        id_token=found.id_token,
    )
