"""Pages for people, in Danish: Mine beviser, share links and the access log, Tjek et bevis,
and a small school view. Server-rendered with Jinja templates (``service/templates``), one
stylesheet and no build step (``service/static``); see docs/pages.md.

The composition root hands over plain values, registers the session store under
``sessions.SESSION_STORE``, and provides at app level the collaborators the handlers name
(``pool``, ``clock``, ``identity``, ``staff_identity``, ``documents``, ``verifier``)::

    app = Litestar(
        route_handlers=pages.routers(csrf_secret=secret, public_base_url=url, clock=clock),
        template_config=pages.template_config(),
        stores={sessions.SESSION_STORE: store},
        dependencies={"pool": ..., "clock": ..., "identity": ..., "staff_identity": ...,
                      "documents": ..., "verifier": ...},
    )
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from litestar import Request, Response, Router
from litestar.config.csrf import CSRFConfig
from litestar.di import Provide
from litestar.exceptions import HTTPException, NotFoundException
from litestar.middleware import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from registry.clock import Clock
from service.pages.deliveries import DeliveryStatus
from service.pages.deliveries_store import StoreDeliveryStatus
from service.pages.dev_login import DevelopmentLoginPage, DevelopmentStaffLoginPage
from service.pages.home import HomePage
from service.pages.participant import ParticipantPages
from service.pages.school import SchoolPages
from service.pages.school_admin import SchoolAdminPages
from service.pages.school_records import SchoolRecordsPages
from service.pages.school_report import SchoolReportPages
from service.pages.sessions import session_config
from service.pages.shared import SharedPages
from service.pages.verify import VerifyPages
from service.pages.web import (
    Page,
    PageContext,
    exception_handlers,
    provide_page,
    provide_session,
)

STATIC = Path(__file__).resolve().parent.parent / "static"
FORM_MAX_BYTES = 64 * 1024
"""Our largest form is a few hundred bytes; anything bigger is answered 413 unread."""


CSRF_COOKIE = "amu_csrf"


def routers(
    *,
    csrf_secret: str,
    public_base_url: str,
    clock: Clock,
    session_idle: dt.timedelta = dt.timedelta(minutes=30),
    session_absolute: dt.timedelta = dt.timedelta(hours=8),
    development_login: bool = False,
    development_staff_login: bool = False,
    development_people: Sequence[tuple[str, str]] = (),
    development_staff: Sequence[tuple[str, str, str]] = (),
    deliveries: DeliveryStatus | None = None,
) -> list[Router]:
    """The pages router and the static files router.

    The pages router runs Litestar's session middleware (its store registered on the app under
    ``SESSION_STORE``) and CSRF middleware (``csrf_secret`` signs the tokens: the same in every
    process), and provides ``page`` (a ``Page``) from ``pages`` (its ``PageContext``) and
    ``session``; ``clock`` opens sessions on error pages, whose handlers get no dependencies.
    ``development_login`` mounts the demo login page offering ``development_people`` as (CPR
    number, name); ``development_staff_login`` the staff one offering ``development_staff`` as
    (subject, name, organisation CVR).
    """
    context = PageContext(
        deliveries=deliveries if deliveries is not None else StoreDeliveryStatus(),
        public_base_url=public_base_url,
        session_absolute=session_absolute,
        development_login=development_login,
        development_people=tuple(development_people),
        development_staff=tuple(development_staff),
    )
    secure = public_base_url.startswith("https://")
    csrf = CSRFConfig(
        secret=csrf_secret,
        cookie_name=CSRF_COOKIE,
        cookie_secure=secure,
        cookie_httponly=True,  # read by no script: forms carry the token
        cookie_samesite="lax",
        cookie_path="/",
    )

    def provide_pages() -> PageContext:
        return context

    handlers: list[type] = [
        HomePage,
        ParticipantPages,
        SharedPages,
        VerifyPages,
        SchoolPages,
        SchoolAdminPages,
        SchoolReportPages,
        SchoolRecordsPages,
    ]
    if development_login:
        handlers.append(DevelopmentLoginPage)
    if development_staff_login:
        handlers.append(DevelopmentStaffLoginPage)
    pages = Router(
        path="/",
        route_handlers=handlers,
        dependencies={
            "pages": Provide(provide_pages, use_cache=True, sync_to_thread=False),
            "session": Provide(provide_session, sync_to_thread=False),
            "page": Provide(provide_page, sync_to_thread=False),
        },
        # The session first: a refused CSRF token's error page still knows who is logged in.
        middleware=[
            session_config(secure=secure, idle=session_idle).middleware,
            DefineMiddleware(CSRFMiddleware, config=csrf),
        ],
        exception_handlers=exception_handlers(context, clock),
        request_max_body_size=FORM_MAX_BYTES,
        include_in_schema=False,
    )
    static = create_static_files_router(path="/static", directories=[STATIC])
    return [pages, static]


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    environment = Environment(
        loader=PackageLoader("service", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment))


def not_found_for_browsers(
    fallback: Callable[[Request[Any, Any, Any], HTTPException], Response[Any]],
    *,
    public_base_url: str,
) -> Callable[[Request[Any, Any, Any], NotFoundException], Response[Any]]:
    """The app's 404 handler: a browser asking for a path no route matches (``/findes-ikke``,
    ``/mine-beviser/a/b/c``) gets the Danish 404 page; the API, the OpenAPI document, static
    files and every client that does not ask for HTML get ``fallback``'s problem document.
    A 404 inside a page route is the pages router's own (``exception_handlers``)."""
    context = PageContext(deliveries=StoreDeliveryStatus(), public_base_url=public_base_url)

    def handler(request: Request[Any, Any, Any], exc: NotFoundException) -> Response[Any]:
        path = request.scope["path"]
        if path.startswith(_NOT_PAGES) or "text/html" not in request.headers.get("accept", ""):
            return fallback(request, exc)
        return Page(request, context, None).error(404)

    return handler


_NOT_PAGES = ("/api/", "/api", "/schema", "/static/")
