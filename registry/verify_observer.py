"""A port for watching verification: what each lookup answered, and the guessing limits'
refusals. The service counts them for its metrics (``service.metrics``); the default does
nothing::

    verifier = GuardedVerifier(pool, clock, limits, observer=my_observer)

An observer is told the outcome and the channel only, never the number, code or client.
"""

from __future__ import annotations

from typing import Protocol

from registry.access_store import Channel
from registry.verification import VerificationStatus


class VerifyObserver(Protocol):
    def verified(self, status: VerificationStatus, channel: Channel) -> None:
        """A lookup was answered with ``status``."""

    def refused(self, channel: Channel) -> None:
        """A lookup was refused by a guessing limit (429)."""


class NoVerifyObserver:
    """Watches nothing."""

    def verified(self, status: VerificationStatus, channel: Channel) -> None:
        pass

    def refused(self, channel: Channel) -> None:
        pass
