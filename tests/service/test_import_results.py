"""``amu-bevis import-results`` end to end: a file of results is issued through the bulk path
with the API's rules and signing; the certificates verify, the audit passes, a rerun issues
nothing, bad rows are refused with line, column and reason (never a CPR number), and a team
imported in bulk has the same record as one reported through the API."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from registry import audit, codes
from registry.keys import FileKeyStore
from service import cli, results_cli
from tests.conftest import Demo, FixedClock
from tests.helpers import ASE, BO, Client, login, post_team, team_body

HEADER = "goal,team_reference,start_date,end_date,cpr,name,outcome\n"


@pytest.fixture
def keys(tmp_path: Path) -> FileKeyStore:
    """The demo's keys where the command finds them (AMU_KEY_STORE=file in the data dir)."""
    return FileKeyStore(tmp_path / "keys")


@pytest.fixture(autouse=True)
def _real_time(clock: FixedClock) -> None:
    clock.now = dt.datetime.now(dt.UTC)  # the command stamps with the system clock


def _cpr(i: int) -> str:
    return f"{(i % 28) + 1:02d}{(i // 28) % 12 + 1:02d}80-{1000 + i % 9000:04d}"


def _team_rows(reference: str, people: list[tuple[str, str, str]], goal: str = "48113") -> str:
    return "".join(
        f"{goal},{reference},2026-11-09,2026-11-10,{cpr},{name},{outcome}\n"
        for cpr, name, outcome in people
    )


async def _import(capsys: pytest.CaptureFixture[str], path: Path, *more: str) -> tuple[int, str]:
    code = await asyncio.to_thread(
        cli.main, ["import-results", str(path), "--school", "751234", *more]
    )
    captured = capsys.readouterr()
    return code, captured.out + captured.err


async def _certificates(conn: asyncpg.Connection, reference: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT c.number, c.verification_code, c.cpr, c.payload FROM certificates c
           JOIN participations p ON p.id = c.participation_id JOIN teams t ON t.id = p.team_id
           WHERE t.reference = $1 ORDER BY c.number""",
        reference,
    )


async def test_a_file_is_issued_verifies_audits_and_a_rerun_issues_nothing(
    seeded: Demo,
    client: Client,
    conn: asyncpg.Connection,
    cli_env: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    file = cli_env / "term.csv"
    file.write_text(
        HEADER
        + _team_rows("F-1", [(ASE, "Åse Ødegård", "passed"), (BO, "Bo Jensen", "failed")])
        + _team_rows("F-2", [(_cpr(i), f"Deltager {i}", "passed") for i in range(3)])
        + _team_rows("F-3", [(ASE, "Åse Ødegård", "goal-reached")], goal="42638")
    )
    code, out = await _import(capsys, file)
    assert code == 0, out
    assert "Issued 3 teams (6 participants, 5 certificates)" in out
    assert "already present 0 teams; refused 0 teams" in out
    assert ASE not in out
    assert BO not in out
    assert not (cli_env / "term.csv.refused.csv").exists()

    issued = [*await _certificates(conn, "F-1"), *await _certificates(conn, "F-2")]
    assert len(issued) == 4
    for row in issued:
        answer = await client.get(
            f"/api/verify/{row['number']}",
            params={"code": codes.display_code(row["verification_code"])},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "valid"
    jobs = await conn.fetchval("SELECT count(*) FROM delivery_jobs WHERE purpose = 'issue'")
    assert jobs == 5
    mine = await client.get("/api/me/certificates", headers=await login(client, ASE))
    assert mine.status_code == 200
    assert len(mine.json()) == 2  # F-1 (48113) and F-3 (42638)

    note = (await client.get("/api/log/checkpoint")).content
    report = await audit.audit(conn, note)
    assert report.ok, [str(f) for f in report.findings]
    assert report.certificates == 5

    code, out = await _import(capsys, file)
    assert code == 0, out
    assert "Issued 0 teams (0 participants, 0 certificates); already present 3 teams" in out
    assert await conn.fetchval("SELECT count(*) FROM certificates") == 5


async def test_bad_rows_are_refused_and_the_good_teams_issued(
    seeded: Demo, conn: asyncpg.Connection, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad_cpr = "311390-1234"  # no 31 December 1390 ... nor a 13th month
    file = cli_env / "mixed.csv"
    file.write_text(
        HEADER
        + _team_rows("G-1", [(ASE, "Åse Ødegård", "passed")])  # line 2: good
        + _team_rows("G-2", [(BO, "Bo Jensen", "passed"), (bad_cpr, "Ny", "passed")])  # 3-4
        + _team_rows("G-3", [(ASE, "Åse Ødegård", "passed")], goal="99999")  # line 5
        # line 6-7: the same team with two different end dates
        + "48113,G-4,2026-11-09,2026-11-10,010190-1234,Åse Ødegård,passed\n"
        + "48113,G-4,2026-11-09,2026-11-11,020285-4321,Bo Jensen,passed\n"
    )
    refused = cli_env / "out" / "refused.csv"
    refused.parent.mkdir()
    code, out = await _import(capsys, file, "--refused-file", str(refused))
    assert code == 1, out
    assert "Issued 1 teams (1 participants, 1 certificates)" in out
    assert "refused 3 teams" in out
    text = refused.read_text()
    for cpr in (bad_cpr, ASE, BO):
        assert cpr not in text + out
    rows = list(csv.DictReader(text.splitlines()))
    where = {(r["line"], r["field"]) for r in rows}
    assert ("4", "cpr") in where
    assert ("5", "goal") in where
    assert ("7", "end_date") in where
    assert all(r["reason"] for r in rows)
    # G-2's good row and the whole of G-4 were not issued either.
    assert [r["reference"] for r in await conn.fetch("SELECT reference FROM teams")] == ["G-1"]


async def test_a_team_imported_in_bulk_matches_the_same_team_reported_through_the_api(
    seeded: Demo,
    client: Client,
    conn: asyncpg.Connection,
    cli_env: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    people = [(ASE, "Åse Ødegård", "passed"), (BO, "Bo Jensen", "failed")]
    file = cli_env / "one.csv"
    file.write_text(HEADER + _team_rows("SAME-BULK", people))
    code, out = await _import(capsys, file)
    assert code == 0, out
    body = team_body(reference="SAME-API")
    answer = await post_team(client, seeded.public, body)
    assert answer.status_code == 201, answer.text

    async def shape(reference: str) -> dict[str, Any]:
        certificates = []
        for row in await _certificates(conn, reference):
            record = json.loads(row["payload"])
            for varies in ("number", "issuedAt", "team"):
                record.pop(varies)
            certificates.append((row["cpr"], record))
        participations = await conn.fetch(
            """SELECT p.cpr, p.name, p.facts, p.result_group, p.result_category,
                      p.result_due_by, a.seq, a.attempt
               FROM participations p JOIN teams t ON t.id = p.team_id
               LEFT JOIN exam_attempts a ON a.participation_id = p.id
               WHERE t.reference = $1 ORDER BY p.cpr, a.seq""",
            reference,
        )
        jobs = await conn.fetch(
            """SELECT j.purpose, j.due_on, j.state, j.school_id FROM delivery_jobs j
               JOIN certificates c ON c.number = j.certificate_number
               JOIN participations p ON p.id = c.participation_id
               JOIN teams t ON t.id = p.team_id WHERE t.reference = $1""",
            reference,
        )
        leaves = await conn.fetch(
            """SELECT l.entry FROM log_leaves l
               JOIN certificates c ON c.number = l.certificate_number
               JOIN participations p ON p.id = c.participation_id
               JOIN teams t ON t.id = p.team_id WHERE t.reference = $1""",
            reference,
        )
        return {
            "certificates": sorted(certificates, key=str),
            "participations": [dict(r) for r in participations],
            "jobs": [dict(r) for r in jobs],
            "leaf_fields": [sorted(json.loads(r["entry"])) for r in leaves],
        }

    bulk, api = await shape("SAME-BULK"), await shape("SAME-API")
    assert len(bulk["certificates"]) == 1
    assert bulk == api


async def test_two_thousand_rows_read_in_pieces(
    seeded: Demo,
    conn: asyncpg.Connection,
    cli_env: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(results_cli, "CHUNK_BYTES", 20_000)  # as a file past the reader's limit
    file = cli_env / "big.csv"
    lines = [HEADER]
    for team in range(80):
        people = [(_cpr(i), f"Deltager {i}", "passed") for i in range(25)]
        lines.append(_team_rows(f"B-{team}", people))
    file.write_text("".join(lines))
    code, out = await _import(capsys, file)
    assert code == 0, out
    assert "Issued 80 teams (2000 participants, 2000 certificates)" in out
    assert await conn.fetchval("SELECT count(*) FROM log_leaves WHERE event_id IS NOT NULL") == 2000

    # A bad row far into the file is named by its line in the file, not in its piece.
    lines = file.read_text().splitlines(keepends=True)
    lines[1700] = lines[1700].replace("2026-11-09", "2026-13-09")
    file.write_text("".join(lines))
    refused = cli_env / "big.refused.csv"
    code, out = await _import(capsys, file, "--refused-file", str(refused))
    assert code == 1, out
    assert "already present 79 teams" in out
    assert "1701,start_date," in refused.read_text()


async def test_a_school_that_cannot_issue_issues_nothing(
    seeded: Demo, conn: asyncpg.Connection, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = cli_env / "other.csv"
    file.write_text(HEADER + _team_rows("U-1", [(ASE, "Åse Ødegård", "passed")]))
    code = await asyncio.to_thread(cli.main, ["import-results", str(file), "--school", "999999"])
    out = capsys.readouterr().err
    assert code == 2, out
    assert "--school: unknown school" in out
    assert await conn.fetchval("SELECT count(*) FROM teams") == 0
