"""The issue deadline of a certificate, and how close a school is to missing it. Pure.

A certificate is issued at the latest 10 working days after the exam, or after the end of
teaching when no exam was held (DOMAIN.md, 001). Delivery is the last step of issuing, so the
deadline is the job's: a certificate counts as issued when it has reached a mailbox or the print
spool. A school sees a certificate on its overdue list from ``warn`` working days before::

    due = due_on(record)                                   # course end + 10 working days
    deadline_risk(due, today=dt.date(2026, 11, 20), warn=3)  # Risk.AT_RISK, 2
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from formats.record import CertificateRecord
from issuers.rules.assessment import WORKING_DAYS_TO_ISSUE
from issuers.workdays import DANISH_WORKDAYS, WorkCalendar


class Risk(StrEnum):
    ON_TRACK = "on-track"
    AT_RISK = "at-risk"  # the deadline is at most ``warn`` working days away
    OVERDUE = "overdue"  # the deadline has passed


def due_on(record: CertificateRecord, calendar: WorkCalendar = DANISH_WORKDAYS) -> dt.date:
    """The last day the certificate may reach the participant."""
    return due_after(record.exam_date or record.course_end, calendar)


def due_after(start: dt.date, calendar: WorkCalendar = DANISH_WORKDAYS) -> dt.date:
    """The deadline of a certificate whose exam (or teaching) ended on ``start``."""
    return calendar.add_working_days(start, WORKING_DAYS_TO_ISSUE)


def deadline_risk(
    due: dt.date, *, today: dt.date, warn: int, calendar: WorkCalendar = DANISH_WORKDAYS
) -> tuple[Risk, int]:
    """The risk and the working days left (negative: working days overdue)."""
    if today > due:
        return Risk.OVERDUE, -calendar.working_days_between(due, today)
    left = calendar.working_days_between(today, due)
    return (Risk.AT_RISK if left <= warn else Risk.ON_TRACK), left


def at_risk_from(today: dt.date, *, warn: int, calendar: WorkCalendar = DANISH_WORKDAYS) -> dt.date:
    """The latest deadline that is at risk today: every due date up to it is listed."""
    return calendar.add_working_days(today, warn)
