"""The transactional outbox: delivery jobs created in the transaction that issues.

    certifier = Certifier(keys, verify_base_url=..., outbox=PostgresOutbox(max_failures=8))

``registry.intake.enter_certificates`` calls ``enqueue`` on the issuing transaction's
connection, so a certificate and its delivery job are committed together or not at all; no job
can point at a certificate that was rolled back, and no certificate is left without a job.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import msgspec

from issuers.delivery import job_store
from issuers.delivery.deadlines import due_after
from issuers.uuids import random_uuids
from issuers.workdays import DANISH_WORKDAYS, WorkCalendar
from registry.certificate_store import NewCertificate
from registry.db import Connection


class PostgresOutbox:
    """Fills the ``registry.intake.Outbox`` port with rows in ``delivery_jobs``."""

    def __init__(self, *, max_failures: int, calendar: WorkCalendar = DANISH_WORKDAYS) -> None:
        if max_failures < 1:
            raise ValueError("max_failures must be at least 1")
        self._max_failures = max_failures
        self._calendar = calendar

    async def enqueue(self, conn: Connection, certificates: Sequence[NewCertificate]) -> None:
        """One 'issue' job per certificate, due now, with its MeMo message UUID fixed here."""
        message_uuids = random_uuids(len(certificates))
        await job_store.insert_jobs(
            conn,
            [
                job_store.NewJob(
                    certificate_number=c.number,
                    school_id=c.school_id,
                    purpose=job_store.Purpose.ISSUE,
                    # Random version 4, as MeMo's schema demands; stored, so every retry and a
                    # later digital delivery after paper carry the same UUID.
                    message_uuid=message_uuid,
                    due_on=_due(c, self._calendar),
                    max_failures=self._max_failures,
                    run_after=c.issued_at,
                )
                for c, message_uuid in zip(certificates, message_uuids, strict=True)
            ],
        )


class _Dates(msgspec.Struct, rename="camel"):
    """The two dates of a signed record the deadline needs (the rest is not parsed)."""

    course_end: dt.date
    exam_date: dt.date | None = None


def _due(certificate: NewCertificate, calendar: WorkCalendar) -> dt.date:
    dates = msgspec.json.decode(certificate.payload, type=_Dates)
    return due_after(dates.exam_date or dates.course_end, calendar)
