"""The inputs of the rules engine: one course participation with all its facts, and the catalogue.

Everything here is a frozen dataclass or a ``StrEnum`` whose English values are what the HTTP API
accepts as JSON. Danish terms are explained once, in ``docs/rules.md``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

IKV_GOALS = frozenset({"40080", "40081"})
"""The goals of individual competence assessment: IKV in AMU and IKV in AMU F/I (002 §4)."""


@dataclass(frozen=True, slots=True)
class ExamAttachment:
    """A period in which a UVM exam was attached to a goal (prøvebelagt).

    ``detached_on`` is the first day without the exam, or ``None`` while it is still attached.
    """

    attached_from: dt.date
    detached_on: dt.date | None = None

    def covers(self, day: dt.date) -> bool:
        """Whether the exam was attached on ``day``."""
        return self.attached_from <= day and (self.detached_on is None or day < self.detached_on)


@dataclass(frozen=True, slots=True)
class CatalogueGoal:
    """One AMU goal (AMU-mål) as the catalogue knows it.

    ``exam_parts`` is how many parts (e.g. written and oral) the attached exam has; all must be sat.
    ``authority_certificate`` marks a certificate course whose exam may be run by another
    authority or trade body (myndigheds- or branchecertifikat).
    """

    number: str
    title: str
    exam_attachments: tuple[ExamAttachment, ...] = ()
    exam_parts: int = 1
    authority_certificate: bool = False

    def exam_attached_on(self, day: dt.date) -> bool:
        """Whether a UVM exam was attached to the goal on ``day``."""
        return any(period.covers(day) for period in self.exam_attachments)


Catalogue = Mapping[str, CatalogueGoal]
"""The goal catalogue keyed by goal number; the caller loads it, the engine only reads it."""


class Enrolment(StrEnum):
    """On which footing the participant takes the goal."""

    AMU = "amu"  # an ordinary AMU participant (also an EUD pupil enrolled on AMU as usual)
    VOCATIONAL_ELECTIVE = "vocational-elective"  # EUD pupil, goal as elective: not AMU (001)
    DRIVERS_EU_MODULE = "drivers-eu-module"  # elective module of the drivers' EU course (002 §3.1)


class Judgement(StrEnum):
    """The teacher's judgement of whether the participant reached the goal."""

    GOAL_REACHED = "goal-reached"
    GOAL_NOT_REACHED = "goal-not-reached"


class SpecialCondition(StrEnum):
    """Special exam conditions (særlige prøvevilkår). Never shown on a certificate (001)."""

    EXTRA_TIME = "extra-time"
    AIDS = "aids"
    SUPPORT = "support"
    LANGUAGE = "language"


class PartResult(StrEnum):
    """The result of one exam part. Exams are pass/fail, judged by the teacher (001)."""

    PASSED = "passed"
    FAILED = "failed"
    ABSENT = "absent"  # udeblivelse: the part was not sat


class AttemptKind(StrEnum):
    """Why an exam attempt was held."""

    ORDINARY = "ordinary"
    RESCHEDULED = "rescheduled"  # moved for a reasonable cause, § 18 stk. 8: not a retake
    RETAKE = "retake"  # omprøve


@dataclass(frozen=True, slots=True)
class Attempt:
    """One exam attempt (prøve or omprøve), kept forever as it was first recorded.

    ``parts`` holds one result per exam part; it is empty for a ``postponed`` exam, which has not
    been held. ``notified_on`` is when the participant received the assessment (default: the
    exam day). ``retake_reason`` records the special reason (særlige forhold) for a second retake;
    ``complaint_decision`` references the complaint decision (klageafgørelse) granting a retake.
    """

    held_on: dt.date
    parts: tuple[PartResult, ...]
    kind: AttemptKind = AttemptKind.ORDINARY
    postponed: bool = False
    notified_on: dt.date | None = None
    retake_reason: str | None = None
    complaint_decision: str | None = None


@dataclass(frozen=True, slots=True)
class Dispensation:
    """An exemption from the exam (dispensation, § 18 stk. 6).

    Valid only on the participant's application and when the school judges that its own
    assessment can replace the exam; never after collective shortening.
    """

    applied_by_participant: bool
    assessment_replaces_exam: bool


class IkvResult(StrEnum):
    """What an individual competence assessment (IKV) concluded for one assessed goal."""

    AMU_CERTIFICATE = "amu-certificate"  # goal fully demonstrated: AMU-bevis with IKV annotation
    COMPETENCE_CERTIFICATE = "competence-certificate"  # kompetencebevis: partly demonstrated
    EDUCATION_PLAN = "education-plan"  # uddannelsesplan


@dataclass(frozen=True, slots=True)
class IkvGoalResult:
    """The IKV's outcome for one goal; ``exam_passed`` if the exam was included in the IKV."""

    goal: str
    result: IkvResult
    exam_passed: bool | None = None


@dataclass(frozen=True, slots=True)
class Period:
    """One stretch of teaching (a split course has several)."""

    start: dt.date
    end: dt.date


@dataclass(frozen=True, slots=True)
class Participation:
    """One participant on one team (hold) of one AMU goal: a kursusdeltagelse.

    A course split into several ``periods`` is still one participation with one result; its start
    date (which decides the result group) is the first period's start. ``special_conditions``
    are accepted so that callers can pass everything they know; they never reach the output.
    ``authority_exam_passed`` is the result of another authority's exam in a certificate course;
    ``exam_skipped`` means the school skipped the exam under emergency teaching (nødundervisning);
    ``ikv`` holds the outcomes of an IKV on 40080/40081 (``None`` while it is not finished).
    """

    goal: str
    team: str
    periods: tuple[Period, ...]
    enrolment: Enrolment = Enrolment.AMU
    collective_shortening: bool = False
    special_conditions: frozenset[SpecialCondition] = frozenset()
    dispensation: Dispensation | None = None
    judgement: Judgement | None = None
    attempts: tuple[Attempt, ...] = ()
    dropped_out: bool = False
    exam_skipped: bool = False
    authority_exam_passed: bool | None = None
    ikv: tuple[IkvGoalResult, ...] | None = field(default=None)

    @property
    def start(self) -> dt.date:
        """The course start date: the first day of the first period."""
        return min(period.start for period in self.periods)

    @property
    def end(self) -> dt.date:
        """The end of teaching (or of the IKV): the last day of the last period."""
        return max(period.end for period in self.periods)


@dataclass(frozen=True, slots=True)
class CompositeCourse:
    """Several goals run as one course (sammensat forløb) by one school."""

    reference: str
    goals: tuple[str, ...]
