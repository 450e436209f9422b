"""Settings are checked as they are read: one SettingsError names every bad variable, never
quoting a secret; the CLI prints them and exits 2; docs/configuration.md lists exactly the
variables the service reads."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest

from service import cli, settings
from service.settings import Settings
from service.variables import SettingsError
from tests.settings_variables import (
    CONFIGURATION,
    RecordingEnvironment,
    documented,
    names_in_source,
    variables_read,
)

SECRET = "hunter2-do-not-show"

# (variable, a bad value, what the message says). Each alone gives exactly one problem.
BAD: list[tuple[str, str, str]] = [
    ("AMU_DEMO", "yes", "AMU_DEMO must be 1 or 0 (got 'yes')"),
    ("AMU_DEBUG", "true", "AMU_DEBUG must be 1 or 0"),
    ("AMU_SERVE_WORKER", "on", "AMU_SERVE_WORKER must be 1 or 0"),
    ("AMU_PORT", "eighty", "AMU_PORT must be a whole number from 1 to 65535 (got 'eighty')"),
    ("AMU_PORT", "65536", "AMU_PORT must be a whole number from 1 to 65535"),
    ("AMU_PORT", "0", "AMU_PORT must be a whole number from 1 to 65535"),
    ("AMU_HOST", "not a host", "AMU_HOST must be an IP address or a host name"),
    ("AMU_DATABASE_POOL_SIZE", "0", "AMU_DATABASE_POOL_SIZE must be a whole number of at least 1"),
    ("AMU_DATABASE_POOL_SIZE", "2.5", "AMU_DATABASE_POOL_SIZE must be a whole number"),
    ("AMU_DATABASE_SCHEMA", "Robert'); DROP", "AMU_DATABASE_SCHEMA: database schema names"),
    ("AMU_KEY_STORE", "vault", "AMU_KEY_STORE must be one of file, memory (got 'vault')"),
    ("AMU_IDENTITY_PROVIDER", "mitid", "AMU_IDENTITY_PROVIDER must be one of openid, development"),
    ("AMU_STAFF_IDENTITY_PROVIDER", "x", "AMU_STAFF_IDENTITY_PROVIDER must be one of"),
    ("AMU_INSECURE_DEVELOPMENT_LOGIN", "1", "AMU_INSECURE_DEVELOPMENT_LOGIN must be"),
    ("AMU_PUBLIC_BASE_URL", "bevis.example.dk", "AMU_PUBLIC_BASE_URL must be an http or https"),
    ("AMU_PUBLIC_BASE_URL", "https://", "AMU_PUBLIC_BASE_URL must be an http or https URL"),
    ("AMU_DIGITAL_POST_URL", "ftp://gateway.example", "AMU_DIGITAL_POST_URL must be an http"),
    ("AMU_EBOKS_URL", "https://gw.example:port", "AMU_EBOKS_URL must be an http"),
    ("AMU_OIDC_ISSUER", "broker.example", "AMU_OIDC_ISSUER must be an http or https URL"),
    ("AMU_STAFF_OIDC_ISSUER", "x", "AMU_STAFF_OIDC_ISSUER must be an http or https URL"),
    ("AMU_OIDC_SCOPES", "profile email", "AMU_OIDC_SCOPES must include openid"),
    ("AMU_OIDC_HTTP_TIMEOUT", "0", "AMU_OIDC_HTTP_TIMEOUT must be a number of seconds greater"),
    ("AMU_STAFF_OIDC_HTTP_TIMEOUT", "nan", "AMU_STAFF_OIDC_HTTP_TIMEOUT must be a number"),
    ("DATABASE_URL", "mysql://amu@db/amu", "DATABASE_URL must be a postgresql:// URL"),
    ("AMU_MIGRATION_DATABASE_URL", "db.internal", "AMU_MIGRATION_DATABASE_URL must be a post"),
    ("AMU_LOG_ORIGIN", "amu bevis", "AMU_LOG_ORIGIN must be the log's name without spaces"),
    ("AMU_DIGITAL_POST", "post", "AMU_DIGITAL_POST must be one of test-server, memory, gateway"),
    ("AMU_EBOKS", "gateways", "AMU_EBOKS must be one of"),
    ("AMU_PRINT_SPOOL", "printer", "AMU_PRINT_SPOOL must be one of folder, table"),
    ("AMU_MEMO_VALIDATION", "off", "AMU_MEMO_VALIDATION must be one of on, off-unvalidated"),
    ("AMU_DELIVERY_MAX_FAILURES", "-1", "AMU_DELIVERY_MAX_FAILURES must be a whole number"),
    ("AMU_DELIVERY_BACKOFF_BASE", "-3", "AMU_DELIVERY_BACKOFF_BASE must be a number of seconds"),
    ("AMU_DELIVERY_BACKOFF_CAP", "10", "AMU_DELIVERY_BACKOFF_CAP must be at least"),
    ("AMU_DELIVERY_LEASE", "two minutes", "AMU_DELIVERY_LEASE must be a number of seconds"),
    ("AMU_DELIVERY_HTTP_TIMEOUT", "inf", "AMU_DELIVERY_HTTP_TIMEOUT must be a number"),
    ("AMU_DELIVERY_POLL", "0", "AMU_DELIVERY_POLL must be a number of seconds greater than 0"),
    ("AMU_DELIVERY_RECHECK", "1d", "AMU_DELIVERY_RECHECK must be a number of seconds"),
    ("AMU_DELIVERY_CONCURRENCY", "0", "AMU_DELIVERY_CONCURRENCY must be a whole number"),
    ("AMU_DELIVERY_WARN_DAYS", "-1", "AMU_DELIVERY_WARN_DAYS must be a whole number of at least 0"),
    ("AMU_PRINT_RETENTION_DAYS", "0", "AMU_PRINT_RETENTION_DAYS must be a whole number"),
    ("AMU_VERIFY_FAILURES_PER_CLIENT", "x", "AMU_VERIFY_FAILURES_PER_CLIENT must be a whole"),
    ("AMU_VERIFY_FAILURES_PER_NUMBER", "0", "AMU_VERIFY_FAILURES_PER_NUMBER must be a whole"),
    ("AMU_SESSION_IDLE_MINUTES", "0", "AMU_SESSION_IDLE_MINUTES must be a whole number"),
    ("AMU_SESSION_ABSOLUTE_HOURS", "8h", "AMU_SESSION_ABSOLUTE_HOURS must be a whole number"),
    ("AMU_TRUSTED_PROXIES", "10.0.0.1,proxy", "AMU_TRUSTED_PROXIES: 'proxy' does not appear"),
]


@pytest.mark.parametrize(("variable", "value", "message"), BAD, ids=[f"{v}={x}" for v, x, _ in BAD])
def test_each_bad_value_is_named(variable: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({variable: value})
    assert len(raised.value.problems) == 1, raised.value.problems
    assert raised.value.problems[0].startswith(variable)
    assert message in raised.value.problems[0]


def test_every_bad_value_is_in_one_error() -> None:
    env = {variable: value for variable, value, _ in BAD if variable != "AMU_DEMO"}
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(env)
    named = {problem.split()[0].rstrip(":") for problem in raised.value.problems}
    assert named == set(env)
    assert isinstance(raised.value, ValueError)  # what callers of the old from_env caught
    assert str(raised.value) == "\n".join(raised.value.problems)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", f"mysql://amu:{SECRET}@db.internal/amu"),
        ("AMU_MIGRATION_DATABASE_URL", f"postgresql://amu:{SECRET}@db.internal:five/amu"),
        ("AMU_PUBLIC_BASE_URL", f"bevis:{SECRET}"),
        ("AMU_OIDC_ISSUER", f"ftp://client:{SECRET}@broker.example"),
        ("AMU_DIGITAL_POST_URL", f"gateway:{SECRET}@:443"),
        # A secret pasted into a number's variable is cut short.
        ("AMU_PORT", f"{'x' * 40}{SECRET}"),
        ("AMU_DIGITAL_POST_CLIENT_CERT", "/"),  # a folder; a path is never quoted either
    ],
)
def test_no_message_quotes_a_secret(variable: str, value: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({variable: value})
    assert raised.value.problems[0].startswith(variable)
    assert SECRET not in str(raised.value)
    assert value not in str(raised.value)


def test_good_values_are_read() -> None:
    read = Settings.from_env(
        {
            "DATABASE_URL": "postgres://amu_service@db.internal:5433/amu",
            "AMU_HOST": "0.0.0.0",  # noqa: S104 - a value to parse, nothing listens
            "AMU_PORT": "8080",
            "AMU_DEBUG": "0",
            "AMU_SERVE_WORKER": "0",
            "AMU_DEMO": "0",
            "AMU_DELIVERY_POLL": "0.25",
            "AMU_DELIVERY_BACKOFF_BASE": "60",
            "AMU_DELIVERY_WARN_DAYS": "0",
            "AMU_PUBLIC_BASE_URL": "https://bevis.example.dk/",
            "AMU_OIDC_SCOPES": "openid profile",
            "AMU_LOG_ORIGIN": "bevis.example.dk/register",
        }
    )
    assert read.database_url == "postgres://amu_service@db.internal:5433/amu"
    assert (read.host, read.port, read.debug, read.demo) == ("0.0.0.0", 8080, False, False)  # noqa: S104
    assert read.delivery.serve_worker is False
    assert read.delivery.poll_seconds == 0.25
    assert read.delivery.backoff_base_seconds == 60.0
    assert read.delivery.warn_working_days == 0
    assert read.public_base_url == "https://bevis.example.dk"  # one slash, never two
    assert read.openid.scopes == ("openid", "profile")
    assert read.log_origin == "bevis.example.dk/register"


def test_empty_is_unset() -> None:
    empty = Settings.from_env({"AMU_PORT": "", "AMU_SERVE_WORKER": "", "AMU_DEBUG": ""})
    assert (empty.port, empty.delivery.serve_worker, empty.debug) == (8000, True, False)


def test_paths_must_be_of_the_right_kind(tmp_path: Path) -> None:
    a_file = tmp_path / "cert.pem"
    a_file.write_text("")
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(
            {
                "AMU_DATA_DIR": str(a_file),
                "AMU_PRINT_SPOOL_DIR": str(a_file),
                "AMU_EBOKS_CLIENT_KEY": str(tmp_path),
                "AMU_MEMO_SCHEMA": str(tmp_path),
            }
        )
    assert set(raised.value.problems) == {
        "AMU_DATA_DIR names a file; it must name a folder",
        "AMU_EBOKS_CLIENT_KEY names a folder; it must name a file",
        "AMU_PRINT_SPOOL_DIR names a file; it must name a folder",
        "AMU_MEMO_SCHEMA names a folder; it must name a file",
    }
    # A folder still to be made, and a file the start checks (service/startup_checks.py).
    fine = Settings.from_env(
        {
            "AMU_DATA_DIR": str(tmp_path / "new"),
            "AMU_EBOKS_CLIENT_KEY": str(a_file),
            "AMU_EBOKS_CLIENT_CERT": str(tmp_path / "missing.pem"),
        }
    )
    assert fine.data_dir == tmp_path / "new"
    assert fine.delivery.eboks_client_key == a_file


def test_demo_without_a_database_needs_the_embedded_postgresql(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings.from_env({}, demo=True).database_url is None  # pgserver is installed here
    monkeypatch.setattr(settings, "_embedded_postgres_installed", lambda: False)
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"AMU_DEMO": "1"})
    assert raised.value.problems == (
        (
            "DATABASE_URL is not set, and demo mode's embedded PostgreSQL is not installed: "
            "install the demo extra (pip install 'amu-bevis[demo]') or set DATABASE_URL"
        ),
    )
    # With a server of its own, demo mode needs no pgserver.
    assert Settings.from_env({"AMU_DEMO": "1", "DATABASE_URL": "postgresql:///amu"}).demo


def test_the_cli_prints_every_bad_setting_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"mysql://amu:{SECRET}@db.internal/amu")
    monkeypatch.setenv("AMU_PORT", "eighty")
    monkeypatch.setenv("AMU_DELIVERY_POLL", "0")
    assert cli.main(["migrate"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        "amu-bevis: refusing to start. These settings are wrong (docs/configuration.md):",
        "  - AMU_PORT must be a whole number from 1 to 65535 (got 'eighty')",
        (
            "  - DATABASE_URL must be a postgresql:// URL (its value is not shown: it may carry "
            "a password)"
        ),
        "  - AMU_DELIVERY_POLL must be a number of seconds greater than 0 (got '0')",
    ]


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["--version"])
    assert exited.value.code == 0
    version = importlib.metadata.version("amu-bevis")
    assert capsys.readouterr().out == f"amu-bevis {version}\n"


# -- docs/configuration.md lists exactly the variables read ---------------------------------


def test_every_variable_read_is_documented_and_every_documented_one_is_read() -> None:
    rows = documented(CONFIGURATION.read_text("utf-8"))
    assert len(rows) == len(set(rows)), "a variable documented twice"
    read = variables_read()
    assert sorted(read - set(rows)) == [], "read but not in docs/configuration.md"
    assert sorted(set(rows) - read) == [], "documented, not read"


def test_the_variable_checks_can_fail() -> None:
    """Each half of the comparison sees what it must: a read without a row, a row without a
    read, a composed name, and the end of the settings' tables."""
    assert names_in_source('x = env.get("AMU_NEW_THING")\nprefix = "AMU_OIDC_"') == {
        "AMU_NEW_THING"
    }
    env = RecordingEnvironment()
    Settings.from_env(env)
    assert "AMU_STAFF_OIDC_CLIENT_SECRET" in env.asked  # made from a prefix
    markdown = (
        "| variable | default | meaning |\n| --- | --- | --- |\n| `AMU_PORT` | `8000` | port |\n"
        "## Outside the service\n| `AMU_ALLOW_UNCHECKED` | | |\n"
    )
    assert documented(markdown) == ["AMU_PORT"]
    assert variables_read() - set(documented(markdown))  # an undocumented read is seen
