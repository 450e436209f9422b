"""The demo: two schools, the sample AMU goal catalogue, keys, API credentials and staff.

Seeding is idempotent: a database that already has the demo schools is left alone, and the
credentials are printed only when they are made.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from importlib import resources
from typing import Any

import msgspec

from issuers import credentials, onboarding, school_store, staff_store
from issuers.document_keys import DevelopmentAuthority
from issuers.idempotency import IdempotentRequest
from issuers.issuing import Issuer
from issuers.requests import TeamResultsIn
from registry.db import Connection
from registry.keys import KeyStore


@dataclass(frozen=True, slots=True)
class DemoSchool:
    id: str
    name: str
    cvr: str
    ownership: str


SCHOOLS = (
    DemoSchool("751234", "Erhvervsskolen Nordvest", "29183746", "public"),
    DemoSchool("863410", "Kursuscenter Øresund ApS", "38127456", "private"),
)

SAMPLE_CATALOGUE = "sample-catalogue.csv"
"""The bundled goal catalogue (service/catalogue/): the demo loads it as an operator would."""

# The demo people the development login offers (CPR numbers of the demo, not real people).
DEMO_PEOPLE = (
    ("010190-1234", "Åse Ødegård"),
    ("020285-4321", "Bo Jensen"),
    ("150372-2468", "Fatima Yilmaz"),
)


@dataclass(frozen=True, slots=True)
class DemoStaff:
    """A person the development staff login offers: their provider subject, name and the CVR
    number of the organisation they act for; ``school_id`` and ``role`` are the role the demo
    grants them (None: none, to show the page that says to ask the administrator)."""

    subject: str
    name: str
    cvr: str
    school_id: str | None = None
    role: staff_store.StaffRoleName | None = None


DEMO_STAFF = (
    DemoStaff("demo-karen-holm", "Karen Holm", "29183746", "751234", "administrator"),
    DemoStaff("demo-mads-lund", "Mads Lund", "29183746", "751234", "registrar"),
    DemoStaff("demo-sofie-berg", "Sofie Berg", "38127456", "863410", "administrator"),
    DemoStaff("demo-jonas-dahl", "Jonas Dahl", "38127456", "863410", "registrar"),
    DemoStaff("demo-peter-nielsen", "Peter Nielsen", "29183746"),
)
# What the development staff login offers: (subject, name, organisation CVR).
DEMO_STAFF_IDENTITIES = tuple((s.subject, s.name, s.cvr) for s in DEMO_STAFF)


@dataclass(frozen=True, slots=True)
class DemoCredential:
    school_id: str
    school_name: str
    token: str


def sample_catalogue() -> bytes:
    """The bytes of the bundled sample catalogue (CSV, docs/catalogue.md)."""
    return resources.files("service").joinpath("catalogue", SAMPLE_CATALOGUE).read_bytes()


async def seed_catalogue(conn: Connection, *, now: dt.datetime) -> None:
    """Import the sample catalogue through the operators' import (a second run changes
    nothing). Not a full import: goals an operator added stay open."""
    await onboarding.import_catalogue(
        conn, sample_catalogue(), "csv", source=SAMPLE_CATALOGUE, full=False, now=now
    )


async def add_school(
    conn: Connection, keys: KeyStore, school: DemoSchool, *, now: dt.datetime
) -> DemoCredential:
    """Register a school as `amu-bevis schools add` does, with a development document
    certificate, and give it an API credential."""
    checked = onboarding.NewSchool.checked(
        number=school.id, name=school.name, cvr=school.cvr, ownership=school.ownership
    )
    await onboarding.add_school(conn, keys, checked, DevelopmentAuthority(keys), now=now)
    _info, token = await credentials.create(conn, school.id, "demo", "demo", now)
    return DemoCredential(school.id, school.name, token)


async def seed_staff(conn: Connection, *, now: dt.datetime) -> None:
    """Grant the demo staff their roles, where they do not hold them yet (also in a demo
    database seeded before there were staff)."""
    for staff in DEMO_STAFF:
        if staff.school_id is None or staff.role is None:
            continue
        held = {r.school_id for r in await staff_store.roles_of(conn, staff.subject)}
        if staff.school_id not in held:
            await staff_store.grant(
                conn,
                school_id=staff.school_id,
                subject=staff.subject,
                role=staff.role,
                granted_by="demo",
                now=now,
            )


async def seed_demo(conn: Connection, keys: KeyStore, *, now: dt.datetime) -> list[DemoCredential]:
    """Seed the demo once; returns the new credentials (empty when it was there already)."""
    async with conn.transaction():
        await seed_catalogue(conn, now=now)
        made = [
            await add_school(conn, keys, school, now=now)
            for school in SCHOOLS
            if await school_store.school(conn, school.id) is None
        ]
        await seed_staff(conn, now=now)
        return made


def demo_teams(today: dt.date) -> list[tuple[str, dict[str, Any]]]:
    """A few teams that ended last week, so the demo's pages have something to show."""
    start, end = today - dt.timedelta(days=10), today - dt.timedelta(days=7)
    (ase, ase_name), (bo, bo_name), (fatima, fatima_name) = DEMO_PEOPLE

    def team(reference: str, goal: str, participants: list[dict[str, Any]]) -> dict[str, Any]:
        dates = {"start": start.isoformat(), "end": end.isoformat()}
        return {
            "team": {"reference": reference, "goal": goal, **dates},
            "participants": participants,
        }

    return [
        (
            "751234",
            team(
                "DEMO-HYG-1",
                "48113",
                [
                    {"cpr": ase, "name": ase_name, "exam": "passed"},
                    {"cpr": bo, "name": bo_name, "exam": "failed"},
                ],
            ),
        ),
        (
            "751234",
            team(
                "DEMO-FH-1",
                "42638",
                [
                    {"cpr": ase, "name": ase_name, "judgement": "goal-reached"},
                    {"cpr": fatima, "name": fatima_name, "judgement": "goal-reached"},
                ],
            ),
        ),
        (
            "863410",
            team(
                "DEMO-IKV-1",
                "40080",
                [
                    {
                        "cpr": fatima,
                        "name": fatima_name,
                        "ikv": [
                            {"goal": "48113", "result": "amu-certificate", "examPassed": True},
                            {"goal": "40125", "result": "education-plan"},
                        ],
                    }
                ],
            ),
        ),
    ]


async def seed_demo_teams(issuer: Issuer, *, today: dt.date) -> int:
    """Issue the demo teams through the real issuing service; returns how many certificates."""
    issued = 0
    for school_id, body in demo_teams(today):
        raw = msgspec.json.encode(body)
        request = msgspec.json.decode(raw, type=TeamResultsIn)
        reference = body["team"]["reference"]
        # Bound like the API's POST of a team, so the demo's keys stay the demo's.
        target = f"/api/schools/{school_id}/teams"
        route = "/api/schools/{school_id:str}/teams"
        write = IdempotentRequest(school_id, f"demo-{reference}", raw, "POST", route, target)
        answered = await issuer.issue_team(write, request)
        issued += sum(len(p.certificates) for p in answered.answer.participants)
    return issued
