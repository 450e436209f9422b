"""The time: one ``Clock`` type, the system clock, and the date as it is in Denmark.

Nothing below the composition root reads the time itself: it is handed a ``Clock`` (the
system clock in production, a fixed one in tests) and asks it::

    clock: Clock = system_clock
    now = to_the_second(clock())            # when the register records something
    today = today_in_denmark(clock())       # the calendar day the AMU rules count in
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

# The one definition lives in formats, the lowest layer, which prints dates in Danish time.
from formats.pdf_text import DANISH_TIME

__all__ = ["DANISH_TIME", "Clock", "system_clock", "to_the_second", "today_in_denmark"]

Clock = Callable[[], dt.datetime]
"""Returns the current moment, timezone-aware."""


def system_clock() -> dt.datetime:
    """The machine's clock, in UTC."""
    return dt.datetime.now(dt.UTC)


def today_in_denmark(now: dt.datetime) -> dt.date:
    """The calendar day in Denmark at the moment ``now`` (deadlines and rules count in it)."""
    return now.astimezone(DANISH_TIME).date()


def to_the_second(now: dt.datetime) -> dt.datetime:
    """``now`` in UTC without its microseconds: signed records and log entries carry seconds."""
    return now.astimezone(dt.UTC).replace(microsecond=0)
