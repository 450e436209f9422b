"""Between what a school records and what the rules engine reads: pure mappings, no I/O.

Facts and attempts are stored as the school sent them (JSON of ``FactsIn`` and ``AttemptIn``);
every assessment rebuilds the engine's ``Participation`` from them, so the engine stays the one
place where the AMU rules live. The engine is called here only, and its refusals come out
naming the field as the school API spells it::

    found = participation_of(subject)
    assessment = assess(found, catalogue, today=today, prefix="participants[0].")
    # or RuleViolation with field "participants[0].attempts[1].retakeReason"
"""

from __future__ import annotations

import datetime as dt
import operator
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import msgspec

from issuers import rules, school_store
from issuers.requests import (
    AttemptIn,
    AttemptOut,
    DeadlinesOut,
    DocumentOut,
    FactsIn,
    FactsUpdateIn,
    IssuedCertificate,
    ParticipantIn,
    ParticipationOut,
    PeriodIn,
    TeamIn,
)
from registry.certificate_store import CertificateRef


@dataclass(frozen=True, slots=True)
class Subject:
    """One participation being assessed, with everything issuing needs."""

    id: uuid.UUID
    team_id: uuid.UUID
    goal: str
    team_reference: str
    start: dt.date
    end: dt.date
    cpr: str
    name: str
    periods: Sequence[PeriodIn]
    facts: FactsIn
    attempts: Sequence[AttemptIn]


def subject_of(state: school_store.ParticipationState) -> Subject:
    """A stored participation as issuing assesses it."""
    return Subject(
        id=state.id,
        team_id=state.team_id,
        goal=state.goal_number,
        team_reference=state.team_reference,
        start=state.start,
        end=state.end,
        cpr=state.cpr,
        name=state.name,
        periods=periods_from_json(state.periods, state.start, state.end),
        facts=facts_from_json(state.facts),
        attempts=[attempt_from_json(a) for a in state.attempts],
    )


_SNAKE = re.compile(r"_([a-z])")


def api_field(engine_field: str, prefix: str = "") -> str:
    """An engine field path (``attempts[1].retake_reason``) as the API spells it."""
    return prefix + _SNAKE.sub(lambda m: m.group(1).upper(), engine_field)


def assess(
    participation: rules.Participation,
    catalogue: rules.Catalogue,
    *,
    today: dt.date,
    prefix: str = "",
) -> rules.Assessment:
    """The rules engine's assessment of one participation.

    Raises the engine's RuleViolation with its ``field`` as the API spells it, after
    ``prefix`` (``participants[2].``).
    """
    with _api_fields(prefix):
        return rules.assess(participation, catalogue, today=today)


def assess_composite(
    course: rules.CompositeCourse,
    taken: Sequence[rules.Participation],
    catalogue: rules.Catalogue,
    *,
    today: dt.date,
) -> rules.CompositeAssessment:
    """The rules engine's assessment of the goals one participant took in a composite course.

    Raises the engine's RuleViolation with its ``field`` as the API spells it
    (``participations[1].attempts[0].heldOn``).
    """
    with _api_fields(""):
        return rules.assess_composite(course, tuple(taken), catalogue, today=today)


@contextmanager
def _api_fields(prefix: str) -> Iterator[None]:
    try:
        yield
    except rules.RuleViolation as e:
        e.field = api_field(e.field, prefix)
        raise


def facts_of(participant: ParticipantIn) -> FactsIn:
    """The recorded facts of a submitted participant, without identity and attempts."""
    return FactsIn(*_facts_fields(participant))


# FactsIn's fields, in their positional order (ParticipantIn extends FactsIn).
_facts_fields = operator.attrgetter(*FactsIn.__struct_fields__)


def attempts_of(participant: ParticipantIn, team: TeamIn) -> list[AttemptIn]:
    """The submitted attempts; the ``exam`` shortcut becomes one ordinary one-part attempt."""
    attempts = list(participant.attempts)
    if participant.exam is not None:
        attempts.insert(
            0, AttemptIn(held_on=participant.exam_date or team.end, parts=[participant.exam])
        )
    return attempts


def updated(facts: FactsIn, update: FactsUpdateIn) -> FactsIn:
    """The facts with every member the update sets replaced."""
    changes = {
        name: value
        for name in FactsUpdateIn.__struct_fields__
        if (value := getattr(update, name)) is not None
    }
    return msgspec.structs.replace(facts, **changes)


def periods_of(team: TeamIn) -> list[PeriodIn]:
    return list(team.periods) if team.periods else [PeriodIn(team.start, team.end)]


def to_json(value: msgspec.Struct) -> str:
    return msgspec.json.encode(value).decode()


def facts_from_json(data: Any) -> FactsIn:
    return msgspec.convert(data, FactsIn)


def attempt_from_json(data: Any) -> AttemptIn:
    return msgspec.convert(data, AttemptIn)


def periods_from_json(data: Any, team_start: Any, team_end: Any) -> list[PeriodIn]:
    periods = msgspec.convert(data, list[PeriodIn])
    return periods or [PeriodIn(team_start, team_end)]


def participation_of(subject: Subject) -> rules.Participation:
    """The engine's view of a participation being issued for."""
    return participation(
        goal=subject.goal,
        team_reference=subject.team_reference,
        periods=subject.periods,
        facts=subject.facts,
        attempts=subject.attempts,
    )


def participation(
    *,
    goal: str,
    team_reference: str,
    periods: Sequence[PeriodIn],
    facts: FactsIn,
    attempts: Sequence[AttemptIn],
) -> rules.Participation:
    """The engine's view of one participation."""
    return rules.Participation(
        goal=goal,
        team=team_reference,
        periods=tuple(rules.Period(p.start, p.end) for p in periods),
        enrolment=facts.enrolment,
        collective_shortening=facts.collective_shortening,
        special_conditions=frozenset(facts.special_conditions),
        dispensation=rules.Dispensation(
            applied_by_participant=facts.dispensation.applied_by_participant,
            assessment_replaces_exam=facts.dispensation.assessment_replaces_exam,
        )
        if facts.dispensation
        else None,
        judgement=facts.judgement,
        attempts=tuple(
            rules.Attempt(
                held_on=a.held_on,
                parts=tuple(a.parts),
                kind=a.kind,
                postponed=a.postponed,
                notified_on=a.notified_on,
                retake_reason=a.retake_reason,
                complaint_decision=a.complaint_decision,
            )
            for a in attempts
        ),
        dropped_out=facts.dropped_out,
        exam_skipped=facts.exam_skipped,
        authority_exam_passed=facts.authority_exam_passed,
        ikv=tuple(rules.IkvGoalResult(g.goal, g.result, g.exam_passed) for g in facts.ikv)
        if facts.ikv is not None
        else None,
    )


def category_number(assessment: rules.Assessment) -> int | None:
    return assessment.category.number if assessment.category is not None else None


def attempts_out(assessment: rules.Assessment) -> list[AttemptOut]:
    return [
        AttemptOut(
            index=a.index,
            held_on=a.held_on,
            kind=a.kind.value,
            outcome=a.outcome.value,
            category=a.category.number if a.category else None,
            reported_as_retake=a.reported_as_retake,
            is_retake=a.is_retake,
            funding_marks=sorted(m.code for m in a.funding_marks),
            complaint_by=a.complaint_by,
        )
        for a in assessment.attempts
    ]


def deadlines_out(assessment: rules.Assessment) -> DeadlinesOut:
    d = assessment.deadlines
    return DeadlinesOut(d.certificate_by, d.result_notice_by, d.complaint_by, d.retake_by)


CERTIFICATE_KINDS = {
    rules.DocumentKind.AMU_CERTIFICATE: "amu",
    rules.DocumentKind.IKV_ACTIVITY_CERTIFICATE: "ikv-activity",
}


def document_out(doc: rules.DueDocument, issued: dict[tuple[str, str | None], str]) -> DocumentOut:
    """A due document, with the numbers of the certificates that fulfil it."""
    kind = CERTIFICATE_KINDS.get(doc.kind)
    return DocumentOut(
        kind=doc.kind.value,
        goals=list(doc.goals),
        due_by=doc.due_by,
        optional=doc.optional,
        issued=[issued[(kind, g)] for g in doc.goals if kind and (kind, g) in issued],
    )


def certificates_due(assessment: rules.Assessment) -> list[tuple[str, str, rules.DueDocument]]:
    """(certificate kind, goal, document) for every certificate the assessment makes due."""
    return [
        (CERTIFICATE_KINDS[doc.kind], goal, doc)
        for doc in assessment.documents
        if doc.kind in CERTIFICATE_KINDS and not doc.optional
        for goal in doc.goals
    ]


Link = Callable[[str, str, str | None, str], IssuedCertificate]
"""What a school is told of an issued certificate, from its number, kind, goal and code."""


def participation_out(
    subject: Subject,
    assessment: rules.Assessment,
    issued: Sequence[CertificateRef],
    link: Link,
) -> ParticipationOut:
    """A participation as the school API shows it: the rules' verdict and what was issued."""
    by_document = {(c.kind, c.goal_number): c.number for c in issued}
    return ParticipationOut(
        participation=subject.id,
        team=subject.team_id,
        team_reference=subject.team_reference,
        goal=subject.goal,
        name=subject.name,
        result_group=assessment.group.number,
        result_category=category_number(assessment),
        report_value=assessment.report_value,
        final=assessment.final,
        retake_right=assessment.retake_right,
        documents=[document_out(doc, by_document) for doc in assessment.documents],
        attempts=attempts_out(assessment),
        deadlines=deadlines_out(assessment),
        certificates=[link(c.number, c.kind, c.goal_number, c.verification_code) for c in issued],
    )
