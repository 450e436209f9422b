"""What a school sends and gets back: the request and response bodies of the school API.

msgspec checks shapes and types (and names the offending field); the issuing service checks
meaning (a real CPR number, a known goal, dates in order).
"""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Annotated

import msgspec

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


class ExamOutcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    ABSENT = "absent"  # did not sit the exam


class Judgement(StrEnum):
    """The teacher's judgement of whether the participant reached the goal."""

    REACHED = "reached"
    NOT_REACHED = "not-reached"


class TeamIn(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    reference: Text
    goal: GoalNumber
    start: dt.date
    end: dt.date


class ParticipantIn(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    cpr: CprText
    name: Text
    exam: ExamOutcome | None = None
    exam_date: dt.date | None = None
    judgement: Judgement | None = None
    dropped_out: bool = False


class TeamResultsIn(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    team: TeamIn
    participants: Annotated[
        list[ParticipantIn], msgspec.Meta(min_length=1, max_length=MAX_PARTICIPANTS)
    ]


class IssuedCertificate(msgspec.Struct, rename="camel"):
    number: str
    verification_code: str
    verify_url: str


class ParticipantOut(msgspec.Struct, rename="camel"):
    index: int
    participation: uuid.UUID
    name: str
    result_group: int | None
    result_category: int | None
    certificate: IssuedCertificate | None


class TeamResultsOut(msgspec.Struct, rename="camel"):
    team: uuid.UUID
    participants: list[ParticipantOut]
