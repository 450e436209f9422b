"""``amu-bevis staff`` end to end against the test database: an operator appoints the first
administrator of a newly onboarded school, who then logs in on the pages and administers it;
revoking takes effect at the next login; the last administrator stays; bad input names the
option; every change names the operator."""

from __future__ import annotations

import asyncio
import getpass
from pathlib import Path

import asyncpg
import pytest

from issuers import school_store, staff
from service import cli
from tests.conftest import Demo
from tests.helpers import Client
from tests.service.pages.helpers import KAREN, PETER, school_login, staff_login

NEW_SCHOOL = "751299"  # of the same organisation (CVR number) as Peter's


async def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = await asyncio.to_thread(cli.main, ["staff", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
async def onboarded(seeded: Demo, conn: asyncpg.Connection) -> str:
    await school_store.insert_school(
        conn, school_id=NEW_SCHOOL, name="Erhvervsskolen Nordvest, Vest", cvr="29183746",
        ownership="public",
    )  # fmt: skip
    return NEW_SCHOOL


async def test_an_operator_appoints_the_first_administrator(
    onboarded: str,
    client: Client,
    conn: asyncpg.Connection,
    cli_env: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    operator = f"operator:{getpass.getuser()}"
    code, out, err = await _cli(capsys, "list", "--school", onboarded)
    assert (code, out.strip()) == (0, "The school has no staff roles"), err
    assert (await staff_login(client, PETER)).status_code == 403  # no role yet

    code, out, err = await _cli(
        capsys, "grant", "--school", onboarded, "--subject", PETER,
        "--role", "administrator", "--name", "Peter Nielsen",
    )  # fmt: skip
    assert code == 0, err
    assert f"Granted administrator at school {onboarded} to {PETER}" in out
    code, out, err = await _cli(capsys, "list", "--school", onboarded)
    assert code == 0, err
    assert PETER in out
    assert "Peter Nielsen" in out
    assert operator in out
    assert "live" in out

    # Peter logs in and administers the school on the pages.
    await school_login(client, PETER)
    page = await client.get("/skole/medarbejdere")
    assert page.status_code == 200
    assert "Erhvervsskolen Nordvest, Vest" in page.text
    assert (await client.get("/skole/api-noegler")).status_code == 200

    # The last administrator stays; with another one appointed, the operator may revoke him.
    code, out, err = await _cli(capsys, "revoke", "--school", onboarded, "--subject", PETER)
    assert code == 2
    assert "--subject: this is the school's last administrator" in " ".join(err.split())
    code, _, err = await _cli(
        capsys, "grant", "--school", onboarded, "--subject", KAREN, "--role", "administrator"
    )
    assert code == 0, err
    code, out, err = await _cli(capsys, "revoke", "--school", onboarded, "--subject", PETER)
    assert code == 0, err
    assert f"Revoked the administrator role of {PETER}" in out
    assert await staff.role_at(conn, onboarded, PETER) is None
    # His session administers no more, and his next login finds no role.
    assert (await client.get("/skole/medarbejdere")).status_code == 403
    assert (await staff_login(client, PETER)).status_code == 403
    row = await conn.fetchrow(
        """SELECT granted_by, revoked_by, name FROM school_staff
           WHERE subject = $1 AND school_id = $2""",
        PETER,
        onboarded,
    )
    assert row is not None
    assert tuple(row) == (operator, operator, "Peter Nielsen")
    code, out, err = await _cli(capsys, "list", "--school", onboarded, "--history")
    assert code == 0, err
    assert f"by {operator}" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["list", "--school", "999999"], "--school: there is no school 999999"),
        (
            ["grant", "--school", "999999", "--subject", "x", "--role", "registrar"],
            "--school: there is no school 999999",
        ),
        (
            ["grant", "--school", "751234", "--subject", "a b", "--role", "registrar"],
            "--subject: has a space in it",
        ),
        (
            ["grant", "--school", "751234", "--subject", "x", "--role", "registrar", "--name", "1"],
            "--name: has no letter",
        ),
        (
            ["grant", "--school", "751234", "--subject", KAREN, "--role", "administrator"],
            f"--role: {KAREN} is administrator already",
        ),
        (
            ["revoke", "--school", "751234", "--subject", "someone-else"],
            "--subject: someone-else holds no role at the school",
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


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["list", "--school", "75123"], "--school: an institution number is 6 digits"),
        (
            ["grant", "--school", "751234", "--subject", "x", "--role", "owner"],
            "--role: invalid choice",
        ),
    ],
)
async def test_malformed_options_are_refused_by_the_parser(
    cli_env: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        await asyncio.to_thread(cli.main, ["staff", *args])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err
