"""The one settings object. Nothing else in the service reads the environment.

`Settings.from_env()` reads the ``AMU_*`` variables and ``DATABASE_URL`` (the service's role;
``AMU_MIGRATION_DATABASE_URL`` is the tables' owner, for migrations). Demo mode
(``AMU_DEMO=1``, or ``amu-bevis serve --demo``) fills in development defaults so a fresh clone
runs with no configuration: the embedded PostgreSQL, an http loopback public address, the local
Digital Post test server, the development login (anyone can log in as anyone) and the MeMo
schema beside the checkout. Outside demo mode those stay
unset, and `service.startup_checks.refusals` names every one a production start must set
(docs/operations.md).
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar

from issuers.retention import PRINT_RETENTION_DAYS
from service.oidc import NEMLOGIN_CPR_CLAIM, NEMLOGIN_CVR_CLAIM

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
LogFormat = Literal["json", "console"]
_T = TypeVar("_T", bound=str)
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
    # Signs the pages' CSRF tokens and the development identity provider's tokens. Random per
    # process here and in demo mode; from_env leaves it empty outside demo mode unless
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
        the development defaults; outside it they stay unset. Raises ValueError for a value
        that is not one of a setting's choices."""
        env = os.environ if environ is None else environ
        demo = demo or env.get("AMU_DEMO", "") == "1"
        defaults = cls()
        secret = env.get("AMU_SESSION_SECRET")
        # Unset: random in demo mode; empty outside it, which the start refuses.
        unset_secret = defaults.session_secret if demo else b""
        host = env.get("AMU_HOST", defaults.host)
        port = int(env.get("AMU_PORT", defaults.port))
        return cls(
            demo=demo,
            database_url=env.get("DATABASE_URL") or None,
            migration_database_url=env.get("AMU_MIGRATION_DATABASE_URL") or None,
            database_schema=env.get("AMU_DATABASE_SCHEMA") or None,
            database_pool_size=int(env.get("AMU_DATABASE_POOL_SIZE", defaults.database_pool_size)),
            data_dir=Path(env.get("AMU_DATA_DIR", str(defaults.data_dir))),
            host=host,
            port=port,
            public_base_url=env.get("AMU_PUBLIC_BASE_URL", f"http://{host}:{port}" if demo else ""),
            log_origin=env.get("AMU_LOG_ORIGIN", defaults.log_origin),
            identity_provider=_provider(
                env, "AMU_IDENTITY_PROVIDER", "development" if demo else None
            ),
            openid=_openid_from_env(env, "AMU_OIDC"),
            staff_identity_provider=_provider(
                env, "AMU_STAFF_IDENTITY_PROVIDER", "development" if demo else None
            ),
            staff_openid=_openid_from_env(env, "AMU_STAFF_OIDC"),
            insecure_development_login=_insecure_development_login(env, demo=demo),
            key_store=_choice(env, "AMU_KEY_STORE", ("file", "memory")),
            session_secret=secret.encode() if secret else unset_secret,
            debug=env.get("AMU_DEBUG", "") == "1",
            delivery=_delivery_from_env(env, demo=demo),
            pages=PagesSettings(
                verify_failures_per_client=int(env.get("AMU_VERIFY_FAILURES_PER_CLIENT", 20)),
                verify_failures_per_number=int(env.get("AMU_VERIFY_FAILURES_PER_NUMBER", 10)),
                session_idle_minutes=int(env.get("AMU_SESSION_IDLE_MINUTES", 30)),
                session_absolute_hours=int(env.get("AMU_SESSION_ABSOLUTE_HOURS", 8)),
            ),
            watch=_watch_from_env(env, demo=demo),
            trusted_proxies=tuple(
                ipaddress.ip_network(p.strip(), strict=False)
                for p in env.get("AMU_TRUSTED_PROXIES", "").split(",")
                if p.strip()
            ),
        )


def _delivery_from_env(env: Mapping[str, str], *, demo: bool) -> DeliverySettings:
    d = DeliverySettings()
    schema = env.get("AMU_MEMO_SCHEMA") or (str(DEFAULT_MEMO_SCHEMA) if demo else None)
    channels: tuple[ChannelName, ...] = ("test-server", "memory", "gateway")
    return DeliverySettings(
        digital_post=_choice(env, "AMU_DIGITAL_POST", channels),
        digital_post_url=env.get("AMU_DIGITAL_POST_URL", d.digital_post_url),
        digital_post_client_cert=_path(env, "AMU_DIGITAL_POST_CLIENT_CERT"),
        digital_post_client_key=_path(env, "AMU_DIGITAL_POST_CLIENT_KEY"),
        eboks=_choice(env, "AMU_EBOKS", channels),
        eboks_url=env.get("AMU_EBOKS_URL", d.eboks_url),
        eboks_client_cert=_path(env, "AMU_EBOKS_CLIENT_CERT"),
        eboks_client_key=_path(env, "AMU_EBOKS_CLIENT_KEY"),
        print_spool=_choice(env, "AMU_PRINT_SPOOL", ("folder", "table")),
        print_spool_dir=_path(env, "AMU_PRINT_SPOOL_DIR"),
        memo_schema=Path(schema) if schema else None,
        memo_validation=_choice(env, "AMU_MEMO_VALIDATION", ("on", "off-unvalidated")),
        max_failures=int(env.get("AMU_DELIVERY_MAX_FAILURES", d.max_failures)),
        backoff_base_seconds=float(env.get("AMU_DELIVERY_BACKOFF_BASE", d.backoff_base_seconds)),
        backoff_cap_seconds=float(env.get("AMU_DELIVERY_BACKOFF_CAP", d.backoff_cap_seconds)),
        lease_seconds=float(env.get("AMU_DELIVERY_LEASE", d.lease_seconds)),
        http_timeout_seconds=float(env.get("AMU_DELIVERY_HTTP_TIMEOUT", d.http_timeout_seconds)),
        poll_seconds=float(env.get("AMU_DELIVERY_POLL", d.poll_seconds)),
        recheck_seconds=float(env.get("AMU_DELIVERY_RECHECK", d.recheck_seconds)),
        concurrency=int(env.get("AMU_DELIVERY_CONCURRENCY", d.concurrency)),
        warn_working_days=int(env.get("AMU_DELIVERY_WARN_DAYS", d.warn_working_days)),
        print_retention_days=int(env.get("AMU_PRINT_RETENTION_DAYS", d.print_retention_days)),
        serve_worker=env.get("AMU_SERVE_WORKER", "1") == "1",
        serve_test_server=env.get("AMU_SERVE_TEST_SERVER", "1" if demo else "0") == "1",
    )


def _watch_from_env(env: Mapping[str, str], *, demo: bool) -> WatchSettings:
    d = WatchSettings()
    formats: tuple[LogFormat, ...] = ("console", "json") if demo else ("json", "console")
    return WatchSettings(
        health_worker_seconds=float(env.get("AMU_HEALTH_WORKER_SECONDS", d.health_worker_seconds)),
        metrics_host=env.get("AMU_METRICS_HOST", d.metrics_host),
        metrics_port=int(env.get("AMU_METRICS_PORT", d.metrics_port)),
        log_format=_choice(env, "AMU_LOG_FORMAT", formats),
    )


def _provider(
    env: Mapping[str, str], name: str, default: IdentityProviderName | None
) -> IdentityProviderName | None:
    if not env.get(name):
        return default
    choices: tuple[IdentityProviderName, ...] = ("openid", "development")
    return _choice(env, name, choices)


def _openid_from_env(env: Mapping[str, str], prefix: str) -> OpenIDSettings:
    """The ``{prefix}_*`` variables (AMU_OIDC_ISSUER, AMU_STAFF_OIDC_CLIENT_ID, ...)."""
    d = OpenIDSettings()
    scopes = env.get(f"{prefix}_SCOPES", "").split()
    return OpenIDSettings(
        issuer=env.get(f"{prefix}_ISSUER", ""),
        client_id=env.get(f"{prefix}_CLIENT_ID", ""),
        client_secret=env.get(f"{prefix}_CLIENT_SECRET", ""),
        cpr_claim=env.get(f"{prefix}_CPR_CLAIM") or d.cpr_claim,
        organisation_claim=env.get(f"{prefix}_ORGANISATION_CLAIM") or d.organisation_claim,
        scopes=tuple(scopes) if scopes else d.scopes,
        http_timeout_seconds=float(env.get(f"{prefix}_HTTP_TIMEOUT", d.http_timeout_seconds)),
    )


def _insecure_development_login(env: Mapping[str, str], *, demo: bool) -> bool:
    value = env.get("AMU_INSECURE_DEVELOPMENT_LOGIN", "")
    if not value:
        return demo
    if value != INSECURE_DEVELOPMENT_LOGIN:
        raise ValueError(
            f"AMU_INSECURE_DEVELOPMENT_LOGIN must be {INSECURE_DEVELOPMENT_LOGIN} or unset"
        )
    return True


def _path(env: Mapping[str, str], name: str) -> Path | None:
    value = env.get(name)
    return Path(value) if value else None


def _choice(env: Mapping[str, str], name: str, allowed: tuple[_T, ...]) -> _T:
    value = env.get(name, allowed[0])
    for option in allowed:
        if value == option:
            return option
    raise ValueError(f"{name} must be one of {', '.join(allowed)}")
