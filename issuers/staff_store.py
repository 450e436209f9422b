"""SQL for the schools' staff: who may use a school's pages, and as what (``school_staff``).

A person holds at most one live role per school: ``administrator`` (everything) or
``registrar`` (the overview and retrying deliveries). Every function takes the connection it
runs on::

    await grant(conn, school_id="751234", subject=sub, role="registrar", granted_by=admin, now=now)
    roles = await roles_of(conn, sub)   # live roles, with each school's CVR number
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal, cast

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
    """One live role at a school, as its administrators see it."""

    subject: str
    role: StaffRoleName
    granted_at: dt.datetime
    granted_by: str


async def grant(
    conn: Connection,
    *,
    school_id: str,
    subject: str,
    role: StaffRoleName,
    granted_by: str,
    now: dt.datetime,
) -> None:
    """Give ``subject`` ``role`` at the school; a live role they had there is revoked first."""
    async with conn.transaction():
        await revoke(conn, school_id=school_id, subject=subject, now=now)
        await conn.execute(
            """INSERT INTO school_staff (school_id, subject, role, granted_at, granted_by)
               VALUES ($1, $2, $3, $4, $5)""",
            school_id,
            subject,
            role,
            now,
            granted_by,
        )


async def revoke(conn: Connection, *, school_id: str, subject: str, now: dt.datetime) -> bool:
    """End ``subject``'s live role at the school; False when they had none."""
    status = await conn.execute(
        """UPDATE school_staff SET revoked_at = $3
           WHERE school_id = $1 AND subject = $2 AND revoked_at IS NULL""",
        school_id,
        subject,
        now,
    )
    return status != "UPDATE 0"


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


async def staff_of(conn: Connection, school_id: str) -> list[StaffMember]:
    """The school's live roles, administrators first."""
    rows = await conn.fetch(
        """SELECT subject, role, granted_at, granted_by FROM school_staff
           WHERE school_id = $1 AND revoked_at IS NULL
           ORDER BY role, granted_at, subject""",
        school_id,
    )
    return [
        StaffMember(
            r["subject"], cast("StaffRoleName", r["role"]), r["granted_at"], r["granted_by"]
        )
        for r in rows
    ]
