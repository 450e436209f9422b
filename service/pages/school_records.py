"""The school's records after reporting: search and page through its teams, participants and
certificates; record later facts on a participation; correct, revoke and order paper for a
certificate, and see where it was delivered, attempt by attempt.

Every write goes through the same domain call as the school API (``Issuer.record_attempt``,
``Issuer.update_facts``, ``Corrections.correct`` and ``.revoke``, ``DeliveryDesk.order_paper``)
with the same input structs (``school_records_forms`` builds them from the form) and the same
idempotency (``issuers.idempotency``): each form carries a one-time id made when the page was
rendered, and the Idempotency-Key is that id bound to the staff member, so a double submit or a
re-sent POST records once. A success redirects (POST-redirect-GET); a refusal re-renders the
form with the field's Danish error and status 400 (409 for a clash with what is stored).

Any staff role may do all of this (a registrar keeps the school's records); the role is checked
again in the database on every request. Another school's team, participation or certificate is
a 404. A CPR number is searched only through a POST form and shown masked; it never goes into a
URL.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import urlencode

import asyncpg
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from issuers import overview_store, participations
from issuers.corrections import CertificateNotFoundError, Corrections
from issuers.cpr import mask, parse_cpr
from issuers.delivery.desk import DeliveryDesk
from issuers.delivery.errors import DeliveryError
from issuers.errors import (
    ConflictError,
    IdempotencyConflictError,
    InvalidInputError,
    IssuingError,
    NotFoundIssuingError,
)
from issuers.idempotency import IdempotentRequest
from issuers.issuing import Issuer
from registry import codes
from service.pages import school_records_forms as forms
from service.pages import school_records_view as records_view
from service.pages import view
from service.pages.sessions import Session
from service.pages.web import Page, redirect

PAGE_SIZE = 20
CPR_ROWS = 100  # one person's participations at one school: all on one page
FORM_ID = "formular_id"
_FORM_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_CPR_LIKE = re.compile(r"^[0-9][0-9 -]{5,}$")
_DAY = re.compile(r"^(\d{1,2})[.-](\d{1,2})[.-](\d{4})$")

Query = Annotated[str, QueryParameter(max_length=200)]
PageNumber = Annotated[int, QueryParameter(ge=1, le=100_000)]

_USED = "Formularen er allerede sendt. Genindlæs siden, og prøv igen."
_EARLIER_FACTS = (
    "Der er allerede udstedt et bevis på de tidligere oplysninger. Ret eller tilbagekald beviset "
    "først."
)
_NOT_VALID = "Beviset er allerede annulleret eller tilbagekaldt."
DONE_TEXT = {
    "proeve": "Prøven er registreret.",
    "dispensation": "Dispensationen er registreret.",
    "bedoemmelse": "Bedømmelsen er registreret.",
    "ikv": "IKV-resultatet er registreret.",
    "afbrudt": "Afbrydelsen er registreret.",
    "rettet": "Beviset er annulleret og erstattet af et rettet bevis.",
    "tilbagekaldt": "Beviset er tilbagekaldt.",
    "papir": "En papirkopi er bestilt; den kommer på skolens printliste.",
}


def _write(
    page: Page, session: Session, form: Mapping[str, str], route: str, body: Any
) -> IdempotentRequest:
    """The form's write as the API's idempotent request: the key is the form's one-time id
    bound to the staff member, and the body the input struct's JSON."""
    form_id = form.get(FORM_ID, "")
    if not _FORM_ID.match(form_id):
        raise ValidationException("form id")
    key = hashlib.sha256(f"{session.actor}\n{form_id}".encode()).hexdigest()
    return IdempotentRequest(
        school_id=session.subject,
        key=f"side-{key}",
        raw_body=participations.to_json(body).encode(),
        method="POST",
        route=route,
        target=page.request.url.path,
    )


def _link(path: str, q: str, side: int) -> str:
    return f"{path}?{urlencode({'q': q, 'side': side} if q else {'side': side})}"


def _paging(path: str, q: str, side: int, more: bool) -> dict[str, Any]:
    return {
        "side": side,
        "previous": _link(path, q, side - 1) if side > 1 else None,
        "next": _link(path, q, side + 1) if more else None,
    }


def _day_of(text: str) -> dt.date | None:
    """A date typed as 2026-11-10 or 10.11.2026, else None."""
    try:
        if match := _DAY.match(text):
            return dt.date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
        return dt.date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        return None


class SchoolRecordsPages(Controller):
    path = "/skole"

    # -- teams ------------------------------------------------------------------------------

    @get("/hold")
    async def teams(
        self,
        *,
        page: NamedDependency[Page],
        pool: NamedDependency[asyncpg.Pool],
        q: Query = "",
        side: PageNumber = 1,
    ) -> Template:
        """Search the school's teams by reference, goal number or title, or a day they ran."""
        text = q.strip()
        day = _day_of(text)
        async with pool.acquire() as conn:
            school_id = (await page.current_staff(conn)).subject
            found = await overview_store.search_teams(
                conn,
                school_id,
                "" if day else text,
                day=day,
                limit=PAGE_SIZE,
                offset=(side - 1) * PAGE_SIZE,
            )
        return page.render(
            "school_records_teams.html",
            {
                "q": text,
                "teams": [
                    {
                        "id": t.id,
                        "reference": t.reference,
                        "goal": f"{t.goal_number} {t.goal_title}",
                        "period": f"{view.day(t.start_date)} – {view.day(t.end_date)}",
                        "participants": t.participants,
                    }
                    for t in found.rows
                ],
                **_paging("/skole/hold", text, side, found.more),
            },
        )

    @get("/hold/{team:uuid}")
    async def team(
        self,
        *,
        team: FromPath[uuid.UUID],
        page: NamedDependency[Page],
        pool: NamedDependency[asyncpg.Pool],
    ) -> Template:
        """One of the school's teams with its participants."""
        async with pool.acquire() as conn:
            school_id = (await page.current_staff(conn)).subject
            found = await overview_store.team_of(conn, school_id, team)
        if found is None:
            raise NotFoundException
        return page.render(
            "school_team.html",
            {
                "team": {
                    "reference": found.reference,
                    "goal": f"{found.goal_number} {found.goal_title}",
                    "period": f"{view.day(found.start_date)} – {view.day(found.end_date)}",
                },
                "participants": [
                    {
                        "participation": p.participation_id,
                        "name": p.name,
                        "cpr": mask(p.cpr) if p.cpr else "",
                        "result": records_view.result_text(p.result_group, p.result_category),
                        "number": p.certificate_number,
                        "status": view.STATUS_TEXT.get(p.certificate_status or "", None),
                    }
                    for p in found.participants
                ],
            },
        )

    # -- participants -----------------------------------------------------------------------

    @get("/deltagere")
    async def participants(
        self,
        *,
        page: NamedDependency[Page],
        pool: NamedDependency[asyncpg.Pool],
        q: Query = "",
        side: PageNumber = 1,
    ) -> Template:
        """Search participants by a part of their name. A CPR number is searched through the
        POST form only: one typed into the address is not searched, nor shown again."""
        text = q.strip()
        if _CPR_LIKE.match(text):
            async with pool.acquire() as conn:
                await page.current_staff(conn)
            return page.render(
                "school_records_participants.html",
                {"q": "", "cpr_in_url": True, "hits": None},
                status_code=400,
            )
        async with pool.acquire() as conn:
            school_id = (await page.current_staff(conn)).subject
            found = (
                await overview_store.search_participants(
                    conn,
                    school_id,
                    name=text,
                    limit=PAGE_SIZE,
                    offset=(side - 1) * PAGE_SIZE,
                )
                if text
                else None
            )
        return page.render(
            "school_records_participants.html",
            {
                "q": text,
                "hits": [records_view.hit_line(h) for h in found.rows] if found else None,
                **_paging("/skole/deltagere", text, side, found.more if found else False),
            },
        )

    @post("/deltagere", status_code=200)
    async def search_participants(
        self, *, page: NamedDependency[Page], pool: NamedDependency[asyncpg.Pool]
    ) -> Template | Redirect:
        """The search form: a CPR number is looked up exactly and answered here, masked; a
        name goes on to the GET page (its pages are links)."""
        form = await page.form()
        text = form.get("q", "").strip()
        async with pool.acquire() as conn:
            school_id = (await page.current_staff(conn)).subject
            if not _CPR_LIKE.match(text):
                return redirect(_link("/skole/deltagere", text, 1) if text else "/skole/deltagere")
            try:
                cpr = parse_cpr(text, field="q")
            except InvalidInputError:
                return page.render(
                    "school_records_participants.html",
                    {"q": "", "cpr_error": True, "hits": None},
                    status_code=400,
                )
            found = await overview_store.search_participants(
                conn, school_id, cpr=cpr, limit=CPR_ROWS
            )
        return page.render(
            "school_records_participants.html",
            {
                "q": "",
                "searched_cpr": mask(cpr),
                "hits": [records_view.hit_line(h) for h in found.rows],
                "cpr_more": found.more,
            },
        )

    # -- one participation: later facts ---------------------------------------------------

    @get("/deltagelser/{participation:uuid}")
    async def participation(
        self,
        *,
        participation: FromPath[uuid.UUID],
        page: NamedDependency[Page],
        pool: NamedDependency[asyncpg.Pool],
        issuer: NamedDependency[Issuer],
        udfoert: Annotated[str, QueryParameter(max_length=20)] = "",
    ) -> Template:
        """A participation as the rules see it, with the forms for later facts."""
        return await records_view.participation_page(
            page, pool, issuer, participation, done=DONE_TEXT.get(udfoert)
        )

    @post("/deltagelser/{participation:uuid}/{what:str}", status_code=303)
    async def record(
        self,
        *,
        participation: FromPath[uuid.UUID],
        what: FromPath[str],
        page: NamedDependency[Page],
        pool: NamedDependency[asyncpg.Pool],
        issuer: NamedDependency[Issuer],
    ) -> Template | Redirect:
        """Record a later fact: ``proeve`` (an exam attempt, retake or rescheduled exam),
        ``dispensation``, ``bedoemmelse`` (the teacher's judgement), ``ikv`` (an IKV outcome)
        or ``afbrudt`` (a drop-out)."""
        if what != "proeve" and what not in forms.FACT_FORMS:
            raise NotFoundException
        form = await page.form()
        async with pool.acquire() as conn:
            session = await page.current_staff(conn, "registrar")
            facts = await overview_store.facts_of(conn, session.subject, participation)
        if facts is None:
            raise NotFoundException
        fields = forms.ATTEMPT_FIELDS if what == "proeve" else forms.FACTS_FIELDS
        route = "/skole/deltagelser/{participation}/{what}"
        try:
            if what == "proeve":
                attempt = forms.attempt_in(form)
                await issuer.record_attempt(
                    _write(page, session, form, route, attempt), participation, attempt
                )
            else:
                current = participations.facts_from_json(facts)
                update = forms.facts_in(what, form, current)
                await issuer.update_facts(
                    _write(page, session, form, route, update), participation, update
                )
        except forms.FormError as e:
            return await records_view.participation_page(
                page, pool, issuer, participation, form=what, entered=form, refused=e
            )
        except NotFoundIssuingError as e:
            raise NotFoundException from e
        except IdempotencyConflictError:
            refused = forms.FormError({}, _USED)
            return await records_view.participation_page(
                page,
                pool,
                issuer,
                participation,
                form=what,
                entered=form,
                refused=refused,
                status_code=409,
            )
        except ConflictError:
            refused = forms.FormError({}, _EARLIER_FACTS)
            return await records_view.participation_page(
                page,
                pool,
                issuer,
                participation,
                form=what,
                entered=form,
                refused=refused,
                status_code=409,
            )
        except IssuingError as e:
            return await records_view.participation_page(
                page,
                pool,
                issuer,
                participation,
                form=what,
                entered=form,
                refused=forms.refusal(e, fields),
            )
        return redirect(f"/skole/deltagelser/{participation}?udfoert={what}#udfoert")

    # -- certificates ---------------------------------------------------------------------

    @get("/beviser")
    async def certificates(
        self,
        *,
        page: NamedDependency[Page],
        pool: NamedDependency[asyncpg.Pool],
        q: Query = "",
        side: PageNumber = 1,
    ) -> Template:
        """Search the school's certificates by (the start of) their number, newest first."""
        text = q.strip()
        async with pool.acquire() as conn:
            school_id = (await page.current_staff(conn)).subject
            found = await overview_store.search_certificates(
                conn, school_id, text, limit=PAGE_SIZE, offset=(side - 1) * PAGE_SIZE
            )
        return page.render(
            "school_records_certificates.html",
            {
                "q": text,
                "certificates": [
                    {
                        "number": c.number,
                        "name": c.name or "–",
                        "goal": c.goal_number or "",
                        "ikv": c.kind == "ikv-activity",
                        "issued": view.when(c.issued_at),
                        "status": c.status,
                        "status_text": view.STATUS_TEXT.get(c.status, c.status),
                    }
                    for c in found.rows
                ],
                **_paging("/skole/beviser", text, side, found.more),
            },
        )

    @get("/beviser/{number:str}")
    async def certificate(
        self,
        *,
        number: FromPath[str],
        page: NamedDependency[Page],
        pool: NamedDependency[asyncpg.Pool],
        delivery_desk: NamedDependency[DeliveryDesk],
        udfoert: Annotated[str, QueryParameter(max_length=20)] = "",
    ) -> Template:
        """A certificate with its status, its deliveries attempt by attempt, and the forms to
        correct it, revoke it and order it on paper."""
        return await records_view.certificate_page(
            page, pool, delivery_desk, number, done=DONE_TEXT.get(udfoert)
        )

    @post("/beviser/{number:str}/{what:str}", status_code=303)
    async def act_on_certificate(
        self,
        *,
        number: FromPath[str],
        what: FromPath[str],
        page: NamedDependency[Page],
        pool: NamedDependency[asyncpg.Pool],
        corrections: NamedDependency[Corrections],
        delivery_desk: NamedDependency[DeliveryDesk],
    ) -> Template | Redirect:
        """``ret`` (cancel and replace with the corrected facts), ``tilbagekald`` (revoke, with
        a reason category) or ``papir`` (order a paper copy an authority demands)."""
        if what not in ("ret", "tilbagekald", "papir") or not codes.is_certificate_number(number):
            raise NotFoundException
        form = await page.form()
        async with pool.acquire() as conn:
            session = await page.current_staff(conn, "registrar")
        route = "/skole/beviser/{number}/{what}"
        fields = {
            "ret": forms.CORRECTION_FIELDS,
            "tilbagekald": forms.REVOCATION_FIELDS,
            "papir": forms.PAPER_FIELDS,
        }[what]
        done = {"ret": "rettet", "tilbagekald": "tilbagekaldt", "papir": "papir"}[what]
        try:
            if what == "ret":
                change = forms.correction_in(form)
                await corrections.correct(
                    _write(page, session, form, route, change), number, change
                )
            elif what == "tilbagekald":
                revocation = forms.revocation_in(form)
                await corrections.revoke(
                    _write(page, session, form, route, revocation), number, revocation.reason
                )
            else:
                paper = forms.paper_in(form)
                await delivery_desk.order_paper(
                    _write(page, session, form, route, paper), number, reason=paper.reason
                )
        except forms.FormError as e:
            refused = e
            status = 400
        except CertificateNotFoundError as e:
            raise NotFoundException from e
        except IdempotencyConflictError:
            refused, status = forms.FormError({}, _USED), 409
        except (ConflictError, DeliveryError):
            refused, status = forms.FormError({}, _NOT_VALID), 409
        except IssuingError as e:
            refused, status = forms.refusal(e, fields), 400
        else:
            return redirect(f"/skole/beviser/{number}?udfoert={done}#udfoert")
        return await records_view.certificate_page(
            page,
            pool,
            delivery_desk,
            number,
            form=what,
            entered=form,
            refused=refused,
            status_code=status,
        )
