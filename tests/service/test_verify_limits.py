"""Guessing limits that cannot be turned against the holder (issue 12): wrong codes from many
clients never lock the right code out, on the API or the page, and the client they count
against is the peer, unless the peer is a configured proxy."""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
from collections.abc import AsyncIterator
from typing import cast

import asyncpg
import httpx
import pytest
from litestar import Litestar
from litestar.enums import ScopeType
from litestar.testing import AsyncTestClient
from litestar.types import Receive, Scope, Send

from service.app import create_app
from service.settings import Settings
from tests.conftest import Demo, FixedClock
from tests.helpers import ASE, Client, post_team, team_body
from tests.service.pages.helpers import person_login

PROXY = "10.0.0.7"


class _Peers:
    """``app`` reached from the address a request names in ``X-Test-Peer``, as if its TCP peer
    were that address (the test client's own peer is "testclient", no address at all)."""

    def __init__(self, app: Litestar) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            peer = dict(scope["headers"]).get(b"x-test-peer")
            if peer is not None:
                scope["client"] = (peer.decode(), 50000)
        await self.app(scope, receive, send)


def _from(peer: str, **headers: str) -> dict[str, str]:
    return {"X-Test-Peer": peer, **headers}


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[Client]:
    """The app behind ``_Peers``, so each request can come from an address of its own."""
    async with AsyncTestClient(app=_Peers(app), base_url="http://testserver.local") as test_client:
        yield cast("Client", test_client)


async def _issue(client: Client, seeded: Demo) -> tuple[str, str]:
    issued = await post_team(client, seeded.public, team_body(reference="H-1"), key="H-1")
    assert issued.status_code == 201, issued.text
    certificate = issued.json()["participants"][0]["certificate"]
    return certificate["number"], certificate["verificationCode"]


async def _failures_of(conn: asyncpg.Connection, kind: str, value: str) -> int:
    key = hashlib.sha256(f"{kind}:{value}".encode()).digest()
    found = await conn.fetchval("SELECT sum(failures) FROM verify_failures WHERE key = $1", key)
    return int(found or 0)


async def test_wrong_codes_from_many_clients_never_lock_out_the_right_code(
    app: Litestar, client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    number, code = await _issue(client, seeded)
    for i in range(12):  # more than the number's limit (10), each client well under its own
        wrong = await client.get(
            f"/api/verify/{number}",
            params={"code": f"AAAA-AAA{i}"},
            headers=_from(f"198.51.100.{i + 1}"),
        )
        assert wrong.status_code == (200 if i < 10 else 429), wrong.text
    assert await _failures_of(conn, "number", number) == 12

    holder = _from("203.0.113.5")
    api = await client.get(f"/api/verify/{number}", params={"code": code}, headers=holder)
    page = await client.get(f"/tjek/{number}", params={"kode": code.lower()}, headers=holder)
    # Over the number's limit a wrong code is refused, and says no more than "unknown".
    wrong_api = await client.get(
        f"/api/verify/{number}", params={"code": "AAAA-AAAZ"}, headers=holder
    )
    wrong_page = await client.get(f"/tjek/{number}", params={"kode": "AAAA-AAAZ"}, headers=holder)
    assert api.status_code == 200, api.text
    assert api.json()["status"] == "valid"
    assert api.json()["participantName"] == "Åse Ødegård"
    assert page.status_code == 200
    assert "Beviset er gyldigt" in page.text
    assert wrong_api.status_code == 429
    assert wrong_api.headers["content-type"].startswith("application/problem+json")
    assert int(wrong_api.headers["retry-after"]) > 0
    assert "Åse" not in wrong_api.text
    assert wrong_page.status_code == 429
    assert "For mange forsøg" in wrong_page.text
    assert "Åse" not in wrong_page.text
    # The right answers are the holder's access log; the refused wrong ones count against the
    # client that sent them.
    channels = await conn.fetch("SELECT channel FROM access_events ORDER BY id")
    assert [r["channel"] for r in channels] == ["verify-api", "verify-page"]
    assert await _failures_of(conn, "ip", "203.0.113.5") == 2
    await person_login(client, ASE)
    assert "Opslag via API" in (await client.get("/mine-beviser/adgang")).text


async def test_a_client_over_its_limit_is_refused_even_the_right_code(
    app: Litestar, client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    number, code = await _issue(client, seeded)
    guesser = _from("198.51.100.9")
    for i in range(20):
        wrong = await client.get(
            f"/api/verify/2026-{i:07d}", params={"code": "AAAA-AAAA"}, headers=guesser
        )
        assert wrong.json()["status"] == "unknown"
    # A right code from this client would tell it which guess was right: refused unseen.
    refused = await client.get(f"/api/verify/{number}", params={"code": code}, headers=guesser)
    page = await client.get(f"/tjek/{number}", params={"kode": code}, headers=guesser)
    assert refused.status_code == 429
    assert "Åse" not in refused.text
    assert page.status_code == 429
    assert "For mange forsøg" in page.text
    assert await conn.fetchval("SELECT count(*) FROM access_events") == 0
    other = await client.get(
        f"/api/verify/{number}", params={"code": code}, headers=_from("198.51.100.10")
    )
    assert other.json()["status"] == "valid"


async def _guess_twenty(http: AsyncTestClient[_Peers], peer: str) -> httpx.Response:
    """Twenty wrong codes for twenty numbers from ``peer``, each request forwarded for a client
    of its own, then a 21st."""
    for i in range(21):
        response = await http.get(
            f"/api/verify/2026-{i:07d}",
            params={"code": "AAAA-AAAA"},
            headers=_from(peer, **{"X-Forwarded-For": f"192.0.2.{i + 1}"}),
        )
        if i < 20:
            assert response.json()["status"] == "unknown", response.text
    return response


async def test_forwarded_for_counts_only_from_a_configured_proxy(
    settings: Settings, clock: FixedClock, conn: asyncpg.Connection
) -> None:
    trusted = (ipaddress.ip_network(f"{PROXY}/32"), ipaddress.ip_network("2001:db8::/32"))
    app = create_app(dataclasses.replace(settings, trusted_proxies=trusted), clock=clock)
    async with AsyncTestClient(app=_Peers(app), base_url="http://testserver.local") as http:
        # From an untrusted peer the header is the guesser's own text and is ignored: the 21st
        # wrong code is refused, and nothing is counted against the addresses it names.
        spoofing = await _guess_twenty(http, "198.51.100.20")
        assert spoofing.status_code == 429
        assert await _failures_of(conn, "ip", "198.51.100.20") == 20
        assert await _failures_of(conn, "ip", "192.0.2.1") == 0
        # From the proxy each request is its client's: twenty clients, one failure each.
        proxied = await _guess_twenty(http, PROXY)
        assert proxied.status_code == 200
        assert proxied.json()["status"] == "unknown"
        assert await _failures_of(conn, "ip", "192.0.2.21") == 1
        assert await _failures_of(conn, "ip", PROXY) == 0
        # Through a chain: the right-most entry that is not a trusted proxy is the client;
        # what it wrote left of that is ignored.
        chained = "192.0.2.99, 203.0.113.77, 2001:db8::1"
        await http.get(
            "/api/verify/2026-0000001",
            params={"code": "AAAA-AAAA"},
            headers=_from(PROXY, **{"X-Forwarded-For": chained}),
        )
        assert await _failures_of(conn, "ip", "203.0.113.77") == 1
        assert await _failures_of(conn, "ip", "192.0.2.99") == 0
