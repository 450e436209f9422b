"""DEVELOPMENT ONLY: the demo "broker" pages where one picks a demo person instead of MitID, or
a demo staff member of a school instead of MitID Erhverv.

Each is mounted only when its development identity provider is in use. Each plays the
broker's part of the authorization-code flow: it sends the browser back to the (local) redirect
URI with a code (the person sealed with the login's nonce, ``service.identity``), which the
provider's ``finish_login`` turns into the person.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import SkipValidation
from litestar.response import Redirect, Template

from issuers.cpr import birth_date
from service.identity import (
    DEVELOPMENT_LOGIN_PATH,
    DEVELOPMENT_STAFF_LOGIN_PATH,
    DevelopmentIdentityProvider,
    DevelopmentStaffIdentityProvider,
    Identity,
    IdentityProvider,
)
from service.pages.web import Page, redirect


def _ours(page: Page, uri: str) -> bool:
    """Only an address on this site: the demo page must not become an open redirect."""
    path = uri.removeprefix(page.context.public_base_url)
    return path != uri and path.startswith("/") and not path.startswith(("//", "/\\"))


def _login_request(page: Page) -> dict[str, str]:
    """The login request the browser was sent here with; 403 when it is not one of ours."""
    query = page.request.query_params
    found = {k: query.get(k, "") for k in ("state", "nonce", "redirect_uri")}
    if not found["state"] or not found["nonce"] or not _ours(page, found["redirect_uri"]):
        raise PermissionDeniedException("login request")
    return found


class DevelopmentLoginPage(Controller):
    path = DEVELOPMENT_LOGIN_PATH

    @get("/")
    async def choose(self, *, page: NamedDependency[Page]) -> Template:
        """The demo people (``PageContext.development_people``) to log in as."""
        return page.render(
            "dev_login.html", {"people": page.context.development_people, **_login_request(page)}
        )

    @post("/", status_code=303)
    async def chosen(
        self,
        *,
        page: NamedDependency[Page],
        identity: NamedDependency[SkipValidation[IdentityProvider]],
    ) -> Redirect:
        form = await page.form()
        if not isinstance(identity, DevelopmentIdentityProvider):
            raise NotFoundException
        cpr, state, nonce, redirect_uri = (
            form.get("cpr", "").strip(),
            form.get("state", ""),
            form.get("nonce", ""),
            form.get("redirect_uri", ""),
        )
        if birth_date(cpr) is None or len(cpr) != 11 or not state or not nonce:
            raise PermissionDeniedException("login request")
        if not _ours(page, redirect_uri):
            raise PermissionDeniedException("login request")
        code = identity.issue_code(Identity(f"dev:{secrets.token_hex(8)}", cpr=cpr), nonce=nonce)
        return redirect(f"{redirect_uri}?{urlencode({'code': code, 'state': state})}")


class DevelopmentStaffLoginPage(Controller):
    path = DEVELOPMENT_STAFF_LOGIN_PATH

    @get("/")
    async def choose(self, *, page: NamedDependency[Page]) -> Template:
        """The demo staff (``PageContext.development_staff``) to log in as."""
        return page.render(
            "dev_staff_login.html",
            {"staff": page.context.development_staff, **_login_request(page)},
        )

    @post("/", status_code=303)
    async def chosen(
        self,
        *,
        page: NamedDependency[Page],
        staff_identity: NamedDependency[SkipValidation[IdentityProvider]],
    ) -> Redirect:
        form = await page.form()
        if not isinstance(staff_identity, DevelopmentStaffIdentityProvider):
            raise NotFoundException
        state, nonce, redirect_uri = (
            form.get("state", ""),
            form.get("nonce", ""),
            form.get("redirect_uri", ""),
        )
        chosen = [s for s in page.context.development_staff if s[0] == form.get("subject")]
        if not chosen or not state or not nonce or not _ours(page, redirect_uri):
            raise PermissionDeniedException("login request")
        subject, name, organisation = chosen[0]
        code = staff_identity.issue_code(
            Identity(subject=subject, name=name, organisation=organisation), nonce=nonce
        )
        return redirect(f"{redirect_uri}?{urlencode({'code': code, 'state': state})}")
