"""Bulk issuing: a school's whole term (or a migration from its old system) in batches.

Each team goes through the same checks, rules and signing as ``Issuer.issue_team``
(``issuing.prepare_team``, ``Certifier.issue_due``); what differs is the writing: a batch of
teams is one transaction whose teams, participations and attempts go through COPY
(``issuers.bulk_store``) and whose certificates, events, delivery jobs and log leaves enter the
register in one ``registry.intake`` call. A team the school has already reported (its
reference and goal) is counted as present and skipped, so a rerun after a crash continues
where the last committed batch ended::

    bulk = BulkIssuer(pool, certifier, clock)
    outcome = await bulk.import_batch("751234", [TeamToImport(team_results, lines=(2, 3, 4))])
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import asyncpg

from issuers import inputs, school_store
from issuers.bulk_store import TeamRow, insert_teams, present_teams
from issuers.certifying import Certifier
from issuers.errors import ConflictError, IssuingError
from issuers.issuing import PreparedTeam, issuing_school, prepare_team, team_goals
from issuers.requests import TeamResultsIn
from issuers.rules import RuleViolation
from registry.clock import Clock, to_the_second, today_in_denmark

# Teams per transaction: large enough for COPY to pay, small enough to redo, and small enough
# (1,250 certificates in teams of 25) that those in flight keep Python and PostgreSQL busy
# together from the first batch to the last (200 left one side idle at each end: 0.19 -> 0.22).
BATCH_TEAMS = 50
# Batches in flight: while PostgreSQL inserts two (one backend a core), the next is checked and
# signed (the rules and signing are Python; the inserts are the database's). PostgreSQL's share
# is now the larger, so a third keeps both cores busy: 0.229 against 0.204 for two, the median
# of five interleaved quick runs (the third won all five pairs). The log head serialises appends.
IN_FLIGHT = 3
_RETRIES = 3  # a batch redone when a concurrent import reported one of its teams first


@dataclass(frozen=True, slots=True)
class TeamToImport:
    """One team's results and the file lines of its participants, in the same order."""

    request: TeamResultsIn
    lines: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a team was not issued: the file line, the column and the reason (never a value)."""

    line: int | None
    field: str
    reason: str


@dataclass(slots=True)
class BatchOutcome:
    """What a batch did: teams issued (with their certificates), present, and refused."""

    issued_teams: int = 0
    certificates: int = 0
    participants: int = 0
    present_teams: int = 0
    refused: list[tuple[TeamToImport, Refusal]] = field(default_factory=list)

    def add(self, other: BatchOutcome) -> None:
        """Count another batch's outcome into this one."""
        self.issued_teams += other.issued_teams
        self.certificates += other.certificates
        self.participants += other.participants
        self.present_teams += other.present_teams
        self.refused.extend(other.refused)


class BulkIssuer:
    """Issues many teams of one school per transaction with the API's rules and signing."""

    def __init__(self, pool: asyncpg.Pool, certifier: Certifier, clock: Clock) -> None:
        self._pool = pool
        self._certifier = certifier
        self._clock = clock

    async def import_teams(
        self,
        school_id: str,
        teams: Sequence[TeamToImport],
        *,
        progress: Callable[[Sequence[TeamToImport], BatchOutcome], None] | None = None,
        in_flight: int = IN_FLIGHT,
    ) -> BatchOutcome:
        """Issue ``teams`` in batches of ``BATCH_TEAMS``, ``in_flight`` at a time (the pool
        needs that many connections); ``progress`` is told of each batch once it committed.

        Each batch commits on its own, so after an error the committed ones stay and a rerun
        finds their teams present. Raises what ``import_batch`` raises.
        """
        total = BatchOutcome()
        batches = iter(
            [teams[first : first + BATCH_TEAMS] for first in range(0, len(teams), BATCH_TEAMS)]
        )

        async def work() -> None:
            for batch in batches:  # shared: each worker takes the next batch
                outcome = await self.import_batch(school_id, batch)
                total.add(outcome)
                # What the batch left in cycles (refusals' tracebacks), while it is young.
                gc.collect(1)
                if progress is not None:
                    progress(batch, outcome)

        try:
            with _collector_paused():
                async with asyncio.TaskGroup() as group:
                    for _ in range(max(1, in_flight)):
                        group.create_task(work())
        except ExceptionGroup as e:  # the first batch's error, as import_batch raised it
            raise e.exceptions[0] from None
        return total

    async def import_batch(self, school_id: str, teams: Sequence[TeamToImport]) -> BatchOutcome:
        """Issue every team of ``teams`` not yet reported by the school, in one transaction.

        A team that breaks a rule or an input check is refused whole (in the outcome) and the
        others are issued. Raises IssuingError when the school may not issue at all (unknown,
        disabled, no active signing key): nothing of the batch is written then.
        """
        for attempt in range(_RETRIES):
            try:
                return await self._batch(school_id, teams)
            except _RacedError:
                if attempt == _RETRIES - 1:
                    raise ConflictError(
                        "another import reported the same teams at the same time", field="team"
                    ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _batch(self, school_id: str, teams: Sequence[TeamToImport]) -> BatchOutcome:
        outcome = BatchOutcome()
        now = to_the_second(self._clock())
        today = today_in_denmark(now)
        async with self._pool.acquire() as conn, conn.transaction():
            school = await issuing_school(conn, school_id)
            keys = [(t.request.team.reference, t.request.team.goal) for t in teams]
            present = await present_teams(conn, school_id, keys)
            catalogue = await school_store.goals(
                conn, {g for t in teams for g in _goals_or_none(t.request)}
            )
            prepared: list[PreparedTeam] = []
            seen: set[tuple[str, str]] = set()
            for team, key in zip(teams, keys, strict=True):
                if key in present:
                    outcome.present_teams += 1
                    continue
                if key in seen:
                    outcome.refused.append((team, _twice(team)))
                    continue
                seen.add(key)
                try:
                    checked = inputs.checked_team(team.request, today=today)
                    prepared.append(prepare_team(checked, catalogue, today=today))
                except IssuingError as e:
                    outcome.refused.append((team, refusal(e, team.lines)))
            if not prepared:
                return outcome
            inserted = await insert_teams(
                conn,
                school_id,
                [_team_row(p) for p in prepared],
                [row for p in prepared for row in p.participation_rows()],
                [row for p in prepared for row in p.attempt_rows()],
                recorded_at=now,
            )
            if inserted != len(prepared):
                raise _RacedError
            issued = await self._certifier.issue_due(
                conn,
                school=school,
                catalogue=catalogue,
                assessed=[pair for p in prepared for pair in p.assessed()],
                existing={},
                now=now,
            )
        outcome.issued_teams = len(prepared)
        outcome.participants = sum(len(p.subjects) for p in prepared)
        outcome.certificates = sum(len(c) for c in issued.values())
        return outcome


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off for the import (``work`` collects after each batch).

    A batch holds thousands of long-lived, acyclic objects (records, rows, tokens) that the
    collector's automatic passes scanned again and again: a fifth of the import's CPU. Reference
    counting still frees everything acyclic at once. Stays off if it was off.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _RacedError(Exception):
    """A team of the batch was reported by someone else between the check and the insert."""


def _goals_or_none(request: TeamResultsIn) -> list[str]:
    try:
        return team_goals(request)
    except IssuingError:  # a bad IKV entry is refused by prepare_team, naming it
        return [request.team.goal]


def _team_row(p: PreparedTeam) -> TeamRow:
    team = p.request.team
    return TeamRow(p.team_id, team.reference, team.goal, team.start, team.end, p.periods_json())


def _twice(team: TeamToImport) -> Refusal:
    return Refusal(
        team.lines[0] if team.lines else None,
        "team_reference",
        "the same team (reference and goal) appears twice in the file",
    )


_PARTICIPANT = re.compile(r"participants\[(\d+)\]\.?(.*)")
# API field names of a team as the file's columns name them.
_TEAM_COLUMNS = {
    "reference": "team_reference",
    "goal": "goal",
    "start": "start_date",
    "end": "end_date",
}


def refusal(error: IssuingError, lines: Sequence[int]) -> Refusal:
    """An issuing error as a refusal naming the file's line and column where it can."""
    name = error.field or ""
    reason = str(error)
    if isinstance(error, RuleViolation):
        reason = f"{reason} ({error.rule})"
    if m := _PARTICIPANT.fullmatch(name):
        index = int(m.group(1))
        line = lines[index] if index < len(lines) else None
        return Refusal(line, m.group(2) or "participant", reason)
    if name.startswith("team."):
        column = name.removeprefix("team.")
        return Refusal(lines[0] if lines else None, _TEAM_COLUMNS.get(column, column), reason)
    return Refusal(lines[0] if lines else None, name or "team", reason)
