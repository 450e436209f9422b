"""The plumbing every page shares: its context, rendering with security headers, the session
and the friendly Danish error pages in place of problem documents.

Handlers name what they need as parameters and Litestar hands it over (``Provide``): ``page``
(a ``Page``: this request, the ``PageContext`` and the browser's session, with ``require``,
``require_staff``, ``form``, ``render``, ``log_in``, ``log_out`` and ``error``), and the app's
``pool``, ``clock``, ``identity``, ``staff_identity``, ``documents`` and ``verifier``. Each is
marked ``NamedDependency``; the identity providers, typed by a Protocol, also
``SkipValidation`` (Litestar's check is an isinstance, which a Protocol refuses). The pages
router provides ``page`` from ``pages`` (the ``PageContext``) and ``session``.

Sessions are Litestar's server-side sessions (``service/pages/sessions.py``); CSRF is
Litestar's middleware (``CSRFConfig``), so a form's token is checked before any handler runs
and a refused one is the 403 page here.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.response import Redirect, Template

from issuers import staff
from registry.clock import Clock
from registry.db import Connection
from registry.ratelimit import RateLimitedError
from service.api import problems
from service.identity import IdentityProvider, LoginRequest
from service.pages.deliveries import DeliveryStatus
from service.pages.sessions import Role, Session, SessionKind, renew_id

log = logging.getLogger(__name__)

# Pages load nothing from elsewhere; the share page's token must not leak through Referer.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


# Status -> (heading, text). Never repeats what was submitted.
_ERRORS = {
    400: ("Forkert forespørgsel", "Siden kunne ikke forstå det, der blev sendt."),
    403: (
        "Handlingen blev afvist",
        (
            "Formularen var for gammel eller kom ikke fra denne side. Gå tilbage, genindlæs siden "
            "og prøv igen."
        ),
    ),
    404: ("Siden findes ikke", "Vi kunne ikke finde det, du leder efter."),
    405: ("Handlingen er ikke tilladt", "Siden kan ikke bruges på den måde."),
    413: (
        "Formularen er for stor",
        "Det, der blev sendt, er større end nogen af vores formularer.",
    ),
    410: ("Linket virker ikke længere", "Linket er udløbet eller trukket tilbage af ejeren."),
    429: ("For mange forsøg", "Vent lidt, og prøv så igen."),
    500: ("Der skete en fejl", "Prøv igen om lidt. Fejlen er registreret."),
    503: (
        "PDF'en kan ikke hentes endnu",
        (
            "Skolens underskriftscertifikat er endnu ikke på plads, så vi kan ikke lave en "
            "underskrevet PDF. Beviset er gyldigt og kan tjekkes med nummer og kode."
        ),
    ),
}
_DATABASE_AWAY = (
    "Registret er midlertidigt utilgængeligt",
    "Vi kan ikke nå registrets database lige nu. Prøv igen om lidt; dine beviser er i god behold.",
)


LoginPurpose = Literal["person", "staff"]
# Staff (kind "school") log in as people of that school; a participant as a person.
LOGIN_PATHS: dict[SessionKind, str] = {
    "person": "/mine-beviser/log-ind",
    "school": "/skole/log-ind",
}
_ROLE_REFUSED = (
    "Det kræver en administrator",
    "Din rolle på skolen giver ikke adgang til det. Spørg skolens administrator.",
)


@dataclass(frozen=True, slots=True)
class PageContext:
    """What only the pages need, built once: the ``pages`` dependency each ``Page`` holds."""

    deliveries: DeliveryStatus
    public_base_url: str
    # A session ends this long after its login, however busy (the idle timeout is the store's).
    session_absolute: dt.timedelta = dt.timedelta(hours=8)
    development_login: bool = False
    development_people: tuple[tuple[str, str], ...] = ()  # (CPR number, name) the demo offers
    # (subject, name, organisation CVR) of the demo's school staff
    development_staff: tuple[tuple[str, str, str], ...] = ()

    def absolute(self, path: str) -> str:
        """``path`` on this site as an absolute URL (what an OpenID provider redirects to)."""
        return f"{self.public_base_url}{path}"

    def session_of(self, request: Request[Any, Any, Any], now: dt.datetime) -> Session | None:
        """Who is logged in on this browser, or None; a session past its absolute timeout is
        ended here (its row deleted when the response is sent)."""
        data = request.scope.get("session")
        found = Session.from_data(data.get("user")) if isinstance(data, dict) else None
        if found is not None and now - found.login_at >= self.session_absolute:
            request.clear_session()
            return None
        return found


def provide_session(
    request: Request[Any, Any, Any],
    pages: NamedDependency[PageContext],
    clock: NamedDependency[Clock],
) -> Session | None:
    """The ``session`` dependency: who is logged in on this browser, if anyone."""
    return pages.session_of(request, clock())


class LoginRequiredError(Exception):
    """The page needs a logged-in person or school; the browser is sent to log in."""

    def __init__(self, login_path: str) -> None:
        super().__init__("login required")
        self.login_path = login_path


class RoleRequiredError(Exception):
    """The logged-in staff member's role does not cover the page (a 403 page)."""


def form_action_policy(origin: str | None) -> dict[str, str]:
    """The pages' Content-Security-Policy with ``origin`` (an identity provider's) allowed as
    a form-action too: a form whose answer goes there (or redirects there) is stopped by the
    browser otherwise. No change for None (a provider on this site)."""
    policy = SECURITY_HEADERS["Content-Security-Policy"]
    if origin is not None:
        policy = policy.replace("form-action 'self'", f"form-action 'self' {origin}")
    return {"Content-Security-Policy": policy}


def redirect(path: str, *, cookies: list[Cookie] | None = None) -> Redirect:
    return Redirect(path, status_code=303, cookies=cookies or [], headers=SECURITY_HEADERS)


@dataclass(frozen=True, slots=True)
class Page:
    """One page request: the browser's request, the pages' context and who is logged in.

    The ``page`` dependency of every page handler (``provide_page``)::

        @post("/{number:str}/del")
        async def share(self, *, number: FromPath[str], page: NamedDependency[Page]) -> Template:
            person = page.require("person")  # or off to the login page
            form = await page.form()  # its CSRF token was checked by the middleware
            return page.render("certificate.html", {...}, status_code=400)
    """

    request: Request[Any, Any, Any]
    context: PageContext
    session: Session | None

    def require(self, kind: SessionKind) -> Session:
        """The logged-in session of ``kind``; raises LoginRequiredError otherwise."""
        if self.session is None or self.session.kind != kind:
            raise LoginRequiredError(LOGIN_PATHS[kind])
        return self.session

    def require_staff(self, role: Role | None = None) -> Session:
        """A school staff member's session whose role covers ``role`` (None: any role).
        Raises LoginRequiredError without one, RoleRequiredError for too small a role."""
        session = self.require("school")
        if role is not None and not session.may(role):
            raise RoleRequiredError(role)
        return session

    async def current_staff(self, conn: Connection, role: Role | None = None) -> Session:
        """``require_staff``, with the role checked again in the database: a role revoked or
        lowered since the login admits no more than it does now."""
        session = self.require_staff(role)
        held = (
            await staff.role_at(conn, session.subject, session.actor)
            if session.actor is not None
            else None
        )
        if held is None or (role is not None and held not in {"administrator", role}):
            raise RoleRequiredError(role or "registrar")
        return session

    async def form(self) -> dict[str, str]:
        """The submitted form (its CSRF token already checked by the middleware)."""
        form = await self.request.form()
        return {
            key: str(value)
            for key, value in form.items()
            if isinstance(value, str) and key != "_csrf_token"
        }

    @property
    def _data(self) -> dict[str, Any]:
        data = self.request.scope.get("session")
        if not isinstance(data, dict):
            data = {}
            self.request.set_session(data)
        return data

    def begin_login(self, purpose: LoginPurpose, login: LoginRequest) -> None:
        """Keep ``login`` in the browser's session until the provider answers."""
        self._data["login"] = {"purpose": purpose, **login.to_dict()}

    def take_login(self, purpose: LoginPurpose) -> LoginRequest | None:
        """The login this browser began for ``purpose`` (taken: it answers once), or None."""
        kept = self._data.pop("login", None)
        if not isinstance(kept, dict) or kept.get("purpose") != purpose:
            return None
        return LoginRequest.from_dict(kept)

    def keep(self, name: str, value: object) -> None:
        """Keep a JSON ``value`` in the session under ``name``: a step of a login, so the
        session also gets a new id."""
        data = self._data
        data[name] = value
        renew_id(data)

    def kept(self, name: str) -> object:
        return self._data.get(name)

    def log_in(self, session: Session) -> None:
        """Make ``session`` this browser's login: everything else in its session goes, and it
        gets a new id (no session fixation); its old row is deleted."""
        data = {"user": session.to_data()}
        renew_id(data)
        self.request.set_session(data)

    async def log_out(
        self, identity: IdentityProvider | None, *, provider: str = "MitID"
    ) -> Response[Any]:
        """End the session (its row is deleted as this answer starts: the cookie works nowhere
        any more, whatever the provider does), then end it at the provider when it has a
        logout, else go to the front page. The provider's logout is a form on our "Du er logget
        ud" page that the browser POSTs there (amu.js sends it at once; its button without
        JavaScript): the ID token it carries stays out of every URL. That page's form-action
        policy allows the provider's origin too."""
        id_token = self.session.id_token if self.session else None
        self.request.clear_session()
        if identity is None:
            return redirect("/")
        logout = await identity.logout_request(
            id_token=id_token, post_logout_redirect_uri=self.context.absolute("/")
        )
        if logout is None:
            return redirect("/")
        # Rendered as nobody: the page's header offers no "Log ud" any more.
        return replace(self, session=None).render(
            "logged_out.html",
            {"logout": logout, "provider": provider},
            headers=form_action_policy(logout.origin),
        )

    def render(
        self,
        template: str,
        values: Mapping[str, Any] | None = None,
        *,
        status_code: int = 200,
        cookies: list[Cookie] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Template:
        """Render ``template`` with the session and the security headers (its forms take
        their CSRF token from ``csrf_token()``)."""
        return Template(
            template_name=template,
            context={
                "session": self.session,
                "development_login": self.context.development_login,
                **(values or {}),
            },
            status_code=status_code,
            cookies=list(cookies or []),
            headers={**SECURITY_HEADERS, **(headers or {})},
            media_type="text/html",
        )

    def error(
        self,
        status: int,
        *,
        headers: Mapping[str, str] | None = None,
        message: tuple[str, str] | None = None,
        **extra: Any,
    ) -> Template:
        """The Danish error page for ``status`` (``message``: its heading and text, when not
        the status's usual ones; ``extra`` goes to the template)."""
        heading, text = message or _ERRORS.get(status, _ERRORS[500])
        return self.render(
            "error.html",
            {"status": status, "heading": heading, "text": text, **extra},
            status_code=status,
            headers=headers,
        )


def provide_page(
    request: Request[Any, Any, Any],
    pages: NamedDependency[PageContext],
    session: NamedDependency[Session | None],
) -> Page:
    """The ``page`` dependency: this request with the pages' context and its session."""
    return Page(request, pages, session)


def exception_handlers(pages: PageContext, clock: Clock) -> dict[type[Exception] | int, Any]:
    """The pages' errors as Danish error pages (exception handlers get no dependencies, so
    they hold the context themselves)."""

    def page_of(request: Request[Any, Any, Any]) -> Page:
        return Page(request, pages, pages.session_of(request, clock()))

    def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
        status = 400 if isinstance(exc, ValidationException) else exc.status_code
        return page_of(request).error(status if status in _ERRORS else 500)

    def rate_limited(request: Request[Any, Any, Any], exc: RateLimitedError) -> Response[Any]:
        minutes = max(1, (exc.retry_after + 59) // 60)
        return page_of(request).error(
            429, retry_minutes=minutes, headers={"Retry-After": str(exc.retry_after)}
        )

    def login_required(_: Request[Any, Any, Any], exc: LoginRequiredError) -> Response[Any]:
        return redirect(exc.login_path)

    def role_required(request: Request[Any, Any, Any], _: RoleRequiredError) -> Response[Any]:
        return page_of(request).error(403, message=_ROLE_REFUSED)

    def database_away(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        if not problems.database_unavailable(exc):
            return unexpected(request, exc)
        log.warning("database unavailable (%s); answering a 503 page", type(exc).__name__)
        return page_of(request).error(
            503,
            message=_DATABASE_AWAY,
            headers={"Retry-After": str(problems.RETRY_AFTER_SECONDS)},
        )

    def unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        # Only the type: a library's message can carry row values.
        log.error("unexpected %s on a page", type(exc).__name__)
        return page_of(request).error(500)

    return {
        LoginRequiredError: login_required,
        RoleRequiredError: role_required,
        RateLimitedError: rate_limited,
        HTTPException: http_error,
        # Listed on their own: the app's handlers for them (a JSON problem; for a 404 the
        # page without the session) would otherwise win.
        ValidationException: http_error,
        NotFoundException: http_error,
        # The same: the app's handlers for these answer a JSON problem.
        **dict.fromkeys(problems.DATABASE_UNAVAILABLE, database_away),
        Exception: unexpected,
    }
