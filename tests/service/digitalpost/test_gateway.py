"""The gateway channel speaks HTTPS with its OCES client certificate: against the test server
behind mutual TLS (a throwaway CA stands in for OCES), through the adapters the worker gets."""

from __future__ import annotations

import dataclasses
import ssl
import uuid
from pathlib import Path

import httpx
import pytest

from issuers.delivery.digitalpost import GatewayDigitalPost
from issuers.delivery.errors import ChannelUnavailableError
from registry import db
from service.adapters import channels_for
from service.settings import Settings
from service.testserver import DigitalPostTestServer, ServerTls, serve_in_thread
from tests.helpers import ASE, BO
from tests.issuers.delivery.test_contracts import _message
from tests.service.certificates import issue, make_ca
from tests.service.digitalpost.support import memo_schema


async def test_the_gateway_channel_presents_its_client_certificate(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca = make_ca(tmp_path)
    gateway = issue(tmp_path, "gateway", ca=ca, server_ip="127.0.0.1")
    client = issue(tmp_path, "client", ca=ca)
    # The client verifies the gateway against the system's trust store; here, the test CA.
    monkeypatch.setenv("SSL_CERT_FILE", str(ca.cert))
    server = DigitalPostTestServer(schema=memo_schema(), exempt=[ASE])
    running = serve_in_thread(server, tls=ServerTls(gateway.cert, gateway.key, ca.cert))
    assert running.url.startswith("https://")
    settings = dataclasses.replace(
        settings,
        delivery=dataclasses.replace(
            settings.delivery,
            digital_post="gateway",
            digital_post_url=running.url,
            digital_post_client_cert=client.cert,
            digital_post_client_key=client.key,
            eboks="gateway",
            eboks_url=f"{running.url}/eboks",
            eboks_client_cert=client.cert,
            eboks_client_key=client.key,
        ),
    )
    pool = await db.create_pool(str(settings.database_url), schema=settings.database_schema, size=1)
    try:
        async with channels_for(settings, pool) as channels:
            assert await channels.digital_post.can_receive(BO) is True
            assert await channels.digital_post.can_receive(ASE) is False
            message_uuid = uuid.uuid4()
            receipt = await channels.eboks.send(_message(message_uuid), message_uuid)
        assert server.received()[message_uuid].channel == "eboks"
        assert server.received()[message_uuid].receipt == receipt

        # The same server turns away a client without the certificate: the one above sent it.
        no_certificate = ssl.create_default_context()
        async with httpx.AsyncClient(verify=no_certificate, timeout=5) as http:
            with pytest.raises(ChannelUnavailableError):
                await GatewayDigitalPost(http, running.url).can_receive(BO)
    finally:
        await pool.close()
        running.stop()
