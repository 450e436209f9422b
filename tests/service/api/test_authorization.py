"""Who may call each endpoint, and who may not. Every endpoint of the app is listed here; a
test fails when a route is added without being listed."""

from __future__ import annotations

import base64
import datetime as dt
import re
from typing import Any

import asyncpg
from litestar import Litestar

from tests.conftest import Demo, FixedClock
from tests.helpers import ASE, BO, Client, login, post_team, team_body
from tests.service.pages.helpers import MADS, SOFIE, person_login, school_login, submit

PROBLEM = "application/problem+json"
# The problem type of each refusal (service/api/problems.py): a refused caller gets a problem
# document saying why, not just a status code.
REFUSALS = {401: "unauthenticated", 403: "forbidden", 404: "not-found"}


def assert_form(response: Any, number: str, where: str) -> None:
    """The response serves a form of certificate ``number``, not a problem document."""
    assert response.status_code == 200, (where, response.text)
    assert not response.headers["content-type"].startswith(PROBLEM), where
    content: bytes = response.content
    if content.startswith(b"%PDF-"):
        return  # its text is compressed; tests/service/api/test_forms.py reads it with pdftotext
    if content.count(b".") == 2 and b" " not in content:  # a compact JWS: read its payload
        payload = content.split(b".")[1]
        content = base64.urlsafe_b64decode(payload + b"=" * (-len(payload) % 4))
    assert number.encode() in content, where


def assert_refused(response: Any, status: int, where: object = None) -> None:
    """The response is the problem document of a refusal with ``status``."""
    assert response.status_code == status, (where, response.status_code, response.text)
    assert response.headers["content-type"].startswith(PROBLEM), (where, response.text)
    body = response.json()
    expected = "https://amu-bevis.example/problems/" + REFUSALS[status]
    assert (body["type"], body["status"]) == (expected, status), (where, body)
    assert ASE not in response.text, where


ROUTES = {
    ("POST", "/api/schools/{school_id}/teams"): "school credential of that school",
    ("GET", "/api/schools/{school_id}/participations/{participation}"): "that school",
    ("POST", "/api/schools/{school_id}/participations/{participation}/attempts"): "that school",
    ("PATCH", "/api/schools/{school_id}/participations/{participation}"): "that school",
    ("GET", "/api/schools/{school_id}/overdue"): "that school",
    ("POST", "/api/schools/{school_id}/composite-courses"): "that school, own teams only",
    ("GET", "/api/schools/{school_id}/composite-courses/{reference}"): "that school, own courses",
    ("GET", "/api/schools/{school_id}/deliveries"): "that school",
    ("GET", "/api/schools/{school_id}/deliveries/{number}"): "that school, own certificates",
    ("POST", "/api/schools/{school_id}/deliveries/{number}/retry"): "that school",
    ("GET", "/api/schools/{school_id}/delivery-deadlines"): "that school",
    ("POST", "/api/schools/{school_id}/eboks-consents"): "that school (private schools only)",
    ("GET", "/api/schools/{school_id}/print-list"): "that school",
    ("GET", "/api/me/certificates/{number}/deliveries"): "participant token, own certificate",
    ("POST", "/api/schools/{school_id}/certificates/{number}/paper"): "that school, own",
    ("POST", "/api/me/certificates/{number}/paper"): "participant token, own certificate",
    ("GET", "/api/me/certificates"): "participant token",
    **{
        ("GET", f"/api/me/certificates/{{number}}/{form}"): "participant token, own certificate"
        for form in ("signed-record", "credential", "xml", "pdf", "memo")
    },
    **{
        ("GET", f"/api/schools/{{school_id}}/certificates/{{number}}/{form}"): "that school's own"
        for form in ("signed-record", "credential", "xml", "pdf", "memo")
    },
    ("GET", "/api/schools/{school_id}/reports/{quarter}"): "that school",
    ("GET", "/contexts/amu-bevis-v1.jsonld"): "anyone",
    ("GET", "/issuers/{school_id}"): "anyone: public keys only",
    ("GET", "/api/document-authorities"): "anyone: CA certificates only",
    ("GET", "/api/me/certificates/{number}"): "participant token, own certificate only",
    ("GET", "/api/verify/{number}"): "anyone with number and code",
    ("POST", "/api/verify/{number}"): "anyone with number and code",
    ("GET", "/api/keys"): "anyone",
    ("GET", "/api/goals"): "anyone: the public goal catalogue",
    ("GET", "/api/goals/{number}"): "anyone: the public goal catalogue",
    ("POST", "/api/dev/login"): "anyone, development identity provider only",
    ("GET", "/api/log/checkpoint"): "anyone: the log holds no personal data",
    ("GET", "/api/log/keys"): "anyone",
    ("GET", "/api/log/leaves/{index}"): "anyone",
    ("GET", "/api/log/proof/inclusion"): "anyone",
    ("GET", "/api/log/proof/certificate/{number}"): "anyone",
    ("GET", "/api/log/proof/consistency"): "anyone",
    # Registry trust (docs/registry.md).
    ("POST", "/api/schools/{school_id}/certificates/{number}/corrections"): "that school, own",
    ("POST", "/api/schools/{school_id}/certificates/{number}/revocation"): "that school, own",
    ("GET", "/api/status/{list_id}"): "anyone: a status list is bits, not people",
    # Pages (docs/pages.md). A person's or school's page without its session redirects to the
    # login; every POST also needs the form's CSRF token.
    ("GET", "/"): "anyone",
    ("GET", "/static/{file_path}"): "anyone",
    ("GET", "/tjek"): "anyone",
    ("POST", "/tjek"): "anyone with the form's CSRF token, rate-limited",
    ("GET", "/tjek/{number}"): "anyone with number and code, rate-limited",
    ("GET", "/delt/{token}"): "anyone with an open share link",
    ("GET", "/mine-beviser/log-ind"): "anyone",
    ("POST", "/mine-beviser/log-ind"): "anyone with the form's CSRF token",
    ("GET", "/mine-beviser/log-ind/svar"): "the browser that started the login (its session)",
    ("POST", "/mine-beviser/log-ud"): "anyone with the form's CSRF token",
    ("GET", "/mine-beviser"): "person session",
    ("GET", "/mine-beviser/adgang"): "person session",
    ("GET", "/mine-beviser/{number}"): "person session, own certificate only",
    ("GET", "/mine-beviser/{number}/pdf"): "person session, own certificate only",
    ("GET", "/mine-beviser/dokumenter/{document_id}/pdf"): "person session, own document only",
    ("POST", "/mine-beviser/{number}/del"): "person session and CSRF, own certificate only",
    ("POST", "/mine-beviser/delinger/{link_id}/tilbagekald"): "person session and CSRF, own link",
    ("GET", "/udvikling/log-ind"): "anyone, development identity provider only",
    ("POST", "/udvikling/log-ind"): "anyone with CSRF, development identity provider only",
    ("GET", "/udvikling/log-ind/medarbejder"): "anyone, development staff provider only",
    ("POST", "/udvikling/log-ind/medarbejder"): "anyone with CSRF, development staff provider",
    ("GET", "/skole/log-ind"): "anyone",
    ("POST", "/skole/log-ind"): "anyone with CSRF; starts the staff login",
    ("GET", "/skole/log-ind/svar"): "the browser that started the staff login (its session)",
    ("POST", "/skole/log-ind/vaelg"): "a proven staff identity choosing among its schools, CSRF",
    ("POST", "/skole/log-ud"): "anyone with the form's CSRF token",
    ("GET", "/skole"): "staff session (any role), own school only",
    ("GET", "/skole/medarbejdere"): "staff session, administrator, own school only",
    ("POST", "/skole/medarbejdere"): "staff session, administrator, CSRF, own school only",
    ("POST", "/skole/medarbejdere/tilbagekald"): "staff session, administrator, CSRF, own",
    ("GET", "/skole/api-noegler"): "staff session, administrator, own school only",
    ("POST", "/skole/api-noegler"): "staff session, administrator and CSRF, own school only",
    ("GET", "/skole/api-noegler/{credential_id}"): "staff session, administrator, own credential",
    ("POST", "/skole/api-noegler/{credential_id}/forny"): "administrator and CSRF, own credential",
    ("POST", "/skole/api-noegler/{credential_id}/tilbagekald"): "administrator, CSRF, own",
    ("POST", "/skole/leveringer/{number}/forsoeg-igen"): "staff session and CSRF, own school",
    ("GET", "/skole/hold"): "staff session (any role), own school's teams only",
    ("GET", "/skole/hold/{team}"): "staff session (any role), own team only (else 404)",
    ("GET", "/skole/deltagere"): "staff session (any role), own participants; no CPR by URL",
    ("POST", "/skole/deltagere"): "staff session and CSRF; the CPR search, own participants",
    ("GET", "/skole/deltagelser/{participation}"): "staff session, own participation (else 404)",
    ("POST", "/skole/deltagelser/{participation}/{what}"): "staff session, CSRF, form id, own",
    ("GET", "/skole/beviser"): "staff session (any role), own school's certificates only",
    ("GET", "/skole/beviser/{number}"): "staff session (any role), own certificate (else 404)",
    ("POST", "/skole/beviser/{number}/{what}"): "staff session, CSRF, form id, own certificate",
    ("GET", "/skole/hold/ny"): "staff session (registrar or administrator), own school only",
    ("POST", "/skole/hold/ny"): "staff session (registrar or administrator), CSRF; stores nothing",
    ("GET", "/skole/hold/upload"): "staff session (registrar or administrator), own school only",
    ("POST", "/skole/hold/upload"): "staff session (registrar or administrator), CSRF; no store",
    ("POST", "/skole/hold/indberet"): "staff session, CSRF and this session's preview key",
    ("GET", "/health/live"): "anyone: says only that the process answers",
    ("GET", "/health/ready"): "anyone: the checks' names and fixed sentences, no data",
}


def test_every_route_has_an_authorisation_rule(app: Litestar) -> None:
    served = {
        (method, re.sub(r":\w+}", "}", route.path))
        for route in app.routes
        for method in getattr(route, "methods", ())
        if method not in {"HEAD", "OPTIONS"} and not route.path.startswith("/schema")
    }
    assert served == set(ROUTES)


async def test_issuing_without_a_credential_is_401(client: Client, seeded: Demo) -> None:
    response = await client.post(
        "/api/schools/751234/teams", json=team_body(), headers={"Idempotency-Key": "k"}
    )
    assert_refused(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_issuing_with_a_wrong_secret_is_401(client: Client, seeded: Demo) -> None:
    forged = seeded.public[:-4] + "AAAA"
    assert_refused(await post_team(client, forged, team_body()), 401)


async def test_issuing_with_a_malformed_credential_is_401(client: Client, seeded: Demo) -> None:
    assert_refused(await post_team(client, "not-a-credential", team_body()), 401)


async def test_a_school_cannot_issue_for_another_school(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    response = await post_team(client, seeded.private, team_body(), school="751234")
    assert_refused(response, 403)
    assert await conn.fetchval("SELECT count(*) FROM teams") == 0


async def test_a_revoked_credential_is_refused(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    await conn.execute("UPDATE api_credentials SET revoked_at = now()")
    assert_refused(await post_team(client, seeded.public, team_body()), 401)


async def test_an_unauthenticated_caller_learns_nothing_about_a_bad_body(
    client: Client, seeded: Demo
) -> None:
    response = await client.post("/api/schools/751234/teams", content=b"{not json")
    assert_refused(response, 401)


async def test_my_certificates_need_a_login(client: Client, seeded: Demo) -> None:
    assert_refused(await client.get("/api/me/certificates"), 401)
    bad = {"Authorization": "Bearer forged.token.value"}
    assert_refused(await client.get("/api/me/certificates", headers=bad), 401)


async def test_a_school_credential_is_not_a_participant_login(client: Client, seeded: Demo) -> None:
    response = await client.get("/api/me/certificates", headers=seeded.school(seeded.public))
    assert_refused(response, 401)


async def test_a_participant_never_sees_another_persons_certificate(
    client: Client, seeded: Demo
) -> None:
    body = team_body(
        [
            {"cpr": ASE, "name": "Åse Ødegård", "exam": "passed"},
            {"cpr": BO, "name": "Bo Jensen", "exam": "passed"},
        ]
    )
    issued = (await post_team(client, seeded.public, body)).json()["participants"]
    bos_number = issued[1]["certificate"]["number"]
    ase = await login(client, ASE)
    assert [
        c["number"] for c in (await client.get("/api/me/certificates", headers=ase)).json()
    ] == [issued[0]["certificate"]["number"]]
    other = await client.get(f"/api/me/certificates/{bos_number}", headers=ase)
    assert_refused(other, 404)


async def test_an_expired_login_is_refused(client: Client, seeded: Demo, clock: FixedClock) -> None:
    headers = await login(client, ASE)
    clock.now += dt.timedelta(hours=2)
    assert_refused(await client.get("/api/me/certificates", headers=headers), 401)


async def test_verification_and_keys_are_public(client: Client, seeded: Demo) -> None:
    issued = (await post_team(client, seeded.public, team_body())).json()["participants"][0]
    number, code = issued["certificate"]["number"], issued["certificate"]["verificationCode"]
    verified = await client.get(f"/api/verify/{number}", params={"code": code})
    assert verified.status_code == 200, verified.text
    # A 200 also answers a wrong code ("unknown"): only "valid" shows the check really passed.
    assert (verified.json()["status"], verified.json()["number"]) == ("valid", number)
    keys = await client.get("/api/keys")
    assert keys.status_code == 200
    assert {"751234", "863410"} <= {k["school"] for k in keys.json()["keys"]}


async def test_a_wrong_code_tells_nothing(client: Client, seeded: Demo) -> None:
    issued = (await post_team(client, seeded.public, team_body())).json()["participants"][0]
    number = issued["certificate"]["number"]
    response = await client.get(f"/api/verify/{number}", params={"code": "AAAA-AAAA"})
    assert response.json() == {"status": "unknown", "number": number}


async def test_a_school_sees_and_acts_on_only_its_own_deliveries(
    client: Client, seeded: Demo
) -> None:
    issued = (await post_team(client, seeded.public, team_body())).json()["participants"][0]
    number = issued["certificate"]["number"]
    own, other = seeded.school(seeded.public), seeded.school(seeded.private)
    base = "/api/schools/751234"
    reads = [
        f"{base}/deliveries",
        f"{base}/deliveries/{number}",
        f"{base}/delivery-deadlines",
        f"{base}/print-list",
    ]
    for path in reads:
        assert_refused(await client.get(path), 401, path)
        assert_refused(await client.get(path, headers=other), 403, path)
        mine = await client.get(path, headers=own)
        assert mine.status_code == 200, path
        expected = [] if path.endswith("/print-list") else [number]  # delivered digitally
        assert [d["certificateNumber"] for d in mine.json()] == expected, path
    writes = [(f"{base}/deliveries/{number}/retry", None), (f"{base}/eboks-consents", {"cpr": ASE})]
    for path, body in writes:
        assert_refused(await client.post(path, json=body), 401, path)
        assert_refused(await client.post(path, json=body, headers=other), 403, path)
    # Through its own path the other school finds nothing of this certificate.
    foreign = f"/api/schools/863410/deliveries/{number}"
    assert_refused(await client.get(foreign, headers=other), 404)


async def test_a_participant_sees_only_their_own_deliveries(client: Client, seeded: Demo) -> None:
    issued = (await post_team(client, seeded.public, team_body())).json()["participants"][0]
    path = f"/api/me/certificates/{issued['certificate']['number']}/deliveries"
    assert_refused(await client.get(path), 401)
    assert_refused(await client.get(path, headers=seeded.school(seeded.public)), 401)
    assert_refused(await client.get(path, headers=await login(client, BO)), 404)
    mine = await client.get(path, headers=await login(client, ASE))
    assert mine.status_code == 200
    assert mine.json() == [{"purpose": "issue", "state": "pending"}]


async def test_only_the_issuing_school_or_the_participant_orders_paper(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    issued = (await post_team(client, seeded.public, team_body())).json()["participants"][0]
    number = issued["certificate"]["number"]
    body = {"reason": "Politiet"}
    key = {"Idempotency-Key": "k"}
    school_path = f"/api/schools/751234/certificates/{number}/paper"
    other = seeded.school(seeded.private)
    assert_refused(await client.post(school_path, json=body, headers=key), 401)
    assert_refused(await client.post(school_path, json=body, headers={**other, **key}), 403)
    # The other school on its own path: the certificate is not its to print.
    foreign = school_path.replace("751234", "863410")
    response = await client.post(foreign, json=body, headers={**other, **key})
    assert_refused(response, 404)
    ase = {**await login(client, ASE), **key}
    assert_refused(await client.post(school_path, json=body, headers=ase), 401)

    mine = f"/api/me/certificates/{number}/paper"
    assert_refused(await client.post(mine, json=body, headers=key), 401)
    school = {**seeded.school(seeded.public), **key}
    assert_refused(await client.post(mine, json=body, headers=school), 401)
    bo = {**await login(client, BO), **key}
    assert_refused(await client.post(mine, json=body, headers=bo), 404)
    count = "SELECT count(*) FROM delivery_jobs WHERE purpose = 'paper-on-request'"
    assert await conn.fetchval(count) == 0
    assert (await client.post(mine, json=body, headers=ase)).status_code == 202
    assert await conn.fetchval(count) == 1


async def test_the_development_login_refuses_a_malformed_cpr(client: Client, seeded: Demo) -> None:
    response = await client.post("/api/dev/login", json={"cpr": "999999-9999"})
    assert response.status_code == 422
    assert response.json()["invalid-params"][0]["name"] == "cpr"
    assert "999999" not in response.text


async def test_the_log_is_public_and_holds_no_personal_data(client: Client, seeded: Demo) -> None:
    issued = (await post_team(client, seeded.public, team_body())).json()["participants"][0]
    number = issued["certificate"]["number"]
    for path in (
        "/api/log/checkpoint",
        "/api/log/keys",
        "/api/log/leaves/0",
        "/api/log/proof/inclusion?index=0&treeSize=1",
        f"/api/log/proof/certificate/{number}",
        "/api/log/proof/consistency?first=1&second=1",
    ):
        response = await client.get(path)
        assert response.status_code == 200, (path, response.text)
        assert ASE not in response.text
        assert "Åse" not in response.text


async def test_a_school_sees_and_changes_only_its_own_participations(
    client: Client, seeded: Demo
) -> None:
    issued = (await post_team(client, seeded.public, team_body())).json()["participants"][1]
    path = f"/api/schools/751234/participations/{issued['participation']}"
    own = {**seeded.school(seeded.public), "Idempotency-Key": "x"}
    other = {**seeded.school(seeded.private), "Idempotency-Key": "x"}
    attempt = {"heldOn": "2026-11-17", "parts": ["passed"], "kind": "retake"}
    mine = await client.get(path, headers=own)
    assert mine.status_code == 200
    assert (mine.json()["participation"], mine.json()["name"]) == (
        issued["participation"],
        "Bo Jensen",
    )
    assert_refused(await client.get(path), 401)
    assert_refused(await client.get(path, headers=other), 403)
    assert_refused(await client.post(f"{path}/attempts", json=attempt, headers=other), 403)
    assert_refused(await client.patch(path, json={"droppedOut": True}, headers=other), 403)
    # Through its own path the other school finds nothing: participations are per school.
    foreign = f"/api/schools/863410/participations/{issued['participation']}"
    assert_refused(await client.get(foreign, headers=other), 404)
    assert_refused(await client.get("/api/schools/751234/overdue", headers=other), 403)
    assert_refused(await client.get("/api/schools/751234/overdue"), 401)
    overdue = await client.get("/api/schools/751234/overdue", headers=own)
    assert (overdue.status_code, overdue.json()) == (200, [])


async def test_pages_need_their_session_and_forms_their_csrf_token(
    client: Client, seeded: Demo
) -> None:
    number = (await post_team(client, seeded.public, team_body())).json()["participants"][0][
        "certificate"
    ]["number"]
    for path in ("/", "/tjek", f"/tjek/{number}", "/mine-beviser/log-ind", "/skole/log-ind"):
        assert (await client.get(path)).status_code == 200, path
    for path in ("/mine-beviser", "/mine-beviser/adgang", f"/mine-beviser/{number}/pdf"):
        response = await client.get(path, follow_redirects=False)
        assert response.headers["location"] == "/mine-beviser/log-ind", path
    for path in ("/skole", "/skole/medarbejdere"):
        response = await client.get(path, follow_redirects=False)
        assert response.headers["location"] == "/skole/log-ind", path
    for path in (
        "/mine-beviser/log-ind",
        "/mine-beviser/log-ud",
        "/udvikling/log-ind",
        "/udvikling/log-ind/medarbejder",
        "/skole/log-ind",
        "/skole/log-ind/vaelg",
        "/skole/log-ud",
        "/tjek",
    ):
        refused = await client.post(path, data={}, follow_redirects=False)
        assert refused.status_code == 403, path
        assert "Handlingen blev afvist" in refused.text, path  # the page's words for a bad form
    # A school's credential is not a person's login, nor a person's token a school's.
    school = await client.get("/mine-beviser", headers=seeded.school(seeded.public))
    assert school.status_code == 200  # the login page, reached by redirect
    assert "Log ind til Mine beviser" in school.text
    # Nor is a school's API credential a staff login on the pages.
    staff = await client.get("/skole", headers=seeded.school(seeded.public))
    assert "Log ind for skoler" in staff.text
    unknown_link = await client.get("/delt/not-a-token")
    assert unknown_link.status_code == 404
    assert "Siden findes ikke" in unknown_link.text


FORMS = ("signed-record", "credential", "xml", "pdf", "memo")


async def test_only_the_participant_gets_the_forms_of_their_certificate(
    client: Client, seeded: Demo
) -> None:
    number = (await post_team(client, seeded.public, team_body())).json()["participants"][0][
        "certificate"
    ]["number"]
    ase, bo = await login(client, ASE), await login(client, BO)
    for form in FORMS:
        path = f"/api/me/certificates/{number}/{form}"
        assert_refused(await client.get(path), 401, path)
        assert_refused(await client.get(path, headers=seeded.school(seeded.public)), 401)
        other = await client.get(path, headers=bo)  # exists, but is not Bo's: not found
        assert_refused(other, 404, path)
        assert_form(await client.get(path, headers=ase), number, path)


async def test_only_the_issuing_school_gets_the_forms_and_its_report(
    client: Client, seeded: Demo
) -> None:
    number = (await post_team(client, seeded.public, team_body())).json()["participants"][0][
        "certificate"
    ]["number"]
    own, other = seeded.school(seeded.public), seeded.school(seeded.private)
    paths = [f"/api/schools/751234/certificates/{number}/{form}" for form in FORMS]
    for path in [*paths, "/api/schools/751234/reports/2026K4"]:
        assert_refused(await client.get(path), 401, path)
        assert_refused(await client.get(path, headers=await login(client, ASE)), 401)
        assert_refused(await client.get(path, headers=other), 403, path)
    for path in paths:
        assert_form(await client.get(path, headers=own), number, path)
    report = await client.get("/api/schools/751234/reports/2026K4", headers=own)
    assert report.status_code == 200
    assert report.text.startswith("Kvartal;Institutionsnummer;")
    assert "H-101" in report.text  # this school's team, reported in its quarter
    for form in FORMS:  # through its own path the other school finds nothing of it
        foreign = f"/api/schools/863410/certificates/{number}/{form}"
        assert_refused(await client.get(foreign, headers=other), 404, foreign)


async def test_the_published_material_is_public_and_holds_no_personal_data(
    client: Client, seeded: Demo
) -> None:
    await post_team(client, seeded.public, team_body())
    for path in ("/contexts/amu-bevis-v1.jsonld", "/issuers/751234", "/api/document-authorities"):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert ASE not in response.text
        assert ASE.replace("-", "") not in response.text


async def test_only_the_issuing_school_corrects_or_revokes_a_certificate(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    issued = (await post_team(client, seeded.public, team_body())).json()["participants"][0]
    number = issued["certificate"]["number"]
    for action, body in (
        ("corrections", {"reason": "participant-data", "name": "Rettet Navn"}),
        ("revocation", {"reason": "fraud"}),
    ):
        path = f"/api/schools/751234/certificates/{number}/{action}"
        key = {"Idempotency-Key": action}
        assert_refused(await client.post(path, json=body, headers=key), 401)
        other = {**seeded.school(seeded.private), **key}
        assert_refused(await client.post(path, json=body, headers=other), 403)
        # The other school on its own path: the certificate is not its to touch.
        foreign = path.replace("751234", "863410")
        response = await client.post(foreign, json=body, headers=other)
        assert_refused(response, 404)
        participant = {**await login(client, ASE), **key}
        assert_refused(await client.post(path, json=body, headers=participant), 401)
    assert await conn.fetchval("SELECT count(*) FROM certificate_events") == 1


async def test_status_lists_are_public_and_hold_no_personal_data(
    client: Client, seeded: Demo
) -> None:
    assert (await post_team(client, seeded.public, team_body())).status_code == 201
    status = await client.get("/api/status/1")
    assert status.status_code == 200
    # Really the list (an error page would hold no personal data either).
    assert "BitstringStatusListCredential" in status.json()["type"]
    assert status.json()["credentialSubject"]["encodedList"]
    assert ASE not in status.text
    assert "Åse" not in status.text


async def test_a_school_declares_and_sees_only_its_own_composite_courses(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    teams = [
        (await post_team(client, seeded.public, team_body(goal=goal), key=goal)).json()["team"]
        for goal in ("48113", "47596")
    ]
    base = "/api/schools/751234/composite-courses"
    body = {"reference": "SF-1", "teams": teams}
    own = {**seeded.school(seeded.public), "Idempotency-Key": "c"}
    other = {**seeded.school(seeded.private), "Idempotency-Key": "c"}
    assert_refused(await client.post(base, json=body), 401)
    assert_refused(await client.post(base, json=body, headers=other), 403)
    participant = {**await login(client, ASE), "Idempotency-Key": "c"}
    assert_refused(await client.post(base, json=body, headers=participant), 401)
    # On its own path the other school cannot take this school's teams into a course.
    foreign = await client.post(base.replace("751234", "863410"), json=body, headers=other)
    assert foreign.status_code == 422
    assert foreign.json()["invalid-params"][0]["name"] == "teams[0]"
    assert await conn.fetchval("SELECT count(*) FROM composite_courses") == 0
    assert (await client.post(base, json=body, headers=own)).status_code == 201
    assert_refused(await client.get(f"{base}/SF-1"), 401)
    assert_refused(await client.get(f"{base}/SF-1", headers=other), 403)
    course = await client.get(f"{base}/SF-1", headers=own)
    assert course.status_code == 200
    assert course.json()["reference"] == "SF-1"
    foreign_view = await client.get("/api/schools/863410/composite-courses/SF-1", headers=other)
    assert_refused(foreign_view, 404)


async def test_only_a_schools_administrator_administers_it(client: Client, seeded: Demo) -> None:
    """The administrator's pages (docs/pages.md): without a staff session, off to the login;
    a school's API credential is no staff session; a registrar gets the 403 page; another
    school's administrator finds none of this school's credentials; every form needs its CSRF
    token."""
    own = seeded.public.split("_")[1]
    reads = ("/skole/api-noegler", f"/skole/api-noegler/{own}", "/skole/medarbejdere")
    writes = (
        "/skole/api-noegler",
        f"/skole/api-noegler/{own}/forny",
        f"/skole/api-noegler/{own}/tilbagekald",
        "/skole/medarbejdere",
        "/skole/medarbejdere/tilbagekald",
    )
    for path in reads:
        for headers in ({}, seeded.school(seeded.public)):
            response = await client.get(path, headers=headers, follow_redirects=False)
            assert response.status_code == 303, path
            assert response.headers["location"] == "/skole/log-ind", path
    for path in writes:
        refused = await client.post(path, data={}, follow_redirects=False)
        assert refused.status_code == 403, path  # no CSRF token
    await school_login(client, MADS)  # a registrar of 751234
    for path in reads:
        assert (await client.get(path)).status_code == 403, path
    for path in writes:
        answer = await submit(client, "/skole", path, {"navn": "x", "bruger": MADS})
        assert answer.status_code == 403, path
        assert "Det kræver en administrator" in answer.text, path
    await school_login(client, SOFIE)  # the administrator of 863410


async def test_only_a_schools_staff_report_teams_on_the_pages(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    """Indberet hold (docs/pages.md): without a staff session, or with a person's or an API
    credential, off to the staff login; every form needs its CSRF token; a staff member's
    report needs the key of a preview in their own session."""
    teams = await conn.fetchval("SELECT count(*) FROM teams")
    reads = ("/skole/hold/ny", "/skole/hold/upload")
    writes = ("/skole/hold/ny", "/skole/hold/upload", "/skole/hold/indberet")
    for path in reads:
        for headers in ({}, seeded.school(seeded.public), await login(client, BO)):
            response = await client.get(path, headers=headers, follow_redirects=False)
            assert response.status_code == 303, path
            assert response.headers["location"] == "/skole/log-ind", path
    for path in writes:
        refused = await client.post(path, data={}, follow_redirects=False)
        assert refused.status_code == 403, path  # no CSRF token
        assert "Handlingen blev afvist" in refused.text, path
    for path in writes:
        answer = await submit(client, "/skole/log-ind", path, {"noegle": "x"})
        assert answer.status_code == 303, path
        assert answer.headers["location"] == "/skole/log-ind", path
    await school_login(client, MADS)  # a registrar may report
    for path in reads:
        assert (await client.get(path)).status_code == 200, path
    stale = await submit(client, "/skole/hold/ny", "/skole/hold/indberet", {"noegle": "made-up"})
    assert stale.status_code == 409
    assert "Forhåndsvisningen er ikke længere gyldig" in stale.text
    assert await conn.fetchval("SELECT count(*) FROM teams") == teams


async def test_the_school_records_pages_are_the_staffs_own(client: Client, seeded: Demo) -> None:
    """The records pages (docs/pages.md): without a staff session, off to the login (a school's
    API credential is none); every form needs its CSRF token; another school's staff find none
    of this school's teams, participations or certificates."""
    team = (await post_team(client, seeded.public, team_body())).json()
    participation = team["participants"][0]["participation"]
    number = team["participants"][0]["certificate"]["number"]
    reads = (
        "/skole/hold",
        f"/skole/hold/{team['team']}",
        "/skole/deltagere",
        f"/skole/deltagelser/{participation}",
        "/skole/beviser",
        f"/skole/beviser/{number}",
    )
    writes = (
        "/skole/deltagere",
        f"/skole/deltagelser/{participation}/afbrudt",
        f"/skole/beviser/{number}/ret",
        f"/skole/beviser/{number}/tilbagekald",
        f"/skole/beviser/{number}/papir",
    )
    for path in reads:
        for headers in ({}, seeded.school(seeded.public)):
            response = await client.get(path, headers=headers, follow_redirects=False)
            assert response.status_code == 303, path
            assert response.headers["location"] == "/skole/log-ind", path
    for path in writes:
        refused = await client.post(path, data={}, follow_redirects=False)
        assert refused.status_code == 403, path  # no CSRF token
    await school_login(client, MADS)  # a registrar of 751234: may read and record
    for path in reads:
        assert (await client.get(path)).status_code == 200, path
    await school_login(client, SOFIE)  # the administrator of 863410
    for path in reads[1::2]:
        assert (await client.get(path)).status_code == 404, path
    for path in writes[1:]:
        answer = await submit(client, "/skole", path, {"formular_id": "f" * 24})
        assert answer.status_code == 404, path


async def test_only_the_participant_gets_their_participation_document(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    body = team_body(
        [
            {"cpr": ASE, "name": "Åse Ødegård", "exam": "passed"},
            {"cpr": BO, "name": "Bo Jensen", "droppedOut": True},
        ]
    )
    body["team"]["participationDocuments"] = True
    assert (await post_team(client, seeded.public, body)).status_code == 201
    document_id = await conn.fetchval("SELECT id FROM other_documents WHERE cpr = $1", BO)
    path = f"/mine-beviser/dokumenter/{document_id}/pdf"
    anonymous = await client.get(path, follow_redirects=False)
    assert anonymous.headers["location"] == "/mine-beviser/log-ind"
    # A school's credential or a participant's API token is no person's page session.
    for headers in (seeded.school(seeded.public), await login(client, BO)):
        refused = await client.get(path, headers=headers, follow_redirects=False)
        assert refused.headers["location"] == "/mine-beviser/log-ind"
    await person_login(client, ASE)
    for other in (path, "/mine-beviser/dokumenter/not-a-uuid/pdf"):
        response = await client.get(other)
        assert response.status_code == 404, other  # exists, but is not Åse's: not found
        assert BO not in response.text
    await person_login(client, BO)
    own = await client.get(path)
    assert own.status_code == 200
    assert own.headers["content-type"] == "application/pdf"
    assert own.content.startswith(b"%PDF-")
