"""The IdentityProvider port on a real OpenID Connect provider: a MitID broker (NemLog-in, or
MitID Erhverv for school staff).

    provider = OpenIDConnectProvider(
        issuer="https://broker.example", client_id="amu-bevis", client_secret=secret,
        http=httpx.AsyncClient(timeout=10), clock=system_clock,
    )
    login = await provider.begin_login(redirect_uri=f"{base}/mine-beviser/log-ind/svar")
    # the browser goes to login.url, logs in and comes back with ?code=...&state=...
    identity = await provider.finish_login(params=query, request=login, redirect_uri=...)

The authorization-code flow with PKCE (S256), state and nonce; authlib builds the requests and
checks the ID token's claims, joserfc (authlib's JOSE library) its signature against the
provider's published keys. Every refusal is logged at WARNING with its reason, never a token,
code, claim value or CPR number. A provider that cannot be reached (or whose discovery
document or keys make no sense) raises ``IdentityProviderUnavailableError`` from the login
steps, so the pages can say so; ``authenticate`` and ``logout_request`` answer None instead.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, urlsplit

import httpx
from authlib.oauth2.auth import ClientAuth
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import ClaimError, InvalidKeyIdError, JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey

from issuers.cpr import birth_date
from registry.clock import Clock
from service.identity import (
    Identity,
    IdentityProviderUnavailableError,
    LoginRequest,
    LogoutRequest,
    Person,
)

NEMLOGIN_CPR_CLAIM = "https://data.gov.dk/model/core/eid/cprNumber"
NEMLOGIN_CVR_CLAIM = "https://data.gov.dk/model/core/eid/professional/cvr"
# Asymmetric signatures only: never "none", never HS* (whose key would be our client secret).
ALLOWED_ALGORITHMS = ("RS256", "PS256", "ES256")
TokenAuthMethod = Literal["client_secret_basic", "client_secret_post"]

_MAX_TOKEN_CHARS = 16_384  # an ID token is a few kilobytes; anything larger is not one
_CVR = re.compile(r"^[0-9]{8}$")
_log = logging.getLogger(__name__)


class _RefusedError(Exception):
    """One check failed; the message is the reason for the log (never a value)."""


@dataclass(frozen=True, slots=True)
class _Metadata:
    """What the provider's discovery document says we need."""

    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    end_session_endpoint: str | None


class OpenIDConnectProvider:
    """A participant (or staff member) logs in at an OpenID Connect provider."""

    def __init__(
        self,
        *,
        issuer: str,
        client_id: str,
        client_secret: str,
        http: httpx.AsyncClient,
        clock: Clock,
        cpr_claim: str = NEMLOGIN_CPR_CLAIM,
        organisation_claim: str = NEMLOGIN_CVR_CLAIM,
        scopes: Sequence[str] = ("openid",),
        token_auth_method: TokenAuthMethod = "client_secret_basic",  # noqa: S107 - a method
        leeway: dt.timedelta = dt.timedelta(seconds=60),
        jwks_refetch_interval: dt.timedelta = dt.timedelta(minutes=1),
    ) -> None:
        self._issuer = issuer
        self._client_id = client_id
        self._client_secret = client_secret
        self._http = http
        self._clock = clock
        self._cpr_claim = cpr_claim
        self._organisation_claim = organisation_claim
        self._scopes = tuple(scopes)
        self._token_auth_method = token_auth_method
        self._leeway = int(leeway.total_seconds())
        self._jwks_refetch_interval = jwks_refetch_interval
        self._metadata_cache: _Metadata | None = None
        self._keys: KeySet | None = None
        self._keys_fetched_at: dt.datetime | None = None
        self._lock = asyncio.Lock()

    # The port.

    async def authenticate(self, token: str) -> Person | None:
        """The person of a bearer ID token issued to this client, or None."""
        try:
            claims = await self._verified_claims(token, nonce=None, access_token=None)
            cpr = self._cpr_of(claims)
        except _RefusedError as e:
            _log.warning("bearer token refused: %s", e)
            return None
        except IdentityProviderUnavailableError as e:
            _log.warning("bearer token not checked: %s", e)
            return None
        return Person(cpr) if cpr is not None else None

    async def begin_login(self, *, redirect_uri: str) -> LoginRequest:
        """Raises IdentityProviderUnavailableError when the provider cannot be asked."""
        metadata = await self._metadata()
        state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(48)  # 64 characters: RFC 7636 wants 43 to 128
        url: str = prepare_grant_uri(
            metadata.authorization_endpoint,
            self._client_id,
            "code",
            redirect_uri=redirect_uri,
            scope=" ".join(self._scopes),
            state=state,
            nonce=nonce,
            code_challenge=create_s256_code_challenge(verifier),
            code_challenge_method="S256",
        )
        return LoginRequest(url=url, state=state, nonce=nonce, code_verifier=verifier)

    async def finish_login(
        self, *, params: Mapping[str, str], request: LoginRequest, redirect_uri: str
    ) -> Identity | None:
        """Raises IdentityProviderUnavailableError when the provider cannot be reached."""
        try:
            return await self._finish(params, request, redirect_uri)
        except _RefusedError as e:
            _log.warning("login refused: %s", e)
            return None

    async def logout_request(
        self, *, id_token: str | None, post_logout_redirect_uri: str
    ) -> LogoutRequest | None:
        """The provider's end-session endpoint (RP-initiated logout) and the fields to POST
        there, or None when it has none or cannot be reached. The ID token goes back to the
        provider that issued it as ``id_token_hint``, in the form's body: never in a URL.
        No ``state``: our session is gone before the browser gets there, so nothing of ours
        would check it when the provider sends the browser back to the front page."""
        try:
            metadata = await self._metadata()
        except IdentityProviderUnavailableError as e:
            _log.warning("no logout at the provider: %s", e)
            return None
        if metadata.end_session_endpoint is None:
            return None
        fields = [
            ("client_id", self._client_id),
            ("post_logout_redirect_uri", post_logout_redirect_uri),
        ]
        if id_token:
            fields.append(("id_token_hint", id_token))
        return LogoutRequest(url=metadata.end_session_endpoint, fields=tuple(fields))

    async def login_origin(self) -> str | None:
        """The authorization endpoint's origin (the issuer's while the provider is away)."""
        try:
            url = (await self._metadata()).authorization_endpoint
        except IdentityProviderUnavailableError:
            url = self._issuer
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}"

    # The login's steps.

    async def _finish(
        self, params: Mapping[str, str], request: LoginRequest, redirect_uri: str
    ) -> Identity:
        if "error" in params:
            raise _RefusedError("the provider answered with an error")
        state = params.get("state", "")
        if not secrets.compare_digest(state.encode(), request.state.encode()):
            raise _RefusedError("the state does not match the login's")
        # RFC 9207: a provider that names itself must name itself (a mix-up attack otherwise).
        if "iss" in params and params["iss"] != self._issuer:
            raise _RefusedError("the answer names another issuer")
        code = params.get("code", "")
        if not code:
            raise _RefusedError("the answer has no code")
        metadata = await self._metadata()
        tokens = await self._redeem(metadata, code, request, redirect_uri)
        id_token = tokens.get("id_token")
        access_token = tokens.get("access_token")
        if not isinstance(id_token, str):
            raise _RefusedError("the token endpoint gave no ID token")
        if not isinstance(access_token, str):
            access_token = None
        claims = await self._verified_claims(
            id_token, nonce=request.nonce, access_token=access_token
        )
        # A provider may keep the person's claims out of the ID token: userinfo has them.
        wanted = (self._cpr_claim, self._organisation_claim)
        if not any(name in claims for name in wanted) and access_token:
            claims = {**await self._userinfo(metadata, access_token, claims["sub"]), **claims}
        return Identity(
            subject=claims["sub"],
            cpr=self._cpr_of(claims),
            organisation=self._organisation_of(claims),
            name=claims["name"] if isinstance(claims.get("name"), str) else None,
            id_token=id_token,
        )

    async def _redeem(
        self, metadata: _Metadata, code: str, request: LoginRequest, redirect_uri: str
    ) -> dict[str, Any]:
        """The token endpoint's answer for ``code`` (with the PKCE verifier)."""
        body = prepare_token_request(
            "authorization_code",
            redirect_uri=redirect_uri,
            code=code,
            code_verifier=request.code_verifier,
        )
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        }
        url, headers, body = self._client_auth().prepare(
            "POST", metadata.token_endpoint, headers, body
        )
        try:
            response = await self._http.post(url, content=body, headers=headers)
        except httpx.HTTPError as e:
            raise IdentityProviderUnavailableError(f"token endpoint: {type(e).__name__}") from e
        if response.status_code >= 500:
            raise IdentityProviderUnavailableError(f"token endpoint: HTTP {response.status_code}")
        if response.status_code != 200:
            raise _RefusedError(
                f"the token endpoint refused the code (HTTP {response.status_code})"
            )
        return _json_object(response, "the token endpoint's answer")

    def _client_auth(self) -> ClientAuth:
        if self._token_auth_method == "client_secret_basic":  # noqa: S105 - a method's name
            # RFC 6749 2.3.1: both are form-encoded before they are joined for Basic.
            return ClientAuth(
                quote(self._client_id, safe=""),
                quote(self._client_secret, safe=""),
                "client_secret_basic",
            )
        return ClientAuth(self._client_id, self._client_secret, "client_secret_post")

    async def _userinfo(
        self, metadata: _Metadata, access_token: str, subject: str
    ) -> dict[str, Any]:
        """The userinfo claims, for a provider that keeps them out of the ID token."""
        if metadata.userinfo_endpoint is None:
            return {}
        try:
            response = await self._http.get(
                metadata.userinfo_endpoint,
                headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
            )
        except httpx.HTTPError as e:
            raise IdentityProviderUnavailableError(f"userinfo: {type(e).__name__}") from e
        if response.status_code != 200:
            raise _RefusedError(f"userinfo refused the access token (HTTP {response.status_code})")
        claims = _json_object(response, "userinfo's answer")
        # OpenID Connect Core 5.3.2: userinfo about anyone else must not be used.
        if claims.get("sub") != subject:
            raise _RefusedError("userinfo is about another subject")
        return claims

    # The ID token.

    async def _verified_claims(
        self, token: str, *, nonce: str | None, access_token: str | None
    ) -> dict[str, Any]:
        """The claims of ``token`` once its signature, issuer, audience, times and (when
        given) nonce and access-token hash are right. Raises _RefusedError otherwise."""
        if not token or len(token) > _MAX_TOKEN_CHARS:
            raise _RefusedError("the token is empty or too long")
        keys = await self._key_set()
        try:
            decoded = jwt.decode(token, keys, algorithms=ALLOWED_ALGORITHMS)
        except InvalidKeyIdError:
            # A key we have not seen: the provider may have rotated its keys.
            newer = await self._key_set(refresh=True)
            if newer is keys:
                raise _RefusedError("the token is signed by an unknown key") from None
            decoded = self._decode(token, newer)
        except (JoseError, ValueError) as e:
            raise _RefusedError(
                f"the token's signature is not accepted ({type(e).__name__})"
            ) from e
        options: dict[str, Any] = {
            "iss": {"essential": True, "value": self._issuer},
            "aud": {"essential": True, "value": self._client_id},
        }
        params = {"client_id": self._client_id, "nonce": nonce, "access_token": access_token}
        claims = CodeIDToken(decoded.claims, decoded.header, options=options, params=params)
        try:
            # Times are checked against our clock, not the machine's, so tests can move time.
            claims.validate(now=int(self._clock().timestamp()), leeway=self._leeway)
        except ClaimError as e:
            # The claim's name only: its value may be personal.
            raise _RefusedError(f"the token's {e.claim!r} claim is not accepted ({e.error})") from e
        except JoseError as e:
            raise _RefusedError(f"the token's claims are not accepted ({e.error})") from e
        out = dict(claims)
        if not isinstance(out.get("sub"), str) or not out["sub"]:
            raise _RefusedError("the token has no subject")
        return out

    def _decode(self, token: str, keys: KeySet) -> jwt.Token:
        try:
            return jwt.decode(token, keys, algorithms=ALLOWED_ALGORITHMS)
        except InvalidKeyIdError:
            raise _RefusedError("the token is signed by an unknown key") from None
        except (JoseError, ValueError) as e:
            raise _RefusedError(
                f"the token's signature is not accepted ({type(e).__name__})"
            ) from e

    def _cpr_of(self, claims: Mapping[str, Any]) -> str | None:
        """The CPR claim as DDMMYY-SSSS (NemLog-in sends ten digits), or None without one."""
        value = claims.get(self._cpr_claim)
        if value is None:
            return None
        if not isinstance(value, str) or birth_date(value) is None:
            raise _RefusedError("the CPR claim is not a CPR number")
        digits = value.replace("-", "")
        return f"{digits[:6]}-{digits[6:]}"

    def _organisation_of(self, claims: Mapping[str, Any]) -> str | None:
        value = claims.get(self._organisation_claim)
        if value is None:
            return None
        if not isinstance(value, str) or not _CVR.match(value):
            raise _RefusedError("the organisation claim is not a CVR number")
        return value

    # What the provider publishes.

    async def _metadata(self) -> _Metadata:
        """The discovery document, fetched once (its issuer must be the configured one)."""
        if self._metadata_cache is None:
            async with self._lock:
                if self._metadata_cache is None:
                    self._metadata_cache = await self._discover()
        return self._metadata_cache

    async def _discover(self) -> _Metadata:
        url = f"{self._issuer.rstrip('/')}/.well-known/openid-configuration"
        document = await self._get_json(url, "discovery document")
        if document.get("issuer") != self._issuer:
            raise IdentityProviderUnavailableError(
                "the discovery document names another issuer than AMU_OIDC_ISSUER"
            )
        required = ("authorization_endpoint", "token_endpoint", "jwks_uri")
        optional = ("userinfo_endpoint", "end_session_endpoint")
        for name in required:
            if not isinstance(document.get(name), str):
                raise IdentityProviderUnavailableError(f"the discovery document has no {name}")
        for name in optional:
            if name in document and not isinstance(document[name], str):
                raise IdentityProviderUnavailableError(f"the discovery document's {name} is bad")
        return _Metadata(*(document[n] for n in required), *(document.get(n) for n in optional))

    async def _key_set(self, *, refresh: bool = False) -> KeySet:
        """The provider's signing keys, cached. ``refresh`` fetches them again, unless they
        were fetched less than ``jwks_refetch_interval`` ago (a token with a made-up key id
        must not make us hammer the provider); the cached set is returned then."""
        async with self._lock:
            now = self._clock()
            fetched = self._keys_fetched_at
            recent = fetched is not None and now - fetched < self._jwks_refetch_interval
            if self._keys is None or (refresh and not recent):
                metadata = self._metadata_cache or await self._discover()
                self._metadata_cache = metadata
                self._keys = await self._fetch_keys(metadata.jwks_uri)
                self._keys_fetched_at = now
            return self._keys

    async def _fetch_keys(self, url: str) -> KeySet:
        document = await self._get_json(url, "JWKS")
        found = document.get("keys")
        if not isinstance(found, list):
            raise IdentityProviderUnavailableError("the JWKS has no keys")
        keys: list[RSAKey | ECKey] = []
        for value in found:
            # Public signing keys of the kinds the allowed algorithms use; others are skipped.
            if not isinstance(value, dict) or value.get("use", "sig") != "sig":
                continue
            try:
                if value.get("kty") == "RSA":
                    keys.append(RSAKey.import_key(value))
                elif value.get("kty") == "EC":
                    keys.append(ECKey.import_key(value))
            except (JoseError, ValueError, TypeError):
                _log.warning("a key in the provider's JWKS does not load; skipped")
        if not keys:
            raise IdentityProviderUnavailableError("the JWKS has no usable signing key")
        return KeySet(list(keys))

    async def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            response = await self._http.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as e:
            raise IdentityProviderUnavailableError(f"{what}: {type(e).__name__}") from e
        if response.status_code != 200:
            raise IdentityProviderUnavailableError(f"{what}: HTTP {response.status_code}")
        try:
            return _json_object(response, what)
        except _RefusedError as e:
            raise IdentityProviderUnavailableError(str(e)) from None


def _json_object(response: httpx.Response, what: str) -> dict[str, Any]:
    try:
        value = response.json()
    except ValueError:
        raise _RefusedError(f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise _RefusedError(f"{what} is not a JSON object")
    return value
