"""The demo: two schools, a small AMU goal catalogue, keys and API credentials.

Seeding is idempotent: a database that already has the demo schools is left alone, and the
credentials are printed only when they are made.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from issuers import credentials, school_store
from issuers.document_keys import DevelopmentAuthority
from issuers.idempotency import IdempotentRequest
from issuers.issuing import Issuer
from issuers.requests import TeamResultsIn
from registry import certificate_store
from registry.db import Connection
from registry.keys import KeyStore, public_bytes


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

# (number, title, days, ikv, exam periods). Numbers and titles look like the real catalogue;
# the exam periods show that the catalogue keeps when an exam was attached.
GOALS: tuple[tuple[str, str, str, bool, tuple[tuple[dt.date, dt.date | None], ...]], ...] = (
    ("40080", "Individuel kompetencevurdering i AMU", "1.0", True, ()),
    ("40081", "Individuel kompetencevurdering i AMU F/I", "2.0", True, ()),
    ("48113", "Hygiejne for fødevarebranchen", "1.0", False, ((dt.date(2020, 1, 1), None),)),
    ("40125", "Svejsning af plader – MAG", "5.0", False, ((dt.date(2019, 8, 1), None),)),
    ("44806", "Gaffeltruck, certifikatkursus", "5.0", False, ((dt.date(2021, 1, 1), None),)),
    ("42638", "Førstehjælp på arbejdspladsen", "1.0", False, ()),
    (
        "45365",
        "Rengøring på hospitaler",
        "3.0",
        False,
        ((dt.date(2018, 1, 1), dt.date(2021, 7, 1)), (dt.date(2027, 1, 1), None)),
    ),
    (
        "47596",
        "Kørsel med farligt gods – grundkursus",
        "3.5",
        False,
        ((dt.date(2020, 1, 1), None),),
    ),
)


# Goals whose exam has two parts (both must be sat), and a certificate course whose exam another
# authority may run.
EXAM_PARTS = {"40125": 2}
AUTHORITY_CERTIFICATES = {"44806"}


# The demo people the development login offers (CPR numbers of the demo, not real people).
DEMO_PEOPLE = (
    ("010190-1234", "Åse Ødegård"),
    ("020285-4321", "Bo Jensen"),
    ("150372-2468", "Fatima Yilmaz"),
)


@dataclass(frozen=True, slots=True)
class DemoCredential:
    school_id: str
    school_name: str
    token: str


async def seed_catalogue(conn: Connection) -> None:
    for number, title, days, ikv, periods in GOALS:
        await school_store.upsert_goal(
            conn,
            number=number,
            title=title,
            duration_days=Decimal(days),
            ikv=ikv,
            exam_periods=periods,
            exam_parts=EXAM_PARTS.get(number, 1),
            authority_certificate=number in AUTHORITY_CERTIFICATES,
        )


async def add_school(
    conn: Connection, keys: KeyStore, school: DemoSchool, *, now: dt.datetime
) -> DemoCredential:
    """Register a school with a fresh signing key and API credential."""
    await school_store.insert_school(
        conn, school_id=school.id, name=school.name, cvr=school.cvr, ownership=school.ownership
    )
    private = Ed25519PrivateKey.generate()
    kid = f"{school.id}-{secrets.token_hex(4)}"
    keys.put(kid, private)
    await certificate_store.insert_key(
        conn, kid=kid, school_id=school.id, public_key=public_bytes(private), valid_from=now
    )
    await DevelopmentAuthority(keys).certify(
        conn, school_id=school.id, school_name=school.name, now=now
    )
    _info, token = await credentials.create(conn, school.id, "demo", "demo", now)
    return DemoCredential(school.id, school.name, token)


async def seed_demo(conn: Connection, keys: KeyStore, *, now: dt.datetime) -> list[DemoCredential]:
    """Seed the demo once; returns the new credentials (empty when it was there already)."""
    async with conn.transaction():
        await seed_catalogue(conn)
        return [
            await add_school(conn, keys, school, now=now)
            for school in SCHOOLS
            if await school_store.school(conn, school.id) is None
        ]


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
