"""The school administrator's pages: who may use the school's pages and as what
(``/skole/medarbejdere``), and the school's API credentials (``/skole/api-noegler``).

Only a logged-in administrator of the school gets here (a registrar gets the 403 page), and
their role is checked again against ``school_staff`` on every request: a session carries the
role its login found, and an administrator whose role was revoked since must not go on
administering. Every change is recorded with ``staff:<subject>`` as its actor.

A credential's token is shown once, on the page that answers its creation or rotation (never
in a URL or a redirect; every page is sent with ``Cache-Control: no-store``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import asyncpg
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Template

from issuers import credentials, school_store, staff
from issuers.errors import ConflictError, InvalidInputError, NotFoundIssuingError
from registry.clock import Clock, to_the_second
from registry.db import Connection
from service.pages import credentials_view, view
from service.pages.school import ROLE_TEXT
from service.pages.web import Page, redirect

EVENTS_SHOWN = 50
_CREDENTIALS = "/skole/api-noegler"
_STAFF = "/skole/medarbejdere"
_NOT_ROTATED = (
    "Nøglen kan ikke fornys",
    "Nøglen er tilbagekaldt eller allerede fornyet. Opret en ny nøgle i stedet.",
)
_NOT_REVOKED = ("Nøglen er allerede tilbagekaldt", "Der er ikke mere at gøre ved den.")


async def _administrator(page: Page, conn: Connection) -> tuple[str, str]:
    """The school and the actor (``staff:<subject>``) of the administrator on this page; raises
    LoginRequiredError or RoleRequiredError (also when the role was revoked since login)."""
    session = await page.current_staff(conn, "administrator")
    return session.subject, f"staff:{session.actor}"


def _moment(at: Any) -> str:
    return view.when(at) if at is not None else ""


# -- staff roles ----------------------------------------------------------------------------

# What went wrong with a field of the role form, in the administrator's words.
_STAFF_FIELD_TEXT = {
    "subject": "Skriv det bruger-id, personen fik vist, da de loggede ind (uden mellemrum).",
    "role": "Vælg administrator eller registrator.",
    "name": "Navnet kan ikke gemmes: brug bogstaver, og højst 200 tegn.",
}


async def _staff_page(
    page: Page,
    conn: Connection,
    school_id: str,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    message: str | None = None,
    entered: dict[str, str] | None = None,
) -> Template:
    school = await school_store.school(conn, school_id)
    if school is None:
        raise NotFoundException
    members = await staff.staff_of(conn, school_id)
    ended = await staff.history_of(conn, school_id)
    me = page.session.actor if page.session else None
    administrators = sum(1 for m in members if m.role == "administrator")
    return page.render(
        "school_staff.html",
        {
            "school": school,
            "staff": [
                {
                    "subject": m.subject,
                    "name": m.name,
                    "role": ROLE_TEXT[m.role],
                    "since": view.when(m.granted_at),
                    "by": m.granted_by,
                    "me": m.subject == me,
                    # The last administrator's role cannot go (staff.LastAdministratorError).
                    "removable": m.role != "administrator" or administrators > 1,
                }
                for m in members
            ],
            "ended": [
                {
                    "subject": m.subject,
                    "name": m.name,
                    "role": ROLE_TEXT[m.role],
                    "since": view.when(m.granted_at),
                    "by": m.granted_by,
                    "until": _moment(m.revoked_at),
                    "revoked_by": m.revoked_by,
                }
                for m in ended
            ],
            "errors": errors or {},
            "message": message,
            "entered": entered or {},
            "done": page.request.query_params.get("aendret"),
        },
        status_code=status_code,
    )


class SchoolAdminPages(Controller):
    path = "/skole"

    @get("/medarbejdere")
    async def staff_page(
        self, *, page: NamedDependency[Page], pool: NamedDependency[asyncpg.Pool]
    ) -> Template:
        """Who may use the school's pages, and as what; forms to grant and revoke roles."""
        async with pool.acquire() as conn:
            school_id, _ = await _administrator(page, conn)
            return await _staff_page(page, conn, school_id)

    @post("/medarbejdere", status_code=303)
    async def grant_role(
        self,
        *,
        page: NamedDependency[Page],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
    ) -> Any:
        """Give a person (by their provider subject) a role at the school."""
        form = await page.form()
        entered = {k: form.get(k, "") for k in ("bruger", "rolle", "navn")}
        async with pool.acquire() as conn:
            school_id, actor = await _administrator(page, conn)
            try:
                granted = await staff.grant(
                    conn,
                    school_id,
                    entered["bruger"],
                    entered["rolle"],
                    actor=actor,
                    now=to_the_second(clock()),
                    name=entered["navn"] or None,
                )
            except InvalidInputError as e:
                text = _STAFF_FIELD_TEXT.get(e.field or "", "Tjek felterne.")
                return await _staff_page(
                    page,
                    conn,
                    school_id,
                    status_code=400,
                    errors={e.field or "subject": text},
                    entered=entered,
                )
            except staff.LastAdministratorError:
                return await _staff_page(
                    page,
                    conn,
                    school_id,
                    status_code=409,
                    message=(
                        "Du er skolens eneste administrator. Giv en anden rollen som "
                        "administrator, før du selv bliver registrator."
                    ),
                    entered=entered,
                )
            except ConflictError:
                return await _staff_page(
                    page,
                    conn,
                    school_id,
                    status_code=409,
                    message=f"Personen er allerede {ROLE_TEXT[entered['rolle']].lower()}.",
                    entered=entered,
                )
        session = page.session
        if session is not None and granted.subject == session.actor:
            # Their own role changed (an administrator made registrar): the session follows.
            page.log_in(dataclasses.replace(session, role=granted.role))
            return redirect("/skole")
        return redirect(f"{_STAFF}?aendret=givet")

    @post("/medarbejdere/tilbagekald", status_code=303)
    async def revoke_role(
        self,
        *,
        page: NamedDependency[Page],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
    ) -> Any:
        """End a person's role at the school (not the school's last administrator's)."""
        form = await page.form()
        async with pool.acquire() as conn:
            school_id, actor = await _administrator(page, conn)
            try:
                ended = await staff.revoke(
                    conn,
                    school_id,
                    form.get("bruger", ""),
                    actor=actor,
                    now=to_the_second(clock()),
                )
            except (InvalidInputError, NotFoundIssuingError):
                return await _staff_page(
                    page,
                    conn,
                    school_id,
                    status_code=404,
                    message="Personen har ingen rolle på skolen (længere).",
                )
            except staff.LastAdministratorError:
                return await _staff_page(
                    page,
                    conn,
                    school_id,
                    status_code=409,
                    message=(
                        "Skolen skal have mindst én administrator. Giv en anden rollen som "
                        "administrator, før denne rolle fjernes."
                    ),
                )
        if page.session is not None and ended.subject == page.session.actor:
            page.request.clear_session()  # their own role ended: so does their login here
            return redirect("/")
        return redirect(f"{_STAFF}?aendret=fjernet")

    # -- API credentials ------------------------------------------------------------------

    @get("/api-noegler")
    async def credentials_page(
        self,
        *,
        page: NamedDependency[Page],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
    ) -> Template:
        """The school's API credentials and the form to make one."""
        async with pool.acquire() as conn:
            school_id, _ = await _administrator(page, conn)
            return await _credentials_page(page, conn, school_id, clock)

    @post("/api-noegler", status_code=200)
    async def create_credential(
        self,
        *,
        page: NamedDependency[Page],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
    ) -> Template:
        """Make a credential; its token is on this answer and nowhere else."""
        form = await page.form()
        label = form.get("navn", "")
        async with pool.acquire() as conn:
            school_id, actor = await _administrator(page, conn)
            try:
                info, token = await credentials.create(
                    conn, school_id, label, actor, to_the_second(clock())
                )
            except InvalidInputError as e:
                if e.field != "label":
                    raise
                return await _credentials_page(
                    page,
                    conn,
                    school_id,
                    clock,
                    label=label,
                    label_error=credentials_view.label_error(label),
                )
        return page.render("school_credential_token.html", {"credential": info, "token": token})

    @get("/api-noegler/{credential_id:str}")
    async def credential_page(
        self,
        *,
        credential_id: FromPath[str],
        page: NamedDependency[Page],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
    ) -> Template:
        """One credential: its state, its recent audit events, and rotating or revoking it."""
        async with pool.acquire() as conn:
            school_id, _ = await _administrator(page, conn)
            try:
                trail = await credentials.events(
                    conn, school_id, credential_id=credential_id, limit=EVENTS_SHOWN
                )
            except NotFoundIssuingError as e:
                raise NotFoundException from e  # another school's reads as none at all
            found = [c for c in await credentials.list_of(conn, school_id) if c.id == credential_id]
        info = found[0]
        return page.render(
            "school_credential.html",
            {
                "credential": credentials_view.credential_line(info, clock),
                "events": [credentials_view.event_line(e) for e in trail],
            },
        )

    @post("/api-noegler/{credential_id:str}/forny", status_code=200)
    async def rotate_credential(
        self,
        *,
        credential_id: FromPath[str],
        page: NamedDependency[Page],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
    ) -> Template:
        """Replace a credential; the new token is on this answer, the old one works a while."""
        async with pool.acquire() as conn:
            school_id, actor = await _administrator(page, conn)
            now = to_the_second(clock())
            try:
                info, token = await credentials.rotate(conn, school_id, credential_id, actor, now)
            except NotFoundIssuingError as e:
                raise NotFoundException from e
            except ConflictError:
                return page.error(409, message=_NOT_ROTATED)
        return page.render(
            "school_credential_token.html",
            {
                "credential": info,
                "token": token,
                "replaced": credential_id,
                "old_until": view.when(now + credentials.DEFAULT_OVERLAP),
            },
        )

    @post("/api-noegler/{credential_id:str}/tilbagekald", status_code=303)
    async def revoke_credential(
        self,
        *,
        credential_id: FromPath[str],
        page: NamedDependency[Page],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
    ) -> Any:
        """Stop a credential from working, at once."""
        async with pool.acquire() as conn:
            school_id, actor = await _administrator(page, conn)
            try:
                await credentials.revoke(
                    conn, school_id, credential_id, actor, to_the_second(clock())
                )
            except NotFoundIssuingError as e:
                raise NotFoundException from e
            except ConflictError:
                return page.error(409, message=_NOT_REVOKED)
        return redirect(f"{_CREDENTIALS}/{credential_id}")


async def _credentials_page(
    page: Page,
    conn: Connection,
    school_id: str,
    clock: Clock,
    *,
    label: str = "",
    label_error: str | None = None,
) -> Template:
    school = await school_store.school(conn, school_id)
    if school is None:
        raise NotFoundException
    found = await credentials.list_of(conn, school_id)
    return page.render(
        "school_credentials.html",
        {
            "school": school,
            "credentials": [credentials_view.credential_line(c, clock) for c in reversed(found)],
            "label": label,
            "label_error": label_error,
            "label_max": credentials.LABEL_MAX,
        },
        status_code=400 if label_error else 200,
    )
