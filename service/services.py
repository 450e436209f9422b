"""The running service's parts, built once by the app factory and handed to the handlers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
from litestar.connection import ASGIConnection

from issuers.documents import CertificateDocuments
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
    documents: CertificateDocuments  # every document of a certificate, signed now


def services_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Services:
    services: Services = connection.app.state.services
    return services
