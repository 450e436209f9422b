"""The front page: where participants, verifiers and schools each go."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.response import Template

from service.pages.web import Page


class HomePage(Controller):
    path = "/"

    @get("/")
    async def home(self, *, page: NamedDependency[Page]) -> Template:
        return page.render("home.html")
