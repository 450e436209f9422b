"""A local Digital Post (and e-Boks distributor) for development and tests. Never production.

It receives MeMo messages, validates them against the official schema, keeps one message per
message UUID (a repeated UUID is answered with the first receipt, as Digital Post does), and
answers the "can this person receive digital post?" lookup from a list of exempt people. It can
be told to fail, to time out or to answer slowly::

    server = DigitalPostTestServer(schema=Path("../shared/memo-xsd/Version1.2/MeMo_core.xsd"))
    running = serve_in_thread(server)              # 127.0.0.1, an ephemeral port
    server.behave(failure_rate=0.3, timeout_rate=0.2, hang_seconds=2, seed=7)
    ...  GatewayDigitalPost(http, running.url) ...
    server.received()                              # what it kept, by UUID
    running.stop()

The same state is reachable over HTTP under ``/_control`` (the demo's ``make serve`` starts one).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import re
import socket
import ssl
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import msgspec
import uvicorn
from litestar import Litestar, Request, Response, delete, get, post, put
from litestar.params import JSONBody

from formats.errors import FormatError
from formats.memo import validate_memo
from service.logging_setup import RequestId

_UUID = re.compile(rb"<(?:\w+:)?messageUUID>([0-9a-fA-F-]{36})</(?:\w+:)?messageUUID>")
_PROBLEM = "application/problem+json"


@dataclass(frozen=True, slots=True)
class Behaviour:
    """How the server misbehaves. Rates are chances per request, drawn from ``seed``."""

    failure_rate: float = 0.0  # answer 503 before looking at the request
    timeout_rate: float = 0.0  # keep a message request hanging for hang_seconds
    hang_seconds: float = 5.0
    store_before_hang: bool = True  # a hanging message is kept: the answer alone is lost
    delay_seconds: float = 0.0  # every answer is this slow
    seed: int | None = None


@dataclass(slots=True)
class Received:
    message_uuid: uuid.UUID
    channel: str  # "digital-post" or "eboks"
    receipt: str
    body: bytes
    received_at: dt.datetime
    posts: int = 1  # how often this UUID was posted; kept once
    differing_repeats: int = 0  # repeats whose bytes differed from the kept message


@dataclass(slots=True)
class _State:
    behaviour: Behaviour = field(default_factory=Behaviour)
    rng: random.Random = field(default_factory=random.Random)
    exempt: set[str] = field(default_factory=set)
    messages: dict[uuid.UUID, Received] = field(default_factory=dict)
    posts: int = 0
    in_flight: int = 0
    lookups: int = 0


class BehaviourIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    failure_rate: float = 0.0
    timeout_rate: float = 0.0
    hang_seconds: float = 5.0
    store_before_hang: bool = True
    delay_seconds: float = 0.0
    seed: int | None = None


class ExemptIn(msgspec.Struct, forbid_unknown_fields=True):
    cprs: list[str]


class LookupIn(msgspec.Struct):
    cpr: str


class ReceivedOut(msgspec.Struct, rename="camel"):
    message_uuid: uuid.UUID
    channel: str
    receipt: str
    posts: int
    received_at: dt.datetime


class DigitalPostTestServer:
    """The server's state and its ASGI app (``.app``); thread-safe, so a test can read it."""

    def __init__(self, *, schema: Path | None, exempt: Iterable[str] = ()) -> None:
        self._schema = schema
        self._lock = threading.Lock()
        self._state = _State(exempt=set(exempt))
        self.app = self._build_app()

    # --- what a test calls directly --------------------------------------------------------

    def behave(self, **changes: Any) -> None:
        """Change the behaviour (fields of ``Behaviour``); a seed restarts the random draws."""
        with self._lock:
            self._state.behaviour = replace(self._state.behaviour, **changes)
            if "seed" in changes:
                self._state.rng = random.Random(changes["seed"])  # noqa: S311 - not security

    def set_exempt(self, cprs: Iterable[str]) -> None:
        with self._lock:
            self._state.exempt = set(cprs)

    def received(self) -> dict[uuid.UUID, Received]:
        """Every message kept, by UUID (a copy)."""
        with self._lock:
            return {k: replace(v) for k, v in self._state.messages.items()}

    def counts(self) -> dict[str, int]:
        """Requests seen: message posts, lookups, and messages being handled right now."""
        with self._lock:
            s = self._state
            return {"posts": s.posts, "lookups": s.lookups, "inFlight": s.in_flight}

    def reset(self) -> None:
        with self._lock:
            self._state.messages.clear()
            self._state.posts = self._state.lookups = 0

    # --- the HTTP side ---------------------------------------------------------------------

    def _draw(self) -> tuple[Behaviour, bool, bool]:
        with self._lock:
            b = self._state.behaviour
            fail = self._state.rng.random() < b.failure_rate
            hang = not fail and self._state.rng.random() < b.timeout_rate
            return b, fail, hang

    async def _receive(self, channel: str, body: bytes) -> Response[Any]:
        behaviour, fail, hang = self._draw()
        with self._lock:
            self._state.posts += 1
            self._state.in_flight += 1
        try:
            if behaviour.delay_seconds:
                await asyncio.sleep(behaviour.delay_seconds)
            if fail:
                return _problem(503, "Digital Post is unavailable (test server told to fail)")
            if self._schema is not None:
                try:
                    await asyncio.to_thread(validate_memo, body, self._schema)
                except FormatError as e:
                    return _problem(400, "Not a valid MeMo 1.2 message", detail=str(e))
            found = _UUID.search(body)
            if found is None:
                return _problem(400, "The message has no messageUUID")
            message_uuid = uuid.UUID(found.group(1).decode())
            if hang and not behaviour.store_before_hang:
                await asyncio.sleep(behaviour.hang_seconds)
            response = self._keep(channel, message_uuid, body)
            if hang and behaviour.store_before_hang:
                await asyncio.sleep(behaviour.hang_seconds)
            return response
        finally:
            with self._lock:
                self._state.in_flight -= 1

    def _keep(self, channel: str, message_uuid: uuid.UUID, body: bytes) -> Response[Any]:
        with self._lock:
            known = self._state.messages.get(message_uuid)
            if known is None:
                receipt = f"{channel}:{uuid.uuid4()}"
                self._state.messages[message_uuid] = Received(
                    message_uuid, channel, receipt, body, dt.datetime.now(dt.UTC)
                )
                return Response({"receipt": receipt, "duplicate": False}, status_code=201)
            # Digital Post keys on the UUID alone: a repeat is the same message, even if its
            # bytes differ (a PDF re-rendered with a fresh document ID). Counted for tests.
            known.posts += 1
            if known.body != body:
                known.differing_repeats += 1
            return Response({"receipt": known.receipt, "duplicate": True}, status_code=200)

    def _build_app(self) -> Litestar:
        server = self

        @post("/memo/messages", status_code=201)
        async def digital_post_message(request: Request[Any, Any, Any]) -> Response[Any]:
            return await server._receive("digital-post", await request.body())

        @post("/eboks/messages", status_code=201)
        async def eboks_message(request: Request[Any, Any, Any]) -> Response[Any]:
            return await server._receive("eboks", await request.body())

        @post("/lookup/digital-post-recipients", status_code=200)
        async def lookup(data: JSONBody[LookupIn]) -> Response[Any]:
            # Lookups fail and are slow as told, but never hang: a hang is for messages, where
            # the answer can be lost after the message was kept.
            behaviour, fail, _hang = server._draw()
            with server._lock:
                server._state.lookups += 1
                exempt = data.cpr in server._state.exempt
            if behaviour.delay_seconds:
                await asyncio.sleep(behaviour.delay_seconds)
            if fail:
                return _problem(503, "The lookup is unavailable (test server told to fail)")
            return Response({"canReceive": not exempt})

        @put("/_control/behaviour", status_code=204)
        async def set_behaviour(data: JSONBody[BehaviourIn]) -> None:
            server.behave(**{f: getattr(data, f) for f in data.__struct_fields__})

        @put("/_control/exempt", status_code=204)
        async def set_exempt(data: JSONBody[ExemptIn]) -> None:
            server.set_exempt(data.cprs)

        @get("/_control/messages")
        async def messages() -> list[ReceivedOut]:
            return [
                ReceivedOut(r.message_uuid, r.channel, r.receipt, r.posts, r.received_at)
                for r in server.received().values()
            ]

        @delete("/_control/messages", status_code=204)
        async def clear() -> None:
            server.reset()

        return Litestar(
            route_handlers=[
                digital_post_message,
                eboks_message,
                lookup,
                set_behaviour,
                set_exempt,
                messages,
                clear,
            ],
            openapi_config=None,
            logging_config=None,  # the process's one log format (service/logging_setup.py)
        )


def _problem(status: int, title: str, *, detail: str | None = None) -> Response[Any]:
    body: dict[str, Any] = {"title": title, "status": status}
    if detail:
        body["detail"] = detail
    return Response(body, status_code=status, media_type=_PROBLEM)


@dataclass
class RunningServer:
    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)


@dataclass(frozen=True, slots=True)
class ServerTls:
    """HTTPS for the test server, as a gateway speaks it: the server's certificate and key, and
    the CA whose client certificates it demands (tests of the gateway channel)."""

    cert: Path
    key: Path
    client_ca: Path


def serve_in_thread(
    server: DigitalPostTestServer,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    tls: ServerTls | None = None,
) -> RunningServer:
    """Serve on ``host:port`` (0: an ephemeral port) in a daemon thread; returns when listening.
    With ``tls``, HTTPS that refuses a client without a certificate from ``tls.client_ca``.

    Raises OSError when the address is taken.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    bound_host, bound_port = sock.getsockname()[:2]
    config = uvicorn.Config(
        # Its requests' log lines carry a request id, like the service's own.
        RequestId(server.app),
        # uvicorn's loggers are the process's, shared with `serve`'s server: no configuration
        # or levels of this server's own (access_log=False would silence both servers).
        log_config=None,
        log_level=None,
        lifespan="off",
        timeout_graceful_shutdown=1,
        ssl_certfile=tls.cert if tls else None,
        ssl_keyfile=tls.key if tls else None,
        ssl_ca_certs=str(tls.client_ca) if tls else None,
        ssl_cert_reqs=ssl.CERT_REQUIRED if tls else ssl.CERT_NONE,
    )
    uv = uvicorn.Server(config)
    thread = threading.Thread(
        target=uv.run, kwargs={"sockets": [sock]}, name="digital-post-test-server", daemon=True
    )
    thread.start()
    for _ in range(500):
        if uv.started:
            break
        thread.join(0.01)
    else:
        raise OSError("the Digital Post test server did not start")
    scheme = "https" if tls else "http"
    return RunningServer(f"{scheme}://{bound_host}:{bound_port}", uv, thread)
