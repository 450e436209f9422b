"""How certificates and their status changes enter the register, in the caller's transaction.

The rows, the delivery jobs (through the ``Outbox`` port) and the transparency log leaves are
written together, so all of them commit with the change that made them, or none does. The log
is appended to last, because appending locks the log head until the commit; callers need not
know that::

    stored = await intake.enter_certificates(conn, signed, outbox=PostgresOutbox(max_failures=8))
    await intake.enter_status_changes(conn, [StatusChange(number, "revoked", "fraud", at=now)])

A correction enters its replacement and the cancellation of the certificate it replaces in
one call (``enter_certificates(..., then=[StatusChange(..., replaced_by=...)])``), so both
land in the log in one append.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from registry import binding, certificate_store
from registry.certificate_store import InsertedCertificate, NewCertificate
from registry.db import Connection
from registry.transparency import log


class Outbox(Protocol):
    """Where delivery jobs are created, in the transaction that enters the certificates."""

    async def enqueue(self, conn: Connection, certificates: Sequence[NewCertificate]) -> None:
        """Create one delivery job per certificate, on ``conn`` inside the caller's transaction."""


class NoDelivery:
    """An outbox that creates no delivery jobs: the certificates are registered but never sent.

    For tests, benchmarks and tools that issue without delivering; the service delivers
    through ``issuers.delivery.outbox.PostgresOutbox``.
    """

    async def enqueue(self, conn: Connection, certificates: Sequence[NewCertificate]) -> None:
        """Create nothing."""


@dataclass(frozen=True, slots=True)
class StatusChange:
    """A certificate cancelled (and replaced) or revoked, with the reason category."""

    number: str
    kind: str  # "cancelled" or "revoked"
    reason: str
    at: dt.datetime
    replaced_by: str | None = None  # for "cancelled": the replacement's number


async def enter_certificates(
    conn: Connection,
    certificates: Sequence[NewCertificate],
    *,
    outbox: Outbox,
    then: Sequence[StatusChange] = (),
) -> list[tuple[int, NewCertificate]]:
    """Insert signed certificates with their 'issued' events, create their delivery jobs, record
    the status changes ``then`` (which may name the new certificates), and append all of these
    events to the log, last.

    Returns each certificate with the id of its 'issued' event.
    """
    stored = await certificate_store.insert_certificates(conn, certificates)
    await outbox.enqueue(conn, certificates)
    changed = [await _insert(conn, change) for change in then]
    await log.append(conn, [*_issued_events(stored), *changed])
    return [(s.event_id, s.certificate) for s in stored]


async def enter_status_changes(conn: Connection, changes: Sequence[StatusChange]) -> list[int]:
    """Record cancellations or revocations and append them to the log, last.

    The caller holds the certificates' row locks (``certificate_store.lock_certificate``), so
    two changes of one certificate cannot interleave. Returns the events' ids.
    """
    events = [await _insert(conn, change) for change in changes]
    await log.append(conn, events)
    return [e.event_id for e in events]


async def _insert(conn: Connection, change: StatusChange) -> log.Event:
    event_id = await certificate_store.insert_status_event(
        conn,
        number=change.number,
        kind=change.kind,
        reason=change.reason,
        replaced_by=change.replaced_by,
        at=change.at,
    )
    return log.Event(
        event_id=event_id,
        certificate_number=change.number,
        kind=change.kind,
        at=change.at,
        reason=change.reason,
        replaced_by=change.replaced_by,
    )


def _issued_events(stored: Sequence[InsertedCertificate]) -> list[log.Event]:
    """The 'issued' leaves (entry v2): the record's digest and what the row holds beyond it,
    as the database assigned it (registry.binding)."""
    return [
        log.Event(
            event_id=s.event_id,
            certificate_number=s.certificate.number,
            kind="issued",
            at=s.certificate.issued_at,
            jws=s.certificate.jws,
            kid=s.certificate.kid,
            code_sha256=binding.code_digest(s.binding_salt, s.certificate.verification_code),
            status_list=s.status_list,
            retain_until=s.retain_until,
        )
        for s in stored
    ]
