"""Certifying: turning what the rules make due into signed, registered certificates.

``Certifier.issue_due`` builds each certificate record, signs it with the school's active
Ed25519 key, inserts it with its 'issued' event, creates its delivery job through the
``Outbox`` port and appends it to the transparency log, all on the caller's connection, so all
of it commits with the change that made the certificate due.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Protocol

from formats.record import (
    Annotations,
    CertificateKind,
    CertificateRecord,
    Goal,
    Participant,
    School,
)
from issuers import records, rules, school_store
from issuers.errors import IssuingError
from issuers.participations import Subject, certificates_due
from issuers.requests import IssuedCertificate
from registry import certificate_store, codes
from registry.db import Connection
from registry.keys import KeyStore, ed25519_key
from registry.transparency import log


class Outbox(Protocol):
    """Where delivery jobs are created, in the issuing transaction (a transactional outbox)."""

    async def enqueue(
        self,
        conn: Connection,
        school: school_store.SchoolRow,
        certificates: Sequence[certificate_store.NewCertificate],
    ) -> None:
        """Create one delivery job per certificate, on ``conn`` inside the caller's transaction."""


class Certifier:
    """Issues the certificates that assessments make due, signed with the school's key."""

    def __init__(self, keys: KeyStore, *, verify_base_url: str, outbox: Outbox | None) -> None:
        self._keys = keys
        self._verify_base_url = verify_base_url.rstrip("/")
        self._outbox = outbox

    async def issue_due(
        self,
        conn: Connection,
        *,
        school: school_store.SchoolRow,
        catalogue: dict[str, school_store.GoalRow],
        assessed: Sequence[tuple[Subject, rules.Assessment]],
        existing: dict[uuid.UUID, list[certificate_store.CertificateRef]],
        now: dt.datetime,
    ) -> dict[uuid.UUID, list[IssuedCertificate]]:
        """Issue every certificate the assessments make due and that is not issued yet."""
        wanted = [
            (subject, assessment, kind, goal, doc)
            for subject, assessment in assessed
            for kind, goal, doc in certificates_due(assessment)
            if not any(
                c.kind == kind and c.goal_number == goal for c in existing.get(subject.id, [])
            )
        ]
        if not wanted:
            return {}
        serials = iter(await certificate_store.next_serials(conn, len(wanted)))
        drafts: list[tuple[CertificateRecord, uuid.UUID]] = []
        for subject, assessment, kind, goal_number, doc in wanted:
            goal = catalogue[goal_number]
            annotations = doc.annotations or assessment.certificate or _IKV_ONLY
            record = CertificateRecord(
                number=codes.certificate_number(now.year, next(serials)),
                kind=CertificateKind(kind),
                participant=Participant(cpr=subject.cpr, name=subject.name),
                goal=Goal(goal.number, goal.title, str(goal.duration_days)),
                school=School(school.id, school.name),
                team=subject.team_reference,
                course_start=subject.start,
                course_end=subject.end,
                exam_date=_exam_date(assessment) if annotations.exam_passed else None,
                issued_at=now,
                annotations=annotations,
            )
            drafts.append((record, subject.id))
        stored = await self.register(conn, school=school, drafts=drafts)
        # Last, because it locks the log head until the commit.
        await log.append(conn, records.issued_events(stored))
        by_number = {c.number: c for _event_id, c in stored}
        out: dict[uuid.UUID, list[IssuedCertificate]] = {}
        for record, participation in drafts:
            c = by_number[record.number]
            out.setdefault(participation, []).append(
                self.link(c.number, c.kind, c.goal_number, c.verification_code)
            )
        return out

    async def register(
        self,
        conn: Connection,
        *,
        school: school_store.SchoolRow,
        drafts: Sequence[tuple[CertificateRecord, uuid.UUID | None]],
    ) -> list[tuple[int, certificate_store.NewCertificate]]:
        """Sign records (numbered, dated) with the school's active key, insert them with their
        'issued' events and create their delivery jobs. The caller appends the returned events
        to the log last, since that locks the log head until the commit.

        Raises IssuingError when the school has no active signing key.
        """
        key = await certificate_store.active_key(conn, school.id)
        if key is None:
            raise IssuingError("the school has no active signing key", field="school")
        signing_key = ed25519_key(self._keys, key.kid)
        certificates = [
            records.signed_certificate(record, key, signing_key, participation_id=participation)
            for record, participation in drafts
        ]
        stored = await certificate_store.insert_certificates(conn, certificates)
        if self._outbox is not None:
            await self._outbox.enqueue(conn, school, certificates)
        return stored

    def link(self, number: str, kind: str, goal: str | None, code: str) -> IssuedCertificate:
        """What the school is told of an issued certificate: number, code and QR link."""
        shown = codes.display_code(code)
        return IssuedCertificate(
            number=number,
            kind=kind,
            goal=goal or "",
            verification_code=shown,
            verify_url=f"{self._verify_base_url}/{number}?kode={shown}",
        )


# The IKV activity certificate's annotations when the engine gives none for the document.
_IKV_ONLY = Annotations(exam_passed=None, dispensation=False, ikv=True)


def _exam_date(assessment: rules.Assessment) -> dt.date | None:
    passed = [a.held_on for a in assessment.attempts if a.outcome is rules.AttemptOutcome.PASSED]
    return passed[-1] if passed else None
