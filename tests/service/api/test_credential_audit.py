"""Every request with a school's credential is in its audit trail: ``used`` with the route's
template and the client's address, ``refused`` (with why) for a wrong secret or a revoked
credential; never the token."""

from __future__ import annotations

import datetime as dt

import asyncpg

from tests.conftest import Demo, FixedClock
from tests.helpers import Client
from tests.service.api.test_authorization import assert_refused

OVERDUE = "/api/schools/{school_id}/overdue"
OVERDUE_751234 = "/api/schools/751234/overdue"


async def _events(conn: asyncpg.Connection, event: str) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM credential_events WHERE event = $1 ORDER BY id", event)


async def test_a_used_credential_is_recorded_with_route_and_client(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    for _ in range(2):
        response = await client.get(OVERDUE_751234, headers=seeded.school(seeded.public))
        assert response.status_code == 200, response.text
    used = await _events(conn, "used")
    assert len(used) == 2  # every request
    assert {(u["school_id"], u["actor"], u["route"]) for u in used} == {
        ("751234", "api", f"GET {OVERDUE}")
    }
    assert used[0]["client"]  # the test client's address
    credential_id = seeded.public.split("_")[1]
    assert {u["credential_id"] for u in used} == {credential_id}
    last_used = await conn.fetchval(
        "SELECT last_used_at FROM api_credentials WHERE id = $1", credential_id
    )
    assert last_used == used[0]["at"]


async def test_a_wrong_secret_and_a_revoked_credential_are_refused_and_recorded(
    client: Client, seeded: Demo, conn: asyncpg.Connection, clock: FixedClock
) -> None:
    forged = seeded.public[:-4] + "AAAA"
    response = await client.get(OVERDUE_751234, headers=seeded.school(forged))
    assert_refused(response, 401)
    (refused,) = await _events(conn, "refused")
    assert (refused["detail"], refused["route"]) == ("wrong secret", f"GET {OVERDUE}")
    assert await _events(conn, "used") == []

    # Refused again within a minute from the same client: not recorded again (whoever knows a
    # credential's id, which is no secret, must not be able to fill the table).
    assert_refused(await client.get(OVERDUE_751234, headers=seeded.school(forged)), 401)
    assert len(await _events(conn, "refused")) == 1

    await conn.execute("UPDATE api_credentials SET revoked_at = now()")
    clock.now += dt.timedelta(minutes=1, seconds=1)
    response = await client.get(OVERDUE_751234, headers=seeded.school(seeded.public))
    assert_refused(response, 401)
    assert [r["detail"] for r in await _events(conn, "refused")] == ["wrong secret", "revoked"]

    text = repr([dict(r) for r in await conn.fetch("SELECT * FROM credential_events")])
    assert seeded.public.split("_", 2)[2] not in text
    assert forged.split("_", 2)[2] not in text


async def test_a_credential_used_for_another_school_is_refused_and_recorded(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    response = await client.get(OVERDUE_751234, headers=seeded.school(seeded.private))
    assert_refused(response, 403)
    (refused,) = await _events(conn, "refused")
    assert (refused["school_id"], refused["detail"]) == ("863410", "for another school")
