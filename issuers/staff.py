"""Who may use a school's pages, and as what: granting and revoking staff roles, each change
recorded with who made it (``staff_store``, docs/operations.md "School staff and their roles")::

    await grant(conn, "751234", subject, "registrar", actor="staff:demo-karen-holm", now=now)
    await revoke(conn, "751234", subject, actor="operator:alice", now=now)

``actor`` says who acted: ``staff:<subject>`` of an administrator on the pages,
``operator:<OS user>`` from the CLI. ``subject`` is the person's stable identifier at the staff
identity provider (the no-access page shows it to them, to pass on). A school that has an
administrator keeps one: its last administrator's role cannot be revoked or made a registrar
(an operator appoints another first).
"""

from __future__ import annotations

import datetime as dt
from typing import get_args

from formats.errors import UnprintableTextError
from formats.text import printable
from issuers import inputs, school_store, staff_store
from issuers.errors import ConflictError, InvalidInputError, NotFoundIssuingError
from issuers.staff_store import StaffMember, StaffRoleName
from registry.db import Connection

__all__ = [
    "ROLES",
    "LastAdministratorError",
    "StaffMember",
    "StaffRoleName",
    "grant",
    "history_of",
    "revoke",
    "role_at",
    "staff_of",
]

ROLES: tuple[StaffRoleName, ...] = get_args(StaffRoleName)
SUBJECT_MAX = 255
NAME_MAX = 200
ACTOR_MAX = 200


class LastAdministratorError(ConflictError):
    """The change would leave the school without an administrator."""


def _printable(value: str, *, field: str, most: int) -> str:
    try:
        printable(value)
    except UnprintableTextError as e:
        raise InvalidInputError(str(e), field=field) from e
    if not value.strip() or len(value) > most:
        raise InvalidInputError(f"must be 1 to {most} characters", field=field)
    return value


def subject_of(value: str) -> str:
    """A provider subject as given (outer spaces dropped: it is often pasted); raises
    InvalidInputError (``subject``)."""
    value = value.strip()
    if any(c.isspace() for c in value):
        raise InvalidInputError("has a space in it", field="subject")
    return _printable(value, field="subject", most=SUBJECT_MAX)


def role_of(value: str) -> StaffRoleName:
    """``administrator`` or ``registrar``; raises InvalidInputError (``role``)."""
    if value not in ROLES:
        raise InvalidInputError(f"must be one of {', '.join(ROLES)}", field="role")
    return value


def name_of(value: str | None) -> str | None:
    """A person's name, or None for none; raises InvalidInputError (``name``)."""
    if value is None or not value.strip():
        return None
    name = inputs.name(value, field="name")
    if len(name) > NAME_MAX:
        raise InvalidInputError(f"is longer than {NAME_MAX} characters", field="name")
    return name


async def _require_school(conn: Connection, school_id: str) -> None:
    if await school_store.school(conn, school_id) is None:
        raise NotFoundIssuingError(f"there is no school {school_id}", field="school_id")


def _administrators(live: list[StaffMember]) -> int:
    return sum(1 for m in live if m.role == "administrator")


async def grant(
    conn: Connection,
    school_id: str,
    subject: str,
    role: str,
    *,
    actor: str,
    now: dt.datetime,
    name: str | None = None,
) -> StaffMember:
    """Give ``subject`` ``role`` at the school, ending a role they held there; return the new
    role. Raises NotFoundIssuingError (``school_id``), InvalidInputError (``subject``, ``role``,
    ``name``, ``actor``), ConflictError (``role``: they hold it already) and
    LastAdministratorError (``role``: the school's last administrator made a registrar)."""
    subject, checked = subject_of(subject), role_of(role)
    name, actor = name_of(name), _printable(actor, field="actor", most=ACTOR_MAX)
    async with conn.transaction():
        await _require_school(conn, school_id)
        live = await staff_store.lock_live(conn, school_id)
        held = next((m for m in live if m.subject == subject), None)
        if held is not None and held.role == checked:
            raise ConflictError(f"{subject} is {checked} already", field="role")
        if held is not None and held.role == "administrator" and _administrators(live) == 1:
            raise LastAdministratorError(
                "this is the school's last administrator: appoint another one first",
                field="role",
            )
        await staff_store.grant(
            conn,
            school_id=school_id,
            subject=subject,
            role=checked,
            granted_by=actor,
            now=now,
            name=name,
        )
    return StaffMember(subject, checked, now, actor, name)


async def revoke(
    conn: Connection, school_id: str, subject: str, *, actor: str, now: dt.datetime
) -> StaffMember:
    """End ``subject``'s role at the school; return the role as it was. Raises
    NotFoundIssuingError (``school_id``; ``subject``: no live role there), InvalidInputError
    (``subject``, ``actor``) and LastAdministratorError (``subject``: the last
    administrator)."""
    subject = subject_of(subject)
    actor = _printable(actor, field="actor", most=ACTOR_MAX)
    async with conn.transaction():
        await _require_school(conn, school_id)
        live = await staff_store.lock_live(conn, school_id)
        held = next((m for m in live if m.subject == subject), None)
        if held is None:
            raise NotFoundIssuingError(f"{subject} holds no role at the school", field="subject")
        if held.role == "administrator" and _administrators(live) == 1:
            raise LastAdministratorError(
                "this is the school's last administrator: appoint another one first",
                field="subject",
            )
        await staff_store.revoke(
            conn, school_id=school_id, subject=subject, now=now, revoked_by=actor
        )
    return held


async def staff_of(conn: Connection, school_id: str) -> list[StaffMember]:
    """The school's live roles, administrators first. Raises NotFoundIssuingError
    (``school_id``)."""
    await _require_school(conn, school_id)
    return await staff_store.staff_of(conn, school_id)


async def history_of(conn: Connection, school_id: str, *, limit: int = 50) -> list[StaffMember]:
    """The school's ended roles, most recently revoked first."""
    return await staff_store.history_of(conn, school_id, limit=limit)


async def role_at(conn: Connection, school_id: str, subject: str) -> StaffRoleName | None:
    """``subject``'s live role at the school now (a session's role is its login's)."""
    return await staff_store.role_at(conn, school_id, subject)
