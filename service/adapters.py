"""The settings choose the adapters: the one place each port's adapter is picked (key store,
identity provider, documents, delivery channels, print spool) and delivery's policy is built::

    keys = key_store_for(settings)
    documents = documents_for(settings, keys, clock)
    async with channels_for(settings, pool) as channels:   # closes the channels' HTTP clients
        worker = Worker(pool, channels, documents, policy_for(settings), clock, name="...")
"""

from __future__ import annotations

import datetime as dt
import ssl
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import asyncpg
import httpx

from issuers.delivery.backoff import Backoff
from issuers.delivery.digitalpost import GatewayDigitalPost, MemoryDigitalPost
from issuers.delivery.eboks import GatewayEboks, MemoryEboks
from issuers.delivery.ports import DigitalPost, Eboks, PrintSpool
from issuers.delivery.spool import FolderPrintSpool, TablePrintSpool
from issuers.delivery.worker import Channels, WorkerPolicy
from issuers.document_keys import DocumentSigners
from issuers.documents import CertificateDocuments
from registry.clock import Clock
from registry.keys import FileKeyStore, KeyStore, MemoryKeyStore
from service.identity import (
    DevelopmentIdentityProvider,
    DevelopmentStaffIdentityProvider,
    IdentityProvider,
)
from service.oidc import OpenIDConnectProvider
from service.settings import (
    ChannelName,
    IdentityProviderName,
    OpenIDSettings,
    Settings,
)


def identity_provider_for(
    settings: Settings, clock: Clock, http: httpx.AsyncClient
) -> IdentityProvider:
    """Who participants are: MitID through an OpenID Connect broker, or the development
    provider. ``http`` is the provider's HTTP client (closed by the caller). Raises ValueError
    for a choice the start checks refuse (none, or development without its loud setting)."""
    return _identity_provider(
        "AMU_IDENTITY_PROVIDER", settings.identity_provider, settings.openid, settings, clock, http
    )


def staff_identity_provider_for(
    settings: Settings, clock: Clock, http: httpx.AsyncClient
) -> IdentityProvider | None:
    """Who school staff are (MitID Erhverv through a broker, or the development staff
    provider), or None: no staff login on the pages. Raises ValueError as
    ``identity_provider_for`` does."""
    if settings.staff_identity_provider is None:
        return None
    if settings.staff_identity_provider == "development" and settings.insecure_development_login:
        return DevelopmentStaffIdentityProvider(settings.session_secret, clock)
    return _identity_provider(
        "AMU_STAFF_IDENTITY_PROVIDER",
        settings.staff_identity_provider,
        settings.staff_openid,
        settings,
        clock,
        http,
    )


def identity_http_client_for(settings: Settings) -> httpx.AsyncClient:
    """The identity providers' HTTP client: the system's trust store, a bounded wait."""
    timeout = max(settings.openid.http_timeout_seconds, settings.staff_openid.http_timeout_seconds)
    return httpx.AsyncClient(timeout=timeout, follow_redirects=False)


def _identity_provider(  # noqa: PLR0917 - one provider's choice and settings
    variable: str,
    chosen: IdentityProviderName | None,
    openid: OpenIDSettings,
    settings: Settings,
    clock: Clock,
    http: httpx.AsyncClient,
) -> IdentityProvider:
    if chosen == "openid":
        return OpenIDConnectProvider(
            issuer=openid.issuer,
            client_id=openid.client_id,
            client_secret=openid.client_secret,
            http=http,
            clock=clock,
            cpr_claim=openid.cpr_claim,
            organisation_claim=openid.organisation_claim,
            scopes=openid.scopes,
        )
    if chosen == "development" and settings.insecure_development_login:
        return DevelopmentIdentityProvider(settings.session_secret, clock)
    raise ValueError(f"{variable} chooses no identity provider this start may use")


def key_store_for(settings: Settings) -> KeyStore:
    """The key store the settings choose: PEM files under the data folder, or memory."""
    if settings.key_store == "memory":
        return MemoryKeyStore()
    return FileKeyStore(settings.data_dir / "keys")


def print_spool_for(settings: Settings, pool: asyncpg.Pool) -> PrintSpool:
    d = settings.delivery
    if d.print_spool == "table":
        return TablePrintSpool(pool)
    return FolderPrintSpool(d.print_spool_dir or settings.data_dir / "print-spool")


@asynccontextmanager
async def channels_for(settings: Settings, pool: asyncpg.Pool) -> AsyncIterator[Channels]:
    """The delivery channels the settings choose, each gateway channel with its own HTTP client
    (a client certificate is per channel); the clients are closed on leaving."""
    d = settings.delivery
    async with AsyncExitStack() as stack:

        async def client(
            channel: ChannelName, cert: Path | None, key: Path | None
        ) -> httpx.AsyncClient:
            made = http_client_for(settings, channel, cert, key)
            return await stack.enter_async_context(made)

        digital_post: DigitalPost = (
            MemoryDigitalPost()
            if d.digital_post == "memory"
            else GatewayDigitalPost(
                await client(d.digital_post, d.digital_post_client_cert, d.digital_post_client_key),
                d.digital_post_url,
            )
        )
        eboks: Eboks = (
            MemoryEboks()
            if d.eboks == "memory"
            else GatewayEboks(
                await client(d.eboks, d.eboks_client_cert, d.eboks_client_key), d.eboks_url
            )
        )
        spool = print_spool_for(settings, pool)
        yield Channels(digital_post=digital_post, eboks=eboks, spool=spool)


def memo_schema_for(settings: Settings) -> Path | None:
    """The MeMo schema every message is checked against; None only when validation is turned
    off by name (``AMU_MEMO_VALIDATION=off-unvalidated``, warned about at every start).
    Raises ValueError when validation is on and no schema is set (the start checks refuse
    that first)."""
    d = settings.delivery
    if d.memo_validation == "off-unvalidated":
        return None
    if d.memo_schema is None:
        raise ValueError("AMU_MEMO_SCHEMA is not set")
    return d.memo_schema


def documents_for(settings: Settings, keys: KeyStore, clock: Clock) -> CertificateDocuments:
    """Every document of a certificate, signed with the schools' keys in ``keys``."""
    return CertificateDocuments(
        keys,
        DocumentSigners(keys),  # one PDF and XML signer per school key, kept
        clock,
        public_base_url=settings.public_base_url,
        memo_schema=memo_schema_for(settings),
    )


def policy_for(settings: Settings) -> WorkerPolicy:
    d = settings.delivery
    return WorkerPolicy(
        lease=dt.timedelta(seconds=d.lease_seconds),
        backoff=Backoff(
            base=dt.timedelta(seconds=d.backoff_base_seconds),
            cap=dt.timedelta(seconds=d.backoff_cap_seconds),
        ),
        recheck=dt.timedelta(seconds=d.recheck_seconds),
        poll=dt.timedelta(seconds=d.poll_seconds),
        max_failures=d.max_failures,
    )


def http_client_for(
    settings: Settings, channel: ChannelName, cert: Path | None, key: Path | None
) -> httpx.AsyncClient:
    """The HTTP client of one channel; its timeout bounds every call. A gateway channel speaks
    HTTPS with the OCES client certificate ``cert`` and its key ``key``, the server verified
    against the system's trust store; the demo's test-server channel speaks plain HTTP."""
    timeout = settings.delivery.http_timeout_seconds
    if channel != "gateway":
        return httpx.AsyncClient(timeout=timeout)
    if cert is None or key is None:
        raise ValueError("a gateway channel needs its client certificate and key")
    tls = ssl.create_default_context()  # verifies the gateway's certificate and host name
    tls.load_cert_chain(certfile=cert, keyfile=key)
    return httpx.AsyncClient(timeout=timeout, verify=tls)
