"""Issuing: a school's team results in, signed and registered certificates out.

One transaction makes the team, its participations, the certificates, their status events and
the idempotency record appear together or not at all::

    issuer = Issuer(pool, key_store, clock, verify_base_url="https://.../tjek")
    status, body = await issuer.issue_team(school_id, idempotency_key, raw_body, request)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import asyncpg
import msgspec

from formats.jws import sign_payload
from formats.record import (
    Annotations,
    CertificateKind,
    CertificateRecord,
    Goal,
    Participant,
    School,
)
from issuers import store
from issuers.cpr import parse_cpr
from issuers.errors import (
    ConflictError,
    IdempotencyConflictError,
    InvalidInputError,
    IssuingError,
    UnknownGoalError,
)
from issuers.keys import KeyStore
from issuers.requests import (
    ExamOutcome,
    IssuedCertificate,
    Judgement,
    ParticipantIn,
    ParticipantOut,
    TeamResultsIn,
    TeamResultsOut,
)
from registry import codes, log
from registry import store as register
from registry.db import Connection

Clock = Callable[[], dt.datetime]


class Outbox(Protocol):
    """Where delivery jobs are created, in the issuing transaction (a transactional outbox)."""

    async def enqueue(
        self,
        conn: Connection,
        school: store.SchoolRow,
        certificates: Sequence[register.NewCertificate],
    ) -> None:
        """Create one delivery job per certificate, on ``conn`` inside the caller's transaction."""


@dataclass(frozen=True, slots=True)
class Decision:
    group: int
    category: int
    annotations: Annotations | None  # None: no certificate


def decide(participant: ParticipantIn, *, exam_attached: bool) -> Decision:
    """The slice's decision: certificate on a passed exam, or without an exam when the teacher
    judges the goal reached. Categories as the reporting guide numbers them (002 §3)."""
    if exam_attached:
        if participant.dropped_out or participant.exam in (None, ExamOutcome.ABSENT):
            return Decision(1, 5, None)
        if participant.exam is ExamOutcome.FAILED:
            return Decision(1, 4, None)
        return Decision(1, 1, Annotations(exam_passed=True, dispensation=False, ikv=False))
    if participant.dropped_out:
        return Decision(2, 4, None)
    if participant.judgement is Judgement.REACHED:
        return Decision(2, 1, Annotations(exam_passed=None, dispensation=False, ikv=False))
    return Decision(2, 3, None)


class Issuer:
    """Issues certificates for one school's team results."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        keys: KeyStore,
        clock: Clock,
        *,
        verify_base_url: str,
        outbox: Outbox | None = None,
    ) -> None:
        self._pool = pool
        self._keys = keys
        self._clock = clock
        self._verify_base_url = verify_base_url.rstrip("/")
        self._outbox = outbox

    async def issue_team(
        self, school_id: str, idempotency_key: str, raw_body: bytes, request: TeamResultsIn
    ) -> tuple[int, bytes]:
        """Issue the team's certificates; return the HTTP status and JSON body.

        Repeating an idempotency key with the same body returns the first answer and creates
        nothing. Raises IdempotencyConflictError when the key was used for another body, and
        IssuingError subtypes (naming the field) for bad input.
        """
        _check_shape(request)
        request_sha256 = hashlib.sha256(raw_body).digest()
        async with self._pool.acquire() as conn, conn.transaction():
            prior = await store.claim_idempotency_key(
                conn, school_id=school_id, key=idempotency_key, request_sha256=request_sha256
            )
            if prior is not None:
                if prior.request_sha256 != request_sha256 or prior.status_code is None:
                    raise IdempotencyConflictError(
                        "this Idempotency-Key was used for a different request",
                        field="Idempotency-Key",
                    )
                return prior.status_code, msgspec.json.encode(prior.response)
            body = await self._issue(conn, school_id, request)
            encoded = msgspec.json.encode(body)
            await store.complete_idempotency_key(
                conn, school_id=school_id, key=idempotency_key, status_code=201, response=encoded
            )
            return 201, encoded

    async def _issue(
        self, conn: Connection, school_id: str, request: TeamResultsIn
    ) -> TeamResultsOut:
        team = request.team
        school = await store.school(conn, school_id)
        goal = await store.goal(conn, team.goal)
        if school is None:
            raise IssuingError("unknown school", field="school")
        if goal is None:
            raise UnknownGoalError("is not an AMU goal in the catalogue", field="team.goal")
        key = await register.active_key(conn, school_id)
        if key is None:
            raise IssuingError("the school has no active signing key", field="school")
        signing_key = self._keys.get(key.kid)

        team_id = uuid.uuid4()
        if not await store.insert_team(
            conn,
            team_id=team_id,
            school_id=school_id,
            reference=team.reference,
            goal_number=team.goal,
            start=team.start,
            end=team.end,
        ):
            raise ConflictError(
                "this team was already reported for the goal; use a new reference",
                field="team.reference",
            )
        exam_attached = goal.exam_attached_on(team.start)
        now = self._clock().astimezone(dt.UTC).replace(microsecond=0)
        decisions = [decide(p, exam_attached=exam_attached) for p in request.participants]
        serials = iter(
            await register.next_serials(conn, sum(1 for d in decisions if d.annotations))
        )

        participations: list[store.ParticipationRow] = []
        certificates: list[register.NewCertificate] = []
        out: list[ParticipantOut] = []
        for index, (participant, decision) in enumerate(
            zip(request.participants, decisions, strict=True)
        ):
            cpr = parse_cpr(participant.cpr, field=f"participants[{index}].cpr")
            participation_id = uuid.uuid4()
            participations.append(
                store.ParticipationRow(
                    id=participation_id,
                    team_id=team_id,
                    cpr=cpr,
                    name=participant.name,
                    facts=msgspec.to_builtins(participant),
                    result_group=decision.group,
                    result_category=decision.category,
                )
            )
            issued: IssuedCertificate | None = None
            if decision.annotations is not None:
                number = codes.certificate_number(now.year, next(serials))
                record = CertificateRecord(
                    number=number,
                    kind=CertificateKind.AMU,
                    participant=Participant(cpr=cpr, name=participant.name),
                    goal=Goal(goal.number, goal.title, str(goal.duration_days)),
                    school=School(school.id, school.name),
                    team=team.reference,
                    course_start=team.start,
                    course_end=team.end,
                    exam_date=(participant.exam_date or team.end) if exam_attached else None,
                    issued_at=now,
                    annotations=decision.annotations,
                )
                payload = record.canonical_bytes()
                code = codes.new_verification_code()
                certificates.append(
                    register.NewCertificate(
                        number=number,
                        school_id=school_id,
                        participation_id=participation_id,
                        cpr=cpr,
                        kid=key.kid,
                        payload=payload,
                        jws=sign_payload(payload, signing_key, kid=key.kid),
                        verification_code=code,
                        issued_at=now,
                    )
                )
                issued = IssuedCertificate(
                    number=number,
                    verification_code=codes.display_code(code),
                    verify_url=f"{self._verify_base_url}/{number}?kode={codes.display_code(code)}",
                )
            out.append(
                ParticipantOut(
                    index=index,
                    participation=participation_id,
                    name=participant.name,
                    result_group=decision.group,
                    result_category=decision.category,
                    certificate=issued,
                )
            )
        await store.insert_participations(conn, participations)
        stored = await register.insert_certificates(conn, certificates)
        if self._outbox is not None:
            await self._outbox.enqueue(conn, school, certificates)
        # Last, because it locks the log head until the commit.
        await log.append(
            conn,
            [
                log.Event(
                    event_id=event_id,
                    certificate_number=c.number,
                    kind="issued",
                    at=c.issued_at,
                    jws=c.jws,
                    kid=c.kid,
                )
                for event_id, c in stored
            ],
        )
        return TeamResultsOut(team=team_id, participants=out)


def _check_shape(request: TeamResultsIn) -> None:
    """Checks of meaning that need no database; raise InvalidInputError naming the field."""
    team = request.team
    if team.end < team.start:
        raise InvalidInputError("must not be before team.start", field="team.end")
    seen: dict[str, int] = {}
    for index, participant in enumerate(request.participants):
        cpr = parse_cpr(participant.cpr, field=f"participants[{index}].cpr")
        if cpr in seen:
            raise InvalidInputError(
                f"is the same person as participants[{seen[cpr]}]",
                field=f"participants[{index}].cpr",
            )
        seen[cpr] = index
        if participant.exam_date is not None and participant.exam_date < team.start:
            raise InvalidInputError(
                "must not be before team.start", field=f"participants[{index}].examDate"
            )
