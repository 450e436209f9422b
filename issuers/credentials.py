"""Per-school API credentials: tokens ``amu_<id>_<secret>``, stored only as SHA-256 of the
secret; their lifecycle (create, list, rotate, revoke) and the check of a presented token, each
recorded in the audit trail ``credential_events`` (docs/operations.md, "API credentials")::

    info, token = await create(conn, "751234", "Studieadministration", actor, now)  # token once
    new, token = await rotate(conn, "751234", info.id, actor, now)   # old one works 24 h more
    await revoke(conn, "751234", new.id, actor, now)
    admission = await admit(conn, token, school="751234", now=now, route=r, client=ip)

``actor`` says who acted: ``operator:<OS user>`` from the CLI, a staff person's subject from
the pages. A credential of another school is reported as not found, never as someone else's.

The secret is 256 random bits, so a fast hash is enough: nobody can brute-force it, and a slow
password hash would only add latency to every request.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from formats.errors import UnprintableTextError
from formats.text import printable
from issuers import credential_store, inputs, school_store
from issuers.credential_store import CredentialEvent, CredentialInfo
from issuers.errors import ConflictError, InvalidInputError, NotFoundIssuingError
from registry.clock import system_clock
from registry.db import Connection

__all__ = [
    "DEFAULT_OVERLAP",
    "LABEL_MAX",
    "MAX_OVERLAP",
    "Admission",
    "CredentialEvent",
    "CredentialInfo",
    "NewCredential",
    "admit",
    "create",
    "events",
    "list_of",
    "new_credential",
    "parse_token",
    "revoke",
    "rotate",
    "school_of",
    "secret_matches",
    "state",
]

_PREFIX = "amu"
LABEL_MAX = 100
ACTOR_MAX = 200
# After a rotation the old credential keeps working this long, so a school's system can switch
# to the new one without an outage; 0 ends it at once (a leaked credential).
DEFAULT_OVERLAP = dt.timedelta(hours=24)
MAX_OVERLAP = dt.timedelta(days=7)


@dataclass(frozen=True, slots=True)
class NewCredential:
    id: str
    token: str  # shown to the school once, never stored
    secret_sha256: bytes


def new_credential() -> NewCredential:
    """A fresh credential; keep ``token`` for the school and store ``secret_sha256``."""
    credential_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return NewCredential(
        id=credential_id,
        token=f"{_PREFIX}_{credential_id}_{secret}",
        secret_sha256=hashlib.sha256(secret.encode()).digest(),
    )


def parse_token(token: str) -> tuple[str, str] | None:
    """The (credential id, secret) of a token, or None if it has the wrong shape."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != _PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def secret_matches(secret: str, secret_sha256: bytes) -> bool:
    """Constant-time comparison of a presented secret with the stored hash."""
    return hmac.compare_digest(hashlib.sha256(secret.encode()).digest(), secret_sha256)


def state(credential: CredentialInfo, now: dt.datetime) -> str:
    """``active``, ``revoked``, ``expired`` (replaced, past its overlap) or ``replaced``
    (replaced, still working until ``expires_at``)."""
    if credential.revoked_at is not None:
        return "revoked"
    if credential.expires_at is not None:
        return "replaced" if credential.expires_at > now else "expired"
    return "active"


def _label(value: str) -> str:
    label = inputs.text(value, field="label")
    if len(label) > LABEL_MAX:
        raise InvalidInputError(f"is longer than {LABEL_MAX} characters", field="label")
    return label


def _actor(value: str) -> str:
    try:
        printable(value)
    except UnprintableTextError as e:
        raise InvalidInputError(str(e), field="actor") from e
    if not value.strip() or len(value) > ACTOR_MAX:
        raise InvalidInputError(f"must be 1 to {ACTOR_MAX} characters", field="actor")
    return value


async def _insert(
    conn: Connection, school_id: str, label: str, actor: str, now: dt.datetime, *, note: str | None
) -> tuple[CredentialInfo, str]:
    made = new_credential()
    info = await credential_store.insert(
        conn,
        credential_id=made.id,
        school_id=school_id,
        secret_sha256=made.secret_sha256,
        label=label,
        created_by=actor,
        created_at=now,
    )
    await credential_store.record(
        conn,
        credential_id=made.id,
        school_id=school_id,
        event="created",
        actor=actor,
        at=now,
        detail=note,
    )
    return info, made.token


async def create(
    conn: Connection, school_id: str, label: str, actor: str, now: dt.datetime
) -> tuple[CredentialInfo, str]:
    """Make a credential for the school; return it and its token, which is shown once and
    stored nowhere. Raises NotFoundIssuingError (``school_id``) for an unknown school,
    InvalidInputError (``label``, ``actor``)."""
    label, actor = _label(label), _actor(actor)
    async with conn.transaction():
        await _require_school(conn, school_id)
        return await _insert(conn, school_id, label, actor, now, note=None)


async def _require_school(conn: Connection, school_id: str) -> None:
    # Which schools exist is public (the register names them); a credential is not.
    if await school_store.school(conn, school_id) is None:
        raise NotFoundIssuingError(f"there is no school {school_id}", field="school_id")


async def list_of(conn: Connection, school_id: str) -> list[CredentialInfo]:
    """The school's credentials, revoked and replaced ones too, oldest first. Raises
    NotFoundIssuingError (``school_id``) for an unknown school."""
    await _require_school(conn, school_id)
    return await credential_store.of_school(conn, school_id)


async def _locked(conn: Connection, school_id: str, credential_id: str) -> CredentialInfo:
    await _require_school(conn, school_id)
    found = await credential_store.lock(conn, school_id, credential_id)
    if found is None:  # another school's id reads the same as none at all
        raise NotFoundIssuingError(
            f"the school has no credential {credential_id}", field="credential_id"
        )
    return found


async def rotate(
    conn: Connection,
    school_id: str,
    credential_id: str,
    actor: str,
    now: dt.datetime,
    *,
    overlap: dt.timedelta = DEFAULT_OVERLAP,
) -> tuple[CredentialInfo, str]:
    """Replace a working credential with a new one of the same label; return the new one and
    its token (shown once). The old one keeps working for ``overlap`` (0 to ``MAX_OVERLAP``),
    so the school's system can switch without an outage; revoking it ends that early.

    Raises NotFoundIssuingError (``credential_id``: none of the school's),
    ConflictError (revoked, or replaced already), InvalidInputError (``overlap``, ``actor``).
    """
    actor = _actor(actor)
    if not dt.timedelta(0) <= overlap <= MAX_OVERLAP:
        raise InvalidInputError(f"must be between 0 and {MAX_OVERLAP.days} days", field="overlap")
    async with conn.transaction():
        old = await _locked(conn, school_id, credential_id)
        if old.revoked_at is not None:
            raise ConflictError("the credential is revoked", field="credential_id")
        if old.replaced_by is not None:
            raise ConflictError(
                f"the credential was replaced by {old.replaced_by} already",
                field="credential_id",
            )
        new, token = await _insert(
            conn, school_id, old.label, actor, now, note=f"replaces {old.id}"
        )
        until = now + overlap
        await credential_store.mark_replaced(conn, old.id, replaced_by=new.id, expires_at=until)
        await credential_store.record(
            conn,
            credential_id=old.id,
            school_id=school_id,
            event="rotated",
            actor=actor,
            at=now,
            detail=f"replaced by {new.id}; works until {until.isoformat()}",
        )
    return new, token


async def revoke(
    conn: Connection, school_id: str, credential_id: str, actor: str, now: dt.datetime
) -> CredentialInfo:
    """Stop a credential from working, at once (also one in its overlap after a rotation).

    Raises NotFoundIssuingError (``credential_id``: none of the school's), ConflictError
    (revoked already), InvalidInputError (``actor``).
    """
    actor = _actor(actor)
    async with conn.transaction():
        found = await _locked(conn, school_id, credential_id)
        if found.revoked_at is not None:
            raise ConflictError("the credential is revoked already", field="credential_id")
        await credential_store.mark_revoked(conn, found.id, at=now)
        await credential_store.record(
            conn, credential_id=found.id, school_id=school_id, event="revoked", actor=actor, at=now
        )
        revoked = await credential_store.lock(conn, school_id, credential_id)
    assert revoked is not None  # noqa: S101 - locked above, never deleted
    return revoked


async def events(
    conn: Connection, school_id: str, *, credential_id: str | None = None, limit: int = 1000
) -> list[CredentialEvent]:
    """The school's credential audit trail (of one of its credentials), newest first. Raises
    NotFoundIssuingError (``school_id``, ``credential_id``: none of the school's)."""
    await _require_school(conn, school_id)
    if credential_id is not None and credential_id not in {
        c.id for c in await credential_store.of_school(conn, school_id)
    }:
        raise NotFoundIssuingError(
            f"the school has no credential {credential_id}", field="credential_id"
        )
    return await credential_store.events(conn, school_id, credential_id=credential_id, limit=limit)


class Admission(enum.Enum):
    """What a presented token admits to."""

    ADMITTED = "admitted"
    UNAUTHENTICATED = "unauthenticated"  # no such credential, wrong secret, revoked, expired
    OTHER_SCHOOL = "other-school"  # a working credential, of another school than asked for


def _refusal(found: credential_store.Presented, secret: str, now: dt.datetime) -> str | None:
    """Why the presented credential does not work, or None when it does."""
    if not secret_matches(secret, found.secret_sha256):
        return "wrong secret"
    if found.revoked_at is not None:
        return "revoked"
    if found.expires_at is not None and found.expires_at <= now:
        return "replaced, past its overlap"
    return None


async def admit(
    conn: Connection,
    token: str,
    *,
    school: str | None,
    now: dt.datetime,
    route: str,
    client: str | None,
) -> tuple[Admission, str | None]:
    """Check a presented token for a request on ``route`` (its template) acting for
    ``school`` (None: whichever school the credential is of); return the admission and the
    credential's school. Each request with a known credential id is recorded: ``used`` when
    admitted, ``refused`` with the reason otherwise (at most one a minute per client). The
    secret is never recorded."""
    parsed = parse_token(token)
    found = await credential_store.presented(conn, parsed[0]) if parsed else None
    if parsed is None or found is None:
        return Admission.UNAUTHENTICATED, None
    credential_id, secret = parsed
    reason = _refusal(found, secret, now)
    if reason is None and school is not None and school != found.school_id:
        reason = "for another school"
    if reason is not None:
        await credential_store.record_refusal(
            conn,
            credential_id=credential_id,
            school_id=found.school_id,
            at=now,
            route=route,
            client=client,
            detail=reason,
        )
        if reason == "for another school":
            return Admission.OTHER_SCHOOL, found.school_id
        return Admission.UNAUTHENTICATED, None
    await credential_store.record_use(
        conn,
        credential_id=credential_id,
        school_id=found.school_id,
        at=now,
        route=route,
        client=client,
    )
    return Admission.ADMITTED, found.school_id


async def school_of(
    conn: Connection, credential_id: str, secret: str, *, now: dt.datetime | None = None
) -> str | None:
    """The school whose working credential this is (as ``parse_token`` splits a token), or
    None. Records nothing: callers that admit a request use ``admit``. ``now`` defaults to the
    system clock."""
    found = await credential_store.presented(conn, credential_id)
    if found is None or _refusal(found, secret, now or system_clock()) is not None:
        return None
    return found.school_id
