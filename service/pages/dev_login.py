"""DEVELOPMENT ONLY: the demo "broker" page where one picks a demo person instead of MitID.

Mounted only when the development identity provider is in use. It plays the broker's part of
the authorization-code flow: it sends the browser back to the (local) redirect URI with a
one-time random code, which ``DevelopmentIdentityProvider.redeem`` turns into the person.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.response import Redirect, Template

from issuers.cpr import birth_date
from service.demo import DEMO_PEOPLE
from service.identity import (
    DEVELOPMENT_LOGIN_PATH,
    DevelopmentIdentityProvider,
    IdentityProvider,
)
from service.pages.web import checked_form, page, pages_of, redirect

# Demo people (fictitious CPR numbers with real birth dates).


def _local(path: str) -> bool:
    """Only a path on this site: the demo page must not become an open redirect."""
    return path.startswith("/") and not path.startswith(("//", "/\\"))


class DevelopmentLoginPage(Controller):
    path = DEVELOPMENT_LOGIN_PATH

    @get("/")
    async def choose(self, request: Request[Any, Any, Any]) -> Template:
        state = request.query_params.get("state", "")
        redirect_uri = request.query_params.get("redirect_uri", "")
        if not state or not _local(redirect_uri):
            raise PermissionDeniedException("login request")
        return page(
            request,
            pages_of(request),
            "dev_login.html",
            {"people": DEMO_PEOPLE, "state": state, "redirect_uri": redirect_uri},
        )

    @post("/", status_code=303)
    async def chosen(
        self, request: Request[Any, Any, Any], identity: NamedDependency[IdentityProvider]
    ) -> Redirect:
        form = await checked_form(request, pages_of(request))
        if not isinstance(identity, DevelopmentIdentityProvider):
            raise NotFoundException
        cpr, state, redirect_uri = (
            form.get("cpr", "").strip(),
            form.get("state", ""),
            form.get("redirect_uri", ""),
        )
        if birth_date(cpr) is None or len(cpr) != 11 or not state or not _local(redirect_uri):
            raise PermissionDeniedException("login request")
        code = identity.issue_code(cpr)
        return redirect(f"{redirect_uri}?{urlencode({'code': code, 'state': state})}")
