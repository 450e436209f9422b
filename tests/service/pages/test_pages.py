"""The pages over HTTP, without a browser: logins, the list, PDFs, share links and the access
log, Tjek et bevis with its guessing limit, and the school view."""

from __future__ import annotations

import datetime as dt
import re

import asyncpg

from tests.conftest import Demo, FixedClock
from tests.helpers import ASE, BO, Client, post_team, team_body
from tests.service.pages.helpers import (
    CSRF_FIELD,
    SOFIE,
    csrf_of,
    person_login,
    school_login,
    submit,
)


async def _issue(client: Client, seeded: Demo, *, reference: str = "H-101") -> tuple[str, str]:
    body = team_body(reference=reference)
    issued = await post_team(client, seeded.public, body, key=reference)
    assert issued.status_code == 201, issued.text
    certificate = issued.json()["participants"][0]["certificate"]
    return certificate["number"], certificate["verificationCode"]


async def test_the_front_page_and_stylesheet_are_served(client: Client) -> None:
    home = await client.get("/")
    assert home.status_code == 200
    assert '<html lang="da">' in home.text
    assert "default-src 'self'" in home.headers["content-security-policy"]
    css = await client.get("/static/amu.css")
    assert css.status_code == 200
    assert "text/css" in css.headers["content-type"]


async def test_my_certificates_need_a_login(client: Client, seeded: Demo) -> None:
    response = await client.get("/mine-beviser", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/mine-beviser/log-ind"


async def test_login_list_and_certificate_page(client: Client, seeded: Demo) -> None:
    number, code = await _issue(client, seeded)
    await person_login(client, ASE)
    cookie = client.cookies.get("amu_session")
    assert cookie
    assert ASE not in cookie
    assert ASE.replace("-", "") not in cookie
    mine = await client.get("/mine-beviser")
    assert mine.status_code == 200
    assert "48113" in mine.text
    assert "Hygiejne for fødevarebranchen" in mine.text
    assert "Erhvervsskolen Nordvest" in mine.text
    assert "Prøven er bestået." in mine.text
    page = await client.get(f"/mine-beviser/{number}")
    assert page.status_code == 200
    assert ASE in page.text  # the holder's own page shows the full number
    assert f"{code[:4]}-{code[4:]}" in page.text or code in page.text
    assert "Venter på levering" in page.text


async def test_where_and_when_it_was_delivered(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    number, _code = await _issue(client, seeded)
    await conn.execute(
        """UPDATE delivery_jobs SET state = 'delivered', channel = 'digital-post',
                  finished_at = '2026-11-20T10:00:00+00:00'
           WHERE certificate_number = $1""",
        number,
    )
    await person_login(client, ASE)
    page = await client.get(f"/mine-beviser/{number}")
    assert "Leveret til Digital Post 20. november 2026 kl. 11.00." in page.text


async def test_the_session_cookie_is_httponly_and_lax(client: Client, seeded: Demo) -> None:
    start = await submit(client, "/mine-beviser/log-ind", "/mine-beviser/log-ind", {})
    cookie = start.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie


async def test_a_form_without_its_csrf_token_is_refused(client: Client, seeded: Demo) -> None:
    await client.get("/mine-beviser/log-ind")
    response = await client.post("/mine-beviser/log-ind", data={}, follow_redirects=False)
    assert response.status_code == 403
    assert "text/html" in response.headers["content-type"]
    forged = await client.post(
        "/mine-beviser/log-ind", data={CSRF_FIELD: "forged"}, follow_redirects=False
    )
    assert forged.status_code == 403


async def test_a_forged_session_cookie_is_no_login(client: Client, seeded: Demo) -> None:
    client.cookies.set("amu_session", "AAAA" * 20)
    response = await client.get("/mine-beviser", follow_redirects=False)
    assert response.status_code == 303


async def test_a_session_expires(client: Client, seeded: Demo, clock: FixedClock) -> None:
    await person_login(client, ASE)
    assert (await client.get("/mine-beviser", follow_redirects=False)).status_code == 200
    clock.now += dt.timedelta(hours=2)
    assert (await client.get("/mine-beviser", follow_redirects=False)).status_code == 303


async def test_the_login_callback_refuses_a_wrong_state(client: Client, seeded: Demo) -> None:
    response = await client.get(
        "/mine-beviser/log-ind/svar", params={"code": "x", "state": "y"}, follow_redirects=False
    )
    assert response.status_code == 403


async def test_the_demo_page_is_no_open_redirect(client: Client, seeded: Demo) -> None:
    response = await client.get(
        "/udvikling/log-ind", params={"state": "s", "redirect_uri": "//evil.example/x"}
    )
    assert response.status_code == 403


async def test_another_persons_certificate_is_not_found(client: Client, seeded: Demo) -> None:
    number, _code = await _issue(client, seeded)
    await person_login(client, BO)
    assert (await client.get(f"/mine-beviser/{number}")).status_code == 404
    assert (await client.get(f"/mine-beviser/{number}/pdf")).status_code == 404
    page = await client.get("/mine-beviser")
    csrf = csrf_of(page.text)
    shared = await client.post(
        f"/mine-beviser/{number}/del", data={"dage": "30", CSRF_FIELD: csrf}, follow_redirects=False
    )
    assert shared.status_code == 404


async def test_the_pdf_is_a_signed_pdf(client: Client, seeded: Demo) -> None:
    number, _code = await _issue(client, seeded)
    await person_login(client, ASE)
    response = await client.get(f"/mine-beviser/{number}/pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert b"/ETSI.CAdES.detached" in response.content
    assert "attachment" in response.headers["content-disposition"]


async def _share(client: Client, number: str, days: str = "30") -> str:
    page = await client.get(f"/mine-beviser/{number}")
    response = await client.post(
        f"/mine-beviser/{number}/del", data={"dage": days, CSRF_FIELD: csrf_of(page.text)}
    )
    assert response.status_code == 200, response.text
    link = re.search(r'value="(http://testserver\.local/delt/[^"]+)"', response.text)
    assert link, response.text
    return link.group(1).removeprefix("http://testserver.local")


async def test_share_open_revoke_and_the_access_log(
    client: Client, seeded: Demo, conn: asyncpg.Connection, clock: FixedClock
) -> None:
    number, _code = await _issue(client, seeded)
    await person_login(client, ASE)
    path = await _share(client, number)
    token = path.removeprefix("/delt/")
    assert len(token) >= 43
    stored = await conn.fetchval("SELECT token_sha256 FROM share_links")
    assert token.encode() not in bytes(stored)

    client.cookies.clear()  # the employer has no session
    shared = await client.get(path)
    assert shared.status_code == 200
    assert "Beviset er gyldigt" in shared.text
    assert "Åse Ødegård" in shared.text
    assert ASE not in shared.text
    assert ASE[:6] not in shared.text
    assert shared.headers["referrer-policy"] == "no-referrer"

    await person_login(client, ASE)
    access = await client.get("/mine-beviser/adgang")
    assert "Delt link" in access.text
    page = await client.get(f"/mine-beviser/{number}")
    link_id = await conn.fetchval("SELECT id FROM share_links")
    revoked = await client.post(
        f"/mine-beviser/delinger/{link_id}/tilbagekald",
        data={"bevis": number, CSRF_FIELD: csrf_of(page.text)},
        follow_redirects=False,
    )
    assert revoked.status_code == 303
    refused = await client.get(path)
    assert refused.status_code == 410
    assert "Linket virker ikke længere" in refused.text


async def test_a_share_link_expires(client: Client, seeded: Demo, clock: FixedClock) -> None:
    number, _code = await _issue(client, seeded)
    await person_login(client, ASE)
    path = await _share(client, number, days="7")
    clock.now += dt.timedelta(days=7, seconds=1)
    assert (await client.get(path)).status_code == 410


async def test_only_7_30_or_90_days(client: Client, seeded: Demo, conn: asyncpg.Connection) -> None:
    number, _code = await _issue(client, seeded)
    await person_login(client, ASE)
    page = await client.get(f"/mine-beviser/{number}")
    response = await client.post(
        f"/mine-beviser/{number}/del", data={"dage": "365", CSRF_FIELD: csrf_of(page.text)}
    )
    assert response.status_code == 400
    assert await conn.fetchval("SELECT count(*) FROM share_links") == 0


async def test_a_person_cannot_revoke_anothers_link(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    number, _code = await _issue(client, seeded)
    await person_login(client, ASE)
    path = await _share(client, number)
    client.cookies.clear()
    await person_login(client, BO)
    page = await client.get("/mine-beviser")
    link_id = await conn.fetchval("SELECT id FROM share_links")
    await client.post(
        f"/mine-beviser/delinger/{link_id}/tilbagekald",
        data={"bevis": number, CSRF_FIELD: csrf_of(page.text)},
    )
    assert await conn.fetchval("SELECT revoked_at FROM share_links") is None
    assert (await client.get(path)).status_code == 200


async def test_an_unknown_share_token_is_404(client: Client, seeded: Demo) -> None:
    response = await client.get("/delt/" + "A" * 43)
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"]


async def test_verify_by_qr_url_and_by_typed_code(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    number, code = await _issue(client, seeded)
    qr = await client.get(f"/tjek/{number}", params={"kode": code})
    assert qr.status_code == 200
    assert "Beviset er gyldigt" in qr.text
    assert "Åse Ødegård" in qr.text
    assert "Prøven er bestået." in qr.text
    assert ASE not in qr.text
    typed = await client.get(
        "/tjek", params={"nummer": number, "kode": code.lower()}, follow_redirects=True
    )
    assert "Beviset er gyldigt" in typed.text
    channels = [r["channel"] for r in await conn.fetch("SELECT channel FROM access_events")]
    assert channels == ["verify-page", "verify-page"]


async def test_verify_unknown_revoked_and_cancelled(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    number, code = await _issue(client, seeded)
    unknown = await client.get(f"/tjek/{number}", params={"kode": "AAAA-AAAA"})
    assert "Ukendt bevis" in unknown.text
    assert "Åse" not in unknown.text
    # Through the school API, so each status event has its leaf in the log: an event row without
    # one is not what the log says, and verification answers "invalid" (docs/registry.md).
    school = seeded.school(seeded.public)
    revoked = await client.post(
        f"/api/schools/751234/certificates/{number}/revocation",
        json={"reason": "issued-in-error"},
        headers={**school, "Idempotency-Key": "pages-revocation"},
    )
    assert revoked.status_code == 201, revoked.text
    revoked = await client.get(f"/tjek/{number}", params={"kode": code})
    assert "Beviset er tilbagekaldt" in revoked.text
    assert "udstedt ved en fejl" in revoked.text
    # A certificate ends once: a correction cancels one and replaces it by another.
    second, second_code = await _issue(client, seeded, reference="H-102")
    corrected = await client.post(
        f"/api/schools/751234/certificates/{second}/corrections",
        json={"reason": "result-data", "name": "Rettet"},
        headers={**school, "Idempotency-Key": "pages-correction"},
    )
    assert corrected.status_code == 201, corrected.text
    other = corrected.json()["replacement"]["number"]
    cancelled = await client.get(f"/tjek/{second}", params={"kode": second_code})
    assert "Beviset er annulleret" in cancelled.text
    assert other in cancelled.text


async def test_guessing_codes_is_limited_on_the_page_and_the_api(
    client: Client, seeded: Demo, clock: FixedClock
) -> None:
    number, code = await _issue(client, seeded)
    for i in range(10):
        wrong = await client.get(f"/tjek/{number}", params={"kode": f"AAAA-AAA{i}"})
        assert wrong.status_code == 200
        assert "Ukendt bevis" in wrong.text
    # The number's limit is reached: a wrong code is refused, the right one still answers.
    limited = await client.get(f"/tjek/{number}", params={"kode": "AAAA-AAAX"})
    assert limited.status_code == 429
    assert "For mange forsøg" in limited.text
    assert int(limited.headers["retry-after"]) > 0
    api = await client.get(f"/api/verify/{number}", params={"code": "AAAA-AAAY"})
    assert api.status_code == 429
    assert api.headers["content-type"].startswith("application/problem+json")
    right = await client.get(f"/tjek/{number}", params={"kode": code})
    assert right.status_code == 200
    assert "Beviset er gyldigt" in right.text
    clock.now += dt.timedelta(minutes=15)
    again = await client.get(f"/tjek/{number}", params={"kode": "AAAA-AAAZ"})
    assert again.status_code == 200
    assert "Ukendt bevis" in again.text


async def test_the_api_limits_one_client_across_numbers(client: Client, seeded: Demo) -> None:
    for i in range(20):
        response = await client.get(f"/api/verify/2026-{i:07d}", params={"code": "AAAA-AAAA"})
        assert response.status_code == 200
    assert (await client.get("/api/verify/2026-9999999", params={"code": "A"})).status_code == 429


async def test_api_lookups_are_in_the_access_log(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    number, code = await _issue(client, seeded)
    assert (await client.get(f"/api/verify/{number}", params={"code": code})).status_code == 200
    await person_login(client, ASE)
    access = await client.get("/mine-beviser/adgang")
    assert "Opslag via API" in access.text


async def test_the_school_view(client: Client, seeded: Demo) -> None:
    number, _code = await _issue(client, seeded)
    assert (await client.get("/skole", follow_redirects=False)).status_code == 303
    await school_login(client)
    view = await client.get("/skole")
    assert view.status_code == 200
    assert "Erhvervsskolen Nordvest" in view.text
    assert "Hold H-101" in view.text
    assert number in view.text
    assert "Bestået – bevis" in view.text
    assert "Ikke bestået" in view.text
    assert ASE not in view.text  # masked, even to the school, on a screen
    assert "010190-xxxx" in view.text


async def test_a_school_session_is_not_a_person_session(client: Client, seeded: Demo) -> None:
    await school_login(client)
    assert (await client.get("/mine-beviser", follow_redirects=False)).status_code == 303


async def test_a_person_session_is_not_a_school_session(client: Client, seeded: Demo) -> None:
    await person_login(client, ASE)
    assert (await client.get("/skole", follow_redirects=False)).status_code == 303


async def test_a_school_retries_a_dead_lettered_delivery(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    number, _code = await _issue(client, seeded)
    await conn.execute(
        """UPDATE delivery_jobs SET state = 'dead', last_error = 'the mailbox refused'
           WHERE certificate_number = $1""",
        number,
    )
    await school_login(client)
    page = await client.get("/skole")
    assert "the mailbox refused" in page.text
    assert f"/skole/leveringer/{number}/forsoeg-igen" in page.text
    retried = await client.post(
        f"/skole/leveringer/{number}/forsoeg-igen",
        data={CSRF_FIELD: csrf_of(page.text)},
        follow_redirects=True,
    )
    assert "er sat i kø igen" in retried.text
    assert (
        await conn.fetchval("SELECT state FROM delivery_jobs WHERE certificate_number = $1", number)
        == "pending"
    )
    # Another school cannot retry it.
    await conn.execute("UPDATE delivery_jobs SET state = 'dead'")
    client.cookies.clear()
    await school_login(client, SOFIE)
    other = await client.get("/skole")
    assert number not in other.text
    await client.post(
        f"/skole/leveringer/{number}/forsoeg-igen", data={CSRF_FIELD: csrf_of(other.text)}
    )
    assert await conn.fetchval("SELECT state FROM delivery_jobs") == "dead"


async def test_retrying_needs_a_school_session_and_csrf(client: Client, seeded: Demo) -> None:
    number, _code = await _issue(client, seeded)
    form = await client.get("/tjek")  # any page's token: CSRF is checked before the session
    anonymous = await client.post(
        f"/skole/leveringer/{number}/forsoeg-igen",
        data={CSRF_FIELD: csrf_of(form.text)},
        follow_redirects=False,
    )
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/skole/log-ind"
    await school_login(client)
    no_csrf = await client.post(f"/skole/leveringer/{number}/forsoeg-igen", data={})
    assert no_csrf.status_code == 403
    page = await client.get("/skole")
    ok = await client.post(
        f"/skole/leveringer/{number}/forsoeg-igen",
        data={CSRF_FIELD: csrf_of(page.text)},
        follow_redirects=False,
    )
    assert ok.status_code == 303


async def test_the_verify_form_posts_so_the_code_is_in_no_url(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    number, code = await _issue(client, seeded)
    form = await client.get("/tjek")
    assert 'method="post" action="/tjek"' in form.text
    csrf = csrf_of(form.text)
    answer = await client.post(
        "/tjek",
        data={CSRF_FIELD: csrf, "nummer": number, "kode": code.lower()},
        follow_redirects=False,
    )
    assert answer.status_code == 200  # answered in place: no redirect to a URL with the code
    assert "Beviset er gyldigt" in answer.text
    assert "Åse Ødegård" in answer.text
    assert code not in str(answer.url)
    missing = await client.post("/tjek", data={CSRF_FIELD: csrf, "nummer": number})
    assert missing.status_code == 400
    assert "Udfyld både bevisnummer og kontrolkode" in missing.text
    channels = [r["channel"] for r in await conn.fetch("SELECT channel FROM access_events")]
    assert channels == ["verify-page"]


async def test_a_browser_at_an_unknown_path_gets_the_danish_404_page(client: Client) -> None:
    html = {"Accept": "text/html,application/xhtml+xml"}
    for path in ("/findes-ikke", "/mine-beviser/a/b/c", "/skole/x/y/z"):
        page = await client.get(path, headers=html)
        assert page.status_code == 404, path
        assert page.headers["content-type"].startswith("text/html"), path
        assert "Siden findes ikke" in page.text, path
        assert '<html lang="da">' in page.text, path
    # The API, and clients that ask for JSON, keep their problem document.
    for path, headers in (("/api/findes-ikke", html), ("/findes-ikke", {"Accept": "*/*"})):
        problem = await client.get(path, headers=headers)
        assert problem.status_code == 404, path
        assert problem.headers["content-type"] == "application/problem+json", path
