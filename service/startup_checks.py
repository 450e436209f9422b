"""What ``amu-bevis`` checks before it touches a database: settings that would fake production.

Outside demo mode every development default is refused, each by the variable that fixes it
(docs/operations.md has them in one table); a gateway channel's endpoint and OCES client
certificate and the MeMo schema are checked in every mode::

    problems = refusals(settings, now=system_clock())   # [] when it is safe to start
    problems = database_refusals(settings)              # migrate and the trust commands

Messages name variables and files, never a setting's value: a URL may carry a password.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_private_key,
)

from formats.errors import FormatError, MalformedDocumentError
from formats.memo import validate_memo
from service.settings import (
    INSECURE_DEVELOPMENT_LOGIN,
    ChannelName,
    IdentityProviderName,
    OpenIDSettings,
    Settings,
)

_DEMO_ONLY_CHANNELS = {"test-server", "memory"}
_MIN_SESSION_SECRET_BYTES = 32


def refusals(settings: Settings, *, now: dt.datetime) -> list[str]:
    """Every reason ``serve`` and ``worker`` must not start with ``settings``; [] if none."""
    found = database_refusals(settings)
    d = settings.delivery
    if not settings.demo:
        if not _is_public_https(settings.public_base_url):
            found.append(
                "AMU_PUBLIC_BASE_URL must be set to this service's public https address "
                "(not a loopback one): it goes into QR codes and credential identifiers"
            )
        if d.serve_test_server:
            found.append(
                "AMU_SERVE_TEST_SERVER=1 starts the local Digital Post test server, whose "
                "receipts would mark real deliveries done: demo mode only; unset it"
            )
        if settings.key_store == "memory":
            found.append(
                "AMU_KEY_STORE=memory loses every signing key at exit: demo and tests only; "
                "set AMU_KEY_STORE=file"
            )
        found += _session_secret_refusals(settings.session_secret)
    found += _identity_refusals(
        "AMU_IDENTITY_PROVIDER",
        "AMU_OIDC",
        settings.identity_provider,
        settings.openid,
        insecure_allowed=settings.insecure_development_login,
        required=not settings.demo,
        who="MitID",
    )
    found += _identity_refusals(
        "AMU_STAFF_IDENTITY_PROVIDER",
        "AMU_STAFF_OIDC",
        settings.staff_identity_provider,
        settings.staff_openid,
        insecure_allowed=settings.insecure_development_login,
        required=not settings.demo,  # unset, no school's staff could log in
        who="school staff with MitID Erhverv",
    )
    found += _channel_refusals(
        "AMU_DIGITAL_POST",
        d.digital_post,
        demo=settings.demo,
        url=d.digital_post_url,
        cert=d.digital_post_client_cert,
        key=d.digital_post_client_key,
        now=now,
    )
    found += _channel_refusals(
        "AMU_EBOKS",
        d.eboks,
        demo=settings.demo,
        url=d.eboks_url,
        cert=d.eboks_client_cert,
        key=d.eboks_client_key,
        now=now,
    )
    if d.memo_validation == "on":
        found += _memo_schema_refusals(d.memo_schema)
    return found


def database_refusals(settings: Settings) -> list[str]:
    """The one check ``migrate`` and the trust commands need: outside demo, a real database and
    two roles on it, the tables' owner for migrations and the service's for everything else."""
    if settings.demo:
        return []
    found = []
    if not settings.database_url:
        found.append(
            "DATABASE_URL is not set (the service's role, docs/operations.md): the embedded "
            "PostgreSQL is for demo mode only (AMU_DEMO=1 or `amu-bevis serve --demo`)"
        )
    if not settings.migration_database_url:
        found.append(
            "AMU_MIGRATION_DATABASE_URL is not set: migrations run as the role that owns the "
            "tables, the service as a role that cannot change them (docs/operations.md)"
        )
    elif settings.migration_database_url == settings.database_url:
        found.append(
            "AMU_MIGRATION_DATABASE_URL and DATABASE_URL are the same: the service must not "
            "connect as the tables' owner (docs/operations.md)"
        )
    return found


def client_certificate_refusals(
    variable: str, cert: Path | None, key: Path | None, *, now: dt.datetime
) -> list[str]:
    """Why the PEM client certificate ``cert`` and its key ``key`` cannot be used ``now``:
    missing or unreadable files, a certificate or key that does not parse, a key that is not
    the certificate's, or a certificate outside its validity. ``variable`` is the settings'
    prefix (``AMU_DIGITAL_POST``) the messages name."""
    cert_var, key_var = f"{variable}_CLIENT_CERT", f"{variable}_CLIENT_KEY"
    found: list[str] = []
    certificate = private_key = None
    cert_bytes = _read(cert, cert_var, found)
    key_bytes = _read(key, key_var, found)
    if cert_bytes is not None:
        try:
            certificate = x509.load_pem_x509_certificate(cert_bytes)
        except ValueError:
            found.append(f"{cert_var} is not a PEM X.509 certificate")
    if key_bytes is not None:
        try:
            private_key = load_pem_private_key(key_bytes, password=None)
        except (ValueError, TypeError):  # TypeError: the key is encrypted
            found.append(f"{key_var} is not an unencrypted PEM private key")
    if certificate is None:
        return found
    if private_key is not None and _spki(private_key.public_key()) != _spki(
        certificate.public_key()
    ):
        found.append(f"{key_var} is not the key of the certificate in {cert_var}")
    if now < certificate.not_valid_before_utc:
        found.append(f"{cert_var} is not valid yet")
    if now > certificate.not_valid_after_utc:
        found.append(f"{cert_var} has expired")
    return found


def _channel_refusals(
    variable: str,
    channel: ChannelName,
    *,
    demo: bool,
    url: str,
    cert: Path | None,
    key: Path | None,
    now: dt.datetime,
) -> list[str]:
    if channel in _DEMO_ONLY_CHANNELS:
        if demo:
            return []
        return [
            (
                f"{variable}={channel} is for demo mode and tests only; set {variable}=gateway "
                f"with {variable}_URL, {variable}_CLIENT_CERT and {variable}_CLIENT_KEY"
            )
        ]
    found: list[str] = []
    if not _is_public_https(url):
        found.append(f"{variable}_URL must be the gateway's https address, not a loopback one")
    return found + client_certificate_refusals(variable, cert, key, now=now)


def _session_secret_refusals(secret: bytes) -> list[str]:
    """Why ``secret`` cannot sign the pages' CSRF tokens: unset (a secret random per process
    refuses the forms another process served) or too short to be one."""
    fix = (
        "set it to the same random value of at least 32 bytes in every process, e.g. "
        "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
    )
    if not secret:
        return [f"AMU_SESSION_SECRET is not set: it signs the pages' CSRF tokens; {fix}"]
    if len(secret) < _MIN_SESSION_SECRET_BYTES:
        return [f"AMU_SESSION_SECRET is shorter than 32 bytes; {fix}"]
    return []


def _identity_refusals(
    variable: str,
    prefix: str,
    chosen: IdentityProviderName | None,
    openid: OpenIDSettings,
    *,
    insecure_allowed: bool,
    required: bool,
    who: str,
) -> list[str]:
    """Why the identity provider ``variable`` chooses cannot be used: none chosen (when
    ``required``), the development one without its loud setting, or an OpenID Connect one
    without its issuer (https; plain http only on 127.0.0.1, for a test provider), client id
    or client secret, whose ``{prefix}_*`` variables the messages name; ``who`` says who logs
    in there."""
    if chosen is None:
        if not required:
            return []
        return [
            (
                f"{variable} is not set: set {variable}=openid with {prefix}_ISSUER, "
                f"{prefix}_CLIENT_ID and {prefix}_CLIENT_SECRET ({who} through an OpenID "
                "Connect broker, docs/operations.md)"
            )
        ]
    if chosen == "development":
        if insecure_allowed:
            return []
        return [
            (
                f"{variable}=development lets anyone log in as anyone: set {variable}=openid; "
                "only a test system may set "
                f"AMU_INSECURE_DEVELOPMENT_LOGIN={INSECURE_DEVELOPMENT_LOGIN}"
            )
        ]
    found = []
    if not openid.issuer:
        found.append(f"{prefix}_ISSUER is not set (the OpenID Connect provider's issuer URL)")
    elif not (_is_public_https(openid.issuer) or _is_loopback_http(openid.issuer)):
        found.append(
            f"{prefix}_ISSUER must be the provider's https address (plain http is allowed only "
            "on 127.0.0.1, for a test provider)"
        )
    if not openid.client_id:
        found.append(f"{prefix}_CLIENT_ID is not set (this service's client at the provider)")
    if not openid.client_secret:
        found.append(f"{prefix}_CLIENT_SECRET is not set (the client's secret at the provider)")
    return found


def _is_loopback_http(url: str) -> bool:
    """An http URL on 127.0.0.1: a test provider on this machine, nothing on the wire."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return False
    return parts.scheme == "http" and host == "127.0.0.1"


def _memo_schema_refusals(schema: Path | None) -> list[str]:
    fix = (
        "point AMU_MEMO_SCHEMA at MeMo_core.xsd of the official MeMo 1.2 schema set "
        "(docs/operations.md)"
    )
    if schema is None:
        return [f"AMU_MEMO_SCHEMA is not set: messages are validated before sending; {fix}"]
    if not schema.is_file():
        return [f"AMU_MEMO_SCHEMA names no readable file; {fix}"]
    try:
        # The same loader the worker uses. A loaded schema rightly rejects the probe.
        validate_memo(b"<probe/>", schema)
    except MalformedDocumentError:
        return []
    except FormatError:
        return [f"AMU_MEMO_SCHEMA names a file that does not load as an XML schema; {fix}"]
    return ["AMU_MEMO_SCHEMA accepted a document that is no MeMo message; " + fix]


def _is_public_https(url: str) -> bool:
    """An https URL whose host is neither loopback nor unspecified."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return False
    if parts.scheme != "https" or not host:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return True  # a name: it is the operator's to resolve
    return not (address.is_loopback or address.is_unspecified)


def _read(path: Path | None, variable: str, found: list[str]) -> bytes | None:
    if path is None:
        found.append(f"{variable} is not set (a PEM file)")
        return None
    try:
        return path.read_bytes()
    except OSError:
        found.append(f"{variable} names no readable file")
        return None


def _spki(public_key: PublicKeyTypes) -> bytes:
    return public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
