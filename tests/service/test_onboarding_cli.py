"""`amu-bevis catalogue import` and `amu-bevis schools add | list | disable` end to end, against
the test database as the operator runs them (the tables' owner), and what the service then
makes of it: a new school issues with its own certificate; a disabled one cannot."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import msgspec
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from litestar import Litestar
from litestar.testing import AsyncTestClient

from issuers.errors import ConflictError
from issuers.idempotency import IdempotentRequest
from issuers.requests import TeamResultsIn
from registry import db
from registry.keys import FileKeyStore
from service import cli, demo
from service.app import create_app, issuer_for
from service.settings import Settings
from tests.conftest import DatabaseRoles, FixedClock
from tests.helpers import post_team, team_body

SAMPLE = Path(demo.__file__).parent / "catalogue" / "sample-catalogue.csv"
HEADER = SAMPLE.read_text("utf-8").splitlines()[0]


def _amu(*argv: str) -> int:
    return cli.main(list(argv))


async def amu(*argv: str) -> int:
    return await asyncio.to_thread(_amu, *argv)


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _certificate(
    subject: str, key: ec.EllipticCurvePrivateKey, issuer: str, signer: ec.EllipticCurvePrivateKey
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .sign(signer, hashes.SHA256())
    )


@pytest.fixture
def signing(tmp_path: Path) -> tuple[Path, Path]:
    """A school's document certificate with its CA's (a chain PEM) and the certificate's key."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("Test-CA", ca_key, "Test-CA", ca_key)
    key = ec.generate_private_key(ec.SECP256R1())
    own = _certificate("Testskolen", key, "Test-CA", ca_key)
    chain = tmp_path / "chain.pem"
    chain.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (own, ca)))
    key_file = tmp_path / "key.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return chain, key_file


def _add(chain: Path, key: Path, *extra: str, number: str = "912345") -> list[str]:
    return [
        "schools",
        "add",
        "--number",
        number,
        "--name",
        "Testskolen AMU",
        "--cvr",
        "12345678",
        "--ownership",
        "public",
        "--signing-certificate",
        str(chain),
        "--signing-key",
        str(key),
        *extra,
    ]


async def _counts(conn: asyncpg.Connection) -> tuple[int, int, int]:
    return (
        await conn.fetchval("SELECT count(*) FROM goals"),
        await conn.fetchval("SELECT count(*) FROM goal_exam_periods"),
        await conn.fetchval("SELECT count(*) FROM goal_revisions"),
    )


async def test_import_then_the_same_file_again_changes_nothing(
    cli_env: Path, conn: asyncpg.Connection, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await amu("catalogue", "import", str(SAMPLE), "--full") == 0
    goals = len(SAMPLE.read_text("utf-8").splitlines()) - 1
    assert f"added: {goals}" in capsys.readouterr().out
    first = await _counts(conn)
    assert first[0] == goals
    assert await amu("catalogue", "import", str(SAMPLE), "--full") == 0
    out = capsys.readouterr().out
    assert "added: 0" in out
    assert "changed: 0" in out
    assert f"unchanged: {goals}" in out
    assert await _counts(conn) == first
    assert await conn.fetchval("SELECT count(*) FROM catalogue_imports") == 1


async def test_reimport_ends_periods_and_closes_goals_without_deleting(
    cli_env: Path, conn: asyncpg.Connection, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert await amu("catalogue", "import", str(SAMPLE)) == 0
    lines = SAMPLE.read_text("utf-8").splitlines()
    # 40125's exam ends; 42638 is gone from the file; everything else is listed as it was.
    kept = [
        line.replace("2019-08-01..,2,", "2019-08-01..2026-01-01,2,")
        if line.startswith("40125,")
        else line
        for line in lines
        if not line.startswith("42638,")
    ]
    newer = tmp_path / "newer.csv"
    newer.write_text("\n".join(kept) + "\n", "utf-8")
    capsys.readouterr()
    assert await amu("catalogue", "import", str(newer), "--full") == 0
    out = capsys.readouterr().out
    assert "changed: 1 (40125)" in out
    assert "closed: 1 (42638)" in out
    assert await conn.fetchval(
        "SELECT attached_until FROM goal_exam_periods WHERE goal_number = '40125'"
    ) == dt.date(2026, 1, 1)
    closed = await conn.fetchrow("SELECT valid_to, closed_at FROM goals WHERE number = '42638'")
    assert closed is not None
    assert closed["valid_to"] is not None
    assert closed["closed_at"] is not None
    # History cannot be deleted, even by the owner's own statements.
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await conn.execute("DELETE FROM goal_exam_periods WHERE goal_number = '40125'")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await conn.execute("DELETE FROM goals WHERE number = '42638'")


async def test_a_file_with_a_bad_line_imports_nothing(
    cli_env: Path, conn: asyncpg.Connection, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    body = SAMPLE.read_text("utf-8").splitlines()[1:4]
    bad.write_text(
        "\n".join([HEADER, *body, "4012,Svejsning,5.0,,2016-01-01,,,,,", "48114,,x,,,,,,,"]) + "\n",
        "utf-8",
    )
    before = await _counts(conn)
    assert await amu("catalogue", "import", str(bad)) == 1
    out = capsys.readouterr().out
    assert "line 5, number: must be five digits" in out
    assert "line 6, title: is required" in out
    assert "line 6, duration_days:" in out
    assert "nothing was imported" in out
    assert await _counts(conn) == before
    assert await conn.fetchval("SELECT count(*) FROM catalogue_imports") == 0


async def test_unreadable_and_unnamed_files_are_refused(
    cli_env: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert await amu("catalogue", "import", str(tmp_path / "missing.csv")) == 2
    assert "FILE: cannot read" in capsys.readouterr().out
    other = tmp_path / "goals.txt"
    other.write_text("", "utf-8")
    assert await amu("catalogue", "import", str(other)) == 2
    assert "--format" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--number", "75123", "--number: an institution number is six digits"),
        ("--cvr", "1234567", "--cvr: a CVR number is eight digits"),
        ("--ownership", "state", "--ownership: is public or private"),
    ],
)
async def test_schools_add_names_the_bad_option(
    cli_env: Path,
    capsys: pytest.CaptureFixture[str],
    signing: tuple[Path, Path],
    option: str,
    value: str,
    message: str,
) -> None:
    argv = _add(*signing)
    argv[argv.index(option) + 1] = value
    assert await amu(*argv) == 2
    assert message in capsys.readouterr().out


async def test_schools_add_refuses_unreadable_certificates_and_keys(
    cli_env: Path, conn: asyncpg.Connection, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    chain, key = tmp_path / "chain.pem", tmp_path / "key.pem"
    assert await amu(*_add(chain, key)) == 2
    assert "--signing-certificate: cannot read" in capsys.readouterr().out
    chain.write_text("not a certificate", "utf-8")
    key.write_text("not a key", "utf-8")
    assert await amu(*_add(chain, key)) == 2
    assert "--signing-certificate: is not a PEM file" in capsys.readouterr().out
    assert await conn.fetchval("SELECT count(*) FROM schools") == 0


async def test_schools_add_refuses_a_key_that_is_not_the_certificates(
    cli_env: Path, capsys: pytest.CaptureFixture[str], signing: tuple[Path, Path], tmp_path: Path
) -> None:
    other = tmp_path / "other.pem"
    other.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    assert await amu(*_add(signing[0], other)) == 2
    assert "--signing-key: is not the certificate's key" in capsys.readouterr().out


@pytest.fixture
async def file_client(
    settings: Settings, cli_env: Path, clock: FixedClock
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """The app with the key store the CLI writes to (AMU_KEY_STORE=file in cli_env)."""
    app = create_app(settings, keys=FileKeyStore(cli_env / "keys"), clock=clock)
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        yield client


async def test_add_list_and_disable_a_school(
    cli_env: Path,
    conn: asyncpg.Connection,
    capsys: pytest.CaptureFixture[str],
    signing: tuple[Path, Path],
    file_client: AsyncTestClient[Litestar],
    settings: Settings,
    clock: FixedClock,
) -> None:
    assert await amu("catalogue", "import", str(SAMPLE)) == 0
    credential_file = cli_env / "school.env"
    assert await amu(*_add(*signing, "--credential-file", str(credential_file))) == 0
    out = capsys.readouterr().out
    assert "School 912345 Testskolen AMU added" in out
    token = credential_file.read_text("utf-8").strip().split("=", 1)[1]
    assert token not in out
    assert credential_file.stat().st_mode & 0o777 == 0o600
    assert await amu(*_add(*signing)) == 2  # the same number again
    assert "--number: a school with this number is registered" in capsys.readouterr().out

    # The new school issues, its PDF signed with its own imported certificate.
    body = team_body(start="2026-11-09", end="2026-11-10")
    issued = await post_team(file_client, token, body, school="912345")
    assert issued.status_code == 201, issued.text

    assert await amu("schools", "list") == 0
    assert "912345" in capsys.readouterr().out
    assert await amu("schools", "disable", "912345") == 0
    assert "disabled since" in capsys.readouterr().out
    assert await amu("schools", "list") == 0
    assert "912345" in capsys.readouterr().out
    assert await conn.fetchval("SELECT disabled_at FROM schools WHERE id = '912345'") is not None
    assert await amu("schools", "disable", "999999") == 2
    assert "NUMBER: no school has this number" in capsys.readouterr().out

    # Its credential is refused now; what it issued stays valid.
    refused = await post_team(file_client, token, team_body(reference="H-2"), school="912345")
    assert refused.status_code == 401
    number = issued.json()["participants"][0]["certificate"]["number"]
    code = issued.json()["participants"][0]["certificate"]["verificationCode"]
    verified = await file_client.get(f"/api/verify/{number}", params={"code": code})
    assert verified.status_code == 200, verified.text

    # And it cannot issue by any other path either.
    pool = await db.create_pool(
        settings.database_url or "", schema=settings.database_schema, size=1
    )
    try:
        issuer = issuer_for(settings, pool, FileKeyStore(cli_env / "keys"), clock)
        raw = msgspec.json.encode(team_body(reference="H-3"))
        request = msgspec.json.decode(raw, type=TeamResultsIn)
        route = "/api/schools/{school_id:str}/teams"
        write = IdempotentRequest("912345", "k-3", raw, "POST", route, "/api/schools/912345/teams")
        with pytest.raises(ConflictError, match="disabled"):
            await issuer.issue_team(write, request)
    finally:
        await pool.close()


async def test_the_database_refuses_a_disabled_schools_certificate(
    seeded: object, conn: asyncpg.Connection
) -> None:
    """Whatever path would issue: a certificate row of a disabled school is refused."""
    await conn.execute(
        "CREATE TEMP TABLE copied AS SELECT * FROM certificates WHERE false;"
        "INSERT INTO copied (number, school_id, cpr, kid, payload, jws, verification_code, "
        "issued_at) SELECT '2099-0000001', '751234', '010190-1234', kid, "
        "convert_to('{}', 'UTF8'), 'x', 'AAAAAAAA', now() "
        "FROM school_keys WHERE school_id = '751234'"
    )
    await conn.execute("UPDATE schools SET disabled_at = now() WHERE id = '751234'")
    with pytest.raises(asyncpg.CheckViolationError, match="disabled"):
        await conn.execute("INSERT INTO certificates SELECT * FROM copied")


async def test_the_service_role_only_reads_the_catalogue(
    seeded: object, database_roles: DatabaseRoles, migrated: str
) -> None:
    service = await asyncpg.connect(
        database_roles.service_url, server_settings={"search_path": migrated}
    )
    try:
        assert await service.fetchval("SELECT count(*) FROM goals") > 0
        for statement in (
            "UPDATE goals SET title = 'x'",
            "INSERT INTO goal_exam_periods VALUES ('40125', '2030-01-01', NULL)",
            "UPDATE goal_exam_periods SET attached_until = NULL",
            "UPDATE schools SET disabled_at = NULL",
            "SELECT * FROM goal_revisions",
            "SELECT * FROM catalogue_imports",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await service.execute(statement)
    finally:
        await service.close()
