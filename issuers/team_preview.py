"""What the rules would decide for a team's results, without storing anything: the preview a
school sees before it reports a team (``service/pages/school_report.py``).

It runs the same input checks (``issuers.inputs``) and the same rules engine call
(``issuers.participations.assess``) as ``Issuer.issue_team``, one participant at a time, so
every bad participant is named instead of the first only; it reads the catalogue and the
school, and writes nothing::

    found = await preview_team(conn, "751234", request, today=today)
    found.ok                          # nothing refused: reporting it would issue
    found.problems                    # the team's own (field "team.end", ...)
    found.participants[1].problems    # (field "participants[1].cpr", ...)
    found.participants[0].assessment  # the rules' verdict: group, category, documents, deadlines
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import msgspec

from issuers import inputs, participations, rules, school_store
from issuers.errors import IssuingError
from issuers.requests import ParticipantIn, TeamResultsIn
from registry.db import Connection


@dataclass(frozen=True, slots=True)
class Problem:
    """A refusal: the field as the API names it, the engine's rule code (None for an input
    check) and its message (English, never a CPR number)."""

    field: str
    rule: str | None
    message: str


@dataclass(frozen=True, slots=True)
class ParticipantPreview:
    index: int
    name: str
    assessment: rules.Assessment | None  # None when refused
    problems: tuple[Problem, ...]


@dataclass(frozen=True, slots=True)
class TeamPreview:
    request: TeamResultsIn  # as checked (names and CPR numbers canonical) when nothing refused
    goal_title: str | None
    problems: tuple[Problem, ...]
    participants: tuple[ParticipantPreview, ...]

    @property
    def ok(self) -> bool:
        return not self.problems and not any(p.problems for p in self.participants)


_FIRST = re.compile(r"^participants\[0\]")


def _problem(e: IssuingError | rules.RuleViolation, index: int | None = None) -> Problem:
    field = e.field or ""
    if index is not None:
        field = _FIRST.sub(f"participants[{index}]", field)
    return Problem(field, e.rule if isinstance(e, rules.RuleViolation) else None, str(e))


async def preview_team(
    conn: Connection, school_id: str, request: TeamResultsIn, *, today: dt.date
) -> TeamPreview:
    """The rules' verdict on each participant of ``request``, or what is refused, as
    ``Issuer.issue_team`` would decide it today. Stores nothing; raises nothing for bad input.
    (A team reference already reported is found only when reporting: the store decides it.)"""
    team = request.team
    problems: list[Problem] = []
    school = await school_store.school(conn, school_id)
    if school is None or school.disabled_at is not None:
        problems.append(Problem("school", None, "the school is disabled and cannot issue"))
    try:
        team = inputs.checked_team(
            msgspec.structs.replace(request, participants=[]), today=today
        ).team
    except (IssuingError, rules.RuleViolation) as e:
        problems.append(_problem(e))
    goals = [team.goal, *(g.goal for p in request.participants for g in p.ikv or [])]
    catalogue = await school_store.goals(conn, goals)
    if team.goal not in catalogue:
        problems.append(Problem("team.goal", "unknown-goal", "is not an AMU goal in the catalogue"))
    engine_catalogue = {number: goal.to_catalogue() for number, goal in catalogue.items()}
    checked: list[ParticipantIn] = []
    shown = []
    for index, submitted in enumerate(request.participants):
        one = msgspec.structs.replace(request, team=team, participants=[submitted])
        participant = submitted
        found: list[Problem] = []
        assessment = None
        try:
            participant = inputs.checked_team(one, today=today).participants[0]
        except (IssuingError, rules.RuleViolation) as e:
            found.append(_problem(e, index))
        found.extend(
            Problem(
                f"participants[{index}].ikv[{i}].goal", "unknown-goal", "is not in the catalogue"
            )
            for i, g in enumerate(participant.ikv or [])
            if g.goal not in catalogue
        )
        if not found and not problems:
            try:
                assessment = participations.assess(
                    participations.participation(
                        goal=team.goal,
                        team_reference=team.reference,
                        periods=participations.periods_of(team),
                        facts=participations.facts_of(participant),
                        attempts=participations.attempts_of(participant, team),
                    ),
                    engine_catalogue,
                    today=today,
                    prefix=f"participants[{index}].",
                )
            except rules.RuleViolation as e:
                found.append(_problem(e))
        checked.append(participant)
        shown.append(ParticipantPreview(index, participant.name, assessment, tuple(found)))
    goal = catalogue.get(team.goal)
    return TeamPreview(
        request=msgspec.structs.replace(request, team=team, participants=checked),
        goal_title=goal.title if goal is not None else None,
        problems=tuple(problems),
        participants=tuple(shown),
    )
