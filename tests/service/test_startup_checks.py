"""Defaults that could fake production are refused at start outside demo mode, each by the
variable that fixes it (issue 19); a gateway channel's client certificate is checked."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from service.adapters import identity_provider_for, memo_schema_for, staff_identity_provider_for
from service.identity import DevelopmentIdentityProvider
from service.oidc import OpenIDConnectProvider
from service.settings import INSECURE_DEVELOPMENT_LOGIN, Settings
from service.startup_checks import client_certificate_refusals, refusals
from tests.conftest import FixedClock
from tests.externals import require_shared
from tests.service.certificates import DAY, NOW, issue, make_ca, write_key

SCHEMA = "memo-xsd/Version1.2/MeMo_core.xsd"
PASSWORD = "s3cret-pw"
STAFF_SECRET = "staff-client-secret"
SESSION_SECRET = "a-session-secret-of-more-than-32-bytes"


@pytest.fixture
def safe_env(tmp_path: Path) -> dict[str, str]:
    """A production configuration that passes every check."""
    ca = make_ca(tmp_path)
    post = issue(tmp_path, "digital-post-client", ca=ca)
    eboks = issue(tmp_path, "eboks-client", ca=ca)
    return {
        "DATABASE_URL": f"postgresql://amu_service:{PASSWORD}@db.example/amu",
        "AMU_MIGRATION_DATABASE_URL": f"postgresql://amu_owner:{PASSWORD}@db.example/amu",
        "AMU_PUBLIC_BASE_URL": "https://bevis.example",
        "AMU_DIGITAL_POST": "gateway",
        "AMU_DIGITAL_POST_URL": "https://digital-post-gateway.example",
        "AMU_DIGITAL_POST_CLIENT_CERT": str(post.cert),
        "AMU_DIGITAL_POST_CLIENT_KEY": str(post.key),
        "AMU_EBOKS": "gateway",
        "AMU_EBOKS_URL": "https://eboks-gateway.example/eboks",
        "AMU_EBOKS_CLIENT_CERT": str(eboks.cert),
        "AMU_EBOKS_CLIENT_KEY": str(eboks.key),
        "AMU_MEMO_SCHEMA": str(require_shared(SCHEMA)),
        "AMU_IDENTITY_PROVIDER": "openid",
        "AMU_OIDC_ISSUER": "https://broker.example",
        "AMU_OIDC_CLIENT_ID": "amu-bevis",
        "AMU_OIDC_CLIENT_SECRET": PASSWORD,
        "AMU_STAFF_IDENTITY_PROVIDER": "openid",
        "AMU_STAFF_OIDC_ISSUER": "https://erhverv-broker.example",
        "AMU_STAFF_OIDC_CLIENT_ID": "amu-bevis-skoler",
        "AMU_STAFF_OIDC_CLIENT_SECRET": STAFF_SECRET,
        "AMU_SESSION_SECRET": SESSION_SECRET,
    }


def test_a_safe_production_configuration_starts(safe_env: dict[str, str]) -> None:
    settings = Settings.from_env(safe_env)
    assert settings.demo is False
    assert refusals(settings, now=NOW) == []
    assert memo_schema_for(settings) == require_shared(SCHEMA)


# (what is changed, the variable the refusal must name). None removes the variable.
UNSAFE: list[tuple[dict[str, str | None], str]] = [
    ({"DATABASE_URL": None}, "DATABASE_URL"),
    ({"AMU_MIGRATION_DATABASE_URL": None}, "AMU_MIGRATION_DATABASE_URL"),
    (
        {"AMU_MIGRATION_DATABASE_URL": f"postgresql://amu_service:{PASSWORD}@db.example/amu"},
        "AMU_MIGRATION_DATABASE_URL and DATABASE_URL are the same",
    ),
    ({"AMU_PUBLIC_BASE_URL": None}, "AMU_PUBLIC_BASE_URL"),
    ({"AMU_PUBLIC_BASE_URL": "http://bevis.example"}, "AMU_PUBLIC_BASE_URL"),
    ({"AMU_PUBLIC_BASE_URL": "https://127.0.0.1:8000"}, "AMU_PUBLIC_BASE_URL"),
    ({"AMU_PUBLIC_BASE_URL": "https://localhost"}, "AMU_PUBLIC_BASE_URL"),
    ({"AMU_PUBLIC_BASE_URL": "https://[::1]:8000"}, "AMU_PUBLIC_BASE_URL"),
    ({"AMU_DIGITAL_POST": None}, "AMU_DIGITAL_POST=test-server"),  # the default
    ({"AMU_DIGITAL_POST": "test-server"}, "AMU_DIGITAL_POST=test-server"),
    ({"AMU_DIGITAL_POST": "memory"}, "AMU_DIGITAL_POST=memory"),
    ({"AMU_EBOKS": "test-server"}, "AMU_EBOKS=test-server"),
    ({"AMU_EBOKS": "memory"}, "AMU_EBOKS=memory"),
    ({"AMU_DIGITAL_POST_URL": None}, "AMU_DIGITAL_POST_URL"),  # default: the test server's
    ({"AMU_DIGITAL_POST_URL": "https://127.0.0.1:8025"}, "AMU_DIGITAL_POST_URL"),
    ({"AMU_DIGITAL_POST_URL": "http://digital-post-gateway.example"}, "AMU_DIGITAL_POST_URL"),
    ({"AMU_EBOKS_URL": "https://127.0.0.2/eboks"}, "AMU_EBOKS_URL"),
    ({"AMU_DIGITAL_POST_CLIENT_CERT": None}, "AMU_DIGITAL_POST_CLIENT_CERT"),
    ({"AMU_DIGITAL_POST_CLIENT_KEY": None}, "AMU_DIGITAL_POST_CLIENT_KEY"),
    ({"AMU_EBOKS_CLIENT_CERT": "/nonexistent/eboks.pem"}, "AMU_EBOKS_CLIENT_CERT"),
    ({"AMU_EBOKS_CLIENT_KEY": None}, "AMU_EBOKS_CLIENT_KEY"),
    ({"AMU_SERVE_TEST_SERVER": "1"}, "AMU_SERVE_TEST_SERVER"),
    ({"AMU_KEY_STORE": "memory"}, "AMU_KEY_STORE"),
    ({"AMU_MEMO_SCHEMA": None}, "AMU_MEMO_SCHEMA"),
    ({"AMU_MEMO_SCHEMA": "/nonexistent/MeMo_core.xsd"}, "AMU_MEMO_SCHEMA"),
    ({"AMU_IDENTITY_PROVIDER": None}, "AMU_IDENTITY_PROVIDER is not set"),
    ({"AMU_IDENTITY_PROVIDER": "development"}, "AMU_IDENTITY_PROVIDER=development"),
    ({"AMU_OIDC_ISSUER": None}, "AMU_OIDC_ISSUER"),
    ({"AMU_OIDC_ISSUER": "http://broker.example"}, "AMU_OIDC_ISSUER"),
    ({"AMU_OIDC_ISSUER": "http://localhost:8080"}, "AMU_OIDC_ISSUER"),
    ({"AMU_OIDC_ISSUER": "https://127.0.0.1:8443"}, "AMU_OIDC_ISSUER"),
    ({"AMU_OIDC_CLIENT_ID": None}, "AMU_OIDC_CLIENT_ID"),
    ({"AMU_OIDC_CLIENT_SECRET": None}, "AMU_OIDC_CLIENT_SECRET"),
    ({"AMU_STAFF_IDENTITY_PROVIDER": "development"}, "AMU_STAFF_IDENTITY_PROVIDER=development"),
    ({"AMU_STAFF_IDENTITY_PROVIDER": None}, "AMU_STAFF_IDENTITY_PROVIDER is not set"),
    ({"AMU_STAFF_OIDC_ISSUER": None}, "AMU_STAFF_OIDC_ISSUER"),
    ({"AMU_STAFF_OIDC_CLIENT_SECRET": None}, "AMU_STAFF_OIDC_CLIENT_SECRET"),
    ({"AMU_SESSION_SECRET": None}, "AMU_SESSION_SECRET is not set"),
    ({"AMU_SESSION_SECRET": "x" * 31}, "AMU_SESSION_SECRET is shorter than 32 bytes"),
]


@pytest.mark.parametrize(("change", "variable"), UNSAFE, ids=[str(c) for c, _ in UNSAFE])
def test_each_unsafe_setting_is_refused_by_name(
    safe_env: dict[str, str], change: dict[str, str | None], variable: str
) -> None:
    env = {**safe_env, **{k: v for k, v in change.items() if v is not None}}
    for name in (k for k, v in change.items() if v is None):
        del env[name]
    found = refusals(Settings.from_env(env), now=NOW)
    assert len(found) == 1, found
    assert variable in found[0]
    assert PASSWORD not in found[0]
    assert SESSION_SECRET not in found[0]
    assert "x" * 31 not in found[0]


def test_a_schema_that_is_no_xml_schema_is_refused(
    safe_env: dict[str, str], tmp_path: Path
) -> None:
    not_xsd = tmp_path / "MeMo_core.xsd"
    not_xsd.write_text("<html>the download page, not the schema</html>")
    found = refusals(Settings.from_env({**safe_env, "AMU_MEMO_SCHEMA": str(not_xsd)}), now=NOW)
    assert found == [
        (
            "AMU_MEMO_SCHEMA names a file that does not load as an XML schema; point "
            "AMU_MEMO_SCHEMA at MeMo_core.xsd of the official MeMo 1.2 schema set "
            "(docs/operations.md)"
        )
    ]


def test_nothing_set_lists_every_refusal_at_once() -> None:
    found = refusals(Settings.from_env({}), now=NOW)
    named = [
        "DATABASE_URL",
        "AMU_MIGRATION_DATABASE_URL",
        "AMU_PUBLIC_BASE_URL",
        "AMU_SESSION_SECRET",
        "AMU_IDENTITY_PROVIDER",
        "AMU_STAFF_IDENTITY_PROVIDER",
        "AMU_DIGITAL_POST=test-server",
        "AMU_EBOKS=test-server",
        "AMU_MEMO_SCHEMA",
    ]
    assert len(found) == len(named), found
    for message, variable in zip(found, named, strict=True):
        assert variable in message


def test_a_password_in_a_refused_url_is_never_shown(safe_env: dict[str, str]) -> None:
    env = {
        **safe_env,
        "AMU_DIGITAL_POST_URL": f"http://user:{PASSWORD}@127.0.0.1:8025",
        "AMU_PUBLIC_BASE_URL": f"http://user:{PASSWORD}@bevis.example",
    }
    found = refusals(Settings.from_env(env), now=NOW)
    assert len(found) == 2, found
    assert all(PASSWORD not in message for message in found)


def test_the_staff_provider_is_checked_like_the_participants_one(
    safe_env: dict[str, str],
) -> None:
    claim = {"AMU_STAFF_OIDC_ORGANISATION_CLAIM": "urn:example:cvr"}
    settings = Settings.from_env({**safe_env, **claim})
    assert refusals(settings, now=NOW) == []
    assert settings.staff_openid.organisation_claim == "urn:example:cvr"
    assert STAFF_SECRET not in repr(settings)
    chosen_only = {k: v for k, v in safe_env.items() if not k.startswith("AMU_STAFF_OIDC_")}
    found = refusals(Settings.from_env(chosen_only), now=NOW)
    assert [m.split()[0] for m in found] == [
        "AMU_STAFF_OIDC_ISSUER",
        "AMU_STAFF_OIDC_CLIENT_ID",
        "AMU_STAFF_OIDC_CLIENT_SECRET",
    ]


def test_school_staff_must_be_able_to_log_in(safe_env: dict[str, str]) -> None:
    env = {k: v for k, v in safe_env.items() if not k.startswith("AMU_STAFF_")}
    assert refusals(Settings.from_env(env), now=NOW) == [
        (
            "AMU_STAFF_IDENTITY_PROVIDER is not set: set AMU_STAFF_IDENTITY_PROVIDER=openid "
            "with AMU_STAFF_OIDC_ISSUER, AMU_STAFF_OIDC_CLIENT_ID and "
            "AMU_STAFF_OIDC_CLIENT_SECRET (school staff with MitID Erhverv through an OpenID "
            "Connect broker, docs/operations.md)"
        )
    ]


def test_every_process_signs_with_the_session_secret_it_is_given(
    safe_env: dict[str, str],
) -> None:
    # Two processes started with the same settings accept each other's forms.
    first, second = Settings.from_env(safe_env), Settings.from_env(safe_env)
    assert first.session_secret == second.session_secret == SESSION_SECRET.encode()
    # Unset outside demo mode: empty (refused), never a random one that only seems to work.
    unset = {k: v for k, v in safe_env.items() if k != "AMU_SESSION_SECRET"}
    assert Settings.from_env(unset).session_secret == b""
    assert refusals(Settings.from_env({**safe_env, "AMU_SESSION_SECRET": "x" * 32}), now=NOW) == []


def test_a_test_provider_on_127_0_0_1_may_speak_plain_http(safe_env: dict[str, str]) -> None:
    env = {**safe_env, "AMU_OIDC_ISSUER": "http://127.0.0.1:8080"}
    assert refusals(Settings.from_env(env), now=NOW) == []


def test_only_the_loud_setting_allows_the_development_login(safe_env: dict[str, str]) -> None:
    env = {**safe_env, "AMU_IDENTITY_PROVIDER": "development"}
    assert Settings.from_env(env).insecure_development_login is False
    loud = {**env, "AMU_INSECURE_DEVELOPMENT_LOGIN": INSECURE_DEVELOPMENT_LOGIN}
    assert refusals(Settings.from_env(loud), now=NOW) == []
    with pytest.raises(ValueError, match="AMU_INSECURE_DEVELOPMENT_LOGIN must be"):
        Settings.from_env({**env, "AMU_INSECURE_DEVELOPMENT_LOGIN": "1"})
    with pytest.raises(ValueError, match="AMU_IDENTITY_PROVIDER must be one of"):
        Settings.from_env({**safe_env, "AMU_IDENTITY_PROVIDER": "mitid"})


def test_the_settings_choose_the_identity_provider(safe_env: dict[str, str]) -> None:
    clock = FixedClock()
    http = httpx.AsyncClient()
    openid = Settings.from_env(safe_env)
    assert isinstance(identity_provider_for(openid, clock, http), OpenIDConnectProvider)
    assert isinstance(staff_identity_provider_for(openid, clock, http), OpenIDConnectProvider)
    demo = Settings.from_env({}, demo=True)
    assert isinstance(identity_provider_for(demo, clock, http), DevelopmentIdentityProvider)
    quiet = replace(demo, insecure_development_login=False)
    with pytest.raises(ValueError, match="AMU_IDENTITY_PROVIDER"):
        identity_provider_for(quiet, clock, http)
    with pytest.raises(ValueError, match="AMU_IDENTITY_PROVIDER"):
        identity_provider_for(Settings.from_env({}), clock, http)


def test_demo_mode_allows_the_development_defaults() -> None:
    settings = Settings.from_env({}, demo=True)
    assert settings.database_url is None
    assert settings.public_base_url == "http://127.0.0.1:8000"
    assert settings.delivery.digital_post == "test-server"
    assert settings.delivery.serve_test_server is True
    assert settings.delivery.memo_schema == require_shared(SCHEMA)
    assert settings.identity_provider == "development"
    assert settings.insecure_development_login is True
    assert settings.staff_identity_provider == "development"
    assert len(settings.session_secret) == 32  # random: the demo is one process
    assert refusals(settings, now=NOW) == []
    # AMU_DEMO=1 is the same as `serve --demo` (apart from the random session secret).
    from_variable = Settings.from_env({"AMU_DEMO": "1"})
    assert replace(from_variable, session_secret=b"") == replace(settings, session_secret=b"")


def test_the_test_server_is_off_outside_demo_mode_unless_asked() -> None:
    assert Settings.from_env({}).delivery.serve_test_server is False
    assert Settings.from_env({"AMU_DEMO": "1"}).delivery.serve_test_server is True


def test_demo_mode_still_refuses_a_missing_schema() -> None:
    env = {"AMU_MEMO_SCHEMA": "/nonexistent/MeMo_core.xsd"}
    found = refusals(Settings.from_env(env, demo=True), now=NOW)
    assert len(found) == 1
    assert "AMU_MEMO_SCHEMA names no readable file" in found[0]


def test_only_the_loud_setting_turns_validation_off() -> None:
    env = {
        "AMU_MEMO_SCHEMA": "/nonexistent/MeMo_core.xsd",
        "AMU_MEMO_VALIDATION": "off-unvalidated",
    }
    settings = Settings.from_env(env, demo=True)
    assert refusals(settings, now=NOW) == []
    assert memo_schema_for(settings) is None
    with pytest.raises(ValueError, match="AMU_MEMO_VALIDATION must be one of on, off-unvalidated"):
        Settings.from_env({"AMU_MEMO_VALIDATION": "off"})


def test_a_valid_client_certificate_passes(tmp_path: Path) -> None:
    client = issue(tmp_path, "client", ca=make_ca(tmp_path))
    assert client_certificate_refusals("AMU_EBOKS", client.cert, client.key, now=NOW) == []


def test_an_expired_certificate_is_refused(tmp_path: Path) -> None:
    old = issue(tmp_path, "old", not_before=NOW - 40 * DAY, not_after=NOW - DAY)
    assert client_certificate_refusals("AMU_EBOKS", old.cert, old.key, now=NOW) == [
        "AMU_EBOKS_CLIENT_CERT has expired"
    ]


def test_a_certificate_not_yet_valid_is_refused(tmp_path: Path) -> None:
    early = issue(tmp_path, "early", not_before=NOW + DAY, not_after=NOW + 40 * DAY)
    assert client_certificate_refusals("AMU_EBOKS", early.cert, early.key, now=NOW) == [
        "AMU_EBOKS_CLIENT_CERT is not valid yet"
    ]


def test_a_key_of_another_certificate_is_refused(tmp_path: Path) -> None:
    client = issue(tmp_path, "client")
    other = write_key(tmp_path / "other.key", ec.generate_private_key(ec.SECP256R1()))
    assert client_certificate_refusals("AMU_DIGITAL_POST", client.cert, other, now=NOW) == [
        (
            "AMU_DIGITAL_POST_CLIENT_KEY is not the key of the certificate in "
            "AMU_DIGITAL_POST_CLIENT_CERT"
        )
    ]


def test_missing_files_are_refused(tmp_path: Path) -> None:
    found = client_certificate_refusals(
        "AMU_DIGITAL_POST", tmp_path / "absent.pem", tmp_path / "absent.key", now=NOW
    )
    assert found == [
        "AMU_DIGITAL_POST_CLIENT_CERT names no readable file",
        "AMU_DIGITAL_POST_CLIENT_KEY names no readable file",
    ]


def test_files_that_do_not_parse_are_refused(tmp_path: Path) -> None:
    client = issue(tmp_path, "client")
    encrypted = write_key(tmp_path / "encrypted.key", client.private_key, password=b"pw")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    assert client_certificate_refusals("AMU_EBOKS", garbage, encrypted, now=NOW) == [
        "AMU_EBOKS_CLIENT_CERT is not a PEM X.509 certificate",
        "AMU_EBOKS_CLIENT_KEY is not an unencrypted PEM private key",
    ]
    # The key itself was right: unencrypted, it passes.
    assert client_certificate_refusals("AMU_EBOKS", client.cert, client.key, now=NOW) == []
