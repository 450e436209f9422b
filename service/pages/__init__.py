"""Pages for people, in Danish: Mine beviser, share links and the access log, Tjek et bevis,
and a small school view. Server-rendered with Jinja templates (``service/templates``), one
stylesheet and no build step (``service/static``); see docs/pages.md.

The composition root hands over plain values, and provides at app level the collaborators the
handlers name (``pool``, ``clock``, ``identity``, ``documents``, ``verifier``)::

    app = Litestar(
        route_handlers=pages.routers(session_secret=secret, public_base_url=url, clock=clock),
        template_config=pages.template_config(),
        dependencies={"pool": ..., "clock": ..., "identity": ..., "documents": ...,
                      "verifier": ...},
    )
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from litestar import Router
from litestar.di import Provide
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from registry.clock import Clock
from service.pages.deliveries import DeliveryStatus
from service.pages.deliveries_store import StoreDeliveryStatus
from service.pages.dev_login import DevelopmentLoginPage
from service.pages.home import HomePage
from service.pages.participant import ParticipantPages
from service.pages.school import SchoolPages
from service.pages.sessions import SessionSealer
from service.pages.shared import SharedPages
from service.pages.verify import VerifyPages
from service.pages.web import PageContext, exception_handlers, provide_page, provide_session

STATIC = Path(__file__).resolve().parent.parent / "static"
FORM_MAX_BYTES = 64 * 1024
"""Our largest form is a few hundred bytes; anything bigger is answered 413 unread."""


def routers(
    *,
    session_secret: bytes,
    public_base_url: str,
    clock: Clock,
    development_login: bool = False,
    development_people: Sequence[tuple[str, str]] = (),
    deliveries: DeliveryStatus | None = None,
) -> list[Router]:
    """The pages router and the static files router.

    The pages router provides ``page`` (a ``Page``) from ``pages`` (its ``PageContext``) and
    ``session``; ``clock`` opens sessions on error pages, whose handlers get no dependencies.
    ``development_login`` mounts the demo login page offering ``development_people`` as (CPR
    number, name).
    """
    context = PageContext(
        sealer=SessionSealer(session_secret),
        deliveries=deliveries if deliveries is not None else StoreDeliveryStatus(),
        public_base_url=public_base_url,
        development_login=development_login,
        development_people=tuple(development_people),
    )

    def provide_pages() -> PageContext:
        return context

    handlers: list[type] = [HomePage, ParticipantPages, SharedPages, VerifyPages, SchoolPages]
    if development_login:
        handlers.append(DevelopmentLoginPage)
    pages = Router(
        path="/",
        route_handlers=handlers,
        dependencies={
            "pages": Provide(provide_pages, use_cache=True, sync_to_thread=False),
            "session": Provide(provide_session, sync_to_thread=False),
            "page": Provide(provide_page, sync_to_thread=False),
        },
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
