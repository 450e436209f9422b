"""SQL for the schools' staff: who may use a school's pages, and as what (``school_staff``).

A person holds at most one live role per school: ``administrator`` (everything) or
``registrar`` (the overview and retrying deliveries). A role is revoked, never deleted or
changed, so the rows are the history of who could act for the school when
(0017_staff_roles.sql). Every function takes the connection it runs on; the rules about who
may grant what live in ``issuers.staff``::

    await grant(conn, school_id="751234", subject=sub, role="registrar", granted_by=admin, now=now)
    roles = await roles_of(conn, sub)   # live roles, with each school's CVR number
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal, cast

from registry.db import Connection

StaffRoleName = Literal["administrator", "registrar"]


@dataclass(frozen=True, slots=True)
class StaffRole:
    """One live role of a person at a school."""

    school_id: str
    school_name: str
    school_cvr: str
    role: StaffRoleName


@dataclass(frozen=True, slots=True)
class StaffMember:
    """One role at a school, as its administrators see it (``revoked_at`` None: live)."""

    subject: str
    role: StaffRoleName
    granted_at: dt.datetime
    granted_by: str
    name: str | None = None
    revoked_at: dt.datetime | None = None
    revoked_by: str | None = None


_MEMBER_COLUMNS = "subject, role, granted_at, granted_by, name, revoked_at, revoked_by"


def _member(r: Any) -> StaffMember:
    return StaffMember(
        subject=r["subject"],
        role=cast("StaffRoleName", r["role"]),
        granted_at=r["granted_at"],
        granted_by=r["granted_by"],
        name=r["name"],
        revoked_at=r["revoked_at"],
        revoked_by=r["revoked_by"],
    )


async def grant(
    conn: Connection,
    *,
    school_id: str,
    subject: str,
    role: StaffRoleName,
    granted_by: str,
    now: dt.datetime,
    name: str | None = None,
) -> None:
    """Give ``subject`` ``role`` at the school; a live role they had there is revoked first
    (by ``granted_by``)."""
    async with conn.transaction():
        await revoke(conn, school_id=school_id, subject=subject, now=now, revoked_by=granted_by)
        await conn.execute(
            """INSERT INTO school_staff (school_id, subject, role, granted_at, granted_by, name)
               VALUES ($1, $2, $3, $4, $5, $6)""",
            school_id,
            subject,
            role,
            now,
            granted_by,
            name,
        )


async def revoke(
    conn: Connection, *, school_id: str, subject: str, now: dt.datetime, revoked_by: str
) -> bool:
    """End ``subject``'s live role at the school; False when they had none."""
    status = await conn.execute(
        """UPDATE school_staff SET revoked_at = $3, revoked_by = $4
           WHERE school_id = $1 AND subject = $2 AND revoked_at IS NULL""",
        school_id,
        subject,
        now,
        revoked_by,
    )
    return status != "UPDATE 0"


async def lock_live(conn: Connection, school_id: str) -> list[StaffMember]:
    """The school's live roles, locked until the transaction ends: two administrators changing
    roles at once take turns, so neither can leave the school without an administrator."""
    rows = await conn.fetch(
        f"""SELECT {_MEMBER_COLUMNS} FROM school_staff
            WHERE school_id = $1 AND revoked_at IS NULL
            ORDER BY id FOR UPDATE""",  # noqa: S608 - constant columns
        school_id,
    )
    return [_member(r) for r in rows]


async def roles_of(conn: Connection, subject: str) -> list[StaffRole]:
    """``subject``'s live roles, by school."""
    rows = await conn.fetch(
        """SELECT s.id, s.name, s.cvr, r.role
           FROM school_staff r JOIN schools s ON s.id = r.school_id
           WHERE r.subject = $1 AND r.revoked_at IS NULL
           ORDER BY s.name, s.id""",
        subject,
    )
    return [StaffRole(r["id"], r["name"], r["cvr"], cast("StaffRoleName", r["role"])) for r in rows]


async def role_at(conn: Connection, school_id: str, subject: str) -> StaffRoleName | None:
    """``subject``'s live role at the school, or None."""
    role = await conn.fetchval(
        """SELECT role FROM school_staff
           WHERE school_id = $1 AND subject = $2 AND revoked_at IS NULL""",
        school_id,
        subject,
    )
    return cast("StaffRoleName | None", role)


async def staff_of(conn: Connection, school_id: str) -> list[StaffMember]:
    """The school's live roles, administrators first."""
    rows = await conn.fetch(
        f"""SELECT {_MEMBER_COLUMNS} FROM school_staff
            WHERE school_id = $1 AND revoked_at IS NULL
            ORDER BY role, granted_at, subject""",  # noqa: S608 - constant columns
        school_id,
    )
    return [_member(r) for r in rows]


async def history_of(conn: Connection, school_id: str, *, limit: int = 50) -> list[StaffMember]:
    """The school's ended roles, most recently revoked first."""
    rows = await conn.fetch(
        f"""SELECT {_MEMBER_COLUMNS} FROM school_staff
            WHERE school_id = $1 AND revoked_at IS NOT NULL
            ORDER BY revoked_at DESC, id DESC LIMIT $2""",  # noqa: S608 - constant columns
        school_id,
        limit,
    )
    return [_member(r) for r in rows]
