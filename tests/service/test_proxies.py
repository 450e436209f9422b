"""Which address a request comes from: X-Forwarded-For is read only from configured proxies,
from the right, and what a client wrote into it is never believed."""

from __future__ import annotations

import ipaddress

import pytest

from service.proxies import client_address
from service.settings import Settings

TRUSTED = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8::/32"))


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        # An untrusted peer is the client, whatever it forwards; loopback is not special.
        ("198.51.100.1", ["203.0.113.9"], "198.51.100.1"),
        ("127.0.0.1", ["203.0.113.9"], "127.0.0.1"),
        ("testclient", ["203.0.113.9"], "testclient"),
        # A trusted proxy: the right-most entry that is not a proxy, past chained proxies.
        ("10.0.0.1", ["203.0.113.9"], "203.0.113.9"),
        ("10.0.0.1", ["1.2.3.4, 203.0.113.9"], "203.0.113.9"),
        ("10.0.0.1", ["1.2.3.4, 203.0.113.9, 10.1.1.1"], "203.0.113.9"),
        ("10.0.0.1", ["1.2.3.4", "203.0.113.9, 2001:db8::5"], "203.0.113.9"),
        ("::ffff:10.0.0.1", ["203.0.113.9"], "203.0.113.9"),
        # A proxy with nothing to forward, or only proxies: as near the origin as we know.
        ("10.0.0.1", [], "10.0.0.1"),
        ("10.0.0.1", [" , "], "10.0.0.1"),
        ("10.0.0.1", ["10.2.2.2, 10.3.3.3"], "10.2.2.2"),
    ],
)
def test_the_client_of_a_request(peer: str, forwarded: list[str], client: str) -> None:
    assert client_address(peer, forwarded, TRUSTED) == client


def test_no_proxy_is_trusted_unless_configured() -> None:
    assert Settings().trusted_proxies == ()
    assert Settings.from_env({}).trusted_proxies == ()
    assert client_address("127.0.0.1", ["203.0.113.9"], ()) == "127.0.0.1"
    configured = Settings.from_env({"AMU_TRUSTED_PROXIES": " 10.0.0.7, 2001:db8::/32 ,"})
    assert configured.trusted_proxies == (
        ipaddress.ip_network("10.0.0.7/32"),
        ipaddress.ip_network("2001:db8::/32"),
    )
    with pytest.raises(ValueError, match="does not appear to be an IPv4 or IPv6 network"):
        Settings.from_env({"AMU_TRUSTED_PROXIES": "proxy.example"})
