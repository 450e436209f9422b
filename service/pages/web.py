"""The plumbing every page shares: its services, rendering with security headers, the session
and CSRF checks, and friendly Danish error pages in place of problem documents."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.exceptions import HTTPException, PermissionDeniedException, ValidationException
from litestar.response import Redirect, Template

from registry.ratelimit import RateLimitedError, VerifyLimits
from service.pages.deliveries import DeliveryStatus
from service.pages.pdfs import CertificatePdfs
from service.pages.sessions import (
    PRE_SESSION_COOKIE,
    SESSION_COOKIE,
    Session,
    SessionKind,
    SessionSealer,
    new_nonce,
)

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


@dataclass(frozen=True, slots=True)
class PageServices:
    sealer: SessionSealer
    pdfs: CertificatePdfs
    deliveries: DeliveryStatus
    limits: VerifyLimits
    clock: Callable[[], dt.datetime]
    public_base_url: str
    session_lifetime: dt.timedelta = dt.timedelta(hours=1)
    development_login: bool = False
    secure_cookies: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "secure_cookies", self.public_base_url.startswith("https://"))

    def __deepcopy__(self, memo: dict[int, Any]) -> PageServices:
        # Litestar copies each layer's ``opt``; the services are shared, never copied.
        return self

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

    def expired(self, name: str) -> Cookie:
        return self.cookie(name, "", max_age=0)


class LoginRequiredError(Exception):
    """The page needs a logged-in person or school; the browser is sent to log in."""

    def __init__(self, login_path: str) -> None:
        super().__init__("login required")
        self.login_path = login_path


def session_of(request: Request[Any, Any, Any], pages: PageServices) -> Session | None:
    return pages.sealer.open(request.cookies.get(SESSION_COOKIE), now=pages.clock())


def require(request: Request[Any, Any, Any], pages: PageServices, kind: SessionKind) -> Session:
    """The logged-in session of ``kind``; raises LoginRequiredError otherwise."""
    session = session_of(request, pages)
    if session is None or session.kind != kind:
        raise LoginRequiredError("/mine-beviser/log-ind" if kind == "person" else "/skole/log-ind")
    return session


def _csrf_nonce(request: Request[Any, Any, Any], pages: PageServices) -> str | None:
    session = session_of(request, pages)
    return session.nonce if session else request.cookies.get(PRE_SESSION_COOKIE)


async def checked_form(request: Request[Any, Any, Any], pages: PageServices) -> dict[str, str]:
    """The submitted form, after its CSRF token is checked; raises PermissionDeniedException."""
    form = await request.form()
    values = {key: str(value) for key, value in form.items() if isinstance(value, str)}
    if not pages.sealer.csrf_matches(_csrf_nonce(request, pages), values.get("csrf")):
        raise PermissionDeniedException("csrf")
    return values


def page(
    request: Request[Any, Any, Any],
    pages: PageServices,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    cookies: list[Cookie] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Template:
    """Render ``template`` with the session, a CSRF token for its forms and the headers."""
    out_cookies = list(cookies or [])
    session = session_of(request, pages)
    nonce = session.nonce if session else request.cookies.get(PRE_SESSION_COOKIE)
    if nonce is None:
        nonce = new_nonce()
        out_cookies.append(pages.cookie(PRE_SESSION_COOKIE, nonce))
    return Template(
        template_name=template,
        context={
            "session": session,
            "csrf": pages.sealer.csrf_token(nonce),
            "development_login": pages.development_login,
            **(context or {}),
        },
        status_code=status_code,
        cookies=out_cookies,
        headers={**SECURITY_HEADERS, **(headers or {})},
        media_type="text/html",
    )


def redirect(path: str, *, cookies: list[Cookie] | None = None) -> Redirect:
    return Redirect(path, status_code=303, cookies=cookies or [], headers=SECURITY_HEADERS)


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


def pages_of(request: Request[Any, Any, Any]) -> PageServices:
    """The page services, handed to every page handler through the pages router's ``opt``."""
    pages: PageServices = request.route_handler.opt["pages"]
    return pages


def error_page(
    request: Request[Any, Any, Any],
    status: int,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> Template:
    heading, text = _ERRORS.get(status, _ERRORS[500])
    return page(
        request,
        pages_of(request),
        "error.html",
        {"status": status, "heading": heading, "text": text, **extra},
        status_code=status,
        headers=headers,
    )


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = 400 if isinstance(exc, ValidationException) else exc.status_code
    return error_page(request, status if status in _ERRORS else 500)


def _rate_limited(request: Request[Any, Any, Any], exc: RateLimitedError) -> Response[Any]:
    minutes = max(1, (exc.retry_after + 59) // 60)
    return error_page(
        request, 429, retry_minutes=minutes, headers={"Retry-After": str(exc.retry_after)}
    )


def _login_required(_: Request[Any, Any, Any], exc: LoginRequiredError) -> Response[Any]:
    return redirect(exc.login_path)


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    import logging  # noqa: PLC0415 - only the error path logs

    # Only the type: a library's message can carry row values.
    logging.getLogger(__name__).error("unexpected %s on a page", type(exc).__name__)
    return error_page(request, 500)


exception_handlers: dict[type[Exception] | int, Any] = {
    LoginRequiredError: _login_required,
    RateLimitedError: _rate_limited,
    HTTPException: _http_error,
    Exception: _unexpected,
}
