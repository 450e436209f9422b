"""The running service's parts, built once by the app factory and handed to the handlers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
from litestar.connection import ASGIConnection

from issuers.document_keys import DocumentSigners
from issuers.issuing import Issuer
from registry.clock import Clock
from registry.keys import KeyStore
from service.identity import IdentityProvider
from service.settings import Settings


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    pool: asyncpg.Pool
    keys: KeyStore
    identity: IdentityProvider
    issuer: Issuer
    clock: Clock
    documents: DocumentSigners  # the schools' PDF and XML signers, built once per key


def services_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Services:
    services: Services = connection.app.state.services
    return services
