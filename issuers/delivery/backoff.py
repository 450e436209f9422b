"""Exponential backoff with jitter for failed deliveries.

    Backoff(base=dt.timedelta(seconds=30), cap=dt.timedelta(hours=1)).delay(failures=3)

The n-th failure in a row waits ``min(cap, base * 2**(n-1))``, of which a random half is jitter
("equal jitter"): workers that failed together do not all come back together, and no delay
shrinks to nothing.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass

_RANDOM = secrets.SystemRandom()


@dataclass(frozen=True, slots=True)
class Backoff:
    base: dt.timedelta
    cap: dt.timedelta

    def delay(self, failures: int, *, rng: Callable[[], float] = _RANDOM.random) -> dt.timedelta:
        """How long to wait after ``failures`` failures in a row (``failures >= 1``).

        ``rng`` returns a float in [0, 1); tests pass a fixed one. Raises ValueError when
        ``failures`` is below 1.
        """
        if failures < 1:
            raise ValueError("failures must be at least 1")
        # The exponent is capped so that base * 2**n cannot overflow a timedelta; 2**20 times
        # any sensible base is far beyond any sensible cap.
        full = min(self.cap, self.base * (1 << min(failures - 1, 20)))
        half = full / 2
        return half + half * rng()
