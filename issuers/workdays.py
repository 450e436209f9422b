"""Danish working days (hverdage): the unit of every AMU deadline.

A working day is Monday to Friday except a Danish public holiday as the ``holidays`` package
lists it (Great Prayer Day, store bededag, only up to 2023). Constitution Day (5 June),
Christmas Eve and New Year's Eve are working days unless the calendar says otherwise::

    calendar = WorkCalendar()
    calendar.add_working_days(dt.date(2024, 12, 20), 10)  # -> 2025-01-08
    WorkCalendar(days_off=frozenset({CustomaryDayOff.CHRISTMAS_EVE})).is_working_day(...)

Holiday sets are computed once per year and calendar and then cached: deadlines are computed on
hot paths.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

import holidays

_SATURDAY = 5


class CustomaryDayOff(StrEnum):
    """Days many Danish workplaces take off although they are not public holidays."""

    CONSTITUTION_DAY = "constitution-day"  # grundlovsdag, 5 June
    CHRISTMAS_EVE = "christmas-eve"  # juleaftensdag, 24 December
    NEW_YEARS_EVE = "new-years-eve"  # nytårsaftensdag, 31 December

    def on(self, year: int) -> dt.date:
        """The date of this day in ``year``."""
        month, day = _CUSTOMARY_DATES[self]
        return dt.date(year, month, day)


_CUSTOMARY_DATES = {
    CustomaryDayOff.CONSTITUTION_DAY: (6, 5),
    CustomaryDayOff.CHRISTMAS_EVE: (12, 24),
    CustomaryDayOff.NEW_YEARS_EVE: (12, 31),
}


@lru_cache(maxsize=256)
def public_holidays(year: int) -> frozenset[dt.date]:
    """Danish public holidays (helligdage) of ``year`` according to the ``holidays`` package."""
    return frozenset(holidays.country_holidays("DK", years=year).keys())


@lru_cache(maxsize=1024)
def _days_off(year: int, customary: frozenset[CustomaryDayOff]) -> frozenset[dt.date]:
    return public_holidays(year) | {day.on(year) for day in customary}


@dataclass(frozen=True, slots=True)
class WorkCalendar:
    """Which days count as working days; ``days_off`` adds customary days off."""

    days_off: frozenset[CustomaryDayOff] = frozenset()

    def is_working_day(self, day: dt.date) -> bool:
        """Whether ``day`` is a working day (Monday-Friday and not a day off)."""
        return day.weekday() < _SATURDAY and day not in _days_off(day.year, self.days_off)

    def add_working_days(self, start: dt.date, count: int) -> dt.date:
        """The ``count``-th working day after ``start`` ("senest 10 hverdage efter").

        ``start`` itself is not counted; ``count == 0`` returns ``start`` unchanged.
        Raises ``ValueError`` if ``count`` is negative.
        """
        if count < 0:
            raise ValueError("count must not be negative")
        return _add_working_days(self.days_off, start, count)

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """How many working days lie after ``start`` up to and including ``end``.

        The inverse of :meth:`add_working_days`; 0 when ``end <= start``.
        """
        count = 0
        day = start
        while day < end:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count


@functools.lru_cache(maxsize=1 << 16)
def _add_working_days(days_off: frozenset[CustomaryDayOff], start: dt.date, count: int) -> dt.date:
    # Memoised: a team's participants share their dates, and issuing asks for every one.
    calendar = WorkCalendar(days_off)
    day = start
    remaining = count
    while remaining:
        day += dt.timedelta(days=1)
        if calendar.is_working_day(day):
            remaining -= 1
    return day


DANISH_WORKDAYS = WorkCalendar()
"""The default calendar: public holidays only; 5 June, 24 and 31 December are working days."""
