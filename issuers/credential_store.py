"""SQL for the schools' API credentials and their audit trail (``credential_events``).

The secret's hash leaves this module only in ``Presented``, for the one check of a presented
token (``issuers.credentials``); what lists and shows a credential (``CredentialInfo``) never
carries it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from registry.db import Connection

Event = Literal["created", "rotated", "revoked", "used", "refused"]

# A credential's last_used_at, and so its `used` events' write to api_credentials, is refreshed
# at most this often; a refused use from one client is recorded at most this often.
USE_RESOLUTION = dt.timedelta(minutes=1)

_INFO_COLUMNS = """id, school_id, label, created_at, created_by, last_used_at, revoked_at,
                   expires_at, replaced_by"""


@dataclass(frozen=True, slots=True)
class CredentialInfo:
    """What may be shown of a credential: never its secret or the secret's hash."""

    id: str
    school_id: str
    label: str
    created_at: dt.datetime
    created_by: str | None  # None for credentials made before the audit trail
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None
    expires_at: dt.datetime | None  # set when a rotation replaced it: the end of the overlap
    replaced_by: str | None


@dataclass(frozen=True, slots=True)
class Presented:
    """A credential as the guard checks a presented token against it."""

    school_id: str
    secret_sha256: bytes
    revoked_at: dt.datetime | None
    expires_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class CredentialEvent:
    id: int
    credential_id: str
    school_id: str
    event: Event
    actor: str
    at: dt.datetime
    route: str | None
    client: str | None
    detail: str | None


def _info(row: Any) -> CredentialInfo:
    return CredentialInfo(**dict(row))


async def insert(
    conn: Connection,
    *,
    credential_id: str,
    school_id: str,
    secret_sha256: bytes,
    label: str,
    created_by: str,
    created_at: dt.datetime,
) -> CredentialInfo:
    row = await conn.fetchrow(
        f"""INSERT INTO api_credentials
                (id, school_id, secret_sha256, label, created_by, created_at)
            VALUES ($1, $2, $3, $4, $5, $6)
            RETURNING {_INFO_COLUMNS}""",  # noqa: S608 - constant columns
        credential_id,
        school_id,
        secret_sha256,
        label,
        created_by,
        created_at,
    )
    return _info(row)


async def presented(conn: Connection, credential_id: str) -> Presented | None:
    """The credential of this id, revoked or not, or None (also when its school is disabled:
    a disabled school's credentials open nothing)."""
    row = await conn.fetchrow(
        """SELECT c.school_id, c.secret_sha256, c.revoked_at, c.expires_at
           FROM api_credentials c JOIN schools s ON s.id = c.school_id
           WHERE c.id = $1 AND s.disabled_at IS NULL""",
        credential_id,
    )
    if row is None:
        return None
    return Presented(
        school_id=row["school_id"],
        secret_sha256=bytes(row["secret_sha256"]),
        revoked_at=row["revoked_at"],
        expires_at=row["expires_at"],
    )


async def of_school(conn: Connection, school_id: str) -> list[CredentialInfo]:
    """The school's credentials, oldest first."""
    rows = await conn.fetch(
        f"""SELECT {_INFO_COLUMNS} FROM api_credentials
            WHERE school_id = $1 ORDER BY created_at, id""",  # noqa: S608 - constant columns
        school_id,
    )
    return [_info(row) for row in rows]


async def lock(conn: Connection, school_id: str, credential_id: str) -> CredentialInfo | None:
    """The school's credential of this id, locked until the transaction ends, or None (also
    when the id is another school's)."""
    row = await conn.fetchrow(
        f"""SELECT {_INFO_COLUMNS} FROM api_credentials
            WHERE id = $1 AND school_id = $2 FOR UPDATE""",  # noqa: S608 - constant columns
        credential_id,
        school_id,
    )
    return _info(row) if row else None


async def mark_replaced(
    conn: Connection, credential_id: str, *, replaced_by: str, expires_at: dt.datetime
) -> None:
    await conn.execute(
        "UPDATE api_credentials SET replaced_by = $2, expires_at = $3 WHERE id = $1",
        credential_id,
        replaced_by,
        expires_at,
    )


async def mark_revoked(conn: Connection, credential_id: str, *, at: dt.datetime) -> None:
    await conn.execute(
        "UPDATE api_credentials SET revoked_at = $2 WHERE id = $1", credential_id, at
    )


async def record(
    conn: Connection,
    *,
    credential_id: str,
    school_id: str,
    event: Event,
    actor: str,
    at: dt.datetime,
    detail: str | None = None,
) -> None:
    """Record a change (created, rotated, revoked) in the audit trail."""
    await conn.execute(
        """INSERT INTO credential_events (credential_id, school_id, event, actor, at, detail)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        credential_id,
        school_id,
        event,
        actor,
        at,
        detail,
    )


async def record_use(
    conn: Connection,
    *,
    credential_id: str,
    school_id: str,
    at: dt.datetime,
    route: str,
    client: str | None,
) -> None:
    """Record one admitted request, and refresh ``last_used_at`` when it is older than
    ``USE_RESOLUTION``: one statement, so one round trip for the guard."""
    await conn.execute(
        """WITH touched AS (
               UPDATE api_credentials SET last_used_at = $3
               WHERE id = $1
                 AND (last_used_at IS NULL OR last_used_at <= $3::timestamptz - $6::interval)
           )
           INSERT INTO credential_events
               (credential_id, school_id, event, actor, at, route, client)
           VALUES ($1, $2, 'used', 'api', $3, $4, $5)""",
        credential_id,
        school_id,
        at,
        route,
        client,
        USE_RESOLUTION,
    )


async def record_refusal(
    conn: Connection,
    *,
    credential_id: str,
    school_id: str,
    at: dt.datetime,
    route: str,
    client: str | None,
    detail: str,
) -> None:
    """Record a refused request with this credential's id, unless one from the same client was
    recorded within ``USE_RESOLUTION``: whoever knows an id (not a secret) must not be able to
    fill the table."""
    await conn.execute(
        """INSERT INTO credential_events
               (credential_id, school_id, event, actor, at, route, client, detail)
           SELECT $1, $2, 'refused', 'api', $3, $4, $5, $6
           WHERE NOT EXISTS (
               SELECT 1 FROM credential_events
               WHERE credential_id = $1 AND event = 'refused'
                 AND client IS NOT DISTINCT FROM $5 AND at > $3::timestamptz - $7::interval)""",
        credential_id,
        school_id,
        at,
        route,
        client,
        detail,
        USE_RESOLUTION,
    )


async def events(
    conn: Connection, school_id: str, *, credential_id: str | None = None, limit: int = 1000
) -> list[CredentialEvent]:
    """The school's audit trail (of one credential when given), newest first."""
    rows = await conn.fetch(
        """SELECT id, credential_id, school_id, event, actor, at, route, client, detail
           FROM credential_events
           WHERE school_id = $1 AND ($2::text IS NULL OR credential_id = $2)
           ORDER BY at DESC, id DESC LIMIT $3""",
        school_id,
        credential_id,
        limit,
    )
    return [CredentialEvent(**dict(row)) for row in rows]
