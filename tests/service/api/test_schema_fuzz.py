"""Schemathesis over the whole OpenAPI document of ``create_app``: no input gives a 5xx, and
every answer's status, content type and body are what the document says.

In process (Litestar's test client, the app's own lifespan), against a seeded demo, as the
public school (751234, its own path) and as a participant; a fixed seed and a bounded number of
examples per operation, so a run is repeatable and takes a minute or two on two cores.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import TestClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from issuers.delivery import worker_store
from issuers.delivery.worker_store import WorkerIdentity
from registry.keys import MemoryKeyStore
from service import demo, migrations
from service.app import create_app
from service.settings import Settings
from tests.conftest import NOW, DatabaseRoles, FixedClock
from tests.helpers import ASE

EXAMPLES_PER_OPERATION = 25
SEED = 20261202
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]


@dataclass
class Tally:
    requests: int = 0
    server_errors: int = 0
    failures: dict[str, list[str]] = field(default_factory=dict)


@pytest.fixture
def fuzzed(
    database_url: str, database_roles: DatabaseRoles, tmp_path: Path
) -> Iterator[tuple[TestClient[Litestar], str, str]]:
    """A served app on a fresh schema with the demo seeded: (client, school token, participant
    token). The owner role migrates the schema; the app connects as the service role."""
    name = f"t_{secrets.token_hex(6)}"
    keys = MemoryKeyStore()

    async def create() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute(f"CREATE SCHEMA {name} AUTHORIZATION {database_roles.owner}")
        finally:
            await conn.close()
        owner = await asyncpg.connect(
            database_roles.owner_url, server_settings={"search_path": name}
        )
        try:
            await migrations.apply(owner, service_role=database_roles.service)
        finally:
            await owner.close()

    async def seed() -> str:
        conn = await asyncpg.connect(database_url, server_settings={"search_path": name})
        try:
            made = await demo.seed_demo(conn, keys, now=NOW)
            # A delivery worker was seen: /health/ready answers 200, as a running service's.
            worker = WorkerIdentity(uuid.uuid4(), "fuzz", 1, NOW)
            await worker_store.beat(conn, worker, now=NOW)
        finally:
            await conn.close()
        return next(c.token for c in made if c.school_id == "751234")

    async def drop() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute(f"DROP SCHEMA {name} CASCADE")
        finally:
            await conn.close()

    asyncio.run(create())
    settings = Settings(
        database_url=database_roles.service_url,
        database_schema=name,
        database_pool_size=2,
        data_dir=tmp_path,
        key_store="memory",
        public_base_url="http://testserver.local",
    )
    try:
        app = create_app(settings, keys=keys, clock=FixedClock())
        with TestClient(app=app, base_url="http://testserver.local") as client:
            school = asyncio.run(seed())
            login = client.post("/api/dev/login", json={"cpr": ASE})
            assert login.status_code == 201, login.text
            yield client, school, login.json()["token"]
    finally:
        asyncio.run(drop())


def _auth(path: str, school: str, participant: str) -> dict[str, str]:
    if path.startswith("/api/schools/"):
        return {"Authorization": f"Bearer {school}"}
    if path.startswith("/api/me"):
        return {"Authorization": f"Bearer {participant}"}
    return {}


def test_no_input_gives_a_server_error_or_an_answer_outside_the_schema(
    fuzzed: tuple[TestClient[Litestar], str, str],
) -> None:
    client, school, participant = fuzzed
    document = client.get("/schema/openapi.json").json()
    schema = schemathesis.openapi.from_dict(document)
    tally = Tally()
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) > 30  # the whole document, not a part of it

    for operation in operations:
        _fuzz(client, operation, _auth(operation.path, school, participant), tally)

    print(  # noqa: T201 - the figures the issue's closing note asks for
        f"schemathesis: {len(operations)} operations, {tally.requests} requests, "
        f"{tally.server_errors} server errors, {len(tally.failures)} operations failing"
    )
    summary = "\n".join(f"{op}: {msgs[0]}" for op, msgs in sorted(tally.failures.items()))
    assert tally.server_errors == 0, summary
    assert not tally.failures, summary


def _fuzz(
    client: TestClient[Litestar], operation: Any, headers: dict[str, str], tally: Tally
) -> None:
    strategy = operation.as_strategy()

    @hypothesis.settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )
    @hypothesis.seed(SEED)
    @hypothesis.given(data=st.data())
    def run(data: st.DataObject) -> None:
        case = data.draw(strategy)
        if "school_id" in (case.path_parameters or {}):
            case.path_parameters["school_id"] = "751234"  # past the guard, into the handler
        kwargs = case.as_transport_kwargs(base_url="http://testserver.local", headers=headers)
        kwargs.pop("base_url", None)
        # The API reads no cookies, and httpx refuses per-request cookies with a warning.
        kwargs.pop("cookies", None)
        response = client.request(**kwargs)
        tally.requests += 1
        if response.status_code >= 500:
            tally.server_errors += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except BaseExceptionGroup as e:  # schemathesis FailureGroup; reported together
            key = f"{operation.method.upper()} {operation.path}"
            tally.failures.setdefault(key, []).append(
                f"{response.status_code} {type(e).__name__}: {str(e)[:400]}"
            )

    run()
