"""The OpenAPI document lists every problem a route can answer, and HEAD works on GET routes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tests.conftest import Demo
from tests.helpers import Client, post_team, team_body

PROBLEM = "application/problem+json"


async def openapi(client: Client) -> dict[str, Any]:
    document: dict[str, Any] = (await client.get("/schema/openapi.json")).json()
    return document


def statuses(document: dict[str, Any], method: str, path: str) -> set[str]:
    return set(document["paths"][path][method]["responses"])


async def test_every_operation_lists_its_problems_as_problem_documents(client: Client) -> None:
    document = await openapi(client)
    operations = [
        (path, method, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "patch", "put", "delete"}
    ]
    assert len(operations) > 30
    for path, method, op in operations:
        wanted = {"400", "422"}
        if path.startswith("/api/schools/"):
            wanted |= {"401", "403", "503"}
        if path.startswith("/api/me"):
            wanted |= {"401", "503"}
        if method != "get":
            wanted |= {"413"}
        responses = op["responses"]
        assert wanted <= responses.keys(), (method, path, sorted(responses))
        for status in responses.keys() - {"200", "201", "202"}:
            assert list(responses[status]["content"]) == [PROBLEM], (method, path, status)


async def test_each_route_lists_the_statuses_it_answers_and_no_others(client: Client) -> None:
    document = await openapi(client)
    # Only verification by code is rate-limited.
    assert "429" in statuses(document, "get", "/api/verify/{number}")
    assert "429" not in statuses(document, "get", "/api/keys")
    assert "429" not in statuses(document, "get", "/api/log/checkpoint")
    # A withdrawn certificate's documents are gone; its signed record is still served.
    for who in ("/api/me", "/api/schools/{school_id}"):
        assert "410" in statuses(document, "get", who + "/certificates/{number}/pdf")
        assert "410" not in statuses(document, "get", who + "/certificates/{number}/signed-record")
    # Public routes take no credential, so they never answer 401 or 403.
    for path in ("/api/verify/{number}", "/api/keys", "/api/log/leaves/{index}"):
        assert not {"401", "403"} & statuses(document, "get", path), path
    assert "403" not in statuses(document, "get", "/api/me/certificates")
    # 404 only where the route's own path names something, or the handler says it may.
    assert "404" not in statuses(document, "get", "/api/schools/{school_id}/overdue")
    assert "404" not in statuses(document, "get", "/api/keys")
    assert "404" in statuses(document, "get", "/api/log/proof/consistency")
    assert "404" in statuses(document, "get", "/api/schools/{school_id}/deliveries/{number}")
    # The context never touches the database; a login clashes with nothing stored.
    assert "503" not in statuses(document, "get", "/contexts/amu-bevis-v1.jsonld")
    assert "409" not in statuses(document, "post", "/api/dev/login")
    assert "409" in statuses(document, "post", "/api/schools/{school_id}/teams")


async def test_a_revoked_certificates_pdf_is_a_410_problem(client: Client, seeded: Demo) -> None:
    school = seeded.school(seeded.public)
    issued = await post_team(client, seeded.public, team_body())
    number = issued.json()["participants"][0]["certificate"]["number"]
    revoked = await client.post(
        f"/api/schools/751234/certificates/{number}/revocation",
        json={"reason": "fraud"},
        headers={**school, "Idempotency-Key": "revoke-1"},
    )
    assert revoked.status_code == 201, revoked.text
    pdf = await client.get(f"/api/schools/751234/certificates/{number}/pdf", headers=school)
    assert pdf.status_code == 410
    assert pdf.headers["content-type"].startswith(PROBLEM)
    assert pdf.json()["type"].endswith("/gone")
    signed = f"/api/schools/751234/certificates/{number}/signed-record"
    assert (await client.get(signed, headers=school)).status_code == 200


def _undescribed(
    schema: dict[str, Any], where: str, schemas: dict[str, Any], seen: set[str]
) -> Iterator[str]:
    """The properties, through every $ref, array and union, that have no description."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        if name not in seen:
            seen.add(name)
            yield from _undescribed(schemas[name], name, schemas, seen)
        return
    for sub in (*schema.get("oneOf", []), *schema.get("anyOf", []), *schema.get("allOf", [])):
        yield from _undescribed(sub, where, schemas, seen)
    if "items" in schema:
        yield from _undescribed(schema["items"], where, schemas, seen)
    for name, sub in schema.get("properties", {}).items():
        if not sub.get("description", "").strip():
            yield f"{where}.{name}"
        yield from _undescribed(sub, f"{where}.{name}", schemas, seen)


async def test_every_request_field_and_parameter_is_described(client: Client) -> None:
    document = await openapi(client)
    schemas = document["components"]["schemas"]
    undescribed, bodies, parameters = [], 0, 0
    for path, item in document["paths"].items():
        for method, op in item.items():
            for parameter in op.get("parameters", []):
                parameters += 1
                if not parameter.get("description", "").strip():
                    undescribed.append(f"{method} {path} {parameter['name']}")
            for media in op.get("requestBody", {}).get("content", {}).values():
                bodies += 1
                undescribed += _undescribed(media["schema"], f"{method} {path}", schemas, set())
    assert bodies >= 9
    assert parameters > 50
    assert undescribed == []
    # The walk reaches nested structs: a participant's CPR number says its format.
    cpr = schemas["ParticipantIn"]["properties"]["cpr"]["description"]
    assert "DDMMYY-SSSS" in cpr


async def test_head_answers_what_get_does_without_the_body(client: Client, seeded: Demo) -> None:
    for path in ("/api/log/keys", "/api/keys", "/", "/api/log/leaves/0"):
        got = await client.get(path)
        head = await client.head(path)
        assert head.status_code == got.status_code == 200, path
        assert head.content == b""
        assert head.headers["content-type"] == got.headers["content-type"]
        assert head.headers["content-length"] == got.headers["content-length"]
    school = seeded.school(seeded.public)
    assert (await client.head("/api/schools/751234/overdue", headers=school)).status_code == 200
    assert (await client.head("/api/schools/751234/overdue")).status_code == 401
    # HEAD is GET's: a route without GET still refuses it.
    assert (await client.head("/api/dev/login")).status_code == 405
