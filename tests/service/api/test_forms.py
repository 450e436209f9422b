"""Every form of a certificate as the running service serves it, checked by tools we did not write.

- the signed record: verified by Node ``jose`` with the key from ``/api/keys``;
- the credential: verified by Digital Bazaar's eddsa-jcs-2022 cryptosuite (contexts offline) with
  the key the proof names, read from the served issuer document;
- the XML: ``xmlsec1 --verify`` trusting only the served document-authority PEM;
- the PDF: pyHanko's validator trusting the served authority, pdftoppm (not blank), PDFBox's
  preflight; and pdftotext shows the same information as the jose-verified record;
- the MeMo message: the official MeMo 1.2 schema; the quarterly report: parsed as CSV.
"""

from __future__ import annotations

import asyncio
import base64
import csv
import datetime as dt
import io
import json
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree

from formats import pdf_text
from formats.memo import NS as MEMO_NS
from formats.memo import validate_memo
from formats.multibase import public_key_from_multibase
from formats.report import FIELDS
from formats.vc import AMU_CONTEXT, load_context
from tests.conftest import Demo
from tests.externals import require_shared, require_tool
from tests.formats.test_pdf import (
    _flat,
    _make_pki,
    _pdftotext,
    _preflight,
    _render_gray,
    _validate,
)
from tests.formats.test_vc import public_jwk, run_node
from tests.helpers import ASE, Client, login, post_team, team_body

FORMS = ("signed-record", "credential", "xml", "pdf", "memo")
BASE = "http://testserver.local"


async def issue_for_ase(client: Client, seeded: Demo) -> tuple[str, str]:
    """Issue the demo team; Åse's certificate number and verification code."""
    issued = await post_team(client, seeded.public, team_body())
    assert issued.status_code == 201, issued.text
    certificate = issued.json()["participants"][0]["certificate"]
    return certificate["number"], certificate["verificationCode"]


async def served(client: Client, headers: dict[str, str], path: str, media_type: str) -> bytes:
    response = await client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(media_type)
    return response.content


async def authorities(client: Client) -> list[x509.Certificate]:
    pem = await served(client, {}, "/api/document-authorities", "application/pem-certificate-chain")
    return x509.load_pem_x509_certificates(pem)


async def jwk_of(client: Client, kid: str) -> str:
    (key,) = [k for k in (await client.get("/api/keys")).json()["keys"] if k["kid"] == kid]
    return json.dumps({"kty": key["kty"], "crv": key["crv"], "x": key["x"]})


def kid_of(token: str) -> str:
    header = token.split(".", maxsplit=1)[0]
    kid: str = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]
    return kid


def jose_payload(token: str, jwk: str) -> dict[str, Any]:
    done = run_node("verify-jws.mjs", jwk, stdin=token)
    assert done.returncode == 0, done.stderr
    payload: dict[str, Any] = json.loads(done.stdout)
    return payload


def xmlsec1_verifies(document: bytes, trusted_pem: bytes) -> tuple[bool, str]:
    xmlsec1 = require_tool("xmlsec1")
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "certificate.xml").write_bytes(document)
        (Path(folder) / "ca.pem").write_bytes(trusted_pem)
        done = subprocess.run(  # noqa: S603 - fixed arguments, our own temporary files
            [
                xmlsec1,
                "--verify",
                "--trusted-pem",
                str(Path(folder) / "ca.pem"),
                "--enabled-reference-uris",
                "empty",
                str(Path(folder) / "certificate.xml"),
            ],
            capture_output=True,
            check=False,
            timeout=60,
        )
    return done.returncode == 0, done.stderr.decode()


# --- the signed record ----------------------------------------------------------------------


@pytest.mark.external
async def test_jose_verifies_the_served_signed_record(client: Client, seeded: Demo) -> None:
    number, _code = await issue_for_ase(client, seeded)
    mine = await login(client, ASE)
    token = (
        await served(
            client,
            mine,
            f"/api/me/certificates/{number}/signed-record",
            "application/vnd.amu-bevis.certificate+jws",
        )
    ).decode()
    school = await served(
        client,
        seeded.school(seeded.public),
        f"/api/schools/751234/certificates/{number}/signed-record",
        "application/vnd.amu-bevis.certificate+jws",
    )
    assert school.decode() == token
    assert (
        token
        == (await client.get(f"/api/me/certificates/{number}", headers=mine)).json()["signedRecord"]
    )

    payload = jose_payload(token, await jwk_of(client, kid_of(token)))

    assert payload["number"] == number
    assert payload["participant"] == {"cpr": ASE, "name": "Åse Ødegård"}
    tampered = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    assert run_node(
        "verify-jws.mjs", await jwk_of(client, kid_of(token)), stdin=tampered
    ).returncode


# --- the credential -------------------------------------------------------------------------


@pytest.mark.external
async def test_the_node_cryptosuite_verifies_the_served_credential(
    client: Client, seeded: Demo
) -> None:
    number, _code = await issue_for_ase(client, seeded)
    body = await served(
        client,
        await login(client, ASE),
        f"/api/me/certificates/{number}/credential",
        "application/vc+ld+json",
    )
    credential = json.loads(body)
    proof = credential["proof"]
    issuer = credential["issuer"]["id"]
    assert issuer == f"{BASE}/issuers/751234"
    assert proof["verificationMethod"].startswith(f"{issuer}#")
    status = credential["credentialStatus"]  # its bit in the register's status list
    assert status["type"] == "BitstringStatusListEntry"
    assert (await client.get(status["statusListCredential"].removeprefix(BASE))).status_code == 200
    assert ASE not in body.decode()
    assert ASE.replace("-", "") not in body.decode()

    # The issuer URL and our context URL resolve on the service, and the proof's key is there.
    document = (await client.get(issuer.removeprefix(BASE))).json()
    (method,) = [
        m for m in document["verificationMethod"] if m["id"] == proof["verificationMethod"]
    ]
    assert method["id"] in document["assertionMethod"]
    key = public_key_from_multibase(method["publicKeyMultibase"])
    kid = proof["verificationMethod"].split("#")[1]
    assert public_jwk(key) == await jwk_of(client, kid)  # the same key /api/keys publishes
    context = await client.get(AMU_CONTEXT.removeprefix("https://amu-bevis.example"))
    assert context.headers["content-type"].startswith("application/ld+json")
    assert context.json() == load_context(AMU_CONTEXT)

    done = run_node("verify-vc.mjs", public_jwk(key), stdin=body.decode())

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "verified"
    credential["credentialSubject"]["achievement"]["humanCode"] = "40080"
    refused = run_node("verify-vc.mjs", public_jwk(key), stdin=json.dumps(credential))
    assert refused.returncode == 1


# --- the XML --------------------------------------------------------------------------------


@pytest.mark.external
async def test_xmlsec1_verifies_the_served_xml_with_the_served_authority(
    client: Client, seeded: Demo
) -> None:
    number, _code = await issue_for_ase(client, seeded)
    document = await served(
        client,
        seeded.school(seeded.public),
        f"/api/schools/751234/certificates/{number}/xml",
        "application/vnd.amu-bevis.certificate+xml",
    )
    pem = (await client.get("/api/document-authorities")).content

    ok, why = xmlsec1_verifies(document, pem)

    assert ok, why
    assert f"<Number>{number}</Number>".encode() in document
    tampered = document.replace("Åse Ødegård".encode(), "Åse Ødegaard".encode())
    assert not xmlsec1_verifies(tampered, pem)[0]
    mine = await login(client, ASE)
    again = await served(
        client, mine, f"/api/me/certificates/{number}/xml", "application/vnd.amu-bevis"
    )
    assert again == document  # RFC 6979: the same record and key give the same bytes


# --- the PDF --------------------------------------------------------------------------------


@pytest.mark.external
async def test_the_served_pdf_is_signed_printable_and_pdfa(client: Client, seeded: Demo) -> None:
    number, _code = await issue_for_ase(client, seeded)
    pdf = await served(
        client, await login(client, ASE), f"/api/me/certificates/{number}/pdf", "application/pdf"
    )
    (authority,) = await authorities(client)

    # pyHanko runs its own event loop: keep it off this one.
    status = await asyncio.to_thread(_validate, pdf, authority)
    assert status.intact
    assert status.valid
    assert status.trusted
    assert status.bottom_line
    assert status.signing_cert.subject.native["common_name"] == (
        "Erhvervsskolen Nordvest – AMU-beviser"
    )
    width, height, pixels = _render_gray(pdf, dpi=50)
    assert (width, height) == (414, 585)
    assert 0.02 < sum(1 for value in pixels if value < 128) / len(pixels) < 0.3
    # PDF/A-1b, the part it claims and the part preflight validates: nothing found.
    assert b'pdfaid:part="1"' in pdf
    assert _preflight(pdf) == ("valid", [])


@pytest.mark.external
async def test_another_authority_does_not_validate_the_served_pdf(
    client: Client, seeded: Demo
) -> None:
    number, _code = await issue_for_ase(client, seeded)
    pdf = await served(
        client,
        seeded.school(seeded.public),
        f"/api/schools/751234/certificates/{number}/pdf",
        "application/pdf",
    )
    stranger = _make_pki(ec.generate_private_key(ec.SECP256R1()))

    status = await asyncio.to_thread(_validate, pdf, stranger.ca)

    assert status.intact
    assert not status.bottom_line


@pytest.mark.external
async def test_paper_and_digital_versions_carry_the_same_information(
    client: Client, seeded: Demo
) -> None:
    number, code = await issue_for_ase(client, seeded)
    mine = await login(client, ASE)
    token = (await client.get(f"/api/me/certificates/{number}/signed-record", headers=mine)).text
    record = jose_payload(token, await jwk_of(client, kid_of(token)))
    pdf = (await client.get(f"/api/me/certificates/{number}/pdf", headers=mine)).content

    page = _flat(_pdftotext(pdf))

    def shows(label: str, value: str) -> None:
        assert f"{label} {value}" in page, f"{label}: {value!r} is not on the paper"

    participant, goal, school = record["participant"], record["goal"], record["school"]
    shows("Navn", participant["name"])
    shows("CPR-nr.", participant["cpr"][:6] + "-xxxx")  # masked on paper, by design
    assert participant["cpr"] not in page
    shows("AMU-mål", f"{goal['number']} {goal['title']}")
    shows("Varighed", pdf_text.duration(goal["durationDays"]))
    shows("Uddannelsessted", f"{school['name']} (institutionsnr. {school['id']})")
    shows("Hold", record["team"])
    start, end = (dt.date.fromisoformat(record[k]) for k in ("courseStart", "courseEnd"))
    shows("Kursusperiode", pdf_text.course_period(start, end))
    if record["examDate"] is not None:
        shows("Prøvedato", pdf_text.danish_date(dt.date.fromisoformat(record["examDate"])))
    issued = dt.datetime.fromisoformat(record["issuedAt"])
    shows("Udstedt", pdf_text.issue_date(issued))
    shows("Bevisnummer", record["number"])
    annotations = record["annotations"]
    assert annotations == {"examPassed": True, "dispensation": False, "ikv": False}
    assert pdf_text.EXAM_PASSED in page
    for absent in (pdf_text.DISPENSATION, pdf_text.IKV, pdf_text.EXAM_NOT_PASSED):
        assert absent not in page
    assert record["replaces"] is None
    assert "erstatter" not in page
    assert record["kind"] == "amu"
    assert "Arbejdsmarkedsuddannelse" in page
    assert f"{BASE}/tjek/{number}?kode={code}" in page
    assert f"Kontrolkode: {code}" in page


# --- the MeMo message -----------------------------------------------------------------------


@pytest.mark.external
async def test_the_served_memo_message_validates_and_is_the_delivered_one(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    schema = require_shared("memo-xsd/Version1.2/MeMo_core.xsd")
    number, _code = await issue_for_ase(client, seeded)
    mine = await login(client, ASE)
    message = await served(client, mine, f"/api/me/certificates/{number}/memo", "application/xml")

    validate_memo(message, schema)

    root = etree.fromstring(message)
    ns = {"memo": MEMO_NS}
    job_uuid = await conn.fetchval(
        "SELECT message_uuid FROM delivery_jobs WHERE certificate_number = $1", number
    )
    assert uuid.UUID(root.findtext(".//memo:messageUUID", namespaces=ns) or "") == job_uuid
    assert root.findtext(".//memo:recipientID", namespaces=ns) == ASE.replace("-", "")
    assert root.findtext(".//memo:senderID", namespaces=ns) == "29183746"
    assert root.findtext(".//memo:caseID", namespaces=ns) == number
    jws, pdf = (
        base64.b64decode(
            root.findtext(f".//memo:{doc}/memo:File/memo:content", namespaces=ns) or ""
        )
        for doc in ("TechnicalDocument", "MainDocument")
    )
    token = (await client.get(f"/api/me/certificates/{number}/signed-record", headers=mine)).text
    assert jws.decode() == token
    (authority,) = await authorities(client)
    assert (await asyncio.to_thread(_validate, pdf, authority)).bottom_line
    school = await served(
        client,
        seeded.school(seeded.public),
        f"/api/schools/751234/certificates/{number}/memo",
        "application/xml",
    )
    validate_memo(school, schema)


# --- the quarterly report -------------------------------------------------------------------


async def test_the_served_report_has_every_result_and_the_retake_as_its_own_row(
    client: Client, seeded: Demo
) -> None:
    school = seeded.school(seeded.public)
    participants = (await post_team(client, seeded.public, team_body())).json()["participants"]
    bo = participants[1]["participation"]
    retake = await client.post(
        f"/api/schools/751234/participations/{bo}/attempts",
        json={"heldOn": "2026-11-17", "parts": ["passed"], "kind": "retake"},
        headers={**school, "Idempotency-Key": "retake-1"},
    )
    assert retake.status_code == 201, retake.text

    response = await client.get("/api/schools/751234/reports/2026K4", headers=school)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.content.endswith(b"\r\n")
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8")), delimiter=";"))
    assert tuple(lines[0]) == FIELDS
    rows = [dict(zip(FIELDS, line, strict=True)) for line in lines[1:]]
    shown = [
        (r["CPR"], r["Proeveforsoeg"], r["Proevedato"], r["ResultatProevebelagt"], r["OMPPÅ"])
        for r in rows
    ]
    assert shown == [
        ("0101901234", "ordinaer", "", "1", ""),
        ("0202854321", "ordinaer", "", "4", ""),
        ("0202854321", "omproeve", "2026-11-17", "1", "1"),
    ]
    for row in rows:
        assert row["Kvartal"] == "2026K4"
        assert row["Institutionsnummer"] == "751234"
        assert (row["Holdreference"], row["Fagkode"]) == ("H-101", "48113")
        assert (row["Startdato"], row["Slutdato"]) == ("2026-11-09", "2026-11-10")
        assert row["ResultatIkkeProevebelagt"] == ""
    # The next quarter still reports them (an update); a year later they are gone.
    later = await client.get("/api/schools/751234/reports/2027K3", headers=school)
    assert len(later.content.decode().splitlines()) == 4
    gone = await client.get("/api/schools/751234/reports/2027K4", headers=school)
    assert gone.content.decode().splitlines() == [";".join(FIELDS)]


async def test_a_malformed_quarter_is_a_problem_naming_the_field(
    client: Client, seeded: Demo
) -> None:
    response = await client.get(
        "/api/schools/751234/reports/2026-Q4", headers=seeded.school(seeded.public)
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["invalid-params"][0]["name"] == "quarter"


# --- published material ---------------------------------------------------------------------


async def test_an_unknown_issuer_is_not_found(client: Client, seeded: Demo) -> None:
    assert (await client.get("/issuers/999999")).status_code == 404
    document = (await client.get("/issuers/863410")).json()
    assert document["id"] == f"{BASE}/issuers/863410"
    assert all(m["type"] == "Multikey" for m in document["verificationMethod"])


async def test_every_form_of_a_cancelled_certificate_but_its_record_is_gone(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    number, _code = await issue_for_ase(client, seeded)
    await conn.execute(
        """INSERT INTO certificate_events (certificate_number, kind, reason, at)
           VALUES ($1, 'revoked', 'issued-in-error', now())""",
        number,
    )
    mine = await login(client, ASE)
    for form in FORMS:
        response = await client.get(f"/api/me/certificates/{number}/{form}", headers=mine)
        assert response.status_code == (200 if form == "signed-record" else 410), form
