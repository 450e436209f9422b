"""The one app factory: ``create_app(settings)`` wires every part of the service.

    app = create_app(Settings(database_url="postgresql://..."))

``app_from_environment`` is the same from the environment, for uvicorn's worker processes
(``amu-bevis serve --workers N`` names it as ``service.app:app_from_environment``).

The database must be reachable at ``settings.database_url`` (the CLI starts the embedded one
when no URL is given), migrated by the CLI first: the app only checks that it is.

Collaborators are built here once and handed to the handlers by Litestar's dependency
injection, under the names the handlers declare (``pool``, ``issuer``, ``documents``, ...).
What needs the database pool is built when the app starts and kept in ``app.state`` as one
``Running``; each of its fields is the dependency of the same name.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException, NotFoundException
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.stores.base import Store
from litestar.stores.registry import StoreRegistry

from issuers.certifying import Certifier
from issuers.composite import CompositeCourses
from issuers.corrections import Corrections
from issuers.delivery.desk import DeliveryDesk
from issuers.delivery.outbox import PostgresOutbox
from issuers.issuing import Issuer
from registry import db
from registry.clock import Clock, system_clock
from registry.keys import KeyStore
from registry.ratelimit import GuardedVerifier, VerifyLimits
from registry.reads import Reads
from registry.transparency import copies, log
from registry.transparency.copies import FileCheckpointCopies
from service import api, logging_setup, metrics, migrations, openapi_ui, pages
from service.adapters import (
    documents_for,
    identity_http_client_for,
    identity_provider_for,
    key_store_for,
    print_spool_for,
    staff_identity_provider_for,
)
from service.api import inputs, problems
from service.api.guards import ParticipantGuard, SchoolGuard
from service.api.head import HeadAsGet
from service.demo import DEMO_PEOPLE, DEMO_STAFF_IDENTITIES
from service.identity import DevelopmentIdentityProvider, DevelopmentStaffIdentityProvider
from service.pages.sessions import SESSION_STORE
from service.proxies import trusted_proxy_headers
from service.readiness import ServiceReadiness
from service.session_store import PostgresSessionStore
from service.settings import Settings


def certifier_for(settings: Settings, keys: KeyStore) -> Certifier:
    """Signs and registers certificates, with their delivery jobs created in the same
    transaction (issuing and corrections share it)."""
    return Certifier(
        keys,
        verify_base_url=f"{settings.public_base_url}/tjek",
        outbox=PostgresOutbox(max_failures=settings.delivery.max_failures),
    )


def issuer_for(settings: Settings, pool: asyncpg.Pool, keys: KeyStore, clock: Clock) -> Issuer:
    """The issuing service, with its delivery jobs created in the issuing transaction."""
    return Issuer(pool, certifier_for(settings, keys), clock)


@dataclass(frozen=True, slots=True)
class Running:
    """What exists only while the app runs: the database pool and what is built on it."""

    pool: asyncpg.Pool
    reads: Reads  # the read replica while it keeps up, else the pool
    issuer: Issuer
    corrections: Corrections
    composite_courses: CompositeCourses
    delivery_desk: DeliveryDesk
    verifier: GuardedVerifier
    readiness: ServiceReadiness

    @classmethod
    def build(cls, settings: Settings, reads: Reads, keys: KeyStore, clock: Clock) -> Running:
        pool = reads.primary
        d = settings.delivery
        worker_seconds = settings.watch.health_worker_seconds
        certifier = certifier_for(settings, keys)
        return cls(
            pool=pool,
            reads=reads,
            issuer=Issuer(pool, certifier, clock),
            corrections=Corrections(pool, certifier, clock),
            composite_courses=CompositeCourses(pool, clock),
            delivery_desk=DeliveryDesk(
                pool,
                clock,
                print_spool_for(settings, pool),
                max_failures=d.max_failures,
                warn_working_days=d.warn_working_days,
            ),
            verifier=GuardedVerifier(
                reads,
                clock,
                VerifyLimits(
                    per_client=settings.pages.verify_failures_per_client,
                    per_number=settings.pages.verify_failures_per_number,
                ),
                observer=metrics.VERIFY_OBSERVER,
            ),
            readiness=ServiceReadiness(
                pool,
                keys,
                clock,
                worker_within=dt.timedelta(seconds=worker_seconds) if worker_seconds else None,
            ),
        )


def _running(state: State) -> Running:
    running: Running = state.running
    return running


def _pool_of(state: State) -> asyncpg.Pool:
    return _running(state).pool


def _from_running(name: str) -> Provide:
    """The dependency ``name``: the field of that name of the app's ``Running``."""

    def provide(state: State) -> object:
        return getattr(_running(state), name)

    return Provide(provide, sync_to_thread=False)


def _value(value: object) -> Provide:
    """A dependency that is the same object on every request."""
    return Provide(lambda: value, use_cache=True, sync_to_thread=False)


def _no_store(name: str) -> Store:
    """Only the stores ``create_app`` registers exist: no silent in-memory one per process."""
    raise LookupError(f"no store {name!r} is registered")


def csrf_secret_for(settings: Settings) -> str:
    """The key of the pages' CSRF tokens, derived from the session secret: the same in every
    process that shares ``AMU_SESSION_SECRET``."""
    return hmac.new(settings.session_secret, b"amu-bevis pages csrf v1", hashlib.sha256).hexdigest()


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
    identity_http = identity_http_client_for(settings)  # closed when the app stops
    identity = identity_provider_for(settings, clock, identity_http)
    development_login = isinstance(identity, DevelopmentIdentityProvider)
    staff_identity = staff_identity_provider_for(settings, clock, identity_http)
    documents = documents_for(settings, key_store, clock)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        pool = await db.create_pool(
            dsn, schema=settings.database_schema, size=settings.database_pool_size
        )
        replica = None
        try:
            if settings.database_replica_url:
                replica = await db.create_pool(
                    settings.database_replica_url,
                    schema=settings.database_schema,
                    size=settings.database_pool_size,
                )
            reads = Reads(pool, replica, max_lag_seconds=settings.replica_max_lag_seconds)
            async with pool.acquire() as conn:
                # The service's role cannot migrate: `amu-bevis migrate` (or serve) did.
                await migrations.require_current(conn)
                await log.ensure_log_key(conn, key_store, name=settings.log_origin, now=clock())
            app.state.running = Running.build(settings, reads, key_store, clock)
            # The pages' sessions live in the database: every process sees the same ones.
            app.stores.register(
                SESSION_STORE, PostgresSessionStore(pool, clock), allow_override=True
            )
            yield
        finally:
            if replica is not None:
                await replica.close()
            await pool.close()
            await identity_http.aclose()

    dependencies = {
        # Each field of Running (pool, issuer, ...) under its own name.
        **{f.name: _from_running(f.name) for f in dataclasses.fields(Running)},
        "clock": _value(clock),
        "identity": _value(identity),
        "staff_identity": _value(staff_identity),
        "keys": _value(key_store),
        # Every checkpoint the service signs, also kept outside the database for the audit.
        "checkpoint_copies": _value(FileCheckpointCopies(settings.data_dir / copies.FILE_NAME)),
        "documents": _value(documents),
        "public_base_url": _value(settings.public_base_url),
    }
    api_routers = api.routers(
        school_guard=SchoolGuard(_pool_of, clock),
        participant_guard=ParticipantGuard(identity),
        development_login=development_login,
    )
    page_routers = pages.routers(
        csrf_secret=csrf_secret_for(settings),
        public_base_url=settings.public_base_url,
        clock=clock,
        session_idle=dt.timedelta(minutes=settings.pages.session_idle_minutes),
        session_absolute=dt.timedelta(hours=settings.pages.session_absolute_hours),
        development_login=development_login,
        development_staff_login=isinstance(staff_identity, DevelopmentStaffIdentityProvider),
        development_people=DEMO_PEOPLE,
        development_staff=DEMO_STAFF_IDENTITIES,
    )

    app = Litestar(
        route_handlers=[*api_routers, *page_routers],
        dependencies=dependencies,
        template_config=pages.template_config(),
        stores=StoreRegistry(default_factory=_no_store),
        lifespan=[lifespan],
        exception_handlers={
            **problems.exception_handlers,
            # A browser's unknown page path: the Danish 404 page, not a problem document.
            NotFoundException: pages.not_found_for_browsers(
                problems.exception_handlers[HTTPException],
                public_base_url=settings.public_base_url,
            ),
        },
        # X-Forwarded-For only from configured proxies (service/proxies.py); none by default.
        middleware=[trusted_proxy_headers(settings.trusted_proxies)]
        if settings.trusted_proxies
        else [],
        before_request=inputs.refuse_unacceptable,
        openapi_config=OpenAPIConfig(
            title="AMU-bevis",
            version="0.1.0",
            path="/schema",
            # The UI's script is served by the service itself (service/static/openapi/), so
            # the page fetches nothing from anywhere else.
            render_plugins=openapi_ui.render_plugins(),
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
        # Litestar configures no logging of its own: its logger, like every other, writes
        # through the root's one handler (service/logging_setup.py).
        logging_config=None,
    )
    # Outermost the request id, so that every line logged for a request carries it; the
    # metrics see the route template Litestar matched.
    app.asgi_handler = logging_setup.RequestId(HeadAsGet(metrics.RequestMetrics(app.asgi_handler)))
    logging_setup.install_filter()
    return app


def app_from_environment() -> Litestar:
    """The app of one of ``amu-bevis serve --workers N``'s processes: its settings from the
    environment the parent handed down (``service.settings.hand_down_to_workers``), which has
    resolved, migrated and seeded the database already."""
    settings = Settings.from_env()
    # as the parent's `amu-bevis` did
    logging_setup.configure(debug=settings.debug, log_format=settings.watch.log_format)
    return create_app(settings)
