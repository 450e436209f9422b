"""Corrections and revocations of issued certificates (DOMAIN.md, "The central registry").

A certificate is never edited. A correction cancels it and issues a replacement that points
to it (``replaces``); the old one stays on record as cancelled, with ``replaced_by``. A
revocation ends a certificate that should not exist, with a reason category. Each runs in one
transaction that enters its events into the register and its transparency log
(``registry.intake``), once per Idempotency-Key (``issuers.idempotency``): a repeat gets
the first answer, where a second correction would find the certificate already cancelled::

    corrections = Corrections(pool, certifier, clock)  # the issuer's Certifier
    out = await corrections.correct(write, "2026-0000001", CorrectionIn(reason=..., name=...))
    out = await corrections.revoke(write, "2026-0000002", RevocationReason.EXAM_ANNULLED)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from enum import StrEnum
from typing import Annotated

import asyncpg
import msgspec

from formats.record import Annotations, CertificateRecord, Participant
from issuers import idempotency, inputs, participations, rules, school_store
from issuers.certifying import Certifier
from issuers.errors import ConflictError, InvalidInputError, IssuingError
from issuers.idempotency import Answered, IdempotentRequest
from issuers.requests import PeriodIn
from registry import certificate_store, codes, intake
from registry.clock import Clock, to_the_second, today_in_denmark
from registry.db import Connection
from registry.intake import StatusChange
from registry.verification import verified_record

Text = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


def _doc(description: str) -> msgspec.Meta:
    # A field's description for the OpenAPI document (as ``issuers.requests.doc``).
    return msgspec.Meta(description=description)


class CancelReason(StrEnum):
    """Why a certificate was cancelled and replaced: which part of it was wrong."""

    PARTICIPANT_DATA = "participant-data"  # the participant's name
    COURSE_DATA = "course-data"  # team reference, course or exam dates
    RESULT_DATA = "result-data"  # the annotations: pass, dispensation, IKV
    OTHER_ERROR = "other-error"


class RevocationReason(StrEnum):
    """Why a certificate was revoked: it should not exist at all."""

    ISSUED_IN_ERROR = "issued-in-error"  # e.g. to the wrong person, or the goal was not reached
    EXAM_ANNULLED = "exam-annulled"  # a complaint or cheating decision annulled the exam
    FRAUD = "fraud"
    OTHER = "other"


class _In(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    pass


class AnnotationsIn(_In):
    exam_passed: Annotated[
        bool | None, msgspec.Meta(description="Whether the exam was passed; null: no exam")
    ]
    dispensation: Annotated[
        bool, msgspec.Meta(description="The participant had a dispensation from the exam")
    ]
    ikv: Annotated[
        bool,
        msgspec.Meta(description="The goal was shown in an individual competence assessment"),
    ]


class CorrectionIn(_In):
    """What was wrong; absent members are copied from the cancelled certificate."""

    reason: Annotated[
        CancelReason,
        msgspec.Meta(description="Which part of the certificate was wrong"),
    ]
    name: Annotated[Text, _doc("The participant's corrected full name")] | None = None
    team: Annotated[Text, _doc("The corrected team reference")] | None = None
    course_start: (
        Annotated[dt.date, _doc("The corrected first day of the course (ISO date)")] | None
    ) = None
    course_end: (
        Annotated[dt.date, _doc("The corrected last day of the course (ISO date)")] | None
    ) = None
    exam_date: Annotated[dt.date, _doc("The corrected exam day (ISO date)")] | None = None
    annotations: (
        Annotated[AnnotationsIn, _doc("The corrected annotations, all three together")] | None
    ) = None


class RevocationIn(_In):
    reason: Annotated[
        RevocationReason,
        msgspec.Meta(description="Why the certificate should not exist at all"),
    ]


class ReplacementOut(msgspec.Struct, rename="camel"):
    number: str
    verification_code: str
    verify_url: str


class CorrectionOut(msgspec.Struct, rename="camel"):
    cancelled: str
    status: str  # "cancelled"
    reason: str
    at: dt.datetime
    replacement: ReplacementOut


class RevocationOut(msgspec.Struct, rename="camel"):
    number: str
    status: str  # "revoked"
    reason: str
    at: dt.datetime


class CertificateNotFoundError(IssuingError):
    """The school has no certificate with this number."""


class Corrections:
    """Cancels-and-replaces and revokes one school's certificates."""

    def __init__(self, pool: asyncpg.Pool, certifier: Certifier, clock: Clock) -> None:
        self._pool = pool
        self._certifier = certifier
        self._clock = clock

    async def correct(
        self, write: IdempotentRequest, number: str, change: CorrectionIn
    ) -> Answered[CorrectionOut]:
        """Cancel the certificate and issue its corrected replacement, signed with the school's
        active key; the same request again gets the first answer. Raises
        CertificateNotFoundError, ConflictError when it is no longer valid,
        IdempotencyConflictError for a key used for another request, and InvalidInputError
        (naming the field) for a correction that changes nothing or makes the dates
        impossible."""

        async def work(conn: Connection) -> CorrectionOut:
            return await self._correct(conn, write.school_id, number, change)

        return await idempotency.run(self._pool, write, CorrectionOut, work)

    async def revoke(
        self, write: IdempotentRequest, number: str, reason: RevocationReason
    ) -> Answered[RevocationOut]:
        """Revoke the certificate; the same request again gets the first answer. Raises
        CertificateNotFoundError, ConflictError when it was cancelled or revoked before, and
        IdempotencyConflictError for a key used for another request."""

        async def work(conn: Connection) -> RevocationOut:
            await self._valid_record(conn, write.school_id, number)
            now = to_the_second(self._clock())
            await intake.enter_status_changes(
                conn, [StatusChange(number, "revoked", reason.value, at=now)]
            )
            return RevocationOut(number=number, status="revoked", reason=reason.value, at=now)

        return await idempotency.run(self._pool, write, RevocationOut, work)

    async def _correct(
        self, conn: Connection, school_id: str, number: str, change: CorrectionIn
    ) -> CorrectionOut:
        """The correction, in the caller's transaction."""
        record, participation_id = await self._valid_record(conn, school_id, number)
        now = to_the_second(self._clock())
        today = today_in_denmark(now)
        corrected = _apply(record, change, today=today)
        # The rules decide the replacement's annotations, exactly as at issue.
        annotations = await _annotations_by_the_rules(
            conn, school_id, participation_id, record, corrected, today=today
        )
        if change.annotations is not None and annotations != corrected.annotations:
            raise InvalidInputError(
                "the AMU rules give this certificate other annotations on the corrected "
                "facts; leave annotations out to take theirs",
                field="annotations",
            )
        corrected = dataclasses.replace(
            corrected,
            annotations=annotations,
            exam_date=corrected.exam_date if annotations.exam_passed else None,
        )
        (serial,) = await certificate_store.next_serials(conn, 1)
        replacement = dataclasses.replace(
            corrected,
            number=codes.certificate_number(now.year, serial),
            issued_at=now,
            replaces=record.number,
        )
        # Signed, registered and queued for delivery like any new certificate.
        stored = await self._certifier.register(
            conn,
            school_id=school_id,
            drafts=[(replacement, participation_id)],
            then=[
                StatusChange(
                    number,
                    "cancelled",
                    change.reason.value,
                    at=now,
                    replaced_by=replacement.number,
                )
            ],
        )
        new = stored[0][1]
        link = self._certifier.link(new.number, new.kind, new.goal_number, new.verification_code)
        return CorrectionOut(
            cancelled=number,
            status="cancelled",
            reason=change.reason.value,
            at=now,
            replacement=ReplacementOut(
                number=new.number,
                verification_code=link.verification_code,
                verify_url=link.verify_url,
            ),
        )

    async def _valid_record(
        self, conn: Connection, school_id: str, number: str
    ) -> tuple[CertificateRecord, uuid.UUID | None]:
        """The certificate's signed record, its row locked; it must be this school's and valid."""
        valid_number = codes.is_certificate_number(number)
        found = await certificate_store.lock_certificate(conn, number) if valid_number else None
        # Another school's certificate is "not found": a school acts only for itself.
        if found is None or found[0].school_id != school_id:
            raise CertificateNotFoundError(
                "the school has no certificate with this number", field="number"
            )
        stored, participation_id = found
        if stored.status is not None:
            raise ConflictError(f"the certificate is already {stored.status.kind}", field="number")
        record = await verified_record(conn, stored)
        if record is None:
            raise ConflictError("the stored certificate fails its signature check", field="number")
        return record, participation_id


async def _annotations_by_the_rules(
    conn: Connection,
    school_id: str,
    participation_id: uuid.UUID | None,
    record: CertificateRecord,
    corrected: CertificateRecord,
    *,
    today: dt.date,
) -> Annotations:
    """The annotations the rules engine gives the certificate on the corrected facts.

    The certificate's participation is assessed through ``participations.assess``, as at issue,
    with the corrected course period and exam date. Raises the engine's RuleViolation naming
    the correction's field, and InvalidInputError when the rules would issue no such
    certificate on the corrected facts.
    """
    state = (
        await school_store.participation_for_update(conn, school_id, participation_id)
        if participation_id is not None
        else None
    )
    if state is None:
        # Nothing recorded to assess (a certificate entered without a participation): its
        # annotations cannot be corrected, only what it says of the person and the course.
        if corrected.annotations != record.annotations:
            raise InvalidInputError(
                "no recorded participation to assess; the annotations cannot change",
                field="annotations",
            )
        return record.annotations
    subject = participations.subject_of(state)
    periods = subject.periods
    if (corrected.course_start, corrected.course_end) != (record.course_start, record.course_end):
        periods = [PeriodIn(corrected.course_start, corrected.course_end)]
    attempts = [
        msgspec.structs.replace(a, held_on=corrected.exam_date)
        if corrected.exam_date is not None and a.held_on == record.exam_date and not a.postponed
        else a
        for a in subject.attempts
    ]
    goals = await school_store.goals(
        conn, [subject.goal, *(g.goal for g in subject.facts.ikv or [])]
    )
    found = participations.participation(
        goal=subject.goal,
        team_reference=corrected.team,
        periods=periods,
        facts=subject.facts,
        attempts=attempts,
    )
    try:
        assessment = participations.assess(
            found, {n: g.to_catalogue() for n, g in goals.items()}, today=today
        )
    except rules.RuleViolation as e:
        e.field = _correction_field(e)
        raise
    for kind, goal, doc in participations.certificates_due(assessment):
        if kind == record.kind.value and goal == record.goal.number:
            return doc.annotations or assessment.certificate or record.annotations
    raise InvalidInputError(
        "on the corrected facts the AMU rules issue no such certificate", field="body"
    )


def _correction_field(violation: rules.RuleViolation) -> str:
    """The correction's member a refusal on the corrected facts is about."""
    if isinstance(violation, rules.ResultBeforeCourseEndError):
        return "courseEnd"  # the certificate's result exists, so the course cannot end later
    if violation.field.startswith("periods"):
        return "courseEnd" if violation.field.endswith(".end") else "courseStart"
    if violation.field.endswith(".heldOn"):
        return "examDate"
    return violation.field


def _apply(record: CertificateRecord, change: CorrectionIn, *, today: dt.date) -> CertificateRecord:
    """The record with the correction's members; raises InvalidInputError (or the rules'
    DateOutOfRangeError) naming the field."""
    for field, day in (
        ("courseStart", change.course_start),
        ("courseEnd", change.course_end),
        ("examDate", change.exam_date),
    ):
        if day is not None:
            rules.check_in_range(day, field=field, today=today)
    annotations = (
        Annotations(
            exam_passed=change.annotations.exam_passed,
            dispensation=change.annotations.dispensation,
            ikv=change.annotations.ikv,
        )
        if change.annotations is not None
        else record.annotations
    )
    corrected = dataclasses.replace(
        record,
        participant=Participant(
            record.participant.cpr,
            inputs.name(change.name, field="name") if change.name else record.participant.name,
        ),
        team=inputs.text(change.team, field="team") if change.team else record.team,
        course_start=change.course_start or record.course_start,
        course_end=change.course_end or record.course_end,
        exam_date=change.exam_date or record.exam_date,
        annotations=annotations,
    )
    if corrected == record:
        raise InvalidInputError("the correction changes nothing on the certificate", field="body")
    if corrected.course_end < corrected.course_start:
        raise InvalidInputError("must not be before courseStart", field="courseEnd")
    if corrected.exam_date is not None and corrected.exam_date < corrected.course_start:
        raise InvalidInputError("must not be before courseStart", field="examDate")
    return corrected
