"""The lifecycle of a school's API credentials: made with a token shown once, listed without
secrets, rotated with an overlap in which both work, revoked at once; a credential of another
school is not found; every change and every use is in the audit trail, never the secret."""

from __future__ import annotations

import dataclasses
import datetime as dt

import asyncpg
import pytest

from issuers import credentials, school_store
from issuers.credentials import Admission
from issuers.errors import ConflictError, InvalidInputError, NotFoundIssuingError
from tests.conftest import NOW

ACTOR = "operator:jens"
ROUTE = "GET /api/schools/{school_id}/overdue"


@pytest.fixture
async def schools(conn: asyncpg.Connection) -> asyncpg.Connection:
    for school_id in ("751234", "863410"):
        await school_store.insert_school(
            conn, school_id=school_id, name=f"Skole {school_id}", cvr="12345678", ownership="public"
        )
    return conn


async def _admit(
    conn: asyncpg.Connection, token: str, now: dt.datetime, school: str = "751234"
) -> Admission:
    admission, _ = await credentials.admit(
        conn, token, school=school, now=now, route=ROUTE, client="192.0.2.7"
    )
    return admission


async def test_a_credential_is_made_listed_and_works(schools: asyncpg.Connection) -> None:
    conn = schools
    info, token = await credentials.create(conn, "751234", "  Studieadministration ", ACTOR, NOW)
    assert token.startswith(f"amu_{info.id}_")
    assert (info.label, info.created_by, info.created_at) == ("Studieadministration", ACTOR, NOW)
    listed = await credentials.list_of(conn, "751234")
    assert listed == [info]
    assert not any(f.name.startswith("secret") for f in dataclasses.fields(listed[0]))
    assert credentials.state(info, NOW) == "active"
    assert await credentials.list_of(conn, "863410") == []
    assert await _admit(conn, token, NOW) is Admission.ADMITTED
    assert await credentials.school_of(conn, *(credentials.parse_token(token) or ("", "")))


async def test_the_token_is_stored_nowhere(schools: asyncpg.Connection) -> None:
    _info, token = await credentials.create(schools, "751234", "System", ACTOR, NOW)
    _, secret = credentials.parse_token(token) or ("", "")
    await _admit(schools, token, NOW)
    await _admit(schools, token[:-3] + "xyz", NOW)
    for table in ("api_credentials", "credential_events"):
        rows = await schools.fetch(f"SELECT * FROM {table}")  # noqa: S608 - constant names
        text = repr([dict(r) for r in rows])
        assert secret not in text
        assert token not in text


@pytest.mark.parametrize(
    ("label", "reason"),
    [
        ("", "no visible character"),
        ("   ", "no visible character"),
        ("a" * 101, "longer than 100"),
        ("Studie\nadministration", "control character"),
        ("\u202eadministration", "formatting character"),
    ],
)
async def test_a_label_must_be_printable_and_short(
    schools: asyncpg.Connection, label: str, reason: str
) -> None:
    with pytest.raises(InvalidInputError, match=reason) as refused:
        await credentials.create(schools, "751234", label, ACTOR, NOW)
    assert refused.value.field == "label"
    assert await schools.fetchval("SELECT count(*) FROM api_credentials") == 0


async def test_a_label_of_100_characters_is_fine(schools: asyncpg.Connection) -> None:
    info, _ = await credentials.create(schools, "751234", "æ" * 100, ACTOR, NOW)
    assert info.label == "æ" * 100


async def test_an_unknown_school_is_named(schools: asyncpg.Connection) -> None:
    for call in (
        credentials.create(schools, "999999", "System", ACTOR, NOW),
        credentials.list_of(schools, "999999"),
        credentials.revoke(schools, "999999", "abc", ACTOR, NOW),
    ):
        with pytest.raises(NotFoundIssuingError) as refused:
            await call
        assert refused.value.field == "school_id"


async def test_rotation_keeps_the_old_one_working_for_the_overlap(
    schools: asyncpg.Connection,
) -> None:
    conn = schools
    old, old_token = await credentials.create(conn, "751234", "System", ACTOR, NOW)
    new, new_token = await credentials.rotate(conn, "751234", old.id, ACTOR, NOW)
    assert new.id != old.id
    assert new.label == "System"
    listed = {c.id: c for c in await credentials.list_of(conn, "751234")}
    assert listed[old.id].replaced_by == new.id
    assert listed[old.id].expires_at == NOW + credentials.DEFAULT_OVERLAP
    assert credentials.state(listed[old.id], NOW) == "replaced"

    almost = NOW + credentials.DEFAULT_OVERLAP - dt.timedelta(seconds=1)
    assert await _admit(conn, old_token, almost) is Admission.ADMITTED
    assert await _admit(conn, new_token, almost) is Admission.ADMITTED
    over = NOW + credentials.DEFAULT_OVERLAP
    assert await _admit(conn, old_token, over) is Admission.UNAUTHENTICATED
    assert await _admit(conn, new_token, over) is Admission.ADMITTED
    assert credentials.state(listed[old.id], over) == "expired"

    # A replaced credential is not rotated again: its successor is.
    with pytest.raises(ConflictError, match=new.id):
        await credentials.rotate(conn, "751234", old.id, ACTOR, NOW)


async def test_a_leaked_credential_is_rotated_without_overlap(
    schools: asyncpg.Connection,
) -> None:
    old, old_token = await credentials.create(schools, "751234", "System", ACTOR, NOW)
    _, new_token = await credentials.rotate(
        schools, "751234", old.id, ACTOR, NOW, overlap=dt.timedelta(0)
    )
    assert await _admit(schools, old_token, NOW) is Admission.UNAUTHENTICATED
    assert await _admit(schools, new_token, NOW) is Admission.ADMITTED


@pytest.mark.parametrize("overlap", [dt.timedelta(seconds=-1), dt.timedelta(days=8)])
async def test_the_overlap_is_bounded(schools: asyncpg.Connection, overlap: dt.timedelta) -> None:
    old, _ = await credentials.create(schools, "751234", "System", ACTOR, NOW)
    with pytest.raises(InvalidInputError) as refused:
        await credentials.rotate(schools, "751234", old.id, ACTOR, NOW, overlap=overlap)
    assert refused.value.field == "overlap"


async def test_revoking_ends_a_credential_at_once_and_its_overlap_too(
    schools: asyncpg.Connection,
) -> None:
    conn = schools
    old, old_token = await credentials.create(conn, "751234", "System", ACTOR, NOW)
    new, new_token = await credentials.rotate(conn, "751234", old.id, ACTOR, NOW)
    revoked = await credentials.revoke(conn, "751234", old.id, ACTOR, NOW)
    assert revoked.revoked_at == NOW
    assert credentials.state(revoked, NOW) == "revoked"
    assert await _admit(conn, old_token, NOW) is Admission.UNAUTHENTICATED
    assert await _admit(conn, new_token, NOW) is Admission.ADMITTED
    await credentials.revoke(conn, "751234", new.id, ACTOR, NOW)
    assert await _admit(conn, new_token, NOW) is Admission.UNAUTHENTICATED
    with pytest.raises(ConflictError):
        await credentials.revoke(conn, "751234", new.id, ACTOR, NOW)
    with pytest.raises(ConflictError):
        await credentials.rotate(conn, "751234", new.id, ACTOR, NOW)


async def test_another_schools_credential_is_not_found(schools: asyncpg.Connection) -> None:
    conn = schools
    theirs, token = await credentials.create(conn, "863410", "System", ACTOR, NOW)
    for call in (
        credentials.rotate(conn, "751234", theirs.id, ACTOR, NOW),
        credentials.revoke(conn, "751234", theirs.id, ACTOR, NOW),
        credentials.events(conn, "751234", credential_id=theirs.id),
    ):
        with pytest.raises(NotFoundIssuingError) as refused:
            await call
        assert refused.value.field == "credential_id"
        assert "863410" not in str(refused.value)
    with pytest.raises(NotFoundIssuingError) as unknown:
        await credentials.revoke(conn, "751234", "nosuchid", ACTOR, NOW)
    assert str(unknown.value).replace("nosuchid", theirs.id) == str(refused.value)
    # Nothing changed, and the credential still works for its own school only.
    assert await _admit(conn, token, NOW, school="863410") is Admission.ADMITTED
    assert await _admit(conn, token, NOW, school="751234") is Admission.OTHER_SCHOOL


async def test_the_audit_trail_has_every_change_and_use(schools: asyncpg.Connection) -> None:
    conn = schools
    old, old_token = await credentials.create(conn, "751234", "System", ACTOR, NOW)
    later = NOW + dt.timedelta(minutes=5)
    new, _ = await credentials.rotate(conn, "751234", old.id, "staff:abc", later)
    await _admit(conn, old_token, later)
    await _admit(conn, old_token, later)  # every use, not one a minute
    await _admit(conn, old_token[:-2] + "zz", later)
    await _admit(conn, old_token[:-2] + "zz", later)  # refusals: one a minute per client
    await _admit(conn, old_token, later + dt.timedelta(minutes=1), school="863410")
    await credentials.revoke(conn, "751234", old.id, ACTOR, later + dt.timedelta(minutes=2))
    await _admit(conn, old_token, later + dt.timedelta(minutes=3))

    trail = await credentials.events(conn, "751234", credential_id=old.id)
    assert [(e.event, e.actor, e.detail) for e in reversed(trail)] == [
        ("created", ACTOR, None),
        ("rotated", "staff:abc", f"replaced by {new.id}; works until 2026-11-21T09:35:00+00:00"),
        ("used", "api", None),
        ("used", "api", None),
        ("refused", "api", "wrong secret"),
        ("refused", "api", "for another school"),
        ("revoked", ACTOR, None),
        ("refused", "api", "revoked"),
    ]
    used = trail[-3]
    assert (used.event, used.route, used.client, used.at) == ("used", ROUTE, "192.0.2.7", later)
    # A refusal for another school's route is in the trail of the credential's own school.
    assert await credentials.events(conn, "863410") == []
    everything = await credentials.events(conn, "751234")
    assert {e.credential_id for e in everything} == {old.id, new.id}
    assert ("created", f"replaces {old.id}") in {(e.event, e.detail) for e in everything}
    assert len(await credentials.events(conn, "751234", limit=2)) == 2


async def test_last_used_is_refreshed_at_most_once_a_minute(schools: asyncpg.Connection) -> None:
    conn = schools
    info, token = await credentials.create(conn, "751234", "System", ACTOR, NOW)
    for seconds in (0, 30, 59, 60, 61):
        await _admit(conn, token, NOW + dt.timedelta(seconds=seconds))
    (listed,) = await credentials.list_of(conn, "751234")
    assert listed.last_used_at == NOW + dt.timedelta(seconds=60)
    assert info.last_used_at is None


async def test_a_malformed_or_unknown_token_records_nothing(schools: asyncpg.Connection) -> None:
    await credentials.create(schools, "751234", "System", ACTOR, NOW)
    assert await _admit(schools, "not-a-token", NOW) is Admission.UNAUTHENTICATED
    assert await _admit(schools, "amu_nosuchid_secret", NOW) is Admission.UNAUTHENTICATED
    assert await schools.fetchval("SELECT count(*) FROM credential_events") == 1


async def test_a_credential_keeps_its_secret_school_and_label(schools: asyncpg.Connection) -> None:
    """Even the owner's role cannot change what a credential is, or delete it (the trigger)."""
    info, _ = await credentials.create(schools, "751234", "System", ACTOR, NOW)
    for statement in (
        "UPDATE api_credentials SET label = 'other'",
        "UPDATE api_credentials SET school_id = '863410'",
        "UPDATE api_credentials SET secret_sha256 = sha256('x')",
        "DELETE FROM api_credentials",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await schools.execute(statement)
    await credentials.revoke(schools, "751234", info.id, ACTOR, NOW)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await schools.execute("UPDATE api_credentials SET revoked_at = NULL")
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await schools.execute("DELETE FROM credential_events")
