"""Danish working days: examples and a property check against the ``holidays`` calendar."""

from __future__ import annotations

import datetime as dt

import holidays
import pytest
from hypothesis import given
from hypothesis import strategies as st

from issuers.workdays import DANISH_WORKDAYS, CustomaryDayOff, WorkCalendar, public_holidays


def _easter(year: int) -> dt.date:
    """Easter Sunday by the anonymous Gregorian algorithm: independent of ``holidays``."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l = (32 + 2 * e + 2 * i - h - k) % 7  # noqa: E741 -- the algorithm's own letter
    m = (a + 11 * h + 22 * l) // 451
    month, day = divmod(h + l - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


def test_great_prayer_day_is_a_holiday_only_up_to_2023() -> None:
    for year in range(2000, 2031):
        great_prayer_day = _easter(year) + dt.timedelta(days=26)  # fourth Friday after Easter
        assert DANISH_WORKDAYS.is_working_day(great_prayer_day) is (year >= 2024), year


def test_easter_and_christmas_are_days_off() -> None:
    easter = _easter(2024)
    for offset in (-3, -2, 1):  # Maundy Thursday, Good Friday, Easter Monday
        assert not DANISH_WORKDAYS.is_working_day(easter + dt.timedelta(days=offset))
    assert not DANISH_WORKDAYS.is_working_day(easter + dt.timedelta(days=39))  # Ascension Day
    assert not DANISH_WORKDAYS.is_working_day(easter + dt.timedelta(days=50))  # Whit Monday
    for day in (dt.date(2025, 1, 1), dt.date(2024, 12, 25), dt.date(2024, 12, 26)):
        assert not DANISH_WORKDAYS.is_working_day(day)


def test_customary_days_off_are_working_days_unless_configured() -> None:
    days = {
        CustomaryDayOff.CONSTITUTION_DAY: dt.date(2024, 6, 5),
        CustomaryDayOff.CHRISTMAS_EVE: dt.date(2024, 12, 24),
        CustomaryDayOff.NEW_YEARS_EVE: dt.date(2024, 12, 31),
    }
    for customary, day in days.items():
        assert customary.on(2024) == day
        assert DANISH_WORKDAYS.is_working_day(day)
        assert not WorkCalendar(days_off=frozenset({customary})).is_working_day(day)
    assert DANISH_WORKDAYS.add_working_days(dt.date(2024, 12, 20), 10) == dt.date(2025, 1, 8)
    all_off = WorkCalendar(days_off=frozenset(CustomaryDayOff))
    assert all_off.add_working_days(dt.date(2024, 12, 20), 10) == dt.date(2025, 1, 10)


def test_weekends_are_not_working_days() -> None:
    assert DANISH_WORKDAYS.add_working_days(dt.date(2024, 3, 8), 1) == dt.date(2024, 3, 11)
    assert DANISH_WORKDAYS.add_working_days(dt.date(2024, 3, 9), 0) == dt.date(2024, 3, 9)
    with pytest.raises(ValueError, match="negative"):
        DANISH_WORKDAYS.add_working_days(dt.date(2024, 3, 9), -1)


def test_holiday_sets_are_cached_per_year() -> None:
    DANISH_WORKDAYS.add_working_days(dt.date(2031, 1, 2), 20)
    before = public_holidays.cache_info().hits
    for _ in range(3):
        DANISH_WORKDAYS.add_working_days(dt.date(2031, 1, 2), 20)
    assert public_holidays.cache_info().hits == before  # the combined set is cached too
    public_holidays(2031)
    assert public_holidays.cache_info().hits == before + 1


@given(
    start=st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2040, 12, 31)),
    count=st.integers(min_value=0, max_value=60),
)
def test_property_working_days_agree_with_holidays_calendar(start: dt.date, count: int) -> None:
    end = DANISH_WORKDAYS.add_working_days(start, count)
    official = holidays.country_holidays("DK", years=range(start.year, end.year + 1))
    stretch = [start + dt.timedelta(days=n) for n in range(1, (end - start).days + 1)]
    working = [day for day in stretch if day.weekday() < 5 and day not in official]
    assert len(working) == count
    assert count == 0 or working[-1] == end
    assert DANISH_WORKDAYS.working_days_between(start, end) == count
    for day in stretch:
        great_prayer_day = _easter(day.year) + dt.timedelta(days=26)
        if day == great_prayer_day:
            assert (day in working) is (day.year >= 2024)
