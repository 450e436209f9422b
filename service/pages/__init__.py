"""Pages for people, in Danish: Mine beviser, share links and the access log, Tjek et bevis,
and a small school view. Server-rendered with Jinja templates (``service/templates``), one
stylesheet and no build step (``service/static``); see docs/pages.md.

    app = Litestar(route_handlers=[*pages.route_handlers(settings, clock=clock, dev=True)],
                   template_config=pages.template_config())
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from litestar import Router
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from issuers.document_keys import DocumentSigners
from registry.ratelimit import VerifyLimits
from service.pages.deliveries import DeliveryStatus
from service.pages.deliveries_store import StoreDeliveryStatus
from service.pages.dev_login import DevelopmentLoginPage
from service.pages.home import HomePage
from service.pages.participant import ParticipantPages
from service.pages.pdfs import DocumentKeyPdfs
from service.pages.school import SchoolPages
from service.pages.sessions import SessionSealer
from service.pages.shared import SharedPages
from service.pages.verify import VerifyPages
from service.pages.web import PageServices, exception_handlers
from service.settings import Settings

STATIC = Path(__file__).resolve().parent.parent / "static"


def verify_limits(settings: Settings) -> VerifyLimits:
    return VerifyLimits(
        per_client=settings.pages.verify_failures_per_client,
        per_number=settings.pages.verify_failures_per_number,
    )


def route_handlers(
    settings: Settings,
    *,
    clock: Callable[[], dt.datetime],
    development_login: bool,
    deliveries: DeliveryStatus | None = None,
    documents: DocumentSigners,
) -> list[Router]:
    """The pages router (its services ride in ``opt``) and the static files router."""
    services = PageServices(
        sealer=SessionSealer(settings.session_secret),
        pdfs=DocumentKeyPdfs(documents, settings.public_base_url),
        deliveries=deliveries if deliveries is not None else StoreDeliveryStatus(),
        limits=verify_limits(settings),
        clock=clock,
        public_base_url=settings.public_base_url,
        development_login=development_login,
    )
    handlers: list[type] = [HomePage, ParticipantPages, SharedPages, VerifyPages, SchoolPages]
    if development_login:
        handlers.append(DevelopmentLoginPage)
    pages = Router(
        path="/",
        route_handlers=handlers,
        opt={"pages": services},
        exception_handlers=exception_handlers,
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
