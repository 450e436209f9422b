"""Input parsing of the school API: text and CPR shape, and the team's own dates.

msgspec has checked types and lengths; here what a record will carry is made canonical
(names NFC-normalised by ``formats.text``) or refused naming the field, before anything is
stored or signed. The AMU rules about dates against the course live in ``issuers.rules``::

    request = checked_team(request, today=today)   # InvalidInputError, DateOutOfRangeError
"""

from __future__ import annotations

import datetime as dt

import msgspec

from formats.errors import UnprintableTextError
from formats.text import clean_name, clean_text
from issuers import rules
from issuers.cpr import parse_cpr
from issuers.errors import InvalidInputError
from issuers.requests import AttemptIn, TeamIn, TeamResultsIn


def name(value: str, *, field: str) -> str:
    """A person's name as it will be signed; InvalidInputError naming ``field`` if it cannot."""
    try:
        return clean_name(value)
    except UnprintableTextError as e:
        raise InvalidInputError(str(e), field=field) from e


def text(value: str, *, field: str) -> str:
    """A reference or reason as it will be stored; InvalidInputError naming ``field``."""
    try:
        return clean_text(value)
    except UnprintableTextError as e:
        raise InvalidInputError(str(e), field=field) from e


def optional_text(value: str | None, *, field: str) -> str | None:
    return None if value is None else text(value, field=field)


def checked_attempt(attempt: AttemptIn, *, prefix: str = "") -> AttemptIn:
    """The attempt with its texts cleaned; raises InvalidInputError naming the field."""
    return msgspec.structs.replace(
        attempt,
        retake_reason=optional_text(attempt.retake_reason, field=f"{prefix}retakeReason"),
        complaint_decision=optional_text(
            attempt.complaint_decision, field=f"{prefix}complaintDecision"
        ),
    )


def checked_team(request: TeamResultsIn, *, today: dt.date) -> TeamResultsIn:
    """The request with names, references and CPR numbers canonical, or a refusal.

    Raises InvalidInputError (text, CPR numbers, the same person twice, periods outside the
    team's dates) or DateOutOfRangeError, each naming the field.
    """
    team = _checked_dates(request.team, today=today)
    seen: dict[str, int] = {}
    participants = []
    for index, participant in enumerate(request.participants):
        at = f"participants[{index}]"
        cpr = parse_cpr(participant.cpr, field=f"{at}.cpr", today=today)
        if cpr in seen:
            raise InvalidInputError(
                f"is the same person as participants[{seen[cpr]}]", field=f"{at}.cpr"
            )
        seen[cpr] = index
        participants.append(
            msgspec.structs.replace(
                participant,
                cpr=cpr,
                name=name(participant.name, field=f"{at}.name"),
                attempts=[
                    checked_attempt(a, prefix=f"{at}.attempts[{i}].")
                    for i, a in enumerate(participant.attempts)
                ],
            )
        )
    return msgspec.structs.replace(request, team=team, participants=participants)


def _checked_dates(team: TeamIn, *, today: dt.date) -> TeamIn:
    rules.check_in_range(team.start, field="team.start", today=today)
    rules.check_in_range(team.end, field="team.end", today=today)
    if team.end < team.start:
        raise InvalidInputError("must not be before team.start", field="team.end")
    for index, period in enumerate(team.periods or []):
        for member, day in (("start", period.start), ("end", period.end)):
            if not team.start <= day <= team.end:
                raise InvalidInputError(
                    "must lie within the team's start and end",
                    field=f"team.periods[{index}].{member}",
                )
    return msgspec.structs.replace(team, reference=text(team.reference, field="team.reference"))
