"""What a school sends and gets back: the request and response bodies of the school API.

msgspec checks shapes and types (and names the offending field); the rules engine
(``issuers.rules``) checks meaning. Enum values are the engine's own.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec

from issuers.rules import AttemptKind, Enrolment, IkvResult, Judgement, PartResult, SpecialCondition

MAX_PARTICIPANTS = 1000

Text = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
GoalNumber = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{5}$", examples=["45564"])]
CprText = Annotated[
    str,
    msgspec.Meta(
        min_length=10,
        max_length=11,
        description="CPR number, DDMMYY-SSSS",
        examples=["010190-1234"],
    ),
]


class _In(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    pass


class PeriodIn(_In):
    start: dt.date
    end: dt.date


class TeamIn(_In):
    reference: Text
    goal: GoalNumber
    start: dt.date
    end: dt.date
    # A course split into several periods (still one participation with one result).
    periods: list[PeriodIn] | None = None


class AttemptIn(_In):
    """One exam attempt. ``parts``: one result per exam part; empty only when postponed."""

    held_on: dt.date
    parts: Annotated[list[PartResult], msgspec.Meta(max_length=5)] = []
    kind: AttemptKind = AttemptKind.ORDINARY
    postponed: bool = False
    notified_on: dt.date | None = None
    retake_reason: Text | None = None
    complaint_decision: Text | None = None


class DispensationIn(_In):
    applied_by_participant: bool
    assessment_replaces_exam: bool


class IkvGoalIn(_In):
    goal: GoalNumber
    result: IkvResult
    exam_passed: bool | None = None


class FactsIn(_In):
    """What a school may record about a participation besides exam attempts."""

    enrolment: Enrolment = Enrolment.AMU
    collective_shortening: bool = False
    # Accepted so a school can record them; they never reach a certificate (001).
    special_conditions: list[SpecialCondition] = []
    dispensation: DispensationIn | None = None
    judgement: Judgement | None = None
    dropped_out: bool = False
    exam_skipped: bool = False
    authority_exam_passed: bool | None = None
    ikv: list[IkvGoalIn] | None = None


class ParticipantIn(FactsIn, kw_only=True):
    cpr: CprText
    name: Text
    # Shortcut for the common case: one ordinary one-part exam on examDate (default: team end).
    exam: PartResult | None = None
    exam_date: dt.date | None = None
    attempts: list[AttemptIn] = []


class TeamResultsIn(_In):
    team: TeamIn
    participants: Annotated[
        list[ParticipantIn], msgspec.Meta(min_length=1, max_length=MAX_PARTICIPANTS)
    ]


class FactsUpdateIn(_In):
    """A change of recorded facts; absent members stay as they were."""

    enrolment: Enrolment | None = None
    collective_shortening: bool | None = None
    special_conditions: list[SpecialCondition] | None = None
    dispensation: DispensationIn | None = None
    judgement: Judgement | None = None
    dropped_out: bool | None = None
    exam_skipped: bool | None = None
    authority_exam_passed: bool | None = None
    ikv: list[IkvGoalIn] | None = None


class IssuedCertificate(msgspec.Struct, rename="camel"):
    number: str
    kind: str
    goal: str
    verification_code: str
    verify_url: str


class ParticipantOut(msgspec.Struct, rename="camel"):
    index: int
    participation: uuid.UUID
    name: str
    result_group: int
    result_category: int | None
    certificate: IssuedCertificate | None  # the certificate for the team's own goal
    certificates: list[IssuedCertificate]  # every certificate issued, IKV goals included


class TeamResultsOut(msgspec.Struct, rename="camel"):
    team: uuid.UUID
    participants: list[ParticipantOut]


class DocumentOut(msgspec.Struct, rename="camel"):
    kind: str
    goals: list[str]
    due_by: dt.date | None
    optional: bool
    issued: list[str]  # certificate numbers, for AMU and IKV activity certificates


class AttemptOut(msgspec.Struct, rename="camel"):
    index: int
    held_on: dt.date
    kind: str
    outcome: str
    category: int | None
    reported_as_retake: bool
    is_retake: bool
    funding_marks: list[str]
    complaint_by: dt.date | None


class DeadlinesOut(msgspec.Struct, rename="camel"):
    certificate_by: dt.date | None
    result_notice_by: dt.date
    complaint_by: dt.date | None
    retake_by: dt.date | None


class ParticipationOut(msgspec.Struct, rename="camel"):
    participation: uuid.UUID
    team: uuid.UUID
    team_reference: str
    goal: str
    name: str
    result_group: int
    result_category: int | None
    report_value: str
    final: bool
    retake_right: bool
    documents: list[DocumentOut]
    attempts: list[AttemptOut]
    deadlines: DeadlinesOut
    certificates: list[IssuedCertificate]


class OverdueOut(msgspec.Struct, rename="camel"):
    participation: uuid.UUID
    team_reference: str
    goal: str
    name: str
    what: str  # "certificate" or "result-notice"
    due_by: dt.date
    overdue: bool  # False: at risk (due within the warning window), not yet late


# -- composite courses (sammensatte forløb) ------------------------------------------------------

MAX_COMPOSITE_GOALS = 20


class CompositeCourseIn(_In):
    """A composite course: the school's teams, each one goal of the course, in course order."""

    reference: Text
    teams: Annotated[list[uuid.UUID], msgspec.Meta(min_length=2, max_length=MAX_COMPOSITE_GOALS)]


class CompositeGoalOut(msgspec.Struct, rename="camel"):
    goal: str
    team: uuid.UUID
    team_reference: str


class CompositeCourseOut(msgspec.Struct, rename="camel"):
    course: uuid.UUID
    reference: str
    goals: list[CompositeGoalOut]


class CompositeResultOut(msgspec.Struct, rename="camel"):
    """One goal a participant took: its own participation, result and certificates."""

    goal: str
    participation: uuid.UUID
    team_reference: str
    result_group: int
    result_category: int | None
    report_value: str
    final: bool
    documents: list[DocumentOut]
    deadlines: DeadlinesOut


class CompositeParticipantOut(msgspec.Struct, rename="camel"):
    """One participant across the course's teams (matched by CPR number, never shown).

    ``combined_document`` is the optional combined document (samlet bevis) when it is due: a
    document the school may issue, not an AMU certificate, so it is never registered as one.
    """

    name: str
    participations: list[uuid.UUID]
    results: list[CompositeResultOut]
    not_taken: list[str]
    combined_document: DocumentOut | None


class CompositeCourseView(msgspec.Struct, rename="camel"):
    course: uuid.UUID
    reference: str
    goals: list[CompositeGoalOut]
    participants: list[CompositeParticipantOut]
