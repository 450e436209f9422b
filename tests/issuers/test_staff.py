"""Staff roles: granted and revoked with who did it, a role replaced rather than doubled, the
school's last administrator kept (also against two administrators revoking each other at once),
and the rows a history nothing can rewrite."""

from __future__ import annotations

import asyncio
import datetime as dt

import asyncpg
import pytest

from issuers import school_store, staff, staff_store
from issuers.errors import ConflictError, InvalidInputError, NotFoundIssuingError
from tests.conftest import NOW

ADMIN = "staff:anne"
LATER = NOW + dt.timedelta(hours=1)


@pytest.fixture
async def school(conn: asyncpg.Connection) -> asyncpg.Connection:
    await school_store.insert_school(
        conn, school_id="751234", name="Skole", cvr="12345678", ownership="public"
    )
    await staff.grant(conn, "751234", "anne", "administrator", actor="operator:ole", now=NOW)
    return conn


async def test_grant_and_revoke_record_who_did_it(school: asyncpg.Connection) -> None:
    conn = school
    made = await staff.grant(
        conn, "751234", " bo-42 ", "registrar", actor=ADMIN, now=NOW, name=" Bo Jensen "
    )
    assert (made.subject, made.role, made.granted_by, made.name) == (
        "bo-42",
        "registrar",
        ADMIN,
        "Bo Jensen",
    )
    assert [(m.subject, m.role) for m in await staff.staff_of(conn, "751234")] == [
        ("anne", "administrator"),
        ("bo-42", "registrar"),
    ]
    # A new role replaces the old one; the old one is history, revoked by whoever granted.
    await staff.grant(conn, "751234", "bo-42", "administrator", actor=ADMIN, now=LATER)
    assert await staff.role_at(conn, "751234", "bo-42") == "administrator"
    ended = await staff.revoke(conn, "751234", "bo-42", actor="operator:ole", now=LATER)
    assert ended.role == "administrator"
    assert await staff.role_at(conn, "751234", "bo-42") is None
    history = await staff.history_of(conn, "751234")
    assert [(m.role, m.granted_by, m.revoked_by) for m in history] == [
        ("administrator", ADMIN, "operator:ole"),
        ("registrar", ADMIN, ADMIN),
    ]


async def test_the_last_administrator_stays(school: asyncpg.Connection) -> None:
    conn = school
    with pytest.raises(staff.LastAdministratorError) as revoked:
        await staff.revoke(conn, "751234", "anne", actor=ADMIN, now=NOW)
    assert revoked.value.field == "subject"
    with pytest.raises(staff.LastAdministratorError) as demoted:
        await staff.grant(conn, "751234", "anne", "registrar", actor=ADMIN, now=NOW)
    assert demoted.value.field == "role"
    # With a second administrator, either may go.
    await staff.grant(conn, "751234", "carl", "administrator", actor=ADMIN, now=NOW)
    await staff.grant(conn, "751234", "anne", "registrar", actor=ADMIN, now=LATER)
    assert await staff.role_at(conn, "751234", "anne") == "registrar"


async def test_two_administrators_revoking_each_other_at_once_leave_one(
    school: asyncpg.Connection, database_url: str, migrated: str
) -> None:
    conn = school
    await staff.grant(conn, "751234", "carl", "administrator", actor=ADMIN, now=NOW)
    other = await asyncpg.connect(database_url, server_settings={"search_path": migrated})
    try:
        async with conn.transaction():
            await staff.revoke(conn, "751234", "carl", actor="staff:anne", now=LATER)
            # Carl revokes Anne meanwhile: he waits for the lock, then finds her the last one.
            racing = asyncio.ensure_future(
                staff.revoke(other, "751234", "anne", actor="staff:carl", now=LATER)
            )
            await asyncio.sleep(0.3)
            assert not racing.done()
        with pytest.raises(staff.LastAdministratorError):
            await racing
    finally:
        await other.close()
    assert [m.subject for m in await staff.staff_of(conn, "751234")] == ["anne"]


@pytest.mark.parametrize(
    ("subject", "role", "name", "field"),
    [
        ("", "registrar", None, "subject"),
        ("two words", "registrar", None, "subject"),
        ("x" * 256, "registrar", None, "subject"),
        ("bo\u202e", "registrar", None, "subject"),
        ("bo", "owner", None, "role"),
        ("bo", "registrar", "123", "name"),
        ("bo", "registrar", "B" * 201, "name"),
    ],
)
async def test_bad_input_names_its_field_and_stores_nothing(
    school: asyncpg.Connection, subject: str, role: str, name: str | None, field: str
) -> None:
    with pytest.raises(InvalidInputError) as refused:
        await staff.grant(school, "751234", subject, role, actor=ADMIN, now=NOW, name=name)
    assert refused.value.field == field
    assert len(await staff.staff_of(school, "751234")) == 1


async def test_what_is_not_there(school: asyncpg.Connection) -> None:
    conn = school
    with pytest.raises(NotFoundIssuingError) as no_school:
        await staff.grant(conn, "999999", "bo", "registrar", actor=ADMIN, now=NOW)
    assert no_school.value.field == "school_id"
    with pytest.raises(NotFoundIssuingError) as no_role:
        await staff.revoke(conn, "751234", "bo", actor=ADMIN, now=NOW)
    assert no_role.value.field == "subject"
    with pytest.raises(ConflictError) as again:
        await staff.grant(conn, "751234", "anne", "administrator", actor=ADMIN, now=NOW)
    assert again.value.field == "role"


async def test_a_role_is_revoked_once_and_never_rewritten_or_deleted(
    school: asyncpg.Connection,
) -> None:
    conn = school  # the tables' owner even: the trigger holds
    await staff.grant(conn, "751234", "carl", "administrator", actor=ADMIN, now=NOW)
    for statement in (
        "UPDATE school_staff SET role = 'registrar' WHERE subject = 'anne'",
        "UPDATE school_staff SET granted_by = 'someone' WHERE subject = 'anne'",
        "DELETE FROM school_staff WHERE subject = 'anne'",
        "TRUNCATE school_staff",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(statement)
    await staff_store.revoke(conn, school_id="751234", subject="carl", now=LATER, revoked_by=ADMIN)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await conn.execute("UPDATE school_staff SET revoked_by = 'x' WHERE subject = 'carl'")
    with pytest.raises(asyncpg.CheckViolationError):
        await conn.execute(
            "UPDATE school_staff SET revoked_at = now() WHERE subject = 'anne'"
        )  # a revocation names who revoked
