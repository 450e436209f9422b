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
from service.settings import ChannelName, Settings

_DEMO_ONLY_CHANNELS = {"test-server", "memory"}


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
    """The one check ``migrate`` and the trust commands need: a real database outside demo."""
    if settings.demo or settings.database_url:
        return []
    return [
        (
            "DATABASE_URL is not set: the embedded PostgreSQL is for demo mode only "
            "(AMU_DEMO=1 or `amu-bevis serve --demo`)"
        )
    ]


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
