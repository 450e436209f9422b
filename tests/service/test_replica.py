"""The app with a real streaming read replica (AMU_DATABASE_REPLICA_URL): participants' lists,
verification, proofs and status lists answer as the primary alone does, and a certificate issued
a moment ago verifies and is proven while the replica has not replayed it."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from registry.keys import MemoryKeyStore
from service.app import create_app
from service.settings import Settings
from tests.conftest import DatabaseRoles, Demo, FixedClock
from tests.helpers import ASE, Client, login, post_team, team_body
from tests.replica import Replica


@pytest.fixture
async def replicated(
    settings: Settings,
    keys: MemoryKeyStore,
    clock: FixedClock,
    database_roles: DatabaseRoles,
    streaming_replica: Replica,
    seeded: Demo,  # the demo on the primary, before the replica's app starts
) -> AsyncIterator[Client]:
    """A client of the app that reads from the replica (allowed lag: a minute, so that a paused
    replay keeps it chosen), sharing the primary, the keys and the secret with ``client``'s."""
    await streaming_replica.wait_caught_up()
    with_replica = dataclasses.replace(
        settings,
        database_replica_url=streaming_replica.url_for(database_roles.service_url),
        replica_max_lag_seconds=60.0,
    )
    app = create_app(with_replica, keys=keys, clock=clock)
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as test_client:
        yield test_client


async def _reads(client: Client, number: str, code: str, person: dict[str, str]) -> list[Any]:
    """What a reader sees: the participant's list and certificate, the verdict, the proof and
    the status list (its signature's time aside: the clock is the same, the proof's nonce not)."""
    status = (await client.get("/api/status/1")).json()
    return [
        (await client.get("/api/me/certificates", headers=person)).json(),
        (await client.get(f"/api/me/certificates/{number}", headers=person)).json(),
        (await client.post(f"/api/verify/{number}", json={"code": code})).json(),
        (await client.get(f"/api/log/proof/certificate/{number}")).json(),
        (await client.get("/api/log/leaves/0")).json(),
        status["credentialSubject"],
    ]


async def test_the_replica_answers_as_the_primary(
    client: Client,
    replicated: Client,
    seeded: Demo,
    streaming_replica: Replica,
    conn: asyncpg.Connection,
) -> None:
    issued = await post_team(client, seeded.public, team_body(reference="R-1"), key="R-1")
    assert issued.status_code == 201, issued.text
    certificate = issued.json()["participants"][0]["certificate"]
    number, code = certificate["number"], certificate["verificationCode"]
    person = await login(client, ASE)
    await streaming_replica.wait_caught_up()
    on_primary = await _reads(client, number, code, person)
    on_replica = await _reads(replicated, number, code, person)
    assert on_replica == on_primary
    assert on_primary[2]["status"] == "valid"
    assert [c["number"] for c in on_primary[0]] == [number]
    # Both verifications were written to the holder's access log, on the primary.
    assert await conn.fetchval("SELECT count(*) FROM access_events") == 2
    # And a wrong code counts against the client on the primary whichever app answered.
    wrong = await replicated.post(f"/api/verify/{number}", json={"code": "AAAA-AAAA"})
    assert wrong.json()["status"] == "unknown"
    assert await conn.fetchval("SELECT count(*) FROM verify_failures") == 3


async def test_issued_a_moment_ago_verifies_while_replay_is_paused(
    client: Client,
    replicated: Client,
    seeded: Demo,
    streaming_replica: Replica,
    conn: asyncpg.Connection,
) -> None:
    person = await login(client, ASE)
    assert (await replicated.get("/api/me/certificates", headers=person)).json() == []
    async with streaming_replica.paused():
        issued = await post_team(client, seeded.public, team_body(reference="R-2"), key="R-2")
        assert issued.status_code == 201, issued.text
        certificate = issued.json()["participants"][0]["certificate"]
        number, code = certificate["number"], certificate["verificationCode"]
        # The list is the replica's (within the allowed lag): it has not replayed the team.
        assert (await replicated.get("/api/me/certificates", headers=person)).json() == []
        # What is looked up by number is looked up on the primary when the replica lacks it.
        verified = await replicated.post(f"/api/verify/{number}", json={"code": code})
        assert verified.json()["status"] == "valid", verified.text
        mine = await replicated.get(f"/api/me/certificates/{number}", headers=person)
        assert mine.status_code == 200, mine.text
        proof = await replicated.get(f"/api/log/proof/certificate/{number}")
        assert proof.status_code == 200, proof.text
        assert proof.json() == (await client.get(f"/api/log/proof/certificate/{number}")).json()
        size = proof.json()["treeSize"]
        leaf = await replicated.get(f"/api/log/leaves/{size - 1}")
        assert leaf.status_code == 200, leaf.text
        consistency = await replicated.get(
            "/api/log/proof/consistency", params={"first": 1, "second": size}
        )
        assert consistency.status_code == 200, consistency.text
        status = await replicated.get("/api/status/1")
        assert status.status_code == 200, status.text
        assert await conn.fetchval("SELECT count(*) FROM access_events") == 1
    listed = (await replicated.get("/api/me/certificates", headers=person)).json()
    assert [c["number"] for c in listed] == [number]
