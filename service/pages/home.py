"""The front page: where participants, verifiers and schools each go."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.response import Template

from service.pages.sessions import Session
from service.pages.web import PageContext, page


class HomePage(Controller):
    path = "/"

    @get("/")
    async def home(
        self,
        request: Request[Any, Any, Any],
        *,
        pages: NamedDependency[PageContext],
        session: NamedDependency[Session | None],
    ) -> Template:
        return page(request, pages, session, "home.html")
