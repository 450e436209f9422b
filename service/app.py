"""The one app factory: ``create_app(settings)`` wires every part of the service.

    app = create_app(Settings(database_url="postgresql://..."))

The database must be reachable at ``settings.database_url`` (the CLI starts the embedded one
when no URL is given); migrations are applied at start-up.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from issuers.delivery.outbox import PostgresOutbox
from issuers.issuing import Issuer
from registry import db
from registry.clock import Clock, system_clock
from registry.keys import KeyStore
from registry.ratelimit import VerifyLimits
from registry.transparency import log
from service import logging_setup, migrations, pages
from service.adapters import documents_for, key_store_for
from service.api import problems
from service.api.composite import CompositeCourseController
from service.api.corrections import CorrectionsController
from service.api.deliveries import DeliveryController, ParticipantDeliveryController
from service.api.forms import ParticipantFormsController, PublishedController, SchoolFormsController
from service.api.log import LogController
from service.api.participants import (
    DevelopmentLoginController,
    KeysController,
    ParticipantController,
    VerificationController,
)
from service.api.schools import SchoolController
from service.api.status import StatusListController
from service.demo import DEMO_PEOPLE
from service.identity import DevelopmentIdentityProvider, IdentityProvider
from service.services import Services
from service.settings import Settings


def identity_provider_for(settings: Settings, clock: Clock) -> IdentityProvider:
    # Only the development adapter exists so far; a MitID broker adapter drops in here.
    return DevelopmentIdentityProvider(settings.session_secret, clock)


def issuer_for(settings: Settings, pool: asyncpg.Pool, keys: KeyStore, clock: Clock) -> Issuer:
    """The issuing service, with its delivery jobs created in the issuing transaction."""
    return Issuer(
        pool,
        keys,
        clock,
        verify_base_url=f"{settings.public_base_url}/tjek",
        outbox=PostgresOutbox(max_failures=settings.delivery.max_failures),
    )


def _pool(state: State) -> asyncpg.Pool:
    pool: asyncpg.Pool = state.pool  # made by the lifespan
    return pool


def _value(value: object) -> Provide:
    """A dependency that is one object, built once by ``create_app``."""
    return Provide(lambda: value, use_cache=True, sync_to_thread=False)


def create_app(
    settings: Settings,
    *,
    keys: KeyStore | None = None,
    clock: Clock = system_clock,
) -> Litestar:
    """The service as an ASGI app. ``keys`` and ``clock`` may be given by tests and the CLI."""
    if settings.database_url is None:
        raise ValueError("create_app needs settings.database_url (the CLI resolves it)")
    dsn = settings.database_url
    key_store = keys if keys is not None else key_store_for(settings)
    identity = identity_provider_for(settings, clock)
    documents = documents_for(settings, key_store, clock)
    limits = VerifyLimits(
        per_client=settings.pages.verify_failures_per_client,
        per_number=settings.pages.verify_failures_per_number,
    )

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        pool = await db.create_pool(
            dsn, schema=settings.database_schema, size=settings.database_pool_size
        )
        try:
            async with pool.acquire() as conn:
                await migrations.apply(conn)
                await log.ensure_log_key(conn, key_store, name=settings.log_origin, now=clock())
            app.state.pool = pool
            app.state.services = Services(
                settings=settings,
                pool=pool,
                keys=key_store,
                identity=identity,
                issuer=issuer_for(settings, pool, key_store, clock),
                clock=clock,
                documents=documents,
            )
            yield
        finally:
            await pool.close()

    handlers: list[type] = [
        SchoolController,
        CompositeCourseController,
        ParticipantController,
        VerificationController,
        KeysController,
        LogController,
        CorrectionsController,
        StatusListController,
        DeliveryController,
        ParticipantDeliveryController,
        ParticipantFormsController,
        SchoolFormsController,
        PublishedController,
    ]
    if isinstance(identity, DevelopmentIdentityProvider):
        handlers.append(DevelopmentLoginController)
    page_routers = pages.routers(
        session_secret=settings.session_secret,
        public_base_url=settings.public_base_url,
        clock=clock,
        development_login=isinstance(identity, DevelopmentIdentityProvider),
        development_people=DEMO_PEOPLE,
    )

    logging_setup.install_filter()
    return Litestar(
        route_handlers=[*handlers, *page_routers],
        template_config=pages.template_config(),
        lifespan=[lifespan],
        dependencies={
            "pool": Provide(_pool, sync_to_thread=False),
            "clock": _value(clock),
            "identity": _value(identity),
            "documents": _value(documents),
            "verify_limits": _value(limits),
        },
        exception_handlers=problems.exception_handlers,
        openapi_config=OpenAPIConfig(
            title="AMU-bevis",
            version="0.1.0",
            path="/schema",
            components=Components(
                security_schemes={
                    "schoolCredential": SecurityScheme(
                        type="http", scheme="bearer", description="A school's API credential"
                    ),
                    "participantToken": SecurityScheme(
                        type="http", scheme="bearer", description="A participant's login token"
                    ),
                }
            ),
        ),
        debug=settings.debug,
    )
