"""The plumbing every page shares: its context, rendering with security headers, the session
and CSRF checks, and friendly Danish error pages in place of problem documents.

Handlers name what they need as parameters and Litestar hands it over (``Provide``): ``page``
(a ``Page``: this request, the ``PageContext`` and the browser's session, with ``require``,
``form``, ``render`` and ``error``), and the app's ``pool``, ``clock``, ``identity``,
``documents`` and ``verifier``. Each is marked ``NamedDependency``; ``identity``, typed by
a Protocol, also ``SkipValidation`` (Litestar's check is an isinstance, which a Protocol
refuses). The pages router provides ``page`` from ``pages`` (the ``PageContext``) and
``session``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, PermissionDeniedException, ValidationException
from litestar.response import Redirect, Template

from registry.clock import Clock
from registry.ratelimit import RateLimitedError
from service.api import problems
from service.pages.deliveries import DeliveryStatus
from service.pages.sessions import (
    PRE_SESSION_COOKIE,
    SESSION_COOKIE,
    Session,
    SessionKind,
    SessionSealer,
    new_nonce,
)

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


@dataclass(frozen=True, slots=True)
class PageContext:
    """What only the pages need, built once: the ``pages`` dependency each ``Page`` holds."""

    sealer: SessionSealer
    deliveries: DeliveryStatus
    public_base_url: str
    session_lifetime: dt.timedelta = dt.timedelta(hours=1)
    development_login: bool = False
    development_people: tuple[tuple[str, str], ...] = ()  # (CPR number, name) the demo offers
    secure_cookies: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "secure_cookies", self.public_base_url.startswith("https://"))

    def cookie(self, name: str, value: str, *, max_age: int | None = None) -> Cookie:
        return Cookie(
            key=name,
            value=value,
            path="/",
            httponly=True,
            samesite="lax",
            secure=self.secure_cookies,
            max_age=max_age,
        )

    def absolute(self, path: str) -> str:
        """``path`` on this site as an absolute URL (what an OpenID provider redirects to)."""
        return f"{self.public_base_url}{path}"

    def expired(self, name: str) -> Cookie:
        return self.cookie(name, "", max_age=0)

    def session_cookie(self, kind: SessionKind, subject: str, now: dt.datetime) -> Cookie:
        """The cookie of a new session for ``subject``, lasting ``session_lifetime``."""
        session = Session.new(kind, subject, now=now, lifetime=self.session_lifetime)
        return self.cookie(SESSION_COOKIE, self.sealer.seal(session))

    def session(self, request: Request[Any, Any, Any], now: dt.datetime) -> Session | None:
        """The browser's session, or None when it has none (or a forged or expired one)."""
        return self.sealer.open(request.cookies.get(SESSION_COOKIE), now=now)


def provide_session(
    request: Request[Any, Any, Any],
    pages: NamedDependency[PageContext],
    clock: NamedDependency[Clock],
) -> Session | None:
    """The ``session`` dependency: who is logged in on this browser, if anyone."""
    return pages.session(request, clock())


class LoginRequiredError(Exception):
    """The page needs a logged-in person or school; the browser is sent to log in."""

    def __init__(self, login_path: str) -> None:
        super().__init__("login required")
        self.login_path = login_path


def redirect(path: str, *, cookies: list[Cookie] | None = None) -> Redirect:
    return Redirect(path, status_code=303, cookies=cookies or [], headers=SECURITY_HEADERS)


@dataclass(frozen=True, slots=True)
class Page:
    """One page request: the browser's request, the pages' context and who is logged in.

    The ``page`` dependency of every page handler (``provide_page``)::

        @post("/{number:str}/del")
        async def share(self, *, number: FromPath[str], page: NamedDependency[Page]) -> Template:
            person = page.require("person")  # or off to the login page
            form = await page.form()  # its CSRF token checked
            return page.render("certificate.html", {...}, status_code=400)
    """

    request: Request[Any, Any, Any]
    context: PageContext
    session: Session | None

    def require(self, kind: SessionKind) -> Session:
        """The logged-in session of ``kind``; raises LoginRequiredError otherwise."""
        if self.session is None or self.session.kind != kind:
            raise LoginRequiredError(
                "/mine-beviser/log-ind" if kind == "person" else "/skole/log-ind"
            )
        return self.session

    async def form(self) -> dict[str, str]:
        """The submitted form, after its CSRF token is checked; raises PermissionDeniedException."""
        form = await self.request.form()
        values = {key: str(value) for key, value in form.items() if isinstance(value, str)}
        if not self.context.sealer.csrf_matches(self._csrf_nonce(), values.get("csrf")):
            raise PermissionDeniedException("csrf")
        return values

    async def log_out(self) -> Redirect:
        """Check the logout form, end the session and go to the front page."""
        await self.form()
        return redirect("/", cookies=[self.context.expired(SESSION_COOKIE)])

    def render(
        self,
        template: str,
        values: Mapping[str, Any] | None = None,
        *,
        status_code: int = 200,
        cookies: list[Cookie] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Template:
        """Render ``template`` with the session, a CSRF token for its forms and the headers."""
        out_cookies = list(cookies or [])
        nonce = self._csrf_nonce()
        if nonce is None:
            nonce = new_nonce()
            out_cookies.append(self.context.cookie(PRE_SESSION_COOKIE, nonce))
        return Template(
            template_name=template,
            context={
                "session": self.session,
                "csrf": self.context.sealer.csrf_token(nonce),
                "development_login": self.context.development_login,
                **(values or {}),
            },
            status_code=status_code,
            cookies=out_cookies,
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

    def _csrf_nonce(self) -> str | None:
        """What this browser's CSRF tokens are bound to: the session's nonce, else amu_pre's."""
        return self.session.nonce if self.session else self.request.cookies.get(PRE_SESSION_COOKIE)


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
        return Page(request, pages, pages.session(request, clock()))

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
        RateLimitedError: rate_limited,
        HTTPException: http_error,
        # Listed on its own: the app's handler for it (a JSON problem) would otherwise win.
        ValidationException: http_error,
        # The same: the app's handlers for these answer a JSON problem.
        **dict.fromkeys(problems.DATABASE_UNAVAILABLE, database_away),
        Exception: unexpected,
    }
