"""The client's address behind reverse proxies we were told to trust, and no others.

    app = Litestar(..., middleware=[trusted_proxy_headers(settings.trusted_proxies)])

A request's ``X-Forwarded-For`` is anyone's to write, so it is read only when the peer that
sent the request is a configured proxy (``AMU_TRUSTED_PROXIES``). Each proxy appends the
address it received the request from, so the list is read from the right: the first entry that
is not itself a trusted proxy is the client; what lies left of it was written by that client and
is ignored. With no proxies configured (the default) nothing is read and the peer is the
client. uvicorn's own proxy-header handling is switched off where the service is served
(``service.cli``): by default it believes any loopback peer.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from litestar.middleware import DefineMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _is_trusted(host: str, trusted: Sequence[Network]) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in trusted)


def client_address(peer: str, forwarded_for: Sequence[str], trusted: Sequence[Network]) -> str:
    """The client of a request ``peer`` sent us, given every ``X-Forwarded-For`` header value in
    the order received: the peer unless it is a trusted proxy, else the right-most forwarded
    entry that is not (the left-most entry when all of them are)."""
    if not _is_trusted(peer, trusted):
        return peer
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            return hop
    return hops[0] if hops else peer


class TrustedProxyHeaders:
    """ASGI middleware: replaces the scope's client by ``client_address``, so every reader of
    ``request.client`` (the guessing limits among them) sees the client, not the proxy."""

    def __init__(self, app: ASGIApp, trusted: Sequence[Network]) -> None:
        self.app = app
        self.trusted = tuple(trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if scope["type"] in ("http", "websocket") and client is not None:
            forwarded = [
                value.decode("latin-1")
                for name, value in scope["headers"]
                if name.lower() == b"x-forwarded-for"
            ]
            host = client_address(client[0], forwarded, self.trusted)
            if host != client[0]:
                scope["client"] = (host, 0)  # the client's port is not forwarded
        await self.app(scope, receive, send)


def trusted_proxy_headers(trusted: Sequence[Network]) -> DefineMiddleware:
    """The middleware for ``create_app``, believing ``X-Forwarded-For`` from ``trusted`` only."""
    return DefineMiddleware(TrustedProxyHeaders, trusted=tuple(trusted))
