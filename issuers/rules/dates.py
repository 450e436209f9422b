"""The range of dates the register accepts, and the checks of a participation's dates.

``EARLIEST`` is 1990-01-01: certificates are kept 30 years after the exam (docs/registry.md,
retention), so nothing the register must hold today is older than 1996; 1990 leaves room for
old records reissued or corrected, and refuses the absurd (year 1 was certified before this).
``latest(today)`` is one year ahead: a team may be reported with its planned dates and a
postponed exam may be planned, but nothing is planned further ahead, and far-future dates
(9999-12-31) overflow the working-day arithmetic.
"""

from __future__ import annotations

import datetime as dt

from issuers.rules.errors import (
    DateOutOfRangeError,
    ExamBeforeCourseStartError,
    ResultBeforeCourseEndError,
)
from issuers.rules.facts import Participation

EARLIEST = dt.date(1990, 1, 1)
FUTURE_ALLOWANCE = dt.timedelta(days=366)


def latest(today: dt.date) -> dt.date:
    """The last date a planned date (a course end, a postponed exam) may take."""
    return today + FUTURE_ALLOWANCE


def check_in_range(day: dt.date, *, field: str, today: dt.date) -> None:
    """Raise DateOutOfRangeError naming ``field`` when ``day`` lies outside the register's
    range: from ``EARLIEST`` to ``latest(today)``."""
    if not EARLIEST <= day <= latest(today):
        raise DateOutOfRangeError(
            f"must lie between {EARLIEST} and {latest(today)} (one year from today)", field=field
        )


def check_dates(participation: Participation, *, today: dt.date) -> None:
    """Every date in range, no exam before the course starts, and no result before it ends.

    Raises DateOutOfRangeError, ExamBeforeCourseStartError or ResultBeforeCourseEndError.
    A drop-out may be recorded at any time: it is what ends a course early.
    """
    for index, period in enumerate(participation.periods):
        check_in_range(period.start, field=f"periods[{index}].start", today=today)
        check_in_range(period.end, field=f"periods[{index}].end", today=today)
    for index, attempt in enumerate(participation.attempts):
        check_in_range(attempt.held_on, field=f"attempts[{index}].held_on", today=today)
        if attempt.notified_on is not None:
            check_in_range(attempt.notified_on, field=f"attempts[{index}].notified_on", today=today)
        if attempt.held_on < participation.start:
            raise ExamBeforeCourseStartError(
                "an exam cannot be held before the course starts",
                field=f"attempts[{index}].held_on",
            )
    if participation.end <= today:
        return
    ended = "the course has not ended yet, so it has no result"
    for index, attempt in enumerate(participation.attempts):
        if not attempt.postponed:
            raise ResultBeforeCourseEndError(ended, field=f"attempts[{index}].parts")
    for name, value in (
        ("judgement", participation.judgement),
        ("ikv", participation.ikv),
        ("authority_exam_passed", participation.authority_exam_passed),
    ):
        if value is not None:
            raise ResultBeforeCourseEndError(ended, field=name)
