"""DEVELOPMENT ONLY: the demo "broker" page where one picks a demo person instead of MitID.

Mounted only when the development identity provider is in use. It plays the broker's part of
the authorization-code flow: it sends the browser back to the (local) redirect URI with a
one-time random code (bound to the login's nonce), which
``DevelopmentIdentityProvider.finish_login`` turns into the person.
"""

from __future__ import annotations

from urllib.parse import urlencode

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import SkipValidation
from litestar.response import Redirect, Template

from issuers.cpr import birth_date
from service.identity import DEVELOPMENT_LOGIN_PATH, DevelopmentIdentityProvider, IdentityProvider
from service.pages.web import Page, redirect


def _ours(page: Page, uri: str) -> bool:
    """Only an address on this site: the demo page must not become an open redirect."""
    path = uri.removeprefix(page.context.public_base_url)
    return path != uri and path.startswith("/") and not path.startswith(("//", "/\\"))


class DevelopmentLoginPage(Controller):
    path = DEVELOPMENT_LOGIN_PATH

    @get("/")
    async def choose(self, *, page: NamedDependency[Page]) -> Template:
        """The demo people (``PageContext.development_people``) to log in as."""
        state = page.request.query_params.get("state", "")
        nonce = page.request.query_params.get("nonce", "")
        redirect_uri = page.request.query_params.get("redirect_uri", "")
        if not state or not nonce or not _ours(page, redirect_uri):
            raise PermissionDeniedException("login request")
        return page.render(
            "dev_login.html",
            {
                "people": page.context.development_people,
                "state": state,
                "nonce": nonce,
                "redirect_uri": redirect_uri,
            },
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
        code = identity.issue_code(cpr, nonce=nonce)
        return redirect(f"{redirect_uri}?{urlencode({'code': code, 'state': state})}")
