"""Retention: 30 years after the exam only the personal data goes, the log stays verifiable,
and the database refuses every other change, even to the retention job."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from issuers import retention
from issuers.delivery import consent_store, print_store
from registry import audit
from service import cli
from tests.conftest import Demo, FixedClock
from tests.helpers import Client, post_team, team_body

OLD_CPR = "150560-1234"
NEW_CPR = "010190-1234"


async def _issue(
    client: Client, demo: Demo, reference: str, cpr: str, *, start: str, end: str
) -> dict[str, Any]:
    body = team_body(
        [{"cpr": cpr, "name": "Deltager", "judgement": "goal-reached"}],
        reference=reference,
        goal="42638",  # no exam attached: kept 30 years after the course's end
        start=start,
        end=end,
    )
    response = await post_team(client, demo.public, body, key=reference)
    assert response.status_code == 201, response.text
    certificate: dict[str, Any] = response.json()["participants"][0]["certificate"]
    return certificate


async def _two(client: Client, demo: Demo) -> tuple[dict[str, Any], dict[str, Any]]:
    old = await _issue(client, demo, "H-1990", OLD_CPR, start="1990-05-01", end="1990-05-02")
    new = await _issue(client, demo, "H-2026", NEW_CPR, start="2026-11-09", end="2026-11-10")
    return old, new


async def test_the_report_lists_only_what_passed_30_years_and_changes_nothing(
    client: Client, seeded: Demo, conn: asyncpg.Connection, clock: FixedClock
) -> None:
    old, _ = await _two(client, seeded)
    report = await retention.run_retention(conn, now=clock.now, apply=False)
    assert [d.number for d in report.due] == [old["number"]]
    assert str(report.due[0].retain_until) == "2020-05-02"
    assert report.participations == 1
    assert not report.applied
    assert await conn.fetchval("SELECT count(*) FROM certificates WHERE erased_at IS NULL") == 2


async def test_applying_removes_personal_data_and_keeps_the_log_verifiable(
    client: Client, seeded: Demo, conn: asyncpg.Connection, clock: FixedClock
) -> None:
    old, new = await _two(client, seeded)
    note = (await client.get("/api/log/checkpoint")).content
    leaves_before = await conn.fetch("SELECT * FROM log_leaves ORDER BY idx")

    report = await retention.run_retention(conn, now=clock.now, apply=True)
    assert report.erased == [old["number"]]
    row = await conn.fetchrow(
        "SELECT cpr, payload, jws, erased_at, status_list_index FROM certificates "
        "WHERE number = $1",
        old["number"],
    )
    assert row is not None
    assert (row["cpr"], row["payload"], row["jws"]) == (None, None, None)
    assert row["erased_at"] is not None
    person = await conn.fetchrow(
        "SELECT cpr, name, facts, result_group FROM participations WHERE erased_at IS NOT NULL"
    )
    assert person is not None
    assert (person["cpr"], person["name"], person["facts"]) == (None, None, "{}")
    assert person["result_group"] == 2  # the result is not personal data once nameless
    kept = await conn.fetchval("SELECT cpr FROM certificates WHERE number = $1", new["number"])
    assert kept == NEW_CPR

    assert await conn.fetch("SELECT * FROM log_leaves ORDER BY idx") == leaves_before
    result = await audit.audit(conn, note)
    assert result.ok, [str(f) for f in result.findings]
    assert (result.certificates, result.erased) == (2, 1)
    # Past retention the register no longer knows the certificate's content.
    gone = await client.get(
        f"/api/verify/{old['number']}", params={"code": old["verificationCode"]}
    )
    assert gone.json()["status"] == "unknown"
    kept_one = await client.get(
        f"/api/verify/{new['number']}", params={"code": new["verificationCode"]}
    )
    assert kept_one.json()["status"] == "valid"
    # A second run finds nothing more.
    again = await retention.run_retention(conn, now=clock.now, apply=True)
    assert (again.due, again.erased, again.participations) == ([], [], 0)


@pytest.mark.parametrize(
    ("statement", "which"),
    [
        # A certificate not yet past its date, even with the switch on.
        (
            (
                "UPDATE certificates SET cpr = NULL, payload = NULL, jws = NULL, erased_at = now() "
                "WHERE number = $1"
            ),
            "new",
        ),
        # Past its date, but changing more than the personal columns.
        (
            (
                "UPDATE certificates SET cpr = NULL, payload = NULL, jws = NULL, "
                "erased_at = now(), verification_code = 'AAAAAAAA' WHERE number = $1"
            ),
            "old",
        ),
        # Past its date, but rewriting instead of removing.
        ("UPDATE certificates SET jws = 'x' WHERE number = $1", "old"),
        ("DELETE FROM certificates WHERE number = $1", "old"),
    ],
)
async def test_the_database_allows_only_the_retention_update(
    client: Client, seeded: Demo, conn: asyncpg.Connection, statement: str, which: str
) -> None:
    old, new = await _two(client, seeded)
    number = old["number"] if which == "old" else new["number"]
    async with conn.transaction():
        await conn.execute("SELECT set_config('amu.retention', 'on', true)")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(statement, number)


async def test_without_the_switch_even_the_retention_update_is_refused(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    old, _ = await _two(client, seeded)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await conn.execute(
            "UPDATE certificates SET cpr = NULL, payload = NULL, jws = NULL, erased_at = now() "
            "WHERE number = $1",
            old["number"],
        )
    # The switch is transaction-local: on in one transaction, off in the next.
    async with conn.transaction():
        await conn.execute("SELECT set_config('amu.retention', 'on', true)")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await conn.execute(
            "UPDATE certificates SET cpr = NULL, payload = NULL, jws = NULL, erased_at = now() "
            "WHERE number = $1",
            old["number"],
        )


async def test_the_cli_reports_and_applies(
    client: Client,
    seeded: Demo,
    conn: asyncpg.Connection,
    cli_env: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    old, _ = await _two(client, seeded)
    assert await asyncio.to_thread(cli.main, ["retention"]) == 0
    assert old["number"] in capsys.readouterr().out
    assert await conn.fetchval("SELECT count(*) FROM certificates WHERE erased_at IS NULL") == 2
    assert await asyncio.to_thread(cli.main, ["retention", "--apply"]) == 0
    assert "Erased: 1" in capsys.readouterr().out
    assert await conn.fetchval("SELECT count(*) FROM certificates WHERE erased_at IS NULL") == 1


# -- delivery's personal data (docs/delivery.md, "Retention") ----------------------------------

STRANGER = "030303-3333"  # consented, never reported by the school


async def _print_job(conn: asyncpg.Connection, number: str, key: str, at: dt.datetime) -> None:
    await print_store.insert_print_job(
        conn,
        spool_key=key,
        school_id="751234",
        certificate_number=number,
        participant_name="Deltager",
        reason="exempt-from-digital-post",
        spool_date=at.date(),
        pdf=b"%PDF-1.7 ...",
        now=at,
    )


async def test_print_jobs_lose_pdf_and_name_after_the_print_retention(
    client: Client, seeded: Demo, conn: asyncpg.Connection, clock: FixedClock
) -> None:
    _, new = await _two(client, seeded)
    await _print_job(conn, new["number"], "job-old", clock.now - dt.timedelta(days=40))
    await _print_job(conn, new["number"], "job-new", clock.now - dt.timedelta(days=2))

    report = await retention.run_retention(conn, now=clock.now, apply=False)
    assert report.print_jobs == 1
    assert await conn.fetchval("SELECT count(*) FROM print_jobs WHERE erased_at IS NULL") == 2

    applied = await retention.run_retention(conn, now=clock.now, apply=True)
    assert applied.print_jobs == 1
    rows = await conn.fetch(
        "SELECT spool_key, pdf, participant_name, erased_at, certificate_number "
        "FROM print_jobs ORDER BY id"
    )
    assert [(r["spool_key"], r["pdf"] is None, r["participant_name"]) for r in rows] == [
        ("job-old", True, None),
        ("job-new", False, "Deltager"),
    ]
    # The row stays as delivery history: which certificate went on paper, and when.
    assert rows[0]["erased_at"] == clock.now
    assert rows[0]["certificate_number"] == new["number"]
    # The print list no longer offers what cannot be printed.
    old_day = (clock.now - dt.timedelta(days=40)).date()
    assert await print_store.print_list(conn, "751234", old_day) == []

    # A shorter print retention (the AMU_PRINT_RETENTION_DAYS setting) takes the other too.
    shorter = await retention.run_retention(
        conn, now=clock.now, apply=True, print_retention=dt.timedelta(days=1)
    )
    assert shorter.print_jobs == 1
    # The database keeps the blanking whole: half a print job is refused.
    await _print_job(conn, new["number"], "job-later", clock.now)
    for half in (
        "pdf = NULL",
        "participant_name = NULL, erased_at = now()",
        "pdf = NULL, participant_name = NULL",
    ):
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute(
                f"UPDATE print_jobs SET {half} WHERE spool_key = 'job-later'"  # noqa: S608
            )


async def test_consents_go_with_the_last_personal_data_of_that_person_at_that_school(
    client: Client, seeded: Demo, conn: asyncpg.Connection, clock: FixedClock
) -> None:
    await _two(client, seeded)
    long_ago = dt.datetime(1990, 4, 1, tzinfo=dt.UTC)
    answers = [
        (OLD_CPR, long_ago),  # certificate past 30 years: goes with it
        (NEW_CPR, long_ago),  # a certificate still kept: stays, however old the consent
        (STRANGER, clock.now - dt.timedelta(days=2 * 365)),  # never reported: goes
        (STRANGER, clock.now - dt.timedelta(days=800)),
    ]
    for cpr, at in answers:
        await consent_store.record_consent(
            conn, school_id="751234", cpr=cpr, consented=True, now=at
        )
    recent = "040404-4444"  # consented days ago, before the school reports the team: stays
    await consent_store.record_consent(
        conn, school_id="751234", cpr=recent, consented=True, now=clock.now
    )

    report = await retention.run_retention(conn, now=clock.now, apply=False)
    # Only what is past already: the old certificate's holder is freed by applying.
    assert report.consents == 1
    assert await conn.fetchval("SELECT count(*) FROM eboks_consents") == 5

    applied = await retention.run_retention(conn, now=clock.now, apply=True)
    assert applied.consents == 2
    kept = await conn.fetch("SELECT DISTINCT cpr FROM eboks_consents ORDER BY cpr")
    assert [r["cpr"] for r in kept] == sorted([NEW_CPR, recent])
    again = await retention.run_retention(conn, now=clock.now, apply=True)
    assert (again.consents, again.print_jobs) == (0, 0)
