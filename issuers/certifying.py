"""Certifying: turning what the rules make due into signed, registered certificates.

``Certifier.issue_due`` builds each certificate record, signs it with the school's active
Ed25519 key and enters it into the register (``registry.intake``: the certificate, its 'issued'
event, its delivery job through the ``Outbox`` and its log leaf), all on the caller's
connection, so all of it commits with the change that made the certificate due::

    certifier = Certifier(keys, verify_base_url="https://.../tjek", outbox=NoDelivery())
    issued = await certifier.issue_due(conn, school=..., catalogue=..., assessed=..., ...)
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from formats.jws import sign_payload
from formats.record import (
    Annotations,
    CertificateKind,
    CertificateRecord,
    Goal,
    Participant,
    School,
)
from issuers import rules, school_store
from issuers.errors import IssuingError
from issuers.participations import Subject, certificates_due
from issuers.requests import IssuedCertificate
from registry import certificate_store, codes, intake
from registry.db import Connection
from registry.intake import Outbox, StatusChange
from registry.keys import KeyStore, ed25519_key


class Certifier:
    """Issues the certificates that assessments make due, signed with the school's key."""

    def __init__(self, keys: KeyStore, *, verify_base_url: str, outbox: Outbox) -> None:
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
        # The record's parts that many certificates share, made once (they are immutable).
        issuer = School(school.id, school.name)
        goals = {
            number: Goal(goal.number, goal.title, str(goal.duration_days))
            for number, goal in catalogue.items()
        }
        kinds = {kind.value: kind for kind in CertificateKind}
        for subject, assessment, kind, goal_number, doc in wanted:
            annotations = doc.annotations or assessment.certificate or _IKV_ONLY
            record = CertificateRecord(
                number=codes.certificate_number(now.year, next(serials)),
                kind=kinds[kind],
                participant=Participant(cpr=subject.cpr, name=subject.name),
                goal=goals[goal_number],
                school=issuer,
                team=subject.team_reference,
                course_start=subject.start,
                course_end=subject.end,
                exam_date=_exam_date(assessment) if annotations.exam_passed else None,
                issued_at=now,
                annotations=annotations,
            )
            drafts.append((record, subject.id))
        stored = await self.register(conn, school_id=school.id, drafts=drafts)
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
        school_id: str,
        drafts: Sequence[tuple[CertificateRecord, uuid.UUID | None]],
        then: Sequence[StatusChange] = (),
    ) -> list[tuple[int, certificate_store.NewCertificate]]:
        """Sign records (numbered, dated) of one school with its active key and enter them into
        the register with their delivery jobs, followed by the status changes ``then`` (a
        correction's cancellation of the certificate it replaces).

        Raises IssuingError when the school has no active signing key.
        """
        key = await certificate_store.active_key(conn, school_id)
        if key is None:
            raise IssuingError("the school has no active signing key", field="school")
        signing_key = ed25519_key(self._keys, key.kid)
        fresh_codes = codes.new_verification_codes(len(drafts))
        certificates = [
            _signed(record, key, signing_key, participation_id=participation, code=code)
            for (record, participation), code in zip(drafts, fresh_codes, strict=True)
        ]
        return await intake.enter_certificates(conn, certificates, outbox=self._outbox, then=then)

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


def _signed(
    record: CertificateRecord,
    key: certificate_store.SchoolKey,
    signing_key: Ed25519PrivateKey,
    *,
    participation_id: uuid.UUID | None,
    code: str,
) -> certificate_store.NewCertificate:
    """The register row of a record: its canonical bytes signed as a JWS with ``key``'s id and
    the fresh verification ``code``. ``signing_key`` is the private half of ``key``."""
    payload = record.canonical_bytes()
    return certificate_store.NewCertificate(
        number=record.number,
        school_id=record.school.id,
        participation_id=participation_id,
        cpr=record.participant.cpr,
        kid=key.kid,
        payload=payload,
        jws=sign_payload(payload, signing_key, kid=key.kid),
        verification_code=code,
        issued_at=record.issued_at,
        kind=record.kind.value,
        goal_number=record.goal.number,
    )
