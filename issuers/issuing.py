"""Issuing: a school's results in, the AMU rules applied, signed and registered certificates out.

Every decision comes from the rules engine (``issuers.rules``). One transaction makes the team,
its participations and attempts, the certificates, their status events, their delivery jobs,
their log leaves and the idempotency record appear together or not at all::

    certifier = Certifier(key_store, verify_base_url="https://.../tjek", outbox=outbox)
    issuer = Issuer(pool, certifier, clock)
    write = IdempotentRequest(school_id, key, raw_body, "POST", route, target)  # the edge's
    issued = await issuer.issue_team(write, team_results)  # .answer, and .body to send
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Callable, Sequence

import asyncpg
import msgspec

from issuers import idempotency, inputs, other_documents, participations, rules, school_store
from issuers.certifying import Certifier
from issuers.cpr import Cpr
from issuers.errors import (
    ConflictError,
    IssuingError,
    NotFoundIssuingError,
    UnknownGoalError,
)
from issuers.idempotency import Answered, IdempotentRequest
from issuers.requests import (
    AttemptIn,
    FactsIn,
    FactsUpdateIn,
    IssuedCertificate,
    OverdueOut,
    ParticipantOut,
    ParticipationOut,
    TeamResultsIn,
    TeamResultsOut,
)
from issuers.uuids import random_uuids
from issuers.workdays import DANISH_WORKDAYS
from registry import certificate_store
from registry.clock import Clock, to_the_second, today_in_denmark
from registry.db import Connection

AT_RISK_WORKING_DAYS = 3  # the overdue list warns this many working days before a deadline


class Issuer:
    """Issues certificates for schools' results, deciding everything with the rules engine."""

    def __init__(self, pool: asyncpg.Pool, certifier: Certifier, clock: Clock) -> None:
        self._pool = pool
        self._certifier = certifier
        self._clock = clock

    # -- entry points -----------------------------------------------------------------------

    async def issue_team(
        self, write: IdempotentRequest, request: TeamResultsIn
    ) -> Answered[TeamResultsOut]:
        """Record a team's results and issue what the rules make due.

        Repeating the same request with its idempotency key returns the first answer's bytes
        and creates nothing. Raises IdempotencyConflictError when the key was used for another
        request (``issuers.idempotency``), RuleViolation when the facts break an AMU rule, and
        IssuingError subtypes (naming the field) for other bad input.
        """
        request = inputs.checked_team(request, today=today_in_denmark(self._clock()))

        async def work(conn: Connection) -> TeamResultsOut:
            return await self._issue_team(conn, write.school_id, request)

        return await idempotency.run(self._pool, write, TeamResultsOut, work)

    async def record_attempt(
        self, write: IdempotentRequest, participation_id: uuid.UUID, attempt: AttemptIn
    ) -> Answered[ParticipationOut]:
        """Append an exam attempt (prøve, omprøve or flyttet prøve); earlier ones never change.

        Idempotent like ``issue_team``; raises NotFoundIssuingError for another school's
        participation, RuleViolation, and ConflictError when a certificate already issued
        would no longer be due.
        """
        attempt = inputs.checked_attempt(attempt)

        async def work(conn: Connection) -> ParticipationOut:
            return await self._change(
                conn,
                write.school_id,
                participation_id,
                lambda s: (s.facts, [*s.attempts, attempt]),
            )

        return await idempotency.run(self._pool, write, ParticipationOut, work)

    async def update_facts(
        self, write: IdempotentRequest, participation_id: uuid.UUID, update: FactsUpdateIn
    ) -> Answered[ParticipationOut]:
        """Record a dispensation, a judgement, an IKV outcome, a drop-out, ... and reassess.

        Idempotent and refused like ``record_attempt``.
        """

        async def work(conn: Connection) -> ParticipationOut:
            return await self._change(
                conn,
                write.school_id,
                participation_id,
                lambda s: (participations.updated(s.facts, update), s.attempts),
            )

        return await idempotency.run(self._pool, write, ParticipationOut, work)

    async def participation(self, school_id: str, participation_id: uuid.UUID) -> ParticipationOut:
        """A participation of this school as the rules see it today; NotFoundIssuingError if
        it has none."""
        async with self._pool.acquire() as conn, conn.transaction():
            subject = await _load(conn, school_id, participation_id)
            catalogue = await _catalogue(conn, [subject.goal, *_ikv_goals(subject.facts)])
            assessment = self._assess(subject, catalogue)
            issued = await certificate_store.certificates_of_participations(conn, [subject.id])
        return participations.participation_out(
            subject, assessment, issued.get(subject.id, []), self._certifier.link
        )

    async def overdue(self, school_id: str) -> list[OverdueOut]:
        """Participations whose final result is late, or due within a few working days."""
        today = today_in_denmark(self._clock())
        horizon = DANISH_WORKDAYS.add_working_days(today, AT_RISK_WORKING_DAYS)
        async with self._pool.acquire() as conn:
            pending = await school_store.pending_results(conn, school_id, due_until=horizon)
        return [
            OverdueOut(
                participation=p.participation,
                team_reference=p.team_reference,
                goal=p.goal_number,
                name=p.name,
                what="result",
                due_by=p.result_due_by,
                overdue=p.result_due_by < today,
            )
            for p in pending
        ]

    # -- the work ---------------------------------------------------------------------------

    async def _issue_team(
        self, conn: Connection, school_id: str, request: TeamResultsIn
    ) -> TeamResultsOut:
        school = await issuing_school(conn, school_id)
        catalogue = await _catalogue(conn, team_goals(request))
        prepared = prepare_team(request, catalogue, today=today_in_denmark(self._clock()))
        team = request.team
        team_id, subjects, assessments = prepared.team_id, prepared.subjects, prepared.assessments
        if not await school_store.insert_team(
            conn,
            team_id=team_id,
            school_id=school_id,
            reference=team.reference,
            goal_number=team.goal,
            start=team.start,
            end=team.end,
            periods=prepared.periods_json(),
        ):
            raise ConflictError(
                "this team was already reported for the goal; use a new reference",
                field="team.reference",
            )
        await school_store.insert_participations(conn, prepared.participation_rows())
        now = self._now()
        await school_store.insert_attempts(conn, prepared.attempt_rows(), recorded_at=now)
        issued = await self._certifier.issue_due(
            conn,
            school=school,
            catalogue=catalogue,
            assessed=prepared.assessed(),
            existing={},
            now=now,
        )
        await other_documents.after_results(
            conn,
            school=school,
            assessed=list(zip(subjects, assessments, strict=True)),
            catalogue=catalogue,
            now=now,
            participation_documents=team.participation_documents,
        )
        return TeamResultsOut(
            team=team_id,
            participants=[
                ParticipantOut(
                    index=index,
                    participation=s.id,
                    name=s.name,
                    result_group=a.group.number,
                    result_category=participations.category_number(a),
                    certificate=_own(issued.get(s.id, []), s.goal),
                    certificates=issued.get(s.id, []),
                )
                for index, (s, a) in enumerate(zip(subjects, assessments, strict=True))
            ],
        )

    async def _change(
        self,
        conn: Connection,
        school_id: str,
        participation_id: uuid.UUID,
        change: Callable[[participations.Subject], tuple[FactsIn, Sequence[AttemptIn]]],
    ) -> ParticipationOut:
        school = await issuing_school(conn, school_id)
        before = await _load(conn, school_id, participation_id)
        facts, attempts = change(before)
        after = dataclasses.replace(before, facts=facts, attempts=attempts)
        catalogue = await _catalogue(conn, [after.goal, *_ikv_goals(after.facts)])
        _require_ikv_goals(after.facts, catalogue, prefix="")
        assessment = self._assess(after, catalogue)
        existing = (await certificate_store.certificates_of_participations(conn, [after.id])).get(
            after.id, []
        )
        due = {(kind, goal) for kind, goal, _doc in participations.certificates_due(assessment)}
        for certificate in existing:
            if (certificate.kind, certificate.goal_number) not in due:
                raise ConflictError(
                    f"certificate {certificate.number} was issued on the earlier facts; "
                    "cancel it before changing them",
                    field="participation",
                )
        now = self._now()
        await school_store.update_participation(
            conn,
            after.id,
            facts=participations.to_json(after.facts),
            result_group=assessment.group.number,
            result_category=participations.category_number(assessment),
            result_due_by=None if assessment.final else assessment.deadlines.result_notice_by,
        )
        new_attempts = list(after.attempts[len(before.attempts) :])
        await school_store.insert_attempts(
            conn,
            [
                (after.id, len(before.attempts) + i, participations.to_json(a))
                for i, a in enumerate(new_attempts)
            ],
            recorded_at=now,
        )
        await self._certifier.issue_due(
            conn,
            school=school,
            catalogue=catalogue,
            assessed=[(after, assessment)],
            existing={after.id: existing},
            now=now,
        )
        await other_documents.after_results(
            conn,
            school=school,
            assessed=[(after, assessment)],
            catalogue=catalogue,
            now=now,
            participation_documents=None,
        )
        issued = await certificate_store.certificates_of_participations(conn, [after.id])
        return participations.participation_out(
            after, assessment, issued.get(after.id, []), self._certifier.link
        )

    # -- helpers ----------------------------------------------------------------------------

    def _now(self) -> dt.datetime:
        return to_the_second(self._clock())

    def _assess(
        self,
        subject: participations.Subject,
        catalogue: dict[str, school_store.GoalRow],
        *,
        prefix: str = "",
    ) -> rules.Assessment:
        return _assess(
            subject,
            _rules_catalogue(catalogue),
            today=today_in_denmark(self._clock()),
            prefix=prefix,
        )


# -- one team's results as the rules see them: shared by the API and the bulk import -----------


@dataclasses.dataclass(frozen=True, slots=True)
class PreparedTeam:
    """A team's results checked and assessed, with fresh ids, before anything is written."""

    request: TeamResultsIn
    team_id: uuid.UUID
    subjects: list[participations.Subject]
    assessments: list[rules.Assessment]
    facts_json: list[str]  # each subject's facts as the participations.facts column holds them

    def periods_json(self) -> str:
        """The team's periods as the ``teams.periods`` column holds them."""
        return msgspec.json.encode(self.request.team.periods or []).decode()

    def participation_rows(self) -> list[school_store.ParticipationRow]:
        """The participations' rows, with the result group, category and deadline."""
        return [
            school_store.ParticipationRow(
                id=s.id,
                team_id=self.team_id,
                cpr=s.cpr,
                name=s.name,
                facts=facts,
                result_group=a.group.number,
                result_category=participations.category_number(a),
                result_due_by=None if a.final else a.deadlines.result_notice_by,
            )
            for s, a, facts in zip(self.subjects, self.assessments, self.facts_json, strict=True)
        ]

    def attempt_rows(self) -> list[tuple[uuid.UUID, int, str]]:
        """The exam attempts' rows: (participation, sequence number, attempt JSON)."""
        return [
            (s.id, seq, participations.to_json(attempt))
            for s in self.subjects
            for seq, attempt in enumerate(s.attempts)
        ]

    def assessed(self) -> list[tuple[participations.Subject, rules.Assessment]]:
        return list(zip(self.subjects, self.assessments, strict=True))


def team_goals(request: TeamResultsIn) -> list[str]:
    """The catalogue entries a team's results need: its goal and every IKV goal named."""
    return [
        request.team.goal,
        *(g.goal for p in request.participants for g in p.ikv or []),  # ParticipantIn's facts
    ]


def prepare_team(
    request: TeamResultsIn, catalogue: dict[str, school_store.GoalRow], *, today: dt.date
) -> PreparedTeam:
    """Check and assess a team's results (already through ``inputs.checked_team``) against the
    catalogue (which holds at least ``team_goals(request)`` where they exist).

    Pure: writes nothing. Raises UnknownGoalError, RuleViolation and IssuingError subtypes
    naming the field, exactly as ``Issuer.issue_team`` does.
    """
    team = request.team
    team_id, *ids = random_uuids(1 + len(request.participants))
    periods = participations.periods_of(team)  # the team's, shared by its participants
    subjects = [
        participations.Subject(
            id=participation_id,
            team_id=team_id,
            goal=team.goal,
            team_reference=team.reference,
            start=team.start,
            end=team.end,
            # inputs.checked_team parsed and normalised it (DDMMYY-SSSS); once is enough.
            cpr=Cpr(participant.cpr),
            name=participant.name,
            periods=periods,
            facts=participations.facts_of(participant),
            attempts=participations.attempts_of(participant, team),
        )
        for participation_id, participant in zip(ids, request.participants, strict=True)
    ]
    if team.goal not in catalogue:
        raise UnknownGoalError("is not an AMU goal in the catalogue", field="team.goal")
    rules_catalogue = _rules_catalogue(catalogue)  # once per team, not per participant
    # The engine is pure and reads neither CPR nor name, so participants with the same facts
    # and attempts (most of a team) get the same assessment: computed once per distinct pair,
    # keyed by their JSON (the facts' is the row's column anyway). A refusal is never kept (it
    # raises, naming the first participant's field).
    assessed: dict[tuple[bytes, bytes], rules.Assessment] = {}
    assessments = []
    facts_json = []
    for index, subject in enumerate(subjects):
        prefix = f"participants[{index}]."
        _require_ikv_goals(subject.facts, catalogue, prefix=prefix)
        facts = msgspec.json.encode(subject.facts)
        facts_json.append(facts.decode())
        key = (facts, msgspec.json.encode(subject.attempts))
        assessment = assessed.get(key)
        if assessment is None:
            found = participations.participation_of(subject)
            assessment = participations.assess(found, rules_catalogue, today=today, prefix=prefix)
            assessed[key] = assessment
        assessments.append(assessment)
    return PreparedTeam(request, team_id, subjects, assessments, facts_json)


def _rules_catalogue(catalogue: dict[str, school_store.GoalRow]) -> rules.Catalogue:
    return {number: goal.to_catalogue() for number, goal in catalogue.items()}


def _assess(
    subject: participations.Subject,
    catalogue: rules.Catalogue,
    *,
    today: dt.date,
    prefix: str = "",
) -> rules.Assessment:
    return participations.assess(
        participations.participation_of(subject), catalogue, today=today, prefix=prefix
    )


async def issuing_school(conn: Connection, school_id: str) -> school_store.SchoolRow:
    """The school, if it may issue; IssuingError (unknown) or ConflictError (disabled)."""
    school = await school_store.school(conn, school_id)
    if school is None:
        raise IssuingError("unknown school", field="school")
    if school.disabled_at is not None:  # amu-bevis schools disable (issuers/onboarding.py)
        raise ConflictError("the school is disabled and cannot issue", field="school")
    return school


async def _load(
    conn: Connection, school_id: str, participation_id: uuid.UUID
) -> participations.Subject:
    state = await school_store.participation_for_update(conn, school_id, participation_id)
    if state is None:
        raise NotFoundIssuingError("this school has no such participation", field="participation")
    return participations.subject_of(state)


async def _catalogue(conn: Connection, numbers: Sequence[str]) -> dict[str, school_store.GoalRow]:
    return await school_store.goals(conn, numbers)


def _ikv_goals(facts: FactsIn) -> list[str]:
    return [g.goal for g in facts.ikv or []]


def _require_ikv_goals(
    facts: FactsIn, catalogue: dict[str, school_store.GoalRow], *, prefix: str
) -> None:
    for index, goal in enumerate(_ikv_goals(facts)):
        if goal not in catalogue:
            raise UnknownGoalError(
                "is not an AMU goal in the catalogue", field=f"{prefix}ikv[{index}].goal"
            )


def _own(issued: Sequence[IssuedCertificate], goal: str) -> IssuedCertificate | None:
    return next((c for c in issued if c.goal == goal), None)
