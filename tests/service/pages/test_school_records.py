"""The school's records pages: teams, participants and certificates searched and paged; later
facts recorded through the domain with Danish field errors and nothing stored on error;
certificates corrected, revoked and ordered on paper, found again with their new status; a
double submit recording once; another school's ids 404; no session or a person's session off
to the login; forms without their CSRF token refused; a CPR number searched only by POST, shown
masked and in no URL."""

from __future__ import annotations

import re
from typing import Any

import asyncpg
import pytest

from service.pages import school_records
from tests.conftest import Demo
from tests.helpers import ASE, BO, Client, post_team, team_body
from tests.service.pages.helpers import (
    CSRF_FIELD,
    KAREN,
    MADS,
    SOFIE,
    csrf_of,
    person_login,
    school_login,
    submit,
)

_FORM_ID = re.compile(r'name="formular_id" value="([^"]+)"')


async def _team(client: Client, seeded: Demo, reference: str = "H-101") -> dict[str, Any]:
    answer = await post_team(client, seeded.public, team_body(reference=reference), key=reference)
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def _send(client: Client, page: str, action: str, fields: dict[str, str]) -> Any:
    """GET ``page`` for its CSRF token and the form's one-time id, then POST ``fields``."""
    form = await client.get(page)
    assert form.status_code == 200, form.text
    action_at = form.text.index(f'action="{action}"')
    form_id = _FORM_ID.search(form.text, action_at)
    assert form_id, form.text
    data = {**fields, CSRF_FIELD: csrf_of(form.text), "formular_id": form_id.group(1)}
    return await client.post(action, data=data, follow_redirects=False)


async def test_teams_are_searched_and_paged(
    client: Client, seeded: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(school_records, "PAGE_SIZE", 2)
    for reference in ("H-1", "H-2", "H-3"):
        await _team(client, seeded, reference)
    await school_login(client, MADS)  # a registrar
    overview = await client.get("/skole")
    assert 'href="/skole/hold"' in overview.text
    first = await client.get("/skole/hold")
    assert first.status_code == 200
    assert first.text.count('href="/skole/hold/') == 2
    more = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert more, first.text
    second = await client.get(more.group(1).replace("&amp;", "&"))
    assert second.text.count('href="/skole/hold/') == 1
    assert 'rel="prev"' in second.text
    shown = " ".join((first.text, second.text))
    for reference in ("H-1", "H-2", "H-3"):
        assert f">{reference}</a>" in shown
    found = await client.get("/skole/hold", params={"q": "H-2"})
    assert found.text.count('href="/skole/hold/') == 1
    assert ">H-2</a>" in found.text
    by_day = await client.get("/skole/hold", params={"q": "10.11.2026"})
    assert by_day.text.count('href="/skole/hold/') == 2  # a page of the three
    none = await client.get("/skole/hold", params={"q": "nothing-like-it"})
    assert "Ingen hold passer" in none.text
    assert (await client.get("/skole/hold", params={"side": "0"})).status_code == 400


async def test_a_team_shows_its_participants_masked(client: Client, seeded: Demo) -> None:
    team = await _team(client, seeded)
    await school_login(client, KAREN)
    page = await client.get(f"/skole/hold/{team['team']}")
    assert page.status_code == 200
    assert "Åse Ødegård" in page.text
    assert "010190-xxxx" in page.text
    assert ASE not in page.text
    participation = team["participants"][0]["participation"]
    assert f'href="/skole/deltagelser/{participation}"' in page.text


async def test_participants_by_name_paged_and_by_cpr_through_post_only(
    client: Client, seeded: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(school_records, "PAGE_SIZE", 1)
    await _team(client, seeded, "H-1")
    await _team(client, seeded, "H-2")  # Åse twice, Bo twice
    await school_login(client, KAREN)
    by_name = await client.get("/skole/deltagere", params={"q": "åse"})
    assert by_name.status_code == 200
    assert "Åse Ødegård" in by_name.text
    assert "Bo Jensen" not in by_name.text
    more = re.search(r'href="([^"]+)" rel="next"', by_name.text)
    assert more
    second = await client.get(more.group(1).replace("&amp;", "&"))
    assert "Åse Ødegård" in second.text
    assert 'rel="next"' not in second.text
    # A name typed in the form goes on to the GET page.
    posted_name = await submit(client, "/skole/deltagere", "/skole/deltagere", {"q": "Bo"})
    assert posted_name.status_code == 303
    assert posted_name.headers["location"] == "/skole/deltagere?q=Bo&side=1"
    # A CPR number: looked up exactly, answered on the POST's own page, masked.
    by_cpr = await submit(client, "/skole/deltagere", "/skole/deltagere", {"q": BO})
    assert by_cpr.status_code == 200, by_cpr.text
    assert "Bo Jensen" in by_cpr.text
    assert "Åse" not in by_cpr.text
    assert by_cpr.text.count("020285-xxxx") >= 3  # the search and both participations
    assert BO not in by_cpr.text
    assert BO.replace("-", "") not in by_cpr.text
    without_hyphen = await submit(
        client, "/skole/deltagere", "/skole/deltagere", {"q": BO.replace("-", "")}
    )
    assert "Bo Jensen" in without_hyphen.text
    bad = await submit(client, "/skole/deltagere", "/skole/deltagere", {"q": "999999-9999"})
    assert bad.status_code == 400
    assert 'aria-invalid="true" aria-describedby="q-fejl' in bad.text
    # Typed into the address, it is not searched and not shown again.
    in_url = await client.get("/skole/deltagere", params={"q": BO})
    assert in_url.status_code == 400
    assert "Bo Jensen" not in in_url.text
    assert BO not in in_url.text


async def test_certificates_searched_corrected_and_found_again(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    team = await _team(client, seeded)
    number = team["participants"][0]["certificate"]["number"]
    await school_login(client, KAREN)
    listed = await client.get("/skole/beviser", params={"q": number[:6]})
    assert f'href="/skole/beviser/{number}"' in listed.text
    page = await client.get(f"/skole/beviser/{number}")
    assert page.status_code == 200
    assert "Gyldigt" in page.text
    assert "Udstedelse: venter på levering" in page.text  # its delivery job
    assert "010190-xxxx" in page.text
    assert ASE not in page.text
    # Bad input: the form again with the field's error, nothing changed.
    bad = await _send(
        client,
        f"/skole/beviser/{number}",
        f"/skole/beviser/{number}/ret",
        {"ret_grund": "participant-data", "ret_slut": "2026-11-01"},
    )
    assert bad.status_code == 400, bad.text
    assert 'id="ret_slut" name="ret_slut" type="date" value="2026-11-01" aria-invalid="true"' in (
        bad.text
    )
    assert 'id="ret_slut-fejl"' in bad.text
    no_reason = await _send(
        client, f"/skole/beviser/{number}", f"/skole/beviser/{number}/ret", {"ret_navn": "Åse Ø"}
    )
    assert no_reason.status_code == 400
    assert 'id="ret_grund-fejl"' in no_reason.text
    assert (
        await conn.fetchval("SELECT count(*) FROM certificate_events WHERE kind <> 'issued'") == 0
    )
    # The correction, submitted twice with the same form: one replacement.
    form = await client.get(f"/skole/beviser/{number}")
    form_id = _FORM_ID.search(form.text, form.text.index(f'action="/skole/beviser/{number}/ret"'))
    assert form_id
    fields = {
        "ret_grund": "participant-data",
        "ret_navn": "Åse Marie Ødegård",
        CSRF_FIELD: csrf_of(form.text),
        "formular_id": form_id.group(1),
    }
    for _ in range(2):
        done = await client.post(
            f"/skole/beviser/{number}/ret", data=fields, follow_redirects=False
        )
        assert done.status_code == 303, done.text
        assert done.headers["location"] == f"/skole/beviser/{number}?udfoert=rettet#udfoert"
    replaced = await conn.fetch(
        "SELECT replaced_by FROM certificate_events"
        " WHERE certificate_number = $1 AND kind = 'cancelled'",
        number,
    )
    assert len(replaced) == 1
    new = replaced[0]["replaced_by"]
    old_page = await client.get(f"/skole/beviser/{number}?udfoert=rettet")
    assert "Annulleret" in old_page.text
    assert "erstattet af et rettet bevis" in old_page.text
    assert f'href="/skole/beviser/{new}"' in old_page.text
    assert "Ret beviset" not in old_page.text  # no forms on a cancelled certificate
    found = await client.get("/skole/beviser", params={"q": new})
    assert f'href="/skole/beviser/{new}"' in found.text
    assert "Åse Marie Ødegård" in found.text
    again = await client.get(f"/skole/beviser?q={number}")
    assert "Annulleret" in again.text
    # The replacement revoked.
    bad_revoke = await _send(
        client, f"/skole/beviser/{new}", f"/skole/beviser/{new}/tilbagekald", {}
    )
    assert bad_revoke.status_code == 400
    assert 'id="tilbagekald_grund-fejl"' in bad_revoke.text
    revoked = await _send(
        client,
        f"/skole/beviser/{new}",
        f"/skole/beviser/{new}/tilbagekald",
        {"tilbagekald_grund": "issued-in-error"},
    )
    assert revoked.status_code == 303, revoked.text
    shown = await client.get(f"/skole/beviser/{new}")
    assert "Tilbagekaldt" in shown.text
    assert "udstedt ved en fejl" in shown.text
    listed_revoked = await client.get("/skole/beviser", params={"q": new})
    assert "Tilbagekaldt" in listed_revoked.text


async def test_paper_ordered_and_shown_with_the_deliveries(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    team = await _team(client, seeded)
    number = team["participants"][0]["certificate"]["number"]
    await school_login(client, MADS)
    page = f"/skole/beviser/{number}"
    blank = await _send(client, page, f"{page}/papir", {"papir_grund": "  "})
    assert blank.status_code == 400
    assert 'name="papir_grund" type="text" maxlength="200" value="  " aria-invalid="true"' in (
        blank.text
    )
    with_cpr = await _send(client, page, f"{page}/papir", {"papir_grund": f"Politiet {ASE}"})
    assert with_cpr.status_code == 400
    ordered = await _send(client, page, f"{page}/papir", {"papir_grund": "Politiet"})
    assert ordered.status_code == 303, ordered.text
    shown = await client.get(ordered.headers["location"])
    assert "En papirkopi er bestilt" in shown.text
    assert "Papir efter anmodning" in shown.text
    assert "kræves af Politiet" in shown.text
    jobs = await conn.fetchval(
        "SELECT count(*) FROM delivery_jobs WHERE certificate_number = $1", number
    )
    assert jobs == 2


async def test_later_facts_are_recorded_through_the_domain(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    team = await _team(client, seeded)
    bo = team["participants"][1]["participation"]  # failed the exam
    page = f"/skole/deltagelser/{bo}"
    await school_login(client, MADS)
    shown = await client.get(page)
    assert shown.status_code == 200
    assert "Bo Jensen" in shown.text
    assert "Ikke bestået" in shown.text

    async def attempts() -> int:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM exam_attempts WHERE participation_id = $1", bo
        )
        return count

    before = await attempts()
    missing = await _send(client, page, f"{page}/proeve", {"proeve_art": "retake"})
    assert missing.status_code == 400
    assert 'id="proeve_dato" name="proeve_dato" type="date" value="" aria-invalid="true"' in (
        missing.text
    )
    assert 'id="proeve_dato-fejl" class="error"' in missing.text
    assert await attempts() == before
    future = await _send(
        client,
        page,
        f"{page}/proeve",
        {"proeve_dato": "2027-01-10", "proeve_art": "retake", "proeve_del1": "passed"},
    )
    assert future.status_code == 400
    assert "Prøvedagen ligger i fremtiden" in future.text
    assert await attempts() == before
    # A retake, sent twice from the same form: recorded once.
    form = await client.get(page)
    at = form.text.index(f'action="{page}/proeve"')
    form_id = _FORM_ID.search(form.text, at)
    assert form_id
    fields = {
        "proeve_dato": "2026-11-18",
        "proeve_art": "retake",
        "proeve_del1": "passed",
        CSRF_FIELD: csrf_of(form.text),
        "formular_id": form_id.group(1),
    }
    for _ in range(2):
        done = await client.post(f"{page}/proeve", data=fields, follow_redirects=False)
        assert done.status_code == 303, done.text
    assert await attempts() == before + 1
    after = await client.get(done.headers["location"])
    assert "Prøven er registreret" in after.text
    assert 'href="/skole/beviser/' in after.text  # the certificate the retake made due
    assert "Omprøve" in after.text
    # The same form id for another body: refused, nothing recorded.
    clash = await client.post(
        f"{page}/proeve", data={**fields, "proeve_dato": "2026-11-19"}, follow_redirects=False
    )
    assert clash.status_code == 409
    assert "Formularen er allerede sendt" in clash.text
    assert await attempts() == before + 1

    ase = team["participants"][0]["participation"]
    ase_page = f"/skole/deltagelser/{ase}"
    # A drop-out needs its box ticked; an IKV outcome only on an IKV team; a judgement needs
    # a choice; a dispensation its two conditions - each a 400 on the field, nothing stored.
    facts = await conn.fetchval("SELECT facts FROM participations WHERE id = $1", ase)
    for what, sent, field in (
        ("afbrudt", {}, "afbrudt"),
        ("bedoemmelse", {}, "bedoemmelse"),
        ("ikv", {"ikv_maal": "4811", "ikv_resultat": "amu-certificate"}, "ikv_maal"),
        ("ikv", {"ikv_maal": "48113", "ikv_resultat": "amu-certificate"}, "ikv_maal"),
    ):
        refused = await _send(client, ase_page, f"{ase_page}/{what}", sent)
        assert refused.status_code == 400, (what, refused.text)
        assert f'id="{field}-fejl"' in refused.text, what
    dispensation = await _send(client, ase_page, f"{ase_page}/dispensation", {})
    assert dispensation.status_code in (400, 409), dispensation.text
    assert await conn.fetchval("SELECT facts FROM participations WHERE id = $1", ase) == facts
    # A drop-out recorded (Åse's certificate stays due: the rules say so, not the page).
    dropped = await _send(client, ase_page, f"{ase_page}/afbrudt", {"afbrudt": "ja"})
    assert dropped.status_code == 303, dropped.text
    assert "Afbrydelsen er registreret" in (await client.get(dropped.headers["location"])).text
    assert "Deltageren har afbrudt kurset" in (await client.get(ase_page)).text
    # Bo's judgement: refused by the rules for a goal with an exam, or recorded.
    judged = await _send(client, page, f"{page}/bedoemmelse", {"bedoemmelse": "goal-reached"})
    assert judged.status_code in (303, 400, 409)
    assert (await client.get(f"{page}/../x")).status_code == 404


async def test_another_schools_records_are_not_found(client: Client, seeded: Demo) -> None:
    team = await _team(client, seeded)
    participation = team["participants"][0]["participation"]
    number = team["participants"][0]["certificate"]["number"]
    await school_login(client, SOFIE)  # the administrator of 863410
    for path in (
        f"/skole/hold/{team['team']}",
        f"/skole/deltagelser/{participation}",
        f"/skole/beviser/{number}",
        "/skole/beviser/not-a-number",
    ):
        assert (await client.get(path)).status_code == 404, path
    fields = {"formular_id": "x" * 24, "afbrudt": "ja", "papir_grund": "Politiet"}
    for path in (
        f"/skole/deltagelser/{participation}/afbrudt",
        f"/skole/beviser/{number}/papir",
        f"/skole/beviser/{number}/tilbagekald",
    ):
        answer = await submit(client, "/skole", path, fields)
        assert answer.status_code == 404, path
    assert "Åse Ødegård" not in (await client.get("/skole/deltagere", params={"q": "Åse"})).text
    assert number not in (await client.get("/skole/beviser")).text
    assert "H-101" not in (await client.get("/skole/hold")).text


RECORD_READS = ("/skole/hold", "/skole/deltagere", "/skole/beviser")


async def test_records_need_a_staff_session_and_csrf(client: Client, seeded: Demo) -> None:
    team = await _team(client, seeded)
    participation = team["participants"][0]["participation"]
    number = team["participants"][0]["certificate"]["number"]
    reads = (
        *RECORD_READS,
        f"/skole/hold/{team['team']}",
        f"/skole/deltagelser/{participation}",
        f"/skole/beviser/{number}",
    )
    writes = (
        "/skole/deltagere",
        f"/skole/deltagelser/{participation}/afbrudt",
        f"/skole/beviser/{number}/papir",
    )
    for path in reads:
        for headers in ({}, seeded.school(seeded.public)):
            answer = await client.get(path, headers=headers, follow_redirects=False)
            assert answer.status_code == 303, path
            assert answer.headers["location"] == "/skole/log-ind", path
    await person_login(client, ASE)
    for path in reads:
        answer = await client.get(path, follow_redirects=False)
        assert answer.headers["location"] == "/skole/log-ind", path
    await school_login(client, KAREN)
    for path in writes:
        refused = await client.post(path, data={"afbrudt": "ja"}, follow_redirects=False)
        assert refused.status_code == 403, path
        assert "Handlingen blev afvist" in refused.text
    # A form without its one-time id is refused, nothing recorded.
    no_id = await submit(
        client, "/skole", f"/skole/beviser/{number}/papir", {"papir_grund": "Politiet"}
    )
    assert no_id.status_code == 400
