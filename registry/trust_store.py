"""SQL for the register's trust features: key history, status-list positions and bits,
retention, and the rows the audit reads. Every function takes the connection it runs on and
returns our own frozen dataclasses; registry/store.py holds the everyday certificate SQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from formats.vc import StatusEntry
from registry import status_list
from registry.db import Connection
from registry.transparency import log

KeyTable = Literal["school", "log"]
_TABLES: dict[KeyTable, str] = {"school": "school_keys", "log": "log_keys"}


# -- key history -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyRow:
    """A key of either history, as rotation and revocation need it."""

    table: KeyTable
    kid: str
    owner: str  # the school id, or the log key's note name
    valid_from: dt.datetime
    retired_at: dt.datetime | None
    revoked_from: dt.datetime | None


async def find_key(conn: Connection, kid: str, *, lock: bool = False) -> KeyRow | None:
    """A school key or log key by its key id (they never share one), locked on request."""
    suffix = " FOR UPDATE" if lock else ""
    tables: tuple[tuple[KeyTable, str], ...] = (("school", "school_id"), ("log", "name"))
    for table, owner in tables:
        row = await conn.fetchrow(
            f"""SELECT kid, {owner} AS owner, valid_from, retired_at, revoked_from
                FROM {_TABLES[table]} WHERE kid = $1{suffix}""",  # noqa: S608 - constant names
            kid,
        )
        if row is not None:
            return KeyRow(table, row["kid"], row["owner"], *_history(row))
    return None


async def active_key_row(conn: Connection, table: KeyTable, owner: str | None) -> KeyRow | None:
    """The active key of a school (``owner``) or of the log (``owner`` None), locked."""
    if table == "school":
        row = await conn.fetchrow(
            """SELECT kid, school_id AS owner, valid_from, retired_at, revoked_from
               FROM school_keys WHERE school_id = $1 AND retired_at IS NULL FOR UPDATE""",
            owner,
        )
    else:
        row = await conn.fetchrow(
            """SELECT kid, name AS owner, valid_from, retired_at, revoked_from
               FROM log_keys WHERE retired_at IS NULL FOR UPDATE"""
        )
    return KeyRow(table, row["kid"], row["owner"], *_history(row)) if row else None


def _history(row: object) -> tuple[dt.datetime, dt.datetime | None, dt.datetime | None]:
    r: dict[str, dt.datetime | None] = dict(row)  # type: ignore[call-overload]
    valid_from = r["valid_from"]
    if valid_from is None:
        raise ValueError("a key has a valid_from")
    return valid_from, r["retired_at"], r["revoked_from"]


def _key_of(key: KeyRow) -> str:
    return f"{key.table}:{key.owner}"


async def retire_key(conn: Connection, key: KeyRow, at: dt.datetime) -> None:
    """Retire a key and log it, in one transaction."""
    async with conn.transaction():
        await conn.execute(
            f"UPDATE {_TABLES[key.table]} SET retired_at = $2 WHERE kid = $1",  # noqa: S608
            key.kid,
            at,
        )
        await log.append(conn, [log.KeyEvent(key.kid, "key-retired", _key_of(key), at)])


async def revoke_key(
    conn: Connection, key: KeyRow, revoked_from: dt.datetime, at: dt.datetime
) -> None:
    """Revoke a key from a date and log it, in one transaction."""
    async with conn.transaction():
        await conn.execute(
            f"""UPDATE {_TABLES[key.table]} SET revoked_from = $2, revoked_at = $3
                WHERE kid = $1""",  # noqa: S608 - constant table names
            key.kid,
            revoked_from,
            at,
        )
        event = log.KeyEvent(key.kid, "key-revoked", _key_of(key), at, revoked_from=revoked_from)
        await log.append(conn, [event])


async def school_exists(conn: Connection, school_id: str) -> bool:
    return bool(
        await conn.fetchval("SELECT EXISTS (SELECT 1 FROM schools WHERE id = $1)", school_id)
    )


async def signed_from(conn: Connection, kid: str, since: dt.datetime) -> list[str]:
    """The certificates a school key signed at or after ``since``: what a revocation marks."""
    rows = await conn.fetch(
        "SELECT number FROM certificates WHERE kid = $1 AND issued_at >= $2 ORDER BY number",
        kid,
        since,
    )
    return [r["number"] for r in rows]


async def checkpoints_signed_from(conn: Connection, kid: str, since: dt.datetime) -> list[int]:
    """The tree sizes a log key signed checkpoints for at or after ``since``."""
    rows = await conn.fetch(
        "SELECT size FROM log_checkpoints WHERE kid = $1 AND signed_at >= $2 ORDER BY size",
        kid,
        since,
    )
    return [r["size"] for r in rows]


# -- status list -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatusPosition:
    list_id: int
    index: int


async def status_position(conn: Connection, number: str) -> StatusPosition | None:
    row = await conn.fetchrow(
        "SELECT status_list_id, status_list_index FROM certificates WHERE number = $1", number
    )
    return StatusPosition(row["status_list_id"], row["status_list_index"]) if row else None


async def certificate_status_entry(
    conn: Connection, base_url: str, number: str
) -> StatusEntry | None:
    """The ``credentialStatus`` entry of a certificate's Verifiable Credential: its bit in the
    published list. None for an unknown number."""
    position = await status_position(conn, number)
    if position is None:
        return None
    return status_list.status_entry(base_url, position.list_id, position.index)


async def status_list_exists(conn: Connection, list_id: int) -> bool:
    """List 1 always exists; a later one once a certificate has a position in it."""
    if list_id == 1:
        return True
    found = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM certificates WHERE status_list_id = $1)", list_id
    )
    return bool(found)


async def status_bits(conn: Connection, list_id: int) -> list[int]:
    """The positions in one list whose bit is set: the certificate was cancelled or revoked,
    or was signed by a school key at or after the date the key was revoked from."""
    rows = await conn.fetch(
        """SELECT c.status_list_index FROM certificates c
           WHERE c.status_list_id = $1 AND (
               EXISTS (SELECT 1 FROM certificate_events e
                       WHERE e.certificate_number = c.number AND e.kind <> 'issued')
               OR EXISTS (SELECT 1 FROM school_keys k
                          WHERE k.kid = c.kid AND k.revoked_from <= c.issued_at))
           ORDER BY 1""",
        list_id,
    )
    return [r["status_list_index"] for r in rows]


# -- retention ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Due:
    """A certificate whose personal data is past its retention date."""

    number: str
    retain_until: dt.date


async def due_certificates(conn: Connection, as_of: dt.date) -> list[Due]:
    rows = await conn.fetch(
        """SELECT number, retain_until FROM certificates
           WHERE erased_at IS NULL AND retain_until < $1 ORDER BY retain_until, number""",
        as_of,
    )
    return [Due(r["number"], r["retain_until"]) for r in rows]


async def erase_certificates(
    conn: Connection, numbers: Sequence[str], at: dt.datetime
) -> list[str]:
    """Blank the personal columns of these certificates, in the caller's transaction.

    The database allows it only with amu.retention on for the transaction and only for rows
    past their retention date by its own clock (migration 0005); anything else raises.
    """
    await conn.execute("SELECT set_config('amu.retention', 'on', true)")
    rows = await conn.fetch(
        """UPDATE certificates SET cpr = NULL, payload = NULL, jws = NULL, erased_at = $2
           WHERE number = ANY($1::text[]) AND erased_at IS NULL RETURNING number""",
        list(numbers),
        at,
    )
    await conn.execute("SELECT set_config('amu.retention', 'off', true)")
    return sorted(r["number"] for r in rows)


_PARTICIPATIONS_DUE = """
    FROM participations p JOIN teams t ON t.id = p.team_id
    WHERE p.erased_at IS NULL
      AND (greatest(t.end_date, (p.facts->>'examDate')::date) + interval '30 years'
           + interval '28 days')::date < $1
      AND NOT EXISTS (SELECT 1 FROM certificates c
                      WHERE c.participation_id = p.id AND c.erased_at IS NULL
                        AND c.retain_until >= $1)
"""


async def due_participations(conn: Connection, as_of: dt.date) -> int:
    """How many participations are past retention: every certificate of them past it too, and
    30 years and the four-week retake window passed since the course's end or the exam."""
    count: int = await conn.fetchval("SELECT count(*) " + _PARTICIPATIONS_DUE, as_of)
    return count


async def erase_participations(conn: Connection, as_of: dt.date, at: dt.datetime) -> int:
    """Blank name, CPR number and reported facts of the participations past retention."""
    status = await conn.execute(
        "UPDATE participations SET cpr = NULL, name = NULL, facts = '{}', erased_at = $2 "  # noqa: S608 - constant text
        "WHERE id IN (SELECT p.id " + _PARTICIPATIONS_DUE + ")",
        as_of,
        at,
    )
    return int(status.split()[-1])


# Delivery's personal data (migrations 0003, 0009). Delivery's tables are not the register: they
# are not append-only, so these are plain UPDATE and DELETE statements; print_jobs' constraint
# makes the blanking whole.

_PRINT_JOBS_DUE = """
    FROM print_jobs WHERE erased_at IS NULL AND coalesce(printed_at, spooled_at) < $1
"""


async def due_print_jobs(conn: Connection, before: dt.datetime) -> int:
    """How many print jobs still hold a PDF and a name though printed (or, while nothing marks
    them printed, spooled) before ``before``."""
    count: int = await conn.fetchval("SELECT count(*) " + _PRINT_JOBS_DUE, before)
    return count


async def erase_print_jobs(conn: Connection, before: dt.datetime, at: dt.datetime) -> int:
    """Blank the PDF and the name of those print jobs; the row stays as delivery history."""
    status = await conn.execute(
        "UPDATE print_jobs SET pdf = NULL, participant_name = NULL, erased_at = $2 "  # noqa: S608 - constant text
        "WHERE id IN (SELECT id " + _PRINT_JOBS_DUE + ")",
        before,
        at,
    )
    return int(status.split()[-1])


# A person's consents to one school go when nothing of that person at that school holds personal
# data any more (certificates and participations are kept 30 years after the exam, above), and
# the latest answer is older than $2 (a consent recorded before the school reported the team).
_CONSENTS_DUE = """
    FROM (SELECT school_id, cpr FROM eboks_consents GROUP BY school_id, cpr
          HAVING max(recorded_at) < $1) AS x
    WHERE NOT EXISTS (SELECT 1 FROM certificates c
                      WHERE c.school_id = x.school_id AND c.cpr = x.cpr)
      AND NOT EXISTS (SELECT 1 FROM participations p JOIN teams t ON t.id = p.team_id
                      WHERE t.school_id = x.school_id AND p.cpr = x.cpr)
"""


async def due_consents(conn: Connection, recorded_before: dt.datetime) -> int:
    """How many (school, person) pairs have e-Boks consents past retention."""
    count: int = await conn.fetchval("SELECT count(*) " + _CONSENTS_DUE, recorded_before)
    return count


async def erase_consents(conn: Connection, recorded_before: dt.datetime) -> int:
    """Delete every recorded answer of those pairs; returns how many pairs."""
    rows = await conn.fetch(
        "DELETE FROM eboks_consents e USING (SELECT x.school_id, x.cpr "  # noqa: S608 - constant text
        + _CONSENTS_DUE
        + ") AS due WHERE e.school_id = due.school_id AND e.cpr = due.cpr "
        "RETURNING e.school_id, e.cpr",
        recorded_before,
    )
    return len({(r["school_id"], r["cpr"]) for r in rows})


# -- audit -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One leaf with the event and certificate rows it stands for (None where missing)."""

    index: int
    entry: bytes
    leaf_hash: bytes
    leaf_certificate: str | None
    event_id: int | None
    event_certificate: str | None
    kind: str | None
    reason: str | None
    replaced_by: str | None
    at: dt.datetime | None
    school_id: str | None
    kid: str | None
    cpr: str | None
    payload: bytes | None
    jws: str | None
    issued_at: dt.datetime | None
    erased: bool
    key_kid: str | None = None  # set instead of the event for a key history leaf


async def audit_rows(conn: Connection, start: int, limit: int) -> list[AuditRow]:
    rows = await conn.fetch(
        """SELECT l.idx, l.entry, l.leaf_hash, l.certificate_number AS leaf_certificate,
                  l.event_id, e.certificate_number AS event_certificate, e.kind, e.reason,
                  e.replaced_by, e.at, c.school_id, c.kid, c.cpr, c.payload, c.jws, c.issued_at,
                  c.erased_at IS NOT NULL AS erased, l.key_kid
           FROM log_leaves l
           LEFT JOIN certificate_events e ON e.id = l.event_id
           LEFT JOIN certificates c ON c.number = e.certificate_number
           WHERE l.idx >= $1 ORDER BY l.idx LIMIT $2""",
        start,
        limit,
    )
    return [
        AuditRow(
            index=r["idx"],
            entry=bytes(r["entry"]),
            leaf_hash=bytes(r["leaf_hash"]),
            leaf_certificate=r["leaf_certificate"],
            event_id=r["event_id"],
            event_certificate=r["event_certificate"],
            kind=r["kind"],
            reason=r["reason"],
            replaced_by=r["replaced_by"],
            at=r["at"],
            school_id=r["school_id"],
            kid=r["kid"],
            cpr=r["cpr"],
            payload=bytes(r["payload"]) if r["payload"] is not None else None,
            jws=r["jws"],
            issued_at=r["issued_at"],
            erased=bool(r["erased"]),
            key_kid=r["key_kid"],
        )
        for r in rows
    ]


async def stored_nodes(
    conn: Connection, ids: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], bytes]:
    """The stored hashes of these (level, index) nodes; missing ones are absent."""
    rows = await conn.fetch(
        """SELECT n.level, n.idx, n.hash
           FROM unnest($1::smallint[], $2::bigint[]) AS want(level, idx)
           JOIN log_nodes n USING (level, idx)""",
        [i[0] for i in ids],
        [i[1] for i in ids],
    )
    return {(r["level"], r["idx"]): bytes(r["hash"]) for r in rows}


async def unlogged_events(conn: Connection) -> list[tuple[str, str]]:
    """(certificate, kind) of every status event that has no leaf in the log."""
    rows = await conn.fetch(
        """SELECT e.certificate_number, e.kind FROM certificate_events e
           WHERE NOT EXISTS (SELECT 1 FROM log_leaves l WHERE l.event_id = e.id)
           ORDER BY e.id"""
    )
    return [(r["certificate_number"], r["kind"]) for r in rows]


async def unissued_certificates(conn: Connection) -> list[str]:
    """Certificates with no 'issued' event at all."""
    rows = await conn.fetch(
        """SELECT c.number FROM certificates c
           WHERE NOT EXISTS (SELECT 1 FROM certificate_events e
                             WHERE e.certificate_number = c.number AND e.kind = 'issued')
           ORDER BY c.number"""
    )
    return [r["number"] for r in rows]


async def stored_checkpoint_roots(conn: Connection) -> dict[int, list[bytes]]:
    """The root hash of every stored checkpoint, by tree size."""
    found: dict[int, list[bytes]] = {}
    for r in await conn.fetch("SELECT size, root_hash FROM log_checkpoints ORDER BY size"):
        found.setdefault(r["size"], []).append(bytes(r["root_hash"]))
    return found


async def head(conn: Connection) -> tuple[int, list[bytes]]:
    row = await conn.fetchrow("SELECT size, edge FROM log_head")
    if row is None:
        raise LookupError("the log head is missing; run the migrations")
    return row["size"], [bytes(h) for h in row["edge"]]


@dataclass(frozen=True, slots=True)
class KeyHistoryRow:
    """A key of either history with everything its leaves state."""

    table: KeyTable
    kid: str
    owner: str
    public_key: bytes
    valid_from: dt.datetime
    retired_at: dt.datetime | None
    revoked_from: dt.datetime | None
    revoked_at: dt.datetime | None


async def key_history(conn: Connection) -> dict[str, KeyHistoryRow]:
    """Every school key and log key, by key id."""
    rows = await conn.fetch(
        """SELECT 'school' AS t, kid, school_id AS owner, public_key, valid_from, retired_at,
                  revoked_from, revoked_at FROM school_keys
           UNION ALL
           SELECT 'log', kid, name, public_key, valid_from, retired_at, revoked_from, revoked_at
           FROM log_keys"""
    )
    return {
        r["kid"]: KeyHistoryRow(
            "school" if r["t"] == "school" else "log",
            r["kid"],
            r["owner"],
            bytes(r["public_key"]),
            r["valid_from"],
            r["retired_at"],
            r["revoked_from"],
            r["revoked_at"],
        )
        for r in rows
    }
