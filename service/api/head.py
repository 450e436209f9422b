"""HEAD on every GET route: the GET's status and headers, without its body (RFC 9110 §9.3.2).

Litestar routes HEAD only to handlers that declare it; this wraps the app's ASGI handler so a
HEAD request is routed as a GET and its body is dropped on the way out::

    app.asgi_handler = HeadAsGet(app.asgi_handler)
"""

from __future__ import annotations

from typing import cast

from litestar.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    """Answers HEAD with what GET would answer, minus the body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("method") != "HEAD":  # websockets and lifespan have no method
            await self.app(scope, receive, send)
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app(cast("Scope", {**scope, "method": "GET"}), receive, without_body)
