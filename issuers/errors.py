"""The root error of the issuers package and its meaningful subtypes.

Each error names the offending input ``field`` (a JSON path such as ``participants[2].cpr``)
so the HTTP edge can say exactly what to fix; the edge alone decides how each type is answered
(``service.api.problems``). Messages never contain a CPR number.
"""

from __future__ import annotations


class IssuingError(Exception):
    """A school's request could not be carried out."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidInputError(IssuingError):
    """A value has the wrong shape or is impossible (a CPR number, a date order)."""


class UnknownGoalError(IssuingError):
    """The AMU goal number is not in the catalogue."""


class NotFoundIssuingError(IssuingError):
    """The participation or composite course does not exist, or belongs to another school."""


class IdempotencyConflictError(IssuingError):
    """The idempotency key was used before with a different request."""


class ConflictError(IssuingError):
    """The request clashes with what is already stored (a team reported twice)."""
