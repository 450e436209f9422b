"""Indberet hold: a school reports a team by form or by file, sees what the rules decide first
(nothing stored), then reports it once through the API's path, however often it presses."""

from __future__ import annotations

import io
import re
from typing import Any

import asyncpg
from openpyxl import Workbook

from issuers import results_file
from tests.conftest import Demo
from tests.helpers import ASE, BO, Client
from tests.service.pages.helpers import (
    CSRF_FIELD,
    KAREN,
    MADS,
    csrf_of,
    person_login,
    school_login,
    submit,
)

NEW = "/skole/hold/ny"
UPLOAD = "/skole/hold/upload"
COMMIT = "/skole/hold/indberet"
_KEY = re.compile(r'name="noegle" value="([^"]+)"')
_NUMBER = re.compile(r'class="mono nowrap certificate-number">([0-9]{4}-[0-9]{7})<')

TEAM = {
    "maal": "48113",
    "hold": "H-201",
    "start": "2026-11-09",
    "slut": "2026-11-10",
    "cpr_0": ASE,
    "navn_0": "Åse Ødegård",
    "resultat_0": "passed",
    "cpr_1": BO,
    "navn_1": "Bo Jensen",
    "resultat_1": "failed",
    "raekker": "5",
    "handling": "vis",
}
CSV = (
    "goal,team_reference,start_date,end_date,cpr,name,outcome\n"
    f"48113,H-301,2026-11-09,2026-11-10,{ASE},Åse Ødegård,bestået\n"
    f"48113,H-301,09-11-2026,10-11-2026,{BO},Bo Jensen,udeblevet\n"
    f"48113,H-302,2026-11-09,2026-11-10,{BO},Bo Jensen,passed\n"
)


async def _counts(conn: asyncpg.Connection) -> tuple[int, int, int]:
    return (
        await conn.fetchval("SELECT count(*) FROM teams"),
        await conn.fetchval("SELECT count(*) FROM participations"),
        await conn.fetchval("SELECT count(*) FROM certificates"),
    )


def _key(html: str) -> str:
    match = _KEY.search(html)
    assert match, html
    return match.group(1)


async def _commit(client: Client, preview: str) -> Any:
    return await client.post(
        COMMIT,
        data={"noegle": _key(preview), CSRF_FIELD: csrf_of(preview)},
        follow_redirects=False,
    )


async def _upload(client: Client, name: str, data: bytes) -> Any:
    form = await client.get(UPLOAD)
    return await client.post(
        UPLOAD,
        data={CSRF_FIELD: csrf_of(form.text)},
        files={"fil": (name, data, "application/octet-stream")},
        follow_redirects=False,
    )


def _xlsx(text: str) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for line in text.strip().splitlines():
        sheet.append(line.split(","))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def test_the_form_previews_then_reports_once(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    await school_login(client, KAREN)
    overview = await client.get("/skole")
    assert f'href="{NEW}"' in overview.text
    before = await _counts(conn)
    preview = await submit(client, NEW, NEW, TEAM)
    assert preview.status_code == 200, preview.text
    html = preview.text
    assert "Forhåndsvisning" in html
    assert "Bestået – bevis" in html
    assert "Ikke bestået" in html
    assert "AMU-bevis" in html
    assert "Bevis senest" in html
    assert "Klagefrist" in html
    assert 'aria-invalid="true"' not in html
    assert ASE not in html.replace(f'value="{ASE}"', "")  # masked in the preview
    assert await _counts(conn) == before  # nothing stored
    done = await _commit(client, html)
    assert done.status_code == 200, done.text
    numbers = _NUMBER.findall(done.text)
    assert len(numbers) == 1  # Åse passed; Bo has none
    assert "Holdet er indberettet" in done.text
    after = await _counts(conn)
    assert after == (before[0] + 1, before[1] + 2, before[2] + 1)
    # A double click or a reload: the same answer, nothing reported twice.
    again = await _commit(client, html)
    assert again.status_code == 200, again.text
    assert _NUMBER.findall(again.text) == numbers
    assert await _counts(conn) == after
    goal = await conn.fetchval("SELECT goal_number FROM teams WHERE reference = 'H-201'")
    assert goal == "48113"
    listed = await client.get("/skole")
    assert numbers[0] in listed.text


async def test_every_bad_field_is_named_and_nothing_is_kept(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    await school_login(client, KAREN)
    before = await _counts(conn)
    bad = {**TEAM, "cpr_0": "320190-1234", "navn_1": "", "slut": "2026-11-0x"}
    answer = await submit(client, NEW, NEW, bad)
    assert answer.status_code == 400, answer.text
    html = answer.text
    assert 'id="cpr_0" name="cpr_0"' in html
    assert re.search(r'id="cpr_0"[^>]*aria-invalid="true" aria-describedby="cpr_0-fejl"', html)
    assert 'id="cpr_0-fejl" class="error">Ikke et CPR-nummer' in html
    assert re.search(r'id="navn_1"[^>]*aria-invalid="true"', html)
    assert re.search(r'id="slut"[^>]*aria-invalid="true"', html)
    assert 'href="#cpr_0">Deltager 1, cpr-nummer</a>' in html
    assert "noegle" not in html
    # The rules' refusals, too: an exam date before the course and an unknown goal.
    ruled = await submit(client, NEW, NEW, {**TEAM, "proevedato_0": "2026-11-01"})
    assert ruled.status_code == 400
    assert re.search(r'id="proevedato_0"[^>]*aria-invalid="true"', ruled.text)
    assert "Prøvedatoen ligger før holdets startdato." in ruled.text
    assert "Bestået" not in ruled.text.split("Ikke bestået")[0].split("Forhåndsvisning")[1]
    unknown = await submit(client, NEW, NEW, {**TEAM, "maal": "99999"})
    assert unknown.status_code == 400
    assert 'id="maal-fejl" class="error">Målet findes ikke i målkataloget.' in unknown.text
    empty = await submit(client, NEW, NEW, {"maal": "48113", "handling": "vis"})
    assert empty.status_code == 400
    assert "Udfyld mindst én deltager." in empty.text
    assert await _counts(conn) == before
    # A preview with errors leaves no key to report with.
    stale = await submit(client, NEW, COMMIT, {"noegle": ""})
    assert stale.status_code == 409


async def test_more_rows_and_the_goal_search(client: Client, seeded: Demo) -> None:
    await school_login(client, MADS)  # a registrar may report
    more = await submit(client, NEW, NEW, {**TEAM, "handling": "flere"})
    assert more.status_code == 200
    assert 'name="cpr_9"' in more.text
    assert 'name="cpr_10"' not in more.text
    assert f'value="{ASE}"' in more.text  # what was entered stays
    found = await client.get(f"{NEW}?soeg=48113")
    assert found.status_code == 200
    assert '<option value="48113">' in found.text
    listed = await client.get(NEW)
    assert '<datalist id="maal-liste">' in listed.text
    # The registrar reports, too.
    preview = await submit(client, NEW, NEW, {**TEAM, "hold": "H-MADS"})
    assert (await _commit(client, preview.text)).status_code == 200


async def test_a_person_or_nobody_is_sent_to_the_staff_login(client: Client, seeded: Demo) -> None:
    for path in (NEW, UPLOAD):
        response = await client.get(path, follow_redirects=False)
        assert response.headers["location"] == "/skole/log-ind"
    await person_login(client, ASE)
    response = await client.get(NEW, follow_redirects=False)
    assert response.headers["location"] == "/skole/log-ind"


async def test_a_form_without_its_csrf_token_is_refused(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    await school_login(client, KAREN)
    before = await _counts(conn)
    preview = await submit(client, NEW, NEW, TEAM)
    refused = await client.post(COMMIT, data={"noegle": _key(preview.text)})
    assert refused.status_code == 403
    assert "Handlingen blev afvist" in refused.text
    assert (await client.post(NEW, data=TEAM)).status_code == 403
    assert await _counts(conn) == before


async def test_a_csv_upload_previews_every_team_then_reports(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    await school_login(client, KAREN)
    before = await _counts(conn)
    preview = await _upload(client, "hold.csv", CSV.encode())
    assert preview.status_code == 200, preview.text
    assert "Hold H-301" in preview.text
    assert "Hold H-302" in preview.text
    assert "Afbrudt eller ikke mødt til prøven" in preview.text
    assert await _counts(conn) == before
    done = await _commit(client, preview.text)
    assert done.status_code == 200, done.text
    assert "Holdene er indberettet" in done.text
    assert len(_NUMBER.findall(done.text)) == 2  # Åse on H-301, Bo on H-302
    assert await _counts(conn) == (before[0] + 2, before[1] + 3, before[2] + 2)
    # The same file again is a new preview: its teams are already reported.
    repeat = await _upload(client, "hold.csv", CSV.encode())
    clash = await _commit(client, repeat.text)
    assert clash.status_code == 409
    assert "allerede indberettet" in clash.text
    assert await _counts(conn) == (before[0] + 2, before[1] + 3, before[2] + 2)


async def test_an_xlsx_upload_reports_too(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    await school_login(client, KAREN)
    preview = await _upload(client, "Hold.XLSX", _xlsx(CSV.replace("H-30", "X-30")))
    assert preview.status_code == 200, preview.text
    done = await _commit(client, preview.text)
    assert len(_NUMBER.findall(done.text)) == 2


async def test_a_bad_file_is_a_clear_400_page(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    await school_login(client, KAREN)
    before = await _counts(conn)
    cases = [
        ("hold.pdf", b"%PDF-1.7", "Filtypen kendes ikke"),
        ("hold.xls", b"\xd0\xcf\x11\xe0", "Gem regnearket som .xlsx"),
        ("hold.xlsx", b"PK\x03\x04broken", "Regnearket kan ikke læses"),
        ("hold.csv", b"", "Filen er tom."),
        ("hold.xlsx", _xlsx(""), "tom"),
        ("hold.csv", b"x" * (results_file.MAX_BYTES + 1), "større end 2 MB"),
        ("hold.csv", b"goal,holdet\n1,2\n", "kolonne"),
    ]
    for name, data, words in cases:
        answer = await _upload(client, name, data)
        assert answer.status_code == 400, (name, answer.text)
        assert words in answer.text, name
        assert "Filen kan ikke bruges" in answer.text
    # A file with bad rows: the preview names line and column, and offers no "Indberet".
    bad = CSV.replace(f"{BO},Bo Jensen,udeblevet", "0101,Bo Jensen,måske")
    answer = await _upload(client, "hold.csv", bad.encode())
    assert answer.status_code == 400
    assert "Linje 3, kolonne cpr:" in answer.text
    assert "Linje 3, kolonne outcome:" in answer.text
    assert "noegle" not in answer.text
    # No file at all.
    form = await client.get(UPLOAD)
    empty = await client.post(UPLOAD, data={CSRF_FIELD: csrf_of(form.text)}, files={})
    assert empty.status_code in {400, 403}
    assert await _counts(conn) == before


async def test_a_body_far_over_the_limit_is_refused_unread(client: Client, seeded: Demo) -> None:
    await school_login(client, KAREN)
    form = await client.get(UPLOAD)
    huge = b"x" * (5 * 1024 * 1024)
    answer = await client.post(
        UPLOAD,
        data={CSRF_FIELD: csrf_of(form.text)},
        files={"fil": ("hold.csv", huge, "text/csv")},
    )
    assert answer.status_code in {400, 413}
    assert "Der skete en fejl" not in answer.text
