"""OpenID Connect providers for the login tests.

``NodeOpenIDProvider``: panva's oidc-provider (tests/js/oidc-provider.mjs) on 127.0.0.1, a
real, independent implementation; ``log_in_at`` drives its login page with httpx as a browser
would. ``FakeBroker``: an in-process provider (httpx.MockTransport) whose ID tokens a test
crafts, for the refusals a real provider never issues (a wrong audience, ``alg: none``, ...).

    with NodeOpenIDProvider.start() as node:
        node.register_client(CLIENT_ID, SECRET, redirect_uris=[CALLBACK])
        params = await log_in_at(browser, login.url, "ase", callback=CALLBACK)
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import httpx
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from registry.clock import Clock
from service.identity import LogoutRequest
from tests.externals import ROOT, require_node_modules

SCRIPT = ROOT / "tests" / "js" / "oidc-provider.mjs"
CLIENT_ID = "amu-bevis-test"
CLIENT_SECRET = "test-client-secret-that-is-long-enough-for-hs256"
CPR_CLAIM = "https://data.gov.dk/model/core/eid/cprNumber"
CVR_CLAIM = "https://data.gov.dk/model/core/eid/professional/cvr"


class NodeOpenIDProvider:
    """The node provider, started by ``start`` and stopped by its process id on leaving."""

    def __init__(self, process: subprocess.Popen[str], issuer: str) -> None:
        self.process = process
        self.issuer = issuer
        self.output: list[str] = []

    @classmethod
    @contextmanager
    def start(cls) -> Iterator[NodeOpenIDProvider]:
        require_node_modules()
        process = subprocess.Popen(  # noqa: S603 - our own script, no shell
            ["node", str(SCRIPT), "0"],  # noqa: S607 - node from PATH, as the other JS checks
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            issuer = _ready_line(process)
            provider = cls(process, issuer)
            # Keep reading its output, or a full pipe would stall it.
            threading.Thread(target=provider._drain, daemon=True).start()
            yield provider
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
            if process.stdout is not None:
                process.stdout.close()

    def _drain(self) -> None:
        assert self.process.stdout is not None
        self.output.extend(self.process.stdout)

    def register_client(
        self,
        redirect_uris: list[str],
        post_logout_redirect_uris: list[str] | None = None,
        *,
        claims_in_id_token: bool = False,
    ) -> None:
        """Register (replace) the one client, ``CLIENT_ID`` with ``CLIENT_SECRET``."""
        response = httpx.post(
            f"{self.issuer}/admin/client",
            json={
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "redirect_uris": redirect_uris,
                "post_logout_redirect_uris": post_logout_redirect_uris or [],
                "claims_in_id_token": claims_in_id_token,
            },
        )
        response.raise_for_status()

    def set_claims(self, login: str, claims: dict[str, str] | None) -> None:
        """Replace the claims of the account ``login`` (None: its own again)."""
        response = httpx.post(
            f"{self.issuer}/admin/account", json={"login": login, "claims": claims}
        )
        response.raise_for_status()

    def rotate_keys(self) -> str:
        """A new signing key in front of the old ones; its key id."""
        response = httpx.post(f"{self.issuer}/admin/rotate")
        response.raise_for_status()
        kid: str = response.json()["kid"]
        return kid


def loopback_browser() -> httpx.AsyncClient:
    """An httpx "browser" that sends the node provider's Secure session cookie back over plain
    http to 127.0.0.1, as Chromium does (the standard library's cookie jar sends Secure
    cookies over https only, whatever its policy: httpx copies the jar for every request)."""
    client = httpx.AsyncClient()

    async def keep_secure_cookies(_response: httpx.Response) -> None:
        for cookie in client.cookies.jar:
            cookie.secure = False

    client.event_hooks["response"].append(keep_secure_cookies)
    return client


def _ready_line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        if line.startswith("oidc-provider ready "):
            return line.split()[-1]
    raise RuntimeError("the OpenID provider did not start:\n" + "".join(seen))


async def log_in_at(
    client: httpx.AsyncClient, url: str, login: str, *, callback: str
) -> dict[str, str]:
    """Follow the provider's login from the authorization URL ``url``, submit ``login`` on its
    login page and return the query the provider sends the browser back to ``callback`` with."""
    response = await client.get(url)
    for _ in range(10):
        if response.status_code in {302, 303}:
            location = urljoin(str(response.url), response.headers["location"])
            if location.startswith(callback):
                return dict(parse_qsl(urlsplit(location).query))
            response = await client.get(location)
        elif response.status_code == 200 and 'name="login"' in response.text:
            action = re.search(r'<form method="post" action="([^"]+)"', response.text)
            assert action is not None
            response = await client.post(
                urljoin(str(response.url), action.group(1)),
                data={"login": login, "password": "any"},
            )
        else:
            raise AssertionError(f"unexpected answer {response.status_code}: {response.text[:300]}")
    raise AssertionError("the login did not come back")


async def log_out_at(client: httpx.AsyncClient, logout: LogoutRequest) -> str:
    """POST the ``logout`` form to the provider, as our logged-out page does, and confirm its
    logout page; where it sends the browser then."""
    response = await client.post(logout.url, data=dict(logout.fields))
    assert response.status_code == 200, response.text
    inputs = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', response.text))
    action = re.search(r'<form[^>]*action="([^"]+)"', response.text)
    assert action is not None
    response = await client.post(
        urljoin(str(response.url), action.group(1)), data={**inputs, "logout": "yes"}
    )
    assert response.status_code in {302, 303}, response.text
    return urljoin(str(response.url), response.headers["location"])


class FakeBroker:
    """An OpenID provider in process: discovery, JWKS, a token endpoint that hands out the ID
    token a test sets, userinfo. ``requests`` counts the calls by path."""

    ISSUER = "https://broker.test"

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig", "alg": "RS256"})
        self.published: list[RSAKey | ECKey] = [self.key]
        self.id_token: str | None = None
        self.userinfo: dict[str, Any] = {}
        self.token_status = 200
        self.requests: dict[str, int] = {}
        self.token_requests: list[httpx.Request] = []

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.requests[path] = self.requests.get(path, 0) + 1
        if path.endswith("/.well-known/openid-configuration"):
            return httpx.Response(
                200,
                json={
                    "issuer": self.ISSUER,
                    "authorization_endpoint": f"{self.ISSUER}/auth",
                    "token_endpoint": f"{self.ISSUER}/token",
                    "jwks_uri": f"{self.ISSUER}/jwks",
                    "userinfo_endpoint": f"{self.ISSUER}/me",
                },
            )
        if path == "/jwks":
            return httpx.Response(
                200, json={"keys": [k.as_dict(private=False) for k in self.published]}
            )
        if path == "/token":
            self.token_requests.append(request)
            if self.token_status != 200:
                return httpx.Response(self.token_status, json={"error": "invalid_grant"})
            return httpx.Response(
                200,
                json={"id_token": self.id_token, "access_token": "at-1", "token_type": "Bearer"},
            )
        if path == "/me":
            return httpx.Response(200, json=self.userinfo)
        return httpx.Response(404)

    def claims(self, **changes: Any) -> dict[str, Any]:
        """A valid ID token's claims for subject "s-ase", with ``changes`` (None removes)."""
        now = int(self.clock().timestamp())
        claims: dict[str, Any] = {
            "iss": self.ISSUER,
            "aud": CLIENT_ID,
            "sub": "s-ase",
            "iat": now,
            "exp": now + 300,
            CPR_CLAIM: "0101901234",
        }
        claims.update(changes)
        return {k: v for k, v in claims.items() if v is not None}

    def sign(self, claims: dict[str, Any], *, key: RSAKey | None = None, alg: str = "RS256") -> str:
        key = key or self.key
        return jwt.encode({"alg": alg, "kid": key.kid or ""}, claims, key, algorithms=[alg])


def unsigned(claims: dict[str, Any]) -> str:
    """An ``alg: none`` token: header and claims, no signature."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def real_now() -> dt.datetime:
    """The machine's time: the node provider stamps its tokens with it."""
    return dt.datetime.now(dt.UTC)
