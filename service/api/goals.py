"""The AMU goal catalogue, public: search it and read one goal with its exam history.

GET /api/goals?q=svejs&limit=20            goals whose number starts with, or title holds,
                                           every word of q; by number
GET /api/goals?q=svejs&after=40125         the next page (the answer's ``next``)
GET /api/goals/40125                       one goal (404 problem when unknown)
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import urlencode

import asyncpg
import msgspec
from litestar import Router, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import PathParameter, QueryParameter

from issuers import catalogue_store
from issuers.catalogue import StoredGoal

MAX_LIMIT = 100
MAX_WORDS = 10
GOAL_NUMBER = r"^[0-9]{5}$"


class ExamPeriodOut(msgspec.Struct):
    from_: dt.date = msgspec.field(name="from")
    until: dt.date | None = None  # the first day without the exam; null: still attached


class GoalOut(msgspec.Struct, rename="camel"):
    number: str
    title: str
    duration_days: str  # decimal days, e.g. "3.5"
    description: str
    valid_from: dt.date
    valid_to: dt.date | None  # the first day it is no longer valid
    closed: bool  # no longer in the catalogue the operators imported last
    exam_periods: list[ExamPeriodOut]  # when a UVM exam was attached (the rules read this)
    exam_parts: int
    ikv: bool
    authority_certificate: bool  # certificate course whose exam another authority may run


class GoalPage(msgspec.Struct):
    goals: list[GoalOut]
    next: str | None  # the next page's path and query; null on the last page


def _out(stored: StoredGoal) -> GoalOut:
    goal = stored.goal
    return GoalOut(
        number=goal.number,
        title=goal.title,
        duration_days=str(goal.duration_days),
        description=goal.description,
        valid_from=goal.valid_from,
        valid_to=goal.valid_to,
        closed=stored.closed,
        exam_periods=[ExamPeriodOut(p.attached_from, p.detached_on) for p in goal.exam_periods],
        exam_parts=goal.exam_parts,
        ikv=goal.ikv,
        authority_certificate=goal.authority_certificate,
    )


@get("/", summary="Search the AMU goal catalogue by number prefix or title words")
async def search(
    pool: NamedDependency[asyncpg.Pool],
    q: Annotated[
        str,
        QueryParameter(
            max_length=200,
            description=(
                "Words separated by spaces; a goal matches when each word starts its number or "
                f"occurs in its title (case-insensitive), at most {MAX_WORDS} words. Empty: "
                "every goal"
            ),
        ),
    ] = "",
    limit: Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT, description="Goals per page")] = 20,
    after: Annotated[
        str | None,
        QueryParameter(
            pattern=GOAL_NUMBER,
            description="The last goal number of the previous page (its answer's `next`)",
        ),
    ] = None,
) -> GoalPage:
    words = q.split()
    if len(words) > MAX_WORDS:  # a 400 problem naming q, as Litestar's own validation
        raise ValidationException(
            f"q has more than {MAX_WORDS} words",
            extra=[{"key": "q", "message": f"at most {MAX_WORDS} words", "source": "query"}],
        )
    async with pool.acquire() as conn:
        found = await catalogue_store.search(conn, words, limit=limit + 1, after=after)
    page = found[:limit]
    following = None
    if len(found) > limit:
        query = {"q": q} if q else {}
        following = "/api/goals?" + urlencode(
            {**query, "limit": limit, "after": page[-1].goal.number}
        )
    return GoalPage(goals=[_out(g) for g in page], next=following)


@get("/{number:str}", summary="One AMU goal with its exam history")
async def goal(
    pool: NamedDependency[asyncpg.Pool],
    number: Annotated[
        str, PathParameter(pattern=GOAL_NUMBER, description="The goal number, 5 digits")
    ],
) -> GoalOut:
    async with pool.acquire() as conn:
        found = await catalogue_store.goal(conn, number)
    if found is None:
        raise NotFoundException("The catalogue has no goal with this number")
    return _out(found)


def router() -> Router:
    """The public catalogue routes."""
    return Router(path="/api/goals", tags=["Goal catalogue"], route_handlers=[search, goal])
