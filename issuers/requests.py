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


def doc(description: str) -> msgspec.Meta:
    """A field's description for the OpenAPI document: ``Annotated[T, doc("...")]``.

    An optional field is written ``Annotated[T, doc("...")] | None`` so the description and
    T's own constraints both stay on the property.
    """
    return msgspec.Meta(description=description)


Text = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
GoalNumber = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[0-9]{5}$",
        examples=["45564"],
        description="AMU goal number (målnummer): five digits, as in the goal catalogue",
    ),
]
CprText = Annotated[
    str,
    msgspec.Meta(
        min_length=10,
        max_length=11,
        description="The participant's CPR number, DDMMYY-SSSS (the hyphen may be left out)",
        examples=["010190-1234"],
    ),
]


class _In(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    pass


class PeriodIn(_In):
    start: Annotated[dt.date, doc("First day of teaching in this period (ISO date, YYYY-MM-DD)")]
    end: Annotated[dt.date, doc("Last day of teaching in this period (ISO date, YYYY-MM-DD)")]


class TeamIn(_In):
    reference: Annotated[
        Text, doc("The school's own reference for the team (hold), 1 to 200 characters")
    ]
    goal: GoalNumber
    start: Annotated[dt.date, doc("First day of the course (ISO date, YYYY-MM-DD)")]
    end: Annotated[dt.date, doc("Last day of the course (ISO date, YYYY-MM-DD)")]
    # A course split into several periods (still one participation with one result).
    periods: (
        Annotated[
            list[PeriodIn],
            doc(
                "The teaching periods of a course split in several; still one participation "
                "with one result. Absent: one period from start to end"
            ),
        ]
        | None
    ) = None
    participation_documents: Annotated[
        bool,
        doc(
            "The school issues a participation document (deltagelsesbevis, not an AMU "
            "certificate) to each participant whose final result gives no certificate; "
            "default false"
        ),
    ] = False


class AttemptIn(_In):
    """One exam attempt. ``parts``: one result per exam part; empty only when postponed."""

    held_on: Annotated[dt.date, doc("The day the exam was held (ISO date, YYYY-MM-DD)")]
    parts: Annotated[
        list[PartResult],
        msgspec.Meta(
            max_length=5,
            description="One result per exam part, in the exam's order; empty only when postponed",
        ),
    ] = []
    kind: Annotated[
        AttemptKind,
        doc("Ordinary exam, rescheduled exam (not a retake) or retake (omprøve); default ordinary"),
    ] = AttemptKind.ORDINARY
    postponed: Annotated[
        bool, doc("The exam was postponed and not held: no result yet (parts empty)")
    ] = False
    notified_on: (
        Annotated[
            dt.date,
            doc("The day the participant received the assessment (ISO date); default: heldOn"),
        ]
        | None
    ) = None
    retake_reason: (
        Annotated[Text, doc("The special reason that allows a second retake, in plain words")]
        | None
    ) = None
    complaint_decision: (
        Annotated[
            Text,
            doc("Reference to the complaint decision that allows a third or later retake"),
        ]
        | None
    ) = None


class DispensationIn(_In):
    applied_by_participant: Annotated[
        bool, doc("The participant applied for the dispensation from the exam (required)")
    ]
    assessment_replaces_exam: Annotated[
        bool, doc("The school judges that its assessment can replace the exam (required)")
    ]


class IkvGoalIn(_In):
    goal: GoalNumber
    result: Annotated[
        IkvResult,
        doc("What the individual competence assessment (IKV) concluded for this goal"),
    ]
    exam_passed: (
        Annotated[bool, doc("Whether the goal's exam was passed; absent: no exam taken")] | None
    ) = None


ENROLMENT = (
    "On which footing the participant takes the goal: amu (default), vocational-elective "
    "(a vocational pupil's elective: no AMU certificate) or drivers-eu-module"
)
COLLECTIVE_SHORTENING = "The team's course was shortened collectively (§ 17 stk. 8)"
SPECIAL_CONDITIONS = (
    "Special exam conditions (særlige prøvevilkår) granted; recorded, never shown on a certificate"
)
DISPENSATION = "A dispensation from the exam, with the two conditions it needs"
JUDGEMENT = "The teacher's judgement of whether the participant reached the goal"
DROPPED_OUT = "The participant left the course before it ended"
EXAM_SKIPPED = "The exam was not held (emergency teaching); no attempts may be given"
AUTHORITY_EXAM_PASSED = (
    "For a course whose exam another authority holds: whether that exam was passed"
)
IKV = (
    "Outcomes of an individual competence assessment (IKV), one per assessed goal; only on a "
    "team of goal 40080 or 40081"
)


class FactsIn(_In):
    """What a school may record about a participation besides exam attempts."""

    enrolment: Annotated[Enrolment, doc(ENROLMENT)] = Enrolment.AMU
    collective_shortening: Annotated[bool, doc(COLLECTIVE_SHORTENING)] = False
    # Accepted so a school can record them; they never reach a certificate (001).
    special_conditions: Annotated[list[SpecialCondition], doc(SPECIAL_CONDITIONS)] = []
    dispensation: Annotated[DispensationIn, doc(DISPENSATION)] | None = None
    judgement: Annotated[Judgement, doc(JUDGEMENT)] | None = None
    dropped_out: Annotated[bool, doc(DROPPED_OUT)] = False
    exam_skipped: Annotated[bool, doc(EXAM_SKIPPED)] = False
    authority_exam_passed: Annotated[bool, doc(AUTHORITY_EXAM_PASSED)] | None = None
    ikv: Annotated[list[IkvGoalIn], doc(IKV)] | None = None


class ParticipantIn(FactsIn, kw_only=True):
    cpr: CprText
    name: Annotated[Text, doc("The participant's full name, as on the certificate")]
    # Shortcut for the common case: one ordinary one-part exam on examDate (default: team end).
    exam: (
        Annotated[
            PartResult,
            doc("Shortcut for one ordinary one-part exam: its result (use attempts otherwise)"),
        ]
        | None
    ) = None
    exam_date: (
        Annotated[
            dt.date, doc("The day of the exam shortcut's exam (ISO date); default: the team's end")
        ]
        | None
    ) = None
    attempts: Annotated[
        list[AttemptIn], doc("Every exam attempt, in the order held; empty when exam is given")
    ] = []


class TeamResultsIn(_In):
    team: Annotated[TeamIn, doc("The team (hold): its reference, goal and course dates")]
    participants: Annotated[
        list[ParticipantIn],
        msgspec.Meta(
            min_length=1,
            max_length=MAX_PARTICIPANTS,
            description="The team's participants with their facts and exam attempts",
        ),
    ]


class FactsUpdateIn(_In):
    """A change of recorded facts; absent members stay as they were."""

    enrolment: Annotated[Enrolment, doc(ENROLMENT)] | None = None
    collective_shortening: Annotated[bool, doc(COLLECTIVE_SHORTENING)] | None = None
    special_conditions: Annotated[list[SpecialCondition], doc(SPECIAL_CONDITIONS)] | None = None
    dispensation: Annotated[DispensationIn, doc(DISPENSATION)] | None = None
    judgement: Annotated[Judgement, doc(JUDGEMENT)] | None = None
    dropped_out: Annotated[bool, doc(DROPPED_OUT)] | None = None
    exam_skipped: Annotated[bool, doc(EXAM_SKIPPED)] | None = None
    authority_exam_passed: Annotated[bool, doc(AUTHORITY_EXAM_PASSED)] | None = None
    ikv: Annotated[list[IkvGoalIn], doc(IKV)] | None = None


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

    reference: Annotated[
        Text, doc("The school's own reference for the composite course, 1 to 200 characters")
    ]
    teams: Annotated[
        list[uuid.UUID],
        msgspec.Meta(
            min_length=2,
            max_length=MAX_COMPOSITE_GOALS,
            description="Team ids (UUIDs from POST /teams), one per goal, in course order",
        ),
    ]


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
