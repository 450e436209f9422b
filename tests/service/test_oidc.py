"""The OpenID Connect adapter: the code flow with PKCE against panva's oidc-provider (a real,
independent implementation on 127.0.0.1), and every ID token a provider must never get past us
(crafted by an in-process provider): wrong audience, issuer or nonce, expired, unknown key,
tampered, ``alg: none``, HS256 with the client secret. Key rotation refetches the JWKS, at most
once a minute."""

# The tables' token makers all take the same arguments, used or not.
# ruff: noqa: ARG005

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import parse_qs, unquote, urljoin, urlsplit

import httpx
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from service.identity import Identity, IdentityProviderUnavailableError, Person
from service.oidc import OpenIDConnectProvider
from tests.conftest import FixedClock
from tests.helpers import ASE
from tests.oidc_provider import (
    CLIENT_ID,
    CLIENT_SECRET,
    CPR_CLAIM,
    CVR_CLAIM,
    FakeBroker,
    NodeOpenIDProvider,
    log_in_at,
    log_out_at,
    loopback_browser,
    real_now,
    unsigned,
)

pytestmark = pytest.mark.external  # the node provider

# Never contacted: the tests read where the provider sends the browser.
CALLBACK = "http://127.0.0.1:9/mine-beviser/log-ind/svar"
HOME = "http://127.0.0.1:9/"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


def _at_node(
    node: NodeOpenIDProvider, http: httpx.AsyncClient, clock: FixedClock
) -> OpenIDConnectProvider:
    return OpenIDConnectProvider(
        issuer=node.issuer, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, http=http, clock=clock
    )


async def _node_login(
    provider: OpenIDConnectProvider, login_name: str = "ase", *, browser: httpx.AsyncClient
) -> Identity | None:
    login = await provider.begin_login(redirect_uri=CALLBACK)
    params = await log_in_at(browser, login.url, login_name, callback=CALLBACK)
    return await provider.finish_login(params=params, request=login, redirect_uri=CALLBACK)


async def _lands_at(browser: httpx.AsyncClient, url: str) -> str:
    """Where the provider takes a browser that starts a login at ``url``: straight back to
    the callback (it is logged in there) or to its login page."""
    response = await browser.get(url)
    while response.status_code in {302, 303}:
        location = urljoin(str(response.url), response.headers["location"])
        if location.startswith(CALLBACK):
            return "the callback"
        response = await browser.get(location)
    return "the login page" if 'name="login"' in response.text else response.text[:200]


def _kid(token: str) -> str:
    head = token.split(".", maxsplit=1)[0]
    kid: str = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))["kid"]
    return kid


# The real provider.


async def test_a_participant_logs_in_at_a_real_provider(
    node_oidc: NodeOpenIDProvider, http: httpx.AsyncClient
) -> None:
    node_oidc.register_client([CALLBACK])  # the claims come from userinfo
    provider = _at_node(node_oidc, http, FixedClock(real_now()))
    async with httpx.AsyncClient() as browser:
        found = await _node_login(provider, browser=browser)
    assert found is not None
    assert found.cpr == ASE  # NemLog-in's ten digits, as DDMMYY-SSSS
    assert found.subject == "ase"
    assert found.name == "Åse Ødegård"
    assert found.organisation is None
    assert found.id_token is not None


async def test_a_staff_member_brings_their_organisation(
    node_oidc: NodeOpenIDProvider, http: httpx.AsyncClient
) -> None:
    node_oidc.register_client([CALLBACK], claims_in_id_token=True)
    provider = _at_node(node_oidc, http, FixedClock(real_now()))
    async with httpx.AsyncClient() as browser:
        found = await _node_login(provider, "lærer", browser=browser)
    assert found is not None
    assert found.organisation == "12345678"


async def test_the_id_token_is_a_bearer_token_until_it_expires(
    node_oidc: NodeOpenIDProvider, http: httpx.AsyncClient
) -> None:
    node_oidc.register_client([CALLBACK], claims_in_id_token=True)
    clock = FixedClock(real_now())
    provider = _at_node(node_oidc, http, clock)
    async with httpx.AsyncClient() as browser:
        found = await _node_login(provider, browser=browser)
    assert found is not None
    assert found.id_token is not None
    assert await provider.authenticate(found.id_token) == Person(ASE)
    clock.now += dt.timedelta(hours=2)  # the provider's ID tokens last an hour
    assert await provider.authenticate(found.id_token) is None


async def test_a_wrong_nonce_a_replayed_code_and_a_wrong_verifier_are_refused(
    node_oidc: NodeOpenIDProvider, http: httpx.AsyncClient
) -> None:
    node_oidc.register_client([CALLBACK])
    provider = _at_node(node_oidc, http, FixedClock(real_now()))
    async with httpx.AsyncClient() as browser:
        login = await provider.begin_login(redirect_uri=CALLBACK)
        params = await log_in_at(browser, login.url, "ase", callback=CALLBACK)
        other_nonce = dataclasses.replace(login, nonce="not-the-nonce-the-provider-saw")
        assert (
            await provider.finish_login(params=params, request=other_nonce, redirect_uri=CALLBACK)
            is None
        )
        # The code was spent on the refused try: it is not accepted twice.
        assert (
            await provider.finish_login(params=params, request=login, redirect_uri=CALLBACK) is None
        )

        login = await provider.begin_login(redirect_uri=CALLBACK)
        params = await log_in_at(browser, login.url, "ase", callback=CALLBACK)
        wrong_verifier = dataclasses.replace(login, code_verifier="x" * 64)
        assert (
            await provider.finish_login(
                params=params, request=wrong_verifier, redirect_uri=CALLBACK
            )
            is None
        )


async def test_a_new_key_at_the_provider_is_fetched_when_a_token_names_it(
    node_oidc: NodeOpenIDProvider,
) -> None:
    node_oidc.register_client([CALLBACK], claims_in_id_token=True)
    jwks_fetches: list[str] = []

    async def count(request: httpx.Request) -> None:
        if request.url.path == "/jwks":
            jwks_fetches.append(str(request.url))

    clock = FixedClock(real_now())
    async with (
        httpx.AsyncClient(timeout=10, event_hooks={"request": [count]}) as http,
        httpx.AsyncClient() as browser,
    ):
        provider = _at_node(node_oidc, http, clock)
        first = await _node_login(provider, browser=browser)
        assert first is not None
        assert len(jwks_fetches) == 1
        new_kid = node_oidc.rotate_keys()
        clock.now += dt.timedelta(minutes=2)
        second = await _node_login(provider, browser=browser)
    assert second is not None
    assert second.id_token is not None
    assert _kid(second.id_token) == new_kid
    assert len(jwks_fetches) == 2


async def test_logging_out_ends_the_session_at_the_provider(
    node_oidc: NodeOpenIDProvider, http: httpx.AsyncClient
) -> None:
    node_oidc.register_client([CALLBACK], [HOME])
    provider = _at_node(node_oidc, http, FixedClock(real_now()))
    async with loopback_browser() as browser:
        found = await _node_login(provider, browser=browser)
        assert found is not None
        assert found.id_token is not None
        # Logged in at the provider: another login goes straight back, no login page.
        again = await provider.begin_login(redirect_uri=CALLBACK)
        assert await _lands_at(browser, again.url) == "the callback"
        logout = await provider.logout_request(
            id_token=found.id_token, post_logout_redirect_uri=HOME
        )
        assert logout is not None
        # The endpoint as published, nothing added: the token goes in the form's body.
        assert logout.url == f"{node_oidc.issuer}/session/end"
        assert logout.origin == node_oidc.issuer
        assert dict(logout.fields) == {
            "client_id": CLIENT_ID,
            "post_logout_redirect_uri": HOME,
            "id_token_hint": found.id_token,
        }
        # The provider takes the POST (RP-Initiated Logout 1.0 section 2) and ends its session.
        assert await log_out_at(browser, logout) == HOME
        after = await provider.begin_login(redirect_uri=CALLBACK)
        assert await _lands_at(browser, after.url) == "the login page"


async def test_a_provider_that_cannot_be_reached_is_said_so(http: httpx.AsyncClient) -> None:
    provider = OpenIDConnectProvider(
        issuer="http://127.0.0.1:1",  # nothing listens on port 1
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        http=http,
        clock=FixedClock(),
    )
    with pytest.raises(IdentityProviderUnavailableError):
        await provider.begin_login(redirect_uri=CALLBACK)
    assert await provider.authenticate("a.b.c") is None
    assert await provider.logout_request(id_token=None, post_logout_redirect_uri=HOME) is None


# Crafted tokens, from an in-process provider.


@pytest.fixture
def broker(clock: FixedClock) -> FakeBroker:
    return FakeBroker(clock)


@pytest.fixture
async def at_broker(broker: FakeBroker, clock: FixedClock) -> AsyncIterator[OpenIDConnectProvider]:
    async with httpx.AsyncClient(transport=broker.transport()) as http:
        yield OpenIDConnectProvider(
            issuer=FakeBroker.ISSUER,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            http=http,
            clock=clock,
        )


async def _answer(
    provider: OpenIDConnectProvider,
    broker: FakeBroker,
    token: Callable[[str], str],
    *,
    params: Callable[[str], dict[str, str]] | None = None,
) -> Identity | None:
    """Begin a login, let the provider answer with the ID token ``token(nonce)`` makes."""
    login = await provider.begin_login(redirect_uri=CALLBACK)
    broker.id_token = token(login.nonce)
    answer = params(login.state) if params else {"code": "code-1", "state": login.state}
    return await provider.finish_login(params=answer, request=login, redirect_uri=CALLBACK)


async def test_a_crafted_valid_token_passes(
    at_broker: OpenIDConnectProvider, broker: FakeBroker
) -> None:
    found = await _answer(at_broker, broker, lambda n: broker.sign(broker.claims(nonce=n)))
    assert found is not None
    assert found.cpr == ASE
    assert broker.requests.get("/me") is None  # the claims were in the ID token


OTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "k2", "use": "sig", "alg": "RS256"})
SAME_KID_OTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})


def _flip_signature(token: str) -> str:
    head, body, signature = token.split(".")
    flipped = ("A" if signature[5] != "A" else "B").join((signature[:5], signature[6:]))
    return f"{head}.{body}.{flipped}"


def _other_claims(token: str, claims: dict[str, Any]) -> str:
    head, _body, signature = token.split(".")
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{head}.{body}.{signature}"


def _refused() -> list[tuple[str, Callable[[FakeBroker, str], str]]]:
    now = int(FixedClock()().timestamp())
    return [
        ("wrong audience", lambda b, n: b.sign(b.claims(nonce=n, aud="another-client"))),
        ("audiences without azp", lambda b, n: b.sign(b.claims(nonce=n, aud=[CLIENT_ID, "x"]))),
        (
            "azp of another client",
            lambda b, n: b.sign(b.claims(nonce=n, aud=[CLIENT_ID, "x"], azp="x")),
        ),
        ("wrong nonce", lambda b, n: b.sign(b.claims(nonce="another nonce"))),
        ("no nonce", lambda b, n: b.sign(b.claims())),
        ("wrong issuer", lambda b, n: b.sign(b.claims(nonce=n, iss="https://evil.test"))),
        ("no issuer", lambda b, n: b.sign(b.claims(nonce=n, iss=None))),
        ("expired", lambda b, n: b.sign(b.claims(nonce=n, iat=now - 600, exp=now - 61))),
        ("no expiry", lambda b, n: b.sign(b.claims(nonce=n, exp=None))),
        ("issued in the future", lambda b, n: b.sign(b.claims(nonce=n, iat=now + 3600))),
        ("no subject", lambda b, n: b.sign(b.claims(nonce=n, sub=None))),
        ("unknown key", lambda b, n: b.sign(b.claims(nonce=n), key=OTHER_KEY)),
        ("known kid, other key", lambda b, n: b.sign(b.claims(nonce=n), key=SAME_KID_OTHER_KEY)),
        ("tampered signature", lambda b, n: _flip_signature(b.sign(b.claims(nonce=n)))),
        (
            "tampered claims",
            lambda b, n: _other_claims(b.sign(b.claims(nonce=n)), b.claims(nonce=n, sub="bo")),
        ),
        ("alg none", lambda b, n: unsigned(b.claims(nonce=n))),
        (
            "HS256 with the client secret",
            lambda b, n: jwt.encode(
                {"alg": "HS256", "kid": "k1"},
                b.claims(nonce=n),
                OctKey.import_key(CLIENT_SECRET.encode()),
                algorithms=["HS256"],
            ),
        ),
        ("not a CPR number", lambda b, n: b.sign(b.claims(nonce=n, **{CPR_CLAIM: "12345"}))),
        ("not a CVR number", lambda b, n: b.sign(b.claims(nonce=n, **{CVR_CLAIM: "CVR-1"}))),
        ("not a token", lambda b, n: "not-a-token"),
        ("a development token", lambda b, n: "dev1.AAAA"),
    ]


REFUSED = _refused()
# What the log must give as the reason (a claim's name, never its value).
REASONS = {
    "wrong audience": "'aud' claim",
    "audiences without azp": "'azp' claim",
    "azp of another client": "'azp' claim",
    "wrong nonce": "'nonce' claim",
    "no nonce": "'nonce' claim",
    "wrong issuer": "'iss' claim",
    "no issuer": "'iss' claim",
    "expired": "'exp' claim",
    "no expiry": "'exp' claim",
    "issued in the future": "'iat' claim",
    "no subject": "'sub' claim",
    "unknown key": "unknown key",
    "known kid, other key": "BadSignatureError",
    "tampered signature": "BadSignatureError",
    "tampered claims": "BadSignatureError",
    "alg none": "UnsupportedAlgorithmError",
    "HS256 with the client secret": "UnsupportedAlgorithmError",
    "not a CPR number": "CPR claim",
    "not a CVR number": "organisation claim",
    "not a token": "DecodeError",
    "a development token": "DecodeError",
}


@pytest.mark.parametrize(("case", "make"), REFUSED, ids=[c for c, _ in REFUSED])
async def test_each_bad_id_token_is_refused(
    at_broker: OpenIDConnectProvider,
    broker: FakeBroker,
    case: str,
    make: Callable[[FakeBroker, str], str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="service.oidc"):
        found = await _answer(at_broker, broker, lambda n: make(broker, n))
    assert found is None, case
    assert "login refused" in caplog.text
    assert REASONS[case] in caplog.text
    for secret in (broker.id_token or "-", "0101901234", ASE, "code-1", CLIENT_SECRET):
        assert secret not in caplog.text


async def test_several_audiences_pass_with_our_azp(
    at_broker: OpenIDConnectProvider, broker: FakeBroker
) -> None:
    found = await _answer(
        at_broker,
        broker,
        lambda n: broker.sign(broker.claims(nonce=n, aud=[CLIENT_ID, "x"], azp=CLIENT_ID)),
    )
    assert found is not None


async def test_ps256_and_es256_pass(at_broker: OpenIDConnectProvider, broker: FakeBroker) -> None:
    from joserfc.jwk import ECKey  # noqa: PLC0415 - only this test signs with EC

    ec = ECKey.generate_key("P-256", parameters={"kid": "e1"})
    rsa = RSAKey.generate_key(2048, parameters={"kid": "p1"})
    broker.published = [broker.key, ec, rsa]
    ps = await _answer(
        at_broker, broker, lambda n: broker.sign(broker.claims(nonce=n), key=rsa, alg="PS256")
    )
    es = await _answer(
        at_broker,
        broker,
        lambda n: jwt.encode({"alg": "ES256", "kid": "e1"}, broker.claims(nonce=n), ec),
    )
    assert ps is not None
    assert es is not None


@pytest.mark.parametrize(
    ("case", "params"),
    [
        (
            "wrong state",
            lambda s: {"code": "code-1", "state": s[:-1] + ("x" if s[-1] != "x" else "y")},
        ),
        ("no state", lambda s: {"code": "code-1"}),
        ("a state that is no ASCII", lambda s: {"code": "code-1", "state": "æøå"}),
        ("an error answer", lambda s: {"error": "access_denied", "state": s}),
        ("no code", lambda s: {"state": s}),
        (
            "another issuer named",
            lambda s: {"code": "code-1", "state": s, "iss": "https://evil.test"},
        ),
    ],
)
async def test_an_answer_that_is_not_for_this_login_is_refused_before_the_token_endpoint(
    at_broker: OpenIDConnectProvider,
    broker: FakeBroker,
    case: str,
    params: Callable[[str], dict[str, str]],
) -> None:
    found = await _answer(
        at_broker, broker, lambda n: broker.sign(broker.claims(nonce=n)), params=params
    )
    assert found is None, case
    assert broker.token_requests == []


async def test_the_authorization_url_and_the_token_request(
    at_broker: OpenIDConnectProvider, broker: FakeBroker
) -> None:
    login = await at_broker.begin_login(redirect_uri=CALLBACK)
    query = parse_qs(urlsplit(login.url).query)
    assert login.url.startswith(f"{FakeBroker.ISSUER}/auth?")
    assert query["response_type"] == ["code"]
    assert query["client_id"] == [CLIENT_ID]
    assert query["redirect_uri"] == [CALLBACK]
    assert query["scope"] == ["openid"]
    assert query["state"] == [login.state]
    assert query["nonce"] == [login.nonce]
    assert query["code_challenge"] == [create_s256_code_challenge(login.code_verifier)]
    assert query["code_challenge_method"] == ["S256"]
    assert "code_verifier" not in query

    broker.id_token = broker.sign(broker.claims(nonce=login.nonce))
    params = {"code": "code-1", "state": login.state}
    assert await at_broker.finish_login(params=params, request=login, redirect_uri=CALLBACK)
    (request,) = broker.token_requests
    body = parse_qs(request.content.decode())
    assert body == {
        "grant_type": ["authorization_code"],
        "code": ["code-1"],
        "redirect_uri": [CALLBACK],
        "code_verifier": [login.code_verifier],
    }
    scheme, credentials = request.headers["authorization"].split()
    assert scheme == "Basic"
    client, secret = base64.b64decode(credentials).decode().split(":")
    assert (unquote(client), unquote(secret)) == (CLIENT_ID, CLIENT_SECRET)


async def test_discovery_is_fetched_once(
    at_broker: OpenIDConnectProvider, broker: FakeBroker
) -> None:
    for _ in range(3):
        await at_broker.begin_login(redirect_uri=CALLBACK)
    assert broker.requests["/.well-known/openid-configuration"] == 1


async def test_a_discovery_document_of_another_issuer_is_refused(
    broker: FakeBroker, clock: FixedClock
) -> None:
    async with httpx.AsyncClient(transport=broker.transport()) as http:
        provider = OpenIDConnectProvider(
            issuer=f"{FakeBroker.ISSUER}/other",
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            http=http,
            clock=clock,
        )
        with pytest.raises(IdentityProviderUnavailableError, match="another issuer"):
            await provider.begin_login(redirect_uri=CALLBACK)


async def test_a_refused_code_is_none_and_a_failing_token_endpoint_is_unavailable(
    at_broker: OpenIDConnectProvider, broker: FakeBroker
) -> None:
    broker.token_status = 400
    assert await _answer(at_broker, broker, lambda n: broker.sign(broker.claims(nonce=n))) is None
    broker.token_status = 503
    with pytest.raises(IdentityProviderUnavailableError):
        await _answer(at_broker, broker, lambda n: broker.sign(broker.claims(nonce=n)))


async def test_claims_missing_from_the_id_token_come_from_userinfo_about_the_same_person(
    at_broker: OpenIDConnectProvider, broker: FakeBroker
) -> None:
    without = {CPR_CLAIM: None}
    broker.userinfo = {"sub": "s-ase", CPR_CLAIM: "0101901234", "name": "Åse Ødegård"}
    found = await _answer(
        at_broker, broker, lambda n: broker.sign(broker.claims(nonce=n, **without))
    )
    assert found is not None
    assert (found.cpr, found.name) == (ASE, "Åse Ødegård")
    broker.userinfo = {"sub": "someone-else", CPR_CLAIM: "0202854321"}
    found = await _answer(
        at_broker, broker, lambda n: broker.sign(broker.claims(nonce=n, **without))
    )
    assert found is None


async def test_jwks_is_refetched_for_a_new_key_at_most_once_a_minute(
    at_broker: OpenIDConnectProvider, broker: FakeBroker, clock: FixedClock
) -> None:
    assert await _answer(at_broker, broker, lambda n: broker.sign(broker.claims(nonce=n)))
    assert broker.requests["/jwks"] == 1
    # The provider rotates: its new key signs, the old one is still published.
    broker.published = [OTHER_KEY, broker.key]
    clock.now += dt.timedelta(minutes=2)
    new = await _answer(
        at_broker, broker, lambda n: broker.sign(broker.claims(nonce=n), key=OTHER_KEY)
    )
    assert new is not None
    assert broker.requests["/jwks"] == 2
    # A token naming a key nobody publishes: one refetch per minute, however many arrive.
    stranger = RSAKey.generate_key(2048, parameters={"kid": "k3"})
    for _ in range(3):
        found = await _answer(
            at_broker, broker, lambda n: broker.sign(broker.claims(nonce=n), key=stranger)
        )
        assert found is None
    assert broker.requests["/jwks"] == 2
    clock.now += dt.timedelta(seconds=61)
    broker.published = [stranger, OTHER_KEY]
    found = await _answer(
        at_broker, broker, lambda n: broker.sign(broker.claims(nonce=n), key=stranger)
    )
    assert found is not None
    assert broker.requests["/jwks"] == 3


async def test_a_bearer_id_token_proves_its_person_until_it_expires(
    at_broker: OpenIDConnectProvider, broker: FakeBroker, clock: FixedClock
) -> None:
    token = broker.sign(broker.claims())  # a bearer token carries no nonce to check
    assert await at_broker.authenticate(token) == Person(ASE)
    assert await at_broker.authenticate(broker.sign(broker.claims(aud="x"))) is None
    assert await at_broker.authenticate(broker.sign(broker.claims(**{CPR_CLAIM: None}))) is None
    assert await at_broker.authenticate(unsigned(broker.claims())) is None
    assert await at_broker.authenticate("") is None
    clock.now += dt.timedelta(seconds=300 + 61)  # past exp and the leeway
    assert await at_broker.authenticate(token) is None


async def test_no_end_session_endpoint_no_logout(at_broker: OpenIDConnectProvider) -> None:
    assert await at_broker.logout_request(id_token="t", post_logout_redirect_uri=HOME) is None
