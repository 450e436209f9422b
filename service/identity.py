"""Who a participant is: the IdentityProvider port and its development adapter.

The port is shaped for an OpenID Connect broker such as MitID: the broker's ID token carries
the person's CPR number. A browser logs in by the authorization-code flow: ``begin_login``
makes a ``LoginRequest`` (the URL to send the browser to, and the state, nonce and PKCE
verifier the service keeps in the browser's session); the provider sends the browser back to
``redirect_uri`` and ``finish_login`` turns its answer into an ``Identity``. ``logout_request``
makes a ``LogoutRequest``: the provider's end-session endpoint and the fields a page of ours
POSTs there (the ID token among them: a form's body, never a URL). ``authenticate``
turns a bearer token presented to the API into a ``Person``. The real adapter is
``service.oidc.OpenIDConnectProvider``; a provider that cannot be reached raises
``IdentityProviderUnavailableError`` from the login steps.
``DevelopmentIdentityProvider`` issues such tokens itself for any CPR number (demo and tests
only; the settings never choose it in production); its "broker" is the demo-person page at
``/udvikling/log-ind``. ``DevelopmentStaffIdentityProvider`` is the same for school staff
(where MitID Erhverv would be): its broker is ``/udvikling/log-ind/medarbejder``, offering the
demo's staff, each with a subject, a name and their organisation's CVR number. The
participants' tokens are sealed (AES-256-GCM), not merely signed: whoever holds one, or finds
it in a log, cannot read the CPR number inside. So are the login codes, under another key from
the same shared session secret, so that a login begun in one of the service's processes can
end in another (``amu-bevis serve --workers N``).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, Protocol, runtime_checkable
from urllib.parse import urlencode, urlsplit

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from registry.clock import Clock

_TOKEN_PREFIX = "dev1."  # noqa: S105 - a format tag, not a secret
_TOKEN_AAD = b"amu-bevis development token v1"
_CODE_AAD = b"amu-bevis development login code v1"
_CODE_LIFETIME = dt.timedelta(minutes=5)
_NONCE_BYTES = 12
DEVELOPMENT_LOGIN_PATH = "/udvikling/log-ind"
DEVELOPMENT_STAFF_LOGIN_PATH = "/udvikling/log-ind/medarbejder"


class IdentityProviderUnavailableError(Exception):
    """The identity provider could not be reached or answered nonsense (its discovery document,
    keys or token endpoint): nobody can log in right now. The pages show a friendly page."""


@dataclass(frozen=True, slots=True)
class Person:
    cpr: str  # sensitive: never log


@dataclass(frozen=True, slots=True)
class LoginRequest:
    """One login in progress: ``url`` is where to send the browser; the rest is kept on the
    server (in the browser's session) until the provider sends it back, and handed to
    ``finish_login``. ``state``, ``nonce`` and ``code_verifier`` are secrets: never log."""

    url: str
    state: str
    nonce: str
    code_verifier: str  # PKCE (RFC 7636), S256

    def to_dict(self) -> dict[str, str]:
        return {
            "url": self.url,
            "state": self.state,
            "nonce": self.nonce,
            "code_verifier": self.code_verifier,
        }

    @classmethod
    def from_dict(cls, data: object) -> LoginRequest | None:
        """The request ``to_dict`` made, or None for anything else."""
        if not isinstance(data, dict):
            return None
        values = [data.get(k) for k in ("url", "state", "nonce", "code_verifier")]
        strings = [v for v in values if isinstance(v, str) and v]
        return cls(*strings) if len(strings) == len(values) else None


@dataclass(frozen=True, slots=True)
class LogoutRequest:
    """Ending the browser's session at the provider too (OpenID Connect RP-Initiated Logout
    1.0): a form the browser POSTs to ``url`` with ``fields``. POST, not GET, because the
    fields carry the ID token (``id_token_hint``), which must not appear in a URL (browser
    history, proxies, the provider's access logs); the specification has the provider accept
    both. ``fields`` are secrets: never log them."""

    url: str
    fields: tuple[tuple[str, str], ...]

    @property
    def origin(self) -> str:
        """``scheme://host[:port]`` of ``url``: the page's form-action policy must allow it."""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"


@dataclass(frozen=True, slots=True)
class Identity:
    """What a finished login proved about the person at the browser."""

    subject: str  # the provider's stable identifier for the person (``sub``)
    cpr: str | None = None  # participants: the CPR claim (sensitive: never log)
    organisation: str | None = None  # staff: the CVR number of the organisation they act for
    name: str | None = None
    id_token: str | None = None  # for the provider's logout (id_token_hint): never log


@runtime_checkable  # handed to handlers by dependency injection, which checks types
class IdentityProvider(Protocol):
    """A provider people log in with: an OpenID Connect broker (MitID, MitID Erhverv) in
    production, the development provider in the demo and tests."""

    async def authenticate(self, token: str) -> Person | None:
        """The participant a bearer token (for the API) proves, or None when it proves nothing."""

    async def begin_login(self, *, redirect_uri: str) -> LoginRequest:
        """Start an authorization-code login (with state, nonce and PKCE); the provider will
        send the browser back to ``redirect_uri``."""

    async def finish_login(
        self, *, params: Mapping[str, str], request: LoginRequest, redirect_uri: str
    ) -> Identity | None:
        """The identity the provider's answer (the callback's query ``params``) proves for the
        login ``request`` began, or None: a wrong state, an error answer, a refused code or an
        ID token that fails any check."""

    async def logout_request(
        self, *, id_token: str | None, post_logout_redirect_uri: str
    ) -> LogoutRequest | None:
        """The form that ends the browser's session at the provider too (the provider sends
        the browser on to ``post_logout_redirect_uri``), or None when there is none to end."""

    async def login_origin(self) -> str | None:
        """The origin (``https://host[:port]``) the login sends the browser to, or None for
        this site: the login form's Content-Security-Policy must allow it as a form-action,
        or the browser stops at the redirect."""


def _sealer(secret: bytes, info: bytes) -> AESGCM:
    """AES-256-GCM under a key derived from ``secret`` for one purpose (``info``)."""
    return AESGCM(HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret))


def _seal(aead: AESGCM, payload: Mapping[str, object], aad: bytes) -> str:
    nonce = secrets.token_bytes(_NONCE_BYTES)
    plain = json.dumps(payload, separators=(",", ":")).encode()
    sealed = nonce + aead.encrypt(nonce, plain, aad)
    return base64.urlsafe_b64encode(sealed).rstrip(b"=").decode()


def _unseal(aead: AESGCM, text: str, aad: bytes) -> dict[str, object] | None:
    """What `_seal` sealed, or None for anything that is not (altered, another key, garbage)."""
    try:
        sealed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        claims = json.loads(aead.decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], aad))
    except (binascii.Error, ValueError, InvalidTag):
        return None
    return claims if isinstance(claims, dict) else None


class _DevelopmentLogin:
    """The development providers' login: a demo page on this site (``login_path``) stands in
    for the broker's and hands back a code for the identity picked there, valid five minutes.
    The code is the identity sealed (AES-256-GCM) with the login's nonce under a key derived
    from the session secret, so that any of the service's processes can open it (and its
    holder cannot read the CPR number inside); it is good once, because ``finish_login`` needs
    the login request that the browser's session gives up at the callback, and only with the
    nonce it was sealed with. Never for production."""

    login_path: ClassVar[str]

    def __init__(self, secret: bytes, clock: Clock) -> None:
        self._clock = clock
        self._codes = _sealer(secret, _CODE_AAD)

    async def begin_login(self, *, redirect_uri: str) -> LoginRequest:
        state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        query = urlencode({"state": state, "nonce": nonce, "redirect_uri": redirect_uri})
        return LoginRequest(
            url=f"{self.login_path}?{query}",
            state=state,
            nonce=nonce,
            code_verifier=secrets.token_urlsafe(32),
        )

    def issue_code(self, identity: Identity, *, nonce: str) -> str:
        """An authorization code for ``identity`` and the login of ``nonce``, valid for five
        minutes."""
        expires = int((self._clock() + _CODE_LIFETIME).timestamp())
        fields = {
            "sub": identity.subject,
            "cpr": identity.cpr,
            "org": identity.organisation,
            "name": identity.name,
            "nonce": nonce,
            "exp": expires,
        }
        return _seal(self._codes, fields, _CODE_AAD)

    async def finish_login(
        self,
        *,
        params: Mapping[str, str],
        request: LoginRequest,
        redirect_uri: str,  # noqa: ARG002 - the demo page sends back to where it was told
    ) -> Identity | None:
        state, code = params.get("state", ""), params.get("code", "")
        if not state or not code or len(code) > 2048:
            return None
        if not secrets.compare_digest(state, request.state):
            return None
        claims = _unseal(self._codes, code, _CODE_AAD) or {}
        nonce, expires, subject = claims.get("nonce"), claims.get("exp"), claims.get("sub")
        if not (
            isinstance(nonce, str)
            and isinstance(subject, str)
            and isinstance(expires, int)
            and expires > self._clock().timestamp()
            and secrets.compare_digest(nonce, request.nonce)
        ):
            return None  # not ours, altered, expired, or another login's
        cpr, organisation, name = claims.get("cpr"), claims.get("org"), claims.get("name")
        return Identity(
            subject=subject,
            cpr=cpr if isinstance(cpr, str) else None,
            organisation=organisation if isinstance(organisation, str) else None,
            name=name if isinstance(name, str) else None,
        )

    async def logout_request(
        self,
        *,
        id_token: str | None,  # noqa: ARG002 - the demo page keeps no session of its own
        post_logout_redirect_uri: str,  # noqa: ARG002
    ) -> LogoutRequest | None:
        return None  # the demo page keeps no session of its own

    async def login_origin(self) -> str | None:
        return None  # the demo page is on this site


class DevelopmentIdentityProvider(_DevelopmentLogin):
    """Issues and checks short-lived sealed tokens for any CPR number. Never for production."""

    login_path = DEVELOPMENT_LOGIN_PATH

    def __init__(
        self,
        secret: bytes,
        clock: Clock,
        *,
        lifetime: dt.timedelta = dt.timedelta(hours=1),
    ) -> None:
        super().__init__(secret, clock)
        self._aead = _sealer(secret, _TOKEN_AAD)
        self._lifetime = lifetime

    def issue(self, cpr: str) -> str:
        """``dev1.<base64url(nonce || AES-GCM(cpr, expiry))>``: opaque to its holder."""
        expires = int((self._clock() + self._lifetime).timestamp())
        return _TOKEN_PREFIX + _seal(self._aead, {"cpr": cpr, "exp": expires}, _TOKEN_AAD)

    async def authenticate(self, token: str) -> Person | None:
        if not token.startswith(_TOKEN_PREFIX) or len(token) > 512:
            return None
        claims = _unseal(self._aead, token.removeprefix(_TOKEN_PREFIX), _TOKEN_AAD)
        if claims is None:
            return None
        cpr, expires = claims.get("cpr"), claims.get("exp")
        # Expiry is checked against our clock, not the machine's, so tests can move time.
        if not isinstance(expires, int) or expires <= self._clock().timestamp():
            return None
        return Person(cpr) if isinstance(cpr, str) else None


class DevelopmentStaffIdentityProvider(_DevelopmentLogin):
    """School staff for the demo and tests, in place of MitID Erhverv: the demo page picks
    a person (subject, name, organisation CVR) and gets a one-time code for them. Never for
    production."""

    login_path = DEVELOPMENT_STAFF_LOGIN_PATH

    async def authenticate(self, token: str) -> Person | None:  # noqa: ARG002 - staff use pages
        return None  # staff have no bearer tokens for the participants' API
