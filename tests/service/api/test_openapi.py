"""The OpenAPI document lists every problem a route can answer, and HEAD works on GET routes."""

from __future__ import annotations

from tests.conftest import Demo
from tests.helpers import Client

PROBLEM = "application/problem+json"


async def test_every_operation_lists_its_problems_as_problem_documents(client: Client) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    operations = [
        (path, method, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "patch", "put", "delete"}
    ]
    assert len(operations) > 30
    for path, method, op in operations:
        wanted = {"400", "404", "422", "503"}
        if path.startswith("/api/schools/"):
            wanted |= {"401", "403"}
        if path.startswith("/api/me"):
            wanted |= {"401"}
        if path.startswith("/api/verify/"):
            wanted |= {"429"}
        if method != "get":
            wanted |= {"409", "413"}
        responses = op["responses"]
        assert wanted <= responses.keys(), (method, path, sorted(responses))
        for status in wanted:
            assert list(responses[status]["content"]) == [PROBLEM], (method, path, status)


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
