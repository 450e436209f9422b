"""``amu-bevis credentials`` end to end against the test database: the token is printed once and
works on the API; rotation and revocation take effect there; the trail names the operator; bad
input names the option."""

from __future__ import annotations

import asyncio
import datetime as dt
import getpass
from pathlib import Path

import asyncpg
import pytest

from service import cli
from tests.conftest import Demo, FixedClock
from tests.helpers import Client
from tests.service.api.test_authorization import assert_refused

OVERDUE = "/api/schools/751234/overdue"


async def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = await asyncio.to_thread(cli.main, ["credentials", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_create_use_rotate_revoke_and_the_trail(
    seeded: Demo,
    client: Client,
    clock: FixedClock,
    cli_env: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    clock.now = dt.datetime.now(dt.UTC)  # the CLI stamps with the system clock
    code, out, err = await _cli(
        capsys, "create", "--school", "751234", "--label", "Studieadministration"
    )
    assert code == 0, err
    token = out.strip()
    assert out == token + "\n"  # the token alone on stdout
    assert token.startswith("amu_")
    assert token not in err
    assert "shown only this once" in " ".join(err.split())
    credential_id = token.split("_")[1]
    assert (await client.get(OVERDUE, headers=_bearer(token))).status_code == 200

    code, out, err = await _cli(capsys, "list", "--school", "751234")
    assert code == 0, err
    assert credential_id in out
    assert "Studieadministration" in out
    assert f"operator:{getpass.getuser()}" in out
    assert "active" in out
    assert token.split("_", 2)[2] not in out + err

    code, out, err = await _cli(capsys, "rotate", "--school", "751234", credential_id)
    assert code == 0, err
    new_token = out.strip()
    new_id = new_token.split("_")[1]
    assert f"{credential_id} keeps working until" in err
    # Within the overlap both work; after it only the new one.
    assert (await client.get(OVERDUE, headers=_bearer(token))).status_code == 200
    assert (await client.get(OVERDUE, headers=_bearer(new_token))).status_code == 200
    clock.now += dt.timedelta(hours=24, seconds=1)
    assert_refused(await client.get(OVERDUE, headers=_bearer(token)), 401)
    assert (await client.get(OVERDUE, headers=_bearer(new_token))).status_code == 200

    code, out, err = await _cli(capsys, "revoke", "--school", "751234", new_id)
    assert code == 0, err
    assert f"Revoked {new_id}" in out
    response = await client.get(OVERDUE, headers=_bearer(new_token))
    assert_refused(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")

    code, out, err = await _cli(capsys, "list", "--school", "751234")
    assert "revoked" in out
    assert f"replaced by {new_id}" in out

    code, out, err = await _cli(capsys, "events", "--school", "751234")
    assert code == 0, err
    for event in ("created", "rotated", "revoked", "used", "refused"):
        assert event in out
    assert f"operator:{getpass.getuser()}" in out
    assert "GET /api/schools/{school_id}/overdue" in out
    code, out, err = await _cli(capsys, "events", "--school", "751234", "--credential", new_id)
    assert code == 0, err
    assert credential_id not in out.replace(f"replaces {credential_id}", "")
    assert token not in out + err
    assert new_token not in out + err


async def test_the_token_is_printed_once_and_logged_nowhere(
    seeded: Demo,
    cli_env: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    code, out, err = await _cli(capsys, "create", "--school", "751234", "--label", "System")
    assert code == 0, (out, err)
    token = out.strip()
    assert token.startswith("amu_")
    assert (out + err).count(token) == 1
    secret = token.split("_", 2)[2]
    assert secret not in caplog.text
    code, out, err = await _cli(capsys, "list", "--school", "751234")
    assert secret not in out + err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create", "--school", "999999", "--label", "x"], "--school: there is no school 999999"),
        (["list", "--school", "999999"], "--school: there is no school 999999"),
        (["create", "--school", "751234", "--label", "x" * 101], "--label: is longer than 100"),
        (["create", "--school", "751234", "--label", " "], "--label: has no visible character"),
        (["revoke", "--school", "751234", "nosuch"], "ID: the school has no credential nosuch"),
        (["rotate", "--school", "751234", "nosuch"], "ID: the school has no credential nosuch"),
        (
            ["rotate", "--school", "751234", "nosuch", "--overlap", "200"],
            "--overlap: must be between 0 and 7 days",
        ),
        (
            ["events", "--school", "751234", "--credential", "nosuch"],
            "--credential: the school has no credential nosuch",
        ),
    ],
)
async def test_bad_input_names_the_option(
    seeded: Demo,
    cli_env: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    code, out, err = await _cli(capsys, *args)
    assert code == 2
    assert message in " ".join(err.split())
    assert out == ""


async def test_another_schools_credential_is_not_found(
    seeded: Demo, cli_env: Path, capsys: pytest.CaptureFixture[str], conn: asyncpg.Connection
) -> None:
    theirs = seeded.private.split("_")[1]
    code, _, err = await _cli(capsys, "revoke", "--school", "751234", theirs)
    assert code == 2
    assert f"ID: the school has no credential {theirs}" in " ".join(err.split())
    assert await conn.fetchval("SELECT count(*) FROM api_credentials WHERE revoked_at IS NULL") == 2


async def test_a_malformed_school_number_names_the_option(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        await asyncio.to_thread(cli.main, ["credentials", "list", "--school", "75123"])
    assert exited.value.code == 2
    assert "--school: an institution number is 6 digits" in capsys.readouterr().err
