"""The front page: where participants, verifiers and schools each go."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.response import Template

from service.pages.web import page, pages_of


class HomePage(Controller):
    path = "/"

    @get("/")
    async def home(self, request: Request[Any, Any, Any]) -> Template:
        return page(request, pages_of(request), "home.html")
