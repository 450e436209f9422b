"""The outputs of the rules engine: result categories, due documents, deadlines, the Assessment.

The category numbers are exactly the reporting guide's (002 §3, bilag 1 and 2). Special exam
conditions have no field here on purpose: they must never reach a certificate.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from formats.record import Annotations
from issuers.rules.errors import UnknownCategoryError
from issuers.rules.facts import AttemptKind


class ResultGroup(StrEnum):
    """Result group: 1 when a UVM exam was attached on the course start date, else 2."""

    EXAM = "exam"  # gruppe 1, field ResultatProevebelagt
    NO_EXAM = "no-exam"  # gruppe 2, field ResultatIkkeProevebelagt

    @property
    def number(self) -> int:
        """The group's number in the reporting guide."""
        return 1 if self is ResultGroup.EXAM else 2

    @property
    def report_field(self) -> str:
        """The result field of the quarterly report this group is reported in."""
        return "ResultatProevebelagt" if self is ResultGroup.EXAM else "ResultatIkkeProevebelagt"


class ExamCategory(StrEnum):
    """Group 1 categories (ResultatProevebelagt)."""

    PASSED = "passed"  # 1 Bevis opnået ved bestået prøve
    DISPENSATION_GOAL_REACHED = "dispensation-goal-reached"  # 2 ... ved dispensation
    IKV_LEGACY = "ikv-legacy"  # 3 ... ved individuel kompetencevurdering: accepted, never produced
    FAILED = "failed"  # 4 Bevis ikke opnået på grund af ikke-bestået prøve
    DROPPED_OUT_OR_ABSENT = "dropped-out-or-absent"  # 5 ... afbrud eller udeblivelse
    DISPENSATION_GOAL_NOT_REACHED = "dispensation-goal-not-reached"  # 6 ... uden bevisopnåelse

    @property
    def number(self) -> int:
        """The category number in the reporting guide (1-6)."""
        return _EXAM_NUMBERS[self]

    @property
    def certificate(self) -> bool:
        """Whether this category means an AMU certificate was issued."""
        return self.number <= 3


class NoExamCategory(StrEnum):
    """Group 2 categories (ResultatIkkeProevebelagt)."""

    GOAL_REACHED = "goal-reached"  # 1 Bevis opnået
    IKV_LEGACY = "ikv-legacy"  # 2 ... på baggrund af IKV: accepted, never produced (bilag 2)
    GOAL_NOT_REACHED = "goal-not-reached"  # 3 Bevis ikke opnået, manglende målopfyldning
    DROPPED_OUT = "dropped-out"  # 4 Bevis ikke opnået på grund af afbrud

    @property
    def number(self) -> int:
        """The category number in the reporting guide (1-4)."""
        return _NO_EXAM_NUMBERS[self]

    @property
    def certificate(self) -> bool:
        """Whether this category means an AMU certificate was issued."""
        return self.number <= 2


Category = ExamCategory | NoExamCategory

# The reporting guide's numbers are the members' order (looked up per certificate in bulk).
_EXAM_NUMBERS = {category: number for number, category in enumerate(ExamCategory, start=1)}
_NO_EXAM_NUMBERS = {category: number for number, category in enumerate(NoExamCategory, start=1)}

NOT_RELEVANT = "Ej relevant"
"""What the quarterly report says for a participation without a final result yet."""


def category_from_report(group: ResultGroup, number: int) -> Category:
    """The category a (possibly legacy) system reported as ``number`` in ``group``.

    Accepts every category of the guide, including the IKV categories the engine never produces.
    Raises ``UnknownCategoryError`` for a number outside the group.
    """
    members: list[Category] = list(ExamCategory if group is ResultGroup.EXAM else NoExamCategory)
    if not 1 <= number <= len(members):
        raise UnknownCategoryError(
            f"group {group.number} has categories 1-{len(members)}, not {number}",
            field="category",
        )
    return members[number - 1]


class DocumentKind(StrEnum):
    """A document the school must (or may) issue after a participation."""

    AMU_CERTIFICATE = "amu-certificate"  # AMU-bevis
    IKV_ACTIVITY_CERTIFICATE = "ikv-activity-certificate"  # bevis for selve IKV-aktiviteten
    PARTICIPATION_DOCUMENT = "participation-document"  # deltagerbevis: not an AMU certificate
    COMPETENCE_CERTIFICATE = "competence-certificate"  # kompetencebevis (IKV, partly shown)
    EDUCATION_PLAN = "education-plan"  # uddannelsesplan (IKV)
    COMBINED_DOCUMENT = "combined-document"  # goals completed together in a composite course


@dataclass(frozen=True, slots=True)
class DueDocument:
    """One document due: its kind, the goals it covers, its annotations and latest issue date.

    ``annotations`` is set for AMU certificates only. ``due_by`` is ``None`` where no seed sets a
    deadline. ``optional`` marks documents the school may, but need not, issue.
    """

    kind: DocumentKind
    goals: tuple[str, ...]
    annotations: Annotations | None = None
    due_by: dt.date | None = None
    optional: bool = False


class FundingMark(StrEnum):
    """Funding marks (tilskudsmærker) of retakes and rescheduled exams (001, IEU-instruksen)."""

    RETAKES_STARTED = "retakes-started"  # OMPPÅ: number started
    RETAKE_FULL_TIME_EQUIVALENTS = "retake-full-time-equivalents"  # OMPÅE: årselever

    @property
    def code(self) -> str:
        """The mark as the funding report spells it."""
        return "OMPPÅ" if self is FundingMark.RETAKES_STARTED else "OMPÅE"


class AttemptOutcome(StrEnum):
    """The outcome of one exam attempt as a whole."""

    PASSED = "passed"  # every part passed
    FAILED = "failed"  # every part sat, at least one failed
    ABSENT = "absent"  # at least one part not sat (also: one of two parts only)
    POSTPONED = "postponed"  # not held yet


@dataclass(frozen=True, slots=True)
class AttemptReport:
    """One attempt as the quarterly report sees it; earlier attempts never change.

    ``reported_as_retake`` is the report's retake flag (true for retakes and for rescheduled
    exams, which are reported like retakes); ``is_retake`` is whether it used up a retake right.
    ``category`` is the attempt's own group-1 category (``None`` while postponed).
    """

    index: int
    held_on: dt.date
    kind: AttemptKind
    outcome: AttemptOutcome
    category: ExamCategory | None
    reported_as_retake: bool
    is_retake: bool
    funding_marks: frozenset[FundingMark]
    complaint_by: dt.date | None


@dataclass(frozen=True, slots=True)
class Deadlines:
    """Deadlines in Danish working days (hverdage), except the retake window (four weeks).

    ``certificate_by``: 10 working days after the passed exam, otherwise after the end of
    teaching or IKV. ``result_notice_by``: 10 working days after the course end.
    ``complaint_by``: 10 working days after the latest assessment was received.
    ``retake_by``: the last day a retake may be held (group 1 only).
    """

    certificate_by: dt.date | None
    result_notice_by: dt.date
    complaint_by: dt.date | None
    retake_by: dt.date | None


@dataclass(frozen=True, slots=True)
class Assessment:
    """What the rules say about one participation.

    ``category`` is ``None`` while there is no final result (report "Ej relevant").
    ``certificate`` holds the annotations of the participation's own AMU certificate (for
    40080/40081: the IKV activity certificate), ``None`` if none is issued. ``documents`` lists
    everything due, that certificate included. ``retake_right`` says whether the participant
    may still take a retake without a special reason.
    """

    goal: str
    group: ResultGroup
    category: Category | None
    certificate: Annotations | None
    documents: tuple[DueDocument, ...]
    attempts: tuple[AttemptReport, ...]
    deadlines: Deadlines
    retake_right: bool

    @property
    def final(self) -> bool:
        """Whether the participation has its final result."""
        return self.category is not None

    @property
    def report_value(self) -> str:
        """The value of the result field in the quarterly report: "1".."6" or "Ej relevant"."""
        return NOT_RELEVANT if self.category is None else str(self.category.number)


@dataclass(frozen=True, slots=True)
class CompositeAssessment:
    """A composite course: each goal keeps its own assessment; maybe one combined document.

    ``not_taken`` are the course's goals the participant did not take part in: they are not
    examined and have no result. ``combined_document`` is due once every goal taken has its
    final result and at least one earned a certificate.
    """

    course: str
    assessments: tuple[Assessment, ...]
    not_taken: tuple[str, ...]
    combined_document: DueDocument | None
