"""The pure parts of delivery: backoff with jitter, and the issue deadline in working days."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from issuers.delivery.backoff import Backoff
from issuers.delivery.deadlines import Risk, at_risk_from, deadline_risk, due_on
from tests.issuers.delivery.test_contracts import RECORD

BACKOFF = Backoff(base=dt.timedelta(seconds=30), cap=dt.timedelta(hours=1))


def test_backoff_doubles_until_the_cap() -> None:
    top = [BACKOFF.delay(n, rng=lambda: 0.999999) for n in range(1, 10)]
    assert [round(d.total_seconds()) for d in top] == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    bottom = BACKOFF.delay(3, rng=lambda: 0.0)
    assert bottom == dt.timedelta(seconds=60)  # half of the full delay is fixed


@given(failures=st.integers(min_value=1, max_value=10_000), draw=st.floats(0, 0.999999))
def test_backoff_stays_between_half_and_all_of_the_capped_delay(failures: int, draw: float) -> None:
    delay = BACKOFF.delay(failures, rng=lambda: draw)
    full = min(BACKOFF.cap, BACKOFF.base * 2 ** min(failures - 1, 20))
    assert full / 2 <= delay <= full


def test_backoff_jitter_spreads_workers_out() -> None:
    assert len({BACKOFF.delay(5) for _ in range(50)}) > 40


def test_backoff_needs_a_failure() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        BACKOFF.delay(0)


def test_the_deadline_is_ten_working_days_after_the_exam() -> None:
    # Exam Tuesday 10 November 2026: two weekends later, Tuesday 24 November.
    assert due_on(RECORD) == dt.date(2026, 11, 24)


def test_christmas_and_new_year_push_the_deadline() -> None:
    record = dataclasses.replace(RECORD, exam_date=dt.date(2026, 12, 18))
    # 25, 26 December and 1 January are holidays; 24 and 31 December are working days.
    assert due_on(record) == dt.date(2027, 1, 5)


@pytest.mark.parametrize(
    ("today", "risk", "left"),
    [
        (dt.date(2026, 11, 16), Risk.ON_TRACK, 6),
        (dt.date(2026, 11, 19), Risk.AT_RISK, 3),  # three working days before: warned
        (dt.date(2026, 11, 24), Risk.AT_RISK, 0),  # the last day
        (dt.date(2026, 11, 25), Risk.OVERDUE, -1),
        (dt.date(2026, 11, 30), Risk.OVERDUE, -4),  # the weekend does not count
    ],
)
def test_a_deadline_is_at_risk_before_it_is_missed(today: dt.date, risk: Risk, left: int) -> None:
    assert deadline_risk(dt.date(2026, 11, 24), today=today, warn=3) == (risk, left)


def test_the_at_risk_window_ends_warn_working_days_ahead() -> None:
    assert at_risk_from(dt.date(2026, 11, 20), warn=3) == dt.date(2026, 11, 25)
