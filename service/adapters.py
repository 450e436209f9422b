"""The settings choose the adapters: the one place each port's adapter is picked (key store,
identity provider, documents, delivery channels, print spool) and delivery's policy is built::

    keys = key_store_for(settings)
    documents = documents_for(settings, keys, clock)
    async with http_client_for(settings) as http:
        worker = Worker(pool, channels_for(settings, pool, http), documents,
                        policy_for(settings), clock, name="...")
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import asyncpg
import httpx

from issuers.delivery.backoff import Backoff
from issuers.delivery.digitalpost import HttpDigitalPost, MemoryDigitalPost
from issuers.delivery.eboks import HttpEboks, MemoryEboks
from issuers.delivery.ports import DigitalPost, Eboks, PrintSpool
from issuers.delivery.spool import FolderPrintSpool, TablePrintSpool
from issuers.delivery.worker import Channels, WorkerPolicy
from issuers.document_keys import DocumentSigners
from issuers.documents import CertificateDocuments
from registry.clock import Clock
from registry.keys import FileKeyStore, KeyStore, MemoryKeyStore
from service.identity import DevelopmentIdentityProvider, IdentityProvider
from service.settings import Settings

log = logging.getLogger(__name__)


def identity_provider_for(settings: Settings, clock: Clock) -> IdentityProvider:
    """Who participants are. Only the development adapter exists so far; a MitID broker adapter
    is chosen here when it does."""
    return DevelopmentIdentityProvider(settings.session_secret, clock)


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


def channels_for(settings: Settings, pool: asyncpg.Pool, http: httpx.AsyncClient) -> Channels:
    d = settings.delivery
    digital_post: DigitalPost = (
        MemoryDigitalPost()
        if d.digital_post == "memory"
        else HttpDigitalPost(http, d.digital_post_url)
    )
    eboks: Eboks = MemoryEboks() if d.eboks == "memory" else HttpEboks(http, d.eboks_url)
    return Channels(digital_post=digital_post, eboks=eboks, spool=print_spool_for(settings, pool))


def memo_schema_for(settings: Settings) -> Path | None:
    """The MeMo schema every message is checked against, or None (a warning says so)."""
    d = settings.delivery
    schema = d.schema_to_validate()
    if schema is None and d.memo_schema is not None:
        log.warning(
            "no MeMo schema at %s; messages are sent without validating first", d.memo_schema
        )
    return schema


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
    )


def http_client_for(settings: Settings) -> httpx.AsyncClient:
    """The HTTP client the channel adapters share; its timeout bounds every call."""
    return httpx.AsyncClient(timeout=settings.delivery.http_timeout_seconds)
