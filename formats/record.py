"""The certificate record: the content every form of an AMU certificate carries.

The record is the source of truth. Its canonical bytes (RFC 8785) are what the school signs;
the XML, the PDF, the Verifiable Credential and the Digital Post message are all views of it.
Special exam conditions (extra time, aids) are deliberately absent: the certificate must not
mention them (DOMAIN.md, "What a certificate must say").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import msgspec

SCHEMA = "https://amu-bevis.example/schema/certificate/v1"


class CertificateKind(StrEnum):
    """What the certificate is for."""

    AMU = "amu"  # an AMU-bevis for one AMU goal
    IKV_ACTIVITY = "ikv-activity"  # the certificate for the IKV activity itself (40080/40081)


@dataclass(frozen=True, slots=True)
class Annotations:
    """The three annotations of DOMAIN.md (001): pass, dispensation, IKV.

    ``exam_passed`` is ``None`` when no exam was attached to the goal on the start date.
    """

    exam_passed: bool | None
    dispensation: bool
    ikv: bool

    def to_json(self) -> dict[str, Any]:
        return {"examPassed": self.exam_passed, "dispensation": self.dispensation, "ikv": self.ikv}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Annotations:
        return cls(
            exam_passed=data["examPassed"], dispensation=data["dispensation"], ikv=data["ikv"]
        )


@dataclass(frozen=True, slots=True)
class Participant:
    cpr: str  # DDMMYY-SSSS; sensitive: never log it
    name: str


@dataclass(frozen=True, slots=True)
class Goal:
    number: str  # five digits, e.g. "40080"
    title: str
    duration_days: str  # decimal as text ("2.5"): exact, and canonical JSON has no decimals


@dataclass(frozen=True, slots=True)
class School:
    id: str  # institution number
    name: str


@dataclass(frozen=True, slots=True)
class CertificateRecord:
    """One AMU certificate as signed by the issuing school."""

    number: str
    kind: CertificateKind
    participant: Participant
    goal: Goal
    school: School
    team: str  # the school's own team (hold) reference
    course_start: dt.date
    course_end: dt.date
    exam_date: dt.date | None
    issued_at: dt.datetime  # UTC, whole seconds
    annotations: Annotations
    replaces: str | None = None  # number of the cancelled certificate this one replaces

    def to_json(self) -> dict[str, Any]:
        """The record as a JSON object with stable member names."""
        return {
            "schema": SCHEMA,
            "number": self.number,
            "kind": self.kind.value,
            "participant": {"cpr": self.participant.cpr, "name": self.participant.name},
            "goal": {
                "number": self.goal.number,
                "title": self.goal.title,
                "durationDays": self.goal.duration_days,
            },
            "school": {"id": self.school.id, "name": self.school.name},
            "team": self.team,
            "courseStart": self.course_start.isoformat(),
            "courseEnd": self.course_end.isoformat(),
            "examDate": self.exam_date.isoformat() if self.exam_date else None,
            "issuedAt": _utc_text(self.issued_at),
            "annotations": self.annotations.to_json(),
            "replaces": self.replaces,
        }

    def canonical_bytes(self) -> bytes:
        """RFC 8785 canonical JSON: the same record always gives the same bytes."""
        # to_json builds only strings, booleans, null and ASCII-named objects from typed fields,
        # so the shape check of canonical_json is skipped on this hot path.
        return canonical_json_of_typed(self.to_json())

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CertificateRecord:
        exam_date = data["examDate"]
        return cls(
            number=data["number"],
            kind=CertificateKind(data["kind"]),
            participant=Participant(**data["participant"]),
            goal=Goal(
                number=data["goal"]["number"],
                title=data["goal"]["title"],
                duration_days=data["goal"]["durationDays"],
            ),
            school=School(**data["school"]),
            team=data["team"],
            course_start=dt.date.fromisoformat(data["courseStart"]),
            course_end=dt.date.fromisoformat(data["courseEnd"]),
            exam_date=dt.date.fromisoformat(exam_date) if exam_date else None,
            issued_at=dt.datetime.fromisoformat(data["issuedAt"]),
            annotations=Annotations.from_json(data["annotations"]),
            replaces=data["replaces"],
        )


def canonical_json(value: dict[str, Any]) -> bytes:
    """RFC 8785 (JCS) bytes of a JSON object of strings, booleans, null, safe integers, objects.

    For such values JCS is exactly sorted keys, no whitespace, raw UTF-8 and JSON's short
    escapes (``\\u00xx`` in lower case for the other control characters), which msgspec writes
    far faster than the pure Python ``rfc8785`` package; ``tests/formats/test_record.py``
    proves the two agree byte for byte on generated records and entries. Fractions and
    integers beyond 2**53 (whose JCS form differs from Python's) are refused, and so are
    non-ASCII keys (JCS sorts by UTF-16 code units): use ``rfc8785.dumps`` for those. Raises
    ValueError for a value outside that shape.
    """
    _check_shape(value)
    return _jcs(value)


# Sorted keys, compact, raw UTF-8: for the shape above, byte for byte what ``json.dumps(value,
# ensure_ascii=False, sort_keys=True, separators=(",", ":"))`` wrote before, at a third of the
# cost. Lone surrogates raise UnicodeEncodeError, as they did.
_ENCODER = msgspec.json.Encoder(order="sorted")
_jcs = _ENCODER.encode


def canonical_json_of_typed(value: dict[str, Any]) -> bytes:
    """``canonical_json`` without its shape check, for hot paths whose objects are built from
    typed fields with fixed ASCII member names, holding only strings, booleans, null, integers
    below 2**53 and such objects (a record, a log entry). Anything else gives bytes that are
    not RFC 8785: when in doubt, call ``canonical_json``."""
    return _jcs(value)


def _check_shape(value: object) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if not key.isascii():
                raise ValueError("canonical_json takes ASCII member names only")
            _check_shape(item)
    elif isinstance(value, int) and not isinstance(value, bool):
        if abs(value) >= 2**53:
            raise ValueError("canonical_json takes integers below 2**53 only")
    elif not (value is None or isinstance(value, str | bool)):
        raise ValueError(f"canonical_json takes no {type(value).__name__} values")


def _utc_text(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("issued_at must be timezone-aware")
    # isoformat pads the year to four digits, which strftime's %Y does not on every platform.
    return moment.astimezone(dt.UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"
