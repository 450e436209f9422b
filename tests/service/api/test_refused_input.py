"""Nothing signed that is nonsense or undeliverable (issue 12): each bad input below is refused
at the edge with a 422 problem naming the field, and nothing of it is stored.

One row per kind of bad input. Every row runs over the HTTP API against the seeded demo (today
is 2026-11-20, ``tests.conftest.NOW``) and counts the stored rows of every table a request
could write, before and after.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

from tests.conftest import Demo
from tests.helpers import ASE, Client, post_team, team_body

PROBLEM = "application/problem+json"
SCHOOL = "/api/schools/751234"
TABLES = (
    "teams",
    "participations",
    "exam_attempts",
    "certificates",
    "certificate_events",
    "log_leaves",
    "delivery_jobs",
)


def _person(**changes: Any) -> dict[str, Any]:
    return {"cpr": ASE, "name": "Åse Ødegård", "exam": "passed", **changes}


def _team(*participants: dict[str, Any], **team: Any) -> dict[str, Any]:
    body = team_body(list(participants) or [_person()])
    body["team"].update(team)
    return body


def _ikv(*outcomes: dict[str, Any], goal: str = "40080") -> dict[str, Any]:
    return _team(
        {"cpr": ASE, "name": "Åse Ødegård", "ikv": list(outcomes)},
        goal=goal,
        start="2026-11-02",
        end="2026-11-06",
    )


def _digits(zero: int) -> str:
    """ASE's CPR number in another script's digits (``str.isdigit`` is true for all of them)."""
    return ASE.translate({ord(d): zero + int(d) for d in "0123456789"})


@dataclass(frozen=True)
class Row:
    """A request (after an optional setup that issues one participant's certificate) and the
    field its problem must name."""

    id: str
    field: str
    team: dict[str, Any] | None = None  # POST /teams
    attempt: dict[str, Any] | None = None  # POST .../attempts on the set-up participation
    facts: dict[str, Any] | None = None  # PATCH the set-up participation
    correction: dict[str, Any] | None = None  # POST .../corrections of the set-up certificate
    setup: dict[str, Any] | None = None


FAILED = {"cpr": ASE, "name": "Åse Ødegård", "exam": "failed"}

ROWS = [
    # Text a record may not carry.
    Row("name-control", "participants[0].name", team=_team(_person(name="Åse\x07Ødegård"))),
    Row("name-nul", "participants[0].name", team=_team(_person(name="Åse\x00"))),
    Row("name-newline", "participants[0].name", team=_team(_person(name="Åse\nØdegård"))),
    Row("name-bidi", "participants[0].name", team=_team(_person(name="\u202eÅse Ødegård"))),
    Row("name-isolate", "participants[0].name", team=_team(_person(name="Åse\u2066 Ø"))),
    Row("name-mark", "participants[0].name", team=_team(_person(name="Åse\u200f"))),
    Row("name-spaces", "participants[0].name", team=_team(_person(name="    "))),
    Row("name-zero-width", "participants[0].name", team=_team(_person(name="\u200b\u200b"))),
    Row("name-no-glyph", "participants[0].name", team=_team(_person(name="山田 太郎"))),
    Row("reference-control", "team.reference", team=_team(reference="H-\x1b[31m101")),
    Row(
        "retake-reason-bidi",
        "retakeReason",
        setup=_team(FAILED),
        attempt={
            "heldOn": "2026-11-17",
            "parts": ["failed"],
            "kind": "retake",
            "retakeReason": "syg\u202e",
        },
    ),
    # CPR numbers.
    Row("cpr-arabic-indic", "participants[0].cpr", team=_team(_person(cpr=_digits(0x0660)))),
    Row("cpr-full-width", "participants[0].cpr", team=_team(_person(cpr=_digits(0xFF10)))),
    Row("cpr-born-in-future", "participants[0].cpr", team=_team(_person(cpr="010150-5000"))),
    # Dates against the course.
    Row(
        "exam-before-course-end",
        "participants[0].attempts[0].parts",
        team=_team(
            {"cpr": ASE, "name": "Å", "attempts": [{"heldOn": "2026-11-19", "parts": ["passed"]}]},
            end="2026-11-27",
        ),
    ),
    Row(
        "judgement-before-course-end",
        "participants[0].judgement",
        team=_team(
            {"cpr": ASE, "name": "Å", "judgement": "goal-reached"}, goal="42638", end="2026-11-27"
        ),
    ),
    Row(
        "ikv-before-course-end",
        "participants[0].ikv",
        team=_team(
            {"cpr": ASE, "name": "Å", "ikv": [{"goal": "48113", "result": "education-plan"}]},
            goal="40080",
            end="2026-11-27",
        ),
    ),
    Row(
        "exam-before-course-start",
        "participants[0].attempts[0].heldOn",
        team=_team(
            {"cpr": ASE, "name": "Å", "attempts": [{"heldOn": "2026-11-02", "parts": ["passed"]}]}
        ),
    ),
    Row(
        "exam-after-window",
        "participants[0].attempts[0].heldOn",
        team=_team(
            {"cpr": ASE, "name": "Å", "attempts": [{"heldOn": "2026-11-16", "parts": ["passed"]}]},
            start="2026-09-28",
            end="2026-09-30",
        ),
    ),
    Row(
        "period-outside-team",
        "team.periods[0].start",
        team=_team(periods=[{"start": "2026-11-02", "end": "2026-11-10"}]),
    ),
    Row("team-end-9999", "team.end", team=_team(_person(exam=None), end="9999-12-31")),
    Row(
        "team-in-year-1",
        "team.start",
        team=_team(_person(examDate="0001-01-02"), start="0001-01-01", end="0001-01-02"),
    ),
    # IKV outcomes.
    Row(
        "ikv-outcome-for-ikv-goal",
        "participants[0].ikv[0].goal",
        team=_ikv({"goal": "40080", "result": "amu-certificate"}),
    ),
    Row(
        "ikv-two-outcomes-one-goal",
        "participants[0].ikv[1].goal",
        team=_ikv(
            {"goal": "48113", "result": "amu-certificate", "examPassed": True},
            {"goal": "48113", "result": "education-plan"},
        ),
    ),
    Row(
        "ikv-two-outcomes-by-patch",
        "ikv[1].goal",
        setup=_ikv(),
        facts={
            "ikv": [
                {"goal": "42638", "result": "education-plan"},
                {"goal": "42638", "result": "competence-certificate"},
            ]
        },
    ),
    # Corrections: the rules decide the replacement, exactly as at issue.
    Row(
        "correction-annotations",
        "annotations",
        setup=_team(_person()),
        correction={
            "reason": "result-data",
            "annotations": {"examPassed": None, "dispensation": True, "ikv": False},
        },
    ),
    Row(
        "correction-course-in-future",
        "courseEnd",
        setup=_team(_person()),
        correction={"reason": "course-data", "courseEnd": "2026-12-04"},
    ),
    Row(
        "correction-year-9999",
        "courseEnd",
        setup=_team(_person()),
        correction={"reason": "course-data", "courseEnd": "9999-12-31"},
    ),
    Row(
        "correction-name-bidi",
        "name",
        setup=_team(_person()),
        correction={"reason": "participant-data", "name": "Åse \u202eØdegård"},
    ),
    Row(
        "correction-name-blank",
        "name",
        setup=_team(_person()),
        correction={"reason": "participant-data", "name": " \u200b "},
    ),
]


async def _counts(conn: asyncpg.Connection) -> dict[str, int]:
    return {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in TABLES}  # noqa: S608


async def _setup(client: Client, demo: Demo, body: dict[str, Any]) -> dict[str, Any]:
    response = await post_team(client, demo.public, body, key="setup")
    assert response.status_code == 201, response.text
    return dict(response.json()["participants"][0])


def _request(
    client: Client, demo: Demo, row: Row, made: dict[str, Any]
) -> Callable[[], Awaitable[Any]]:
    headers = {**demo.school(demo.public), "Idempotency-Key": "refused"}
    if row.team is not None:
        return lambda: post_team(client, demo.public, row.team or {}, key="refused")
    path = f"{SCHOOL}/participations/{made.get('participation')}"
    if row.attempt is not None:
        return lambda: client.post(f"{path}/attempts", json=row.attempt, headers=headers)
    if row.facts is not None:
        return lambda: client.patch(path, json=row.facts, headers=headers)
    number = made["certificate"]["number"]
    url = f"{SCHOOL}/certificates/{number}/corrections"
    return lambda: client.post(url, json=row.correction, headers=headers)


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
async def test_bad_input_is_refused_naming_the_field_and_nothing_is_stored(
    client: Client, seeded: Demo, conn: asyncpg.Connection, row: Row
) -> None:
    made = await _setup(client, seeded, row.setup) if row.setup else {}
    before = await _counts(conn)
    response = await _request(client, seeded, row, made)()
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert [p["name"] for p in body["invalid-params"]] == [row.field], body
    assert ASE not in response.text
    assert await _counts(conn) == before
