"""The one settings object. Nothing else in the service reads the environment.

`Settings.from_env()` reads the ``AMU_*`` variables and ``DATABASE_URL`` (the service's role;
``AMU_MIGRATION_DATABASE_URL`` is the tables' owner, for migrations). Demo mode
(``AMU_DEMO=1``, or ``amu-bevis serve --demo``) fills in development defaults so a fresh clone
runs with no configuration: the embedded PostgreSQL, an http loopback public address, the local
Digital Post test server, the development login (anyone can log in as anyone) and the MeMo
schema beside the checkout. Outside demo mode those stay
unset, and `service.startup_checks.refusals` names every one a production start must set
(docs/operations.md).

Every value is checked as it is read (service/variables.py), and `from_env` raises one
`SettingsError` that names each bad variable (docs/configuration.md lists them all, with their
defaults)::

    try:
        settings = Settings.from_env()
    except SettingsError as e:
        print(*e.problems, sep="\n")   # e.g. "AMU_PORT must be a whole number from 1 to 65535"
"""

from __future__ import annotations

import importlib.util
import ipaddress
import os
import secrets
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from issuers.retention import PRINT_RETENTION_DAYS
from service.logging_setup import LogFormat
from service.oidc import NEMLOGIN_CPR_CLAIM, NEMLOGIN_CVR_CLAIM
from service.variables import VariableReader

# openid: an OpenID Connect broker (MitID through NemLog-in; MitID Erhverv for staff).
# development: anyone logs in as any demo person: only with INSECURE_DEVELOPMENT_LOGIN.
IdentityProviderName = Literal["development", "openid"]
# The one value of AMU_INSECURE_DEVELOPMENT_LOGIN that allows the development identity provider.
INSECURE_DEVELOPMENT_LOGIN = "anyone-can-be-anyone"
KeyStoreName = Literal["file", "memory"]
# test-server: plain HTTP to the local test server (demo only); memory: in process (demo and
# tests); gateway: the same protocol over HTTPS with an OCES client certificate (docs/delivery.md).
ChannelName = Literal["test-server", "memory", "gateway"]
DigitalPostName = ChannelName
EboksName = ChannelName
# Validation before sending is mandatory; the one way off carries its risk in its name.
MemoValidation = Literal["on", "off-unvalidated"]
PrintSpoolName = Literal["folder", "table"]
# The official MeMo schema beside the checkout (../shared), as the formats tests find it: demo
# mode's default. It is not shipped with the package (docs/operations.md says why).
DEFAULT_MEMO_SCHEMA = (
    Path(__file__).resolve().parent.parent.parent / "shared/memo-xsd/Version1.2/MeMo_core.xsd"
)


@dataclass(frozen=True, slots=True)
class PagesSettings:
    """The pages for people (docs/pages.md)."""

    verify_failures_per_client: int = 20  # wrong codes per client address per 15 minutes
    verify_failures_per_number: int = 10  # wrong codes per certificate number per 15 minutes
    # A browser session ends after this long without a request, and this long after its login.
    session_idle_minutes: int = 30
    session_absolute_hours: int = 8


@dataclass(frozen=True, slots=True)
class OpenIDSettings:
    """One client registration at an OpenID Connect provider (docs/operations.md, "Logging
    in: MitID through OpenID Connect"). The issuer must be https (http only on 127.0.0.1)."""

    issuer: str = ""
    client_id: str = ""
    client_secret: str = field(default="", repr=False)  # never shown
    cpr_claim: str = NEMLOGIN_CPR_CLAIM
    organisation_claim: str = NEMLOGIN_CVR_CLAIM
    scopes: tuple[str, ...] = ("openid",)
    http_timeout_seconds: float = 10.0


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    """Delivery's channels, retries and deadlines (docs/delivery.md)."""

    digital_post: DigitalPostName = "test-server"
    digital_post_url: str = "http://127.0.0.1:8025"
    # PEM files of the OCES client certificate and its key: required for a gateway channel.
    digital_post_client_cert: Path | None = None
    digital_post_client_key: Path | None = None
    eboks: EboksName = "test-server"
    eboks_url: str = "http://127.0.0.1:8025/eboks"
    eboks_client_cert: Path | None = None
    eboks_client_key: Path | None = None
    print_spool: PrintSpoolName = "folder"
    print_spool_dir: Path | None = None  # None: data_dir/print-spool
    memo_schema: Path | None = DEFAULT_MEMO_SCHEMA  # None: not set (refused at start)
    memo_validation: MemoValidation = "on"
    max_failures: int = 8  # failures in a row before a job is dead-lettered
    backoff_base_seconds: float = 30.0
    backoff_cap_seconds: float = 3600.0
    lease_seconds: float = 120.0  # a job whose worker died is taken again after this
    http_timeout_seconds: float = 10.0
    poll_seconds: float = 1.0
    recheck_seconds: float = 86400.0  # digital after paper: how often to look again
    concurrency: int = 4  # jobs in hand per worker process
    warn_working_days: int = 3  # overdue list: deadlines this close are at risk
    print_retention_days: int = PRINT_RETENTION_DAYS  # a print job's PDF and name (retention)
    # `amu-bevis serve` also runs a worker and, in demo mode, the local test server at
    # digital_post_url (its receipts would mark real jobs delivered: refused outside demo mode).
    serve_worker: bool = True
    serve_test_server: bool = True


@dataclass(frozen=True, slots=True)
class WatchSettings:
    """Health, metrics and logs (docs/operations.md, "Watching it")."""

    # /health/ready fails when no delivery worker was seen for this long; 0: not checked.
    health_worker_seconds: float = 120.0
    # Prometheus metrics on a listener of their own, never on the public app; port 0: none.
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 9464
    log_format: LogFormat = "json"  # one JSON object a line; "console" for people (demo)


@dataclass(frozen=True, slots=True)
class Settings:
    """Configuration of one service process. The field defaults are the demo's (tests build
    Settings directly); `from_env` leaves the unsafe ones unset outside demo mode."""

    # Demo mode: seed the demo and allow the development defaults (module docstring).
    demo: bool = False
    # The service's role: reads and writes rows, never changes the schema (grants.sql). None
    # means: start the embedded PostgreSQL (pgserver) under data_dir/pg (demo mode only).
    database_url: str | None = None
    # The role that owns the tables and runs the migrations (`migrate`, and `serve` and `worker`
    # before they start). None: the same as database_url (demo mode only).
    migration_database_url: str | None = None
    # A schema to keep all tables in (tests give each test a fresh one); None = public.
    database_schema: str | None = None
    database_pool_size: int = 10
    # A streaming read replica for reads that need not see the latest commit (registry/reads.py),
    # used while its replay lag is at most replica_max_lag_seconds; None: every read on the primary.
    database_replica_url: str | None = None
    replica_max_lag_seconds: float = 2.0
    # Processes `amu-bevis serve` runs (uvicorn's supervisor); more than one needs a shared
    # AMU_SESSION_SECRET and the file key store.
    workers: int = 1
    data_dir: Path = Path(".data")
    host: str = "127.0.0.1"
    port: int = 8000
    # Goes into QR codes and credential identifiers; from_env leaves it "" when not set.
    public_base_url: str = "http://127.0.0.1:8000"
    # The transparency log's origin line and checkpoint key name (C2SP checkpoint).
    log_origin: str = "amu-bevis.local/register"
    # Who participants log in with; None (from_env outside demo mode, unset): refused at start.
    identity_provider: IdentityProviderName | None = "development"
    openid: OpenIDSettings = field(default_factory=OpenIDSettings)
    # Who school staff log in with on the pages; None: nobody (the login page says so).
    staff_identity_provider: IdentityProviderName | None = "development"
    staff_openid: OpenIDSettings = field(default_factory=OpenIDSettings)
    # The development identity provider lets anyone log in as anyone: allowed only when this
    # is on (AMU_INSECURE_DEVELOPMENT_LOGIN=anyone-can-be-anyone; demo mode turns it on).
    insecure_development_login: bool = True
    key_store: KeyStoreName = "file"
    # Signs the pages' CSRF tokens and seals the development identity provider's tokens and
    # login codes. Random per process here and in demo mode (serve --workers hands its workers
    # one: hand_down_to_workers); from_env leaves it empty outside demo mode unless
    # AMU_SESSION_SECRET is set (refused at start: every process must share one).
    session_secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    debug: bool = False
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    pages: PagesSettings = field(default_factory=PagesSettings)
    watch: WatchSettings = field(default_factory=WatchSettings)
    # Peers whose X-Forwarded-For is believed (service/proxies.py); empty: none, the default.
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, demo: bool = False) -> Settings:
        """Settings from environment variables. Demo mode (``demo`` or ``AMU_DEMO=1``) fills in
        the development defaults; outside it they stay unset. Raises SettingsError naming every
        variable whose value is unusable (not a number, not one of its choices, ...)."""
        env = os.environ if environ is None else environ
        r = VariableReader(env)
        demo = demo or r.flag("AMU_DEMO", default=False)
        defaults = cls()
        secret = r.text("AMU_SESSION_SECRET", "")
        # Unset: random in demo mode; empty outside it, which the start refuses.
        unset_secret = defaults.session_secret if demo else b""
        host = r.host("AMU_HOST", defaults.host)
        port = r.integer("AMU_PORT", defaults.port, minimum=1, maximum=65535)
        database_url = r.database_url("DATABASE_URL")
        if demo and database_url is None and not _embedded_postgres_installed():
            r.problem(
                "DATABASE_URL is not set, and demo mode's embedded PostgreSQL is not installed: "
                "install the demo extra (pip install 'amu-bevis[demo]') or set DATABASE_URL"
            )
        pages = PagesSettings()
        settings = cls(
            demo=demo,
            database_url=database_url,
            migration_database_url=r.database_url("AMU_MIGRATION_DATABASE_URL"),
            database_schema=r.schema("AMU_DATABASE_SCHEMA"),
            database_pool_size=r.integer(
                "AMU_DATABASE_POOL_SIZE", defaults.database_pool_size, minimum=1
            ),
            database_replica_url=r.database_url("AMU_DATABASE_REPLICA_URL"),
            replica_max_lag_seconds=r.seconds(
                "AMU_REPLICA_MAX_LAG_SECONDS", defaults.replica_max_lag_seconds
            ),
            workers=r.integer("AMU_WORKERS", defaults.workers, minimum=1),
            data_dir=r.folder("AMU_DATA_DIR") or defaults.data_dir,
            host=host,
            port=port,
            public_base_url=r.url(
                "AMU_PUBLIC_BASE_URL", f"http://{host}:{port}" if demo else ""
            ).rstrip("/"),
            log_origin=r.log_origin("AMU_LOG_ORIGIN", defaults.log_origin),
            identity_provider=_provider(
                r, "AMU_IDENTITY_PROVIDER", "development" if demo else None
            ),
            openid=_openid_from_env(r, "AMU_OIDC_"),
            staff_identity_provider=_provider(
                r, "AMU_STAFF_IDENTITY_PROVIDER", "development" if demo else None
            ),
            staff_openid=_openid_from_env(r, "AMU_STAFF_OIDC_"),
            insecure_development_login=_insecure_development_login(r, demo=demo),
            key_store=r.choice("AMU_KEY_STORE", ("file", "memory")),
            session_secret=secret.encode() if secret else unset_secret,
            debug=r.flag("AMU_DEBUG", default=False),
            delivery=_delivery_from_env(r, demo=demo),
            pages=PagesSettings(
                verify_failures_per_client=r.integer(
                    "AMU_VERIFY_FAILURES_PER_CLIENT", pages.verify_failures_per_client, minimum=1
                ),
                verify_failures_per_number=r.integer(
                    "AMU_VERIFY_FAILURES_PER_NUMBER", pages.verify_failures_per_number, minimum=1
                ),
                session_idle_minutes=r.integer(
                    "AMU_SESSION_IDLE_MINUTES", pages.session_idle_minutes, minimum=1
                ),
                session_absolute_hours=r.integer(
                    "AMU_SESSION_ABSOLUTE_HOURS", pages.session_absolute_hours, minimum=1
                ),
            ),
            watch=_watch_from_env(r, demo=demo),
            trusted_proxies=r.networks("AMU_TRUSTED_PROXIES"),
        )
        r.raise_problems()
        return settings


def hand_down_to_workers(
    settings: Settings, environ: MutableMapping[str, str] | None = None
) -> None:
    """Put into ``environ`` (by default this process's environment, which the workers inherit)
    what `amu-bevis serve`'s worker processes must share with the parent, which resolved it:
    the database URLs (the embedded server's, in demo mode), demo mode, and
    in demo mode a random session secret for them all (every process must sign and read the
    same CSRF tokens, participants' tokens and login codes). Each worker then builds its
    settings with `Settings.from_env` (``service.app.app_from_environment``)."""
    environ = os.environ if environ is None else environ
    if settings.database_url:
        environ["DATABASE_URL"] = settings.database_url
    if settings.migration_database_url:
        environ["AMU_MIGRATION_DATABASE_URL"] = settings.migration_database_url
    environ["AMU_DEMO"] = "1" if settings.demo else "0"
    if settings.demo and not environ.get("AMU_SESSION_SECRET"):
        # Outside demo mode the start refused an unset secret, and the workers inherit it.
        environ["AMU_SESSION_SECRET"] = secrets.token_urlsafe(32)


def _delivery_from_env(r: VariableReader, *, demo: bool) -> DeliverySettings:
    d = DeliverySettings()
    schema = r.file("AMU_MEMO_SCHEMA") or (DEFAULT_MEMO_SCHEMA if demo else None)
    channels: tuple[ChannelName, ...] = ("test-server", "memory", "gateway")
    backoff_base = r.seconds("AMU_DELIVERY_BACKOFF_BASE", d.backoff_base_seconds)
    backoff_cap = r.seconds("AMU_DELIVERY_BACKOFF_CAP", d.backoff_cap_seconds)
    if backoff_cap < backoff_base:
        r.problem("AMU_DELIVERY_BACKOFF_CAP must be at least AMU_DELIVERY_BACKOFF_BASE")
    return DeliverySettings(
        digital_post=r.choice("AMU_DIGITAL_POST", channels),
        digital_post_url=r.url("AMU_DIGITAL_POST_URL", d.digital_post_url),
        digital_post_client_cert=r.file("AMU_DIGITAL_POST_CLIENT_CERT"),
        digital_post_client_key=r.file("AMU_DIGITAL_POST_CLIENT_KEY"),
        eboks=r.choice("AMU_EBOKS", channels),
        eboks_url=r.url("AMU_EBOKS_URL", d.eboks_url),
        eboks_client_cert=r.file("AMU_EBOKS_CLIENT_CERT"),
        eboks_client_key=r.file("AMU_EBOKS_CLIENT_KEY"),
        print_spool=r.choice("AMU_PRINT_SPOOL", ("folder", "table")),
        print_spool_dir=r.folder("AMU_PRINT_SPOOL_DIR"),
        memo_schema=schema,
        memo_validation=r.choice("AMU_MEMO_VALIDATION", ("on", "off-unvalidated")),
        max_failures=r.integer("AMU_DELIVERY_MAX_FAILURES", d.max_failures, minimum=1),
        backoff_base_seconds=backoff_base,
        backoff_cap_seconds=backoff_cap,
        lease_seconds=r.seconds("AMU_DELIVERY_LEASE", d.lease_seconds),
        http_timeout_seconds=r.seconds("AMU_DELIVERY_HTTP_TIMEOUT", d.http_timeout_seconds),
        poll_seconds=r.seconds("AMU_DELIVERY_POLL", d.poll_seconds),
        recheck_seconds=r.seconds("AMU_DELIVERY_RECHECK", d.recheck_seconds),
        concurrency=r.integer("AMU_DELIVERY_CONCURRENCY", d.concurrency, minimum=1),
        warn_working_days=r.integer("AMU_DELIVERY_WARN_DAYS", d.warn_working_days, minimum=0),
        print_retention_days=r.integer(
            "AMU_PRINT_RETENTION_DAYS", d.print_retention_days, minimum=1
        ),
        serve_worker=r.flag("AMU_SERVE_WORKER", default=d.serve_worker),
        serve_test_server=r.flag("AMU_SERVE_TEST_SERVER", default=demo),
    )


def _watch_from_env(r: VariableReader, *, demo: bool) -> WatchSettings:
    d = WatchSettings()
    formats: tuple[LogFormat, ...] = ("console", "json") if demo else ("json", "console")
    return WatchSettings(
        health_worker_seconds=r.integer(
            "AMU_HEALTH_WORKER_SECONDS", int(d.health_worker_seconds), minimum=0
        ),
        metrics_host=r.host("AMU_METRICS_HOST", d.metrics_host),
        metrics_port=r.integer("AMU_METRICS_PORT", d.metrics_port, minimum=0, maximum=65535),
        log_format=r.choice("AMU_LOG_FORMAT", formats),
    )


def _provider(
    r: VariableReader, name: str, default: IdentityProviderName | None
) -> IdentityProviderName | None:
    if not r.text(name, ""):
        return default
    choices: tuple[IdentityProviderName, ...] = ("openid", "development")
    return r.choice(name, choices)


def _openid_from_env(r: VariableReader, prefix: str) -> OpenIDSettings:
    """The ``{prefix}*`` variables (prefix ``AMU_OIDC_``: AMU_OIDC_ISSUER, ...)."""
    d = OpenIDSettings()
    scopes = tuple(r.text(f"{prefix}SCOPES", "").split()) or d.scopes
    if "openid" not in scopes:
        r.problem(f"{prefix}SCOPES must include openid (the scopes are space-separated)")
    return OpenIDSettings(
        issuer=r.url(f"{prefix}ISSUER", ""),
        client_id=r.text(f"{prefix}CLIENT_ID", ""),
        client_secret=r.text(f"{prefix}CLIENT_SECRET", ""),
        cpr_claim=r.text(f"{prefix}CPR_CLAIM", "") or d.cpr_claim,
        organisation_claim=r.text(f"{prefix}ORGANISATION_CLAIM", "") or d.organisation_claim,
        scopes=scopes,
        http_timeout_seconds=r.seconds(f"{prefix}HTTP_TIMEOUT", d.http_timeout_seconds),
    )


def _insecure_development_login(r: VariableReader, *, demo: bool) -> bool:
    value = r.text("AMU_INSECURE_DEVELOPMENT_LOGIN", "")
    if not value:
        return demo
    if value != INSECURE_DEVELOPMENT_LOGIN:
        r.problem(f"AMU_INSECURE_DEVELOPMENT_LOGIN must be {INSECURE_DEVELOPMENT_LOGIN} or unset")
        return False
    return True


def _embedded_postgres_installed() -> bool:
    """Whether pgserver (the demo extra) is there to run the embedded PostgreSQL."""
    return importlib.util.find_spec("pgserver") is not None
