"""Fill the register fast with realistic rows and real log leaves, through COPY.

What the API would have stored, without the HTTP round trips: teams of 25, a participation and a
certificate per participant, the 'issued' event, the log leaf and every Merkle node, and the log
head moved on. The certificate's canonical bytes and its compact JWS are byte for byte what
``issuers.issuing`` makes (tests/bench checks this): the record's canonical JSON is rendered from a
template (RFC 8785 orders members by name, never by value, so substituting values that need no
escaping gives the same bytes), and the JWS header segment, constant per key, is reused, so each row
costs one Ed25519 signature and a few hashes. The Merkle nodes come from
``registry.transparency.merkle.RightEdge.append``, the product's own code. Foreign-key triggers are
skipped while filling (``session_replication_role = replica``) where the role may do so: the rows
are consistent by construction. Verification codes are derived from the serial, so the bench can
look any filled certificate up.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import asyncpg
import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from formats.jws import sign_payload
from formats.record import (
    Annotations,
    CertificateKind,
    CertificateRecord,
    Goal,
    Participant,
    School,
)
from registry import codes
from registry.keys import KeyStore, ed25519_key
from registry.transparency import log, merkle
from registry.transparency.merkle import Hash, RightEdge

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
TEAM_SIZE = 25
CHUNK = 50_000
SCHOOL_ID = "751234"
GOAL = "48113"
ISSUED_AT = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)
COURSE_START = dt.date(2026, 11, 9)
COURSE_END = dt.date(2026, 11, 10)
FIRST_NAMES = ("Åse", "Bo", "Søren", "Mette", "Jens", "Ærle", "Kirsten", "Ole", "Ida", "Mads")
LAST_NAMES = ("Ødegård", "Jensen", "Nielsen", "Hansen", "Pedersen", "Sørensen", "Kjær", "Møller")


def verification_code(serial: int) -> str:
    """The filler's verification code for a serial: 40 bits, Crockford base32."""
    value = int.from_bytes(hashlib.blake2b(serial.to_bytes(8, "big"), digest_size=5).digest())
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(35, -1, -5))


def cpr_for(serial: int) -> str:
    """A CPR-shaped number with a real 20th-century birth date, distinct within a team."""
    day, month, year = 1 + serial % 28, 1 + (serial // 28) % 12, 50 + (serial // 336) % 50
    return f"{day:02d}{month:02d}{year:02d}-{serial % 4000:04d}"


def name_for(serial: int) -> str:
    first = FIRST_NAMES[serial % len(FIRST_NAMES)]
    return f"{first} {LAST_NAMES[(serial // 7) % len(LAST_NAMES)]}"


def _template(text: str, placeholders: dict[str, str]) -> str:
    """``text`` as a str.format template, each placeholder value becoming its {name}."""
    out = text.replace("{", "{{").replace("}", "}}")
    for name, value in placeholders.items():
        out = out.replace(value, "{" + name + "}")
    return out


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class Issuing:
    """What every filled certificate shares: the school, its key, the goal."""

    school: School
    goal: Goal
    kid: str
    key: Ed25519PrivateKey

    def record(self, number: str, cpr: str, name: str, team: str) -> CertificateRecord:
        return CertificateRecord(
            number=number,
            kind=CertificateKind.AMU,
            participant=Participant(cpr=cpr, name=name),
            goal=self.goal,
            school=self.school,
            team=team,
            course_start=COURSE_START,
            course_end=COURSE_END,
            exam_date=COURSE_END,
            issued_at=ISSUED_AT,
            annotations=Annotations(exam_passed=True, dispensation=False, ikv=False),
        )


class Renderer:
    """Canonical record bytes, compact JWS and log entries for filled rows, fast."""

    def __init__(self, issuing: Issuing) -> None:
        self.issuing = issuing
        marks = {"number": "@NUMBER@", "cpr": "@CPR@", "name": "@NAME@", "team": "@TEAM@"}
        sample = issuing.record(marks["number"], marks["cpr"], marks["name"], marks["team"])
        self._payload = _template(sample.canonical_bytes().decode(), marks)
        self._header = sign_payload(b"{}", issuing.key, kid=issuing.kid).split(".")[0]
        event = log.Event(0, "@NUMBER@", "issued", ISSUED_AT, jws="@JWS@", kid=issuing.kid)
        self._entry = _template(
            log.entry_bytes(event).decode(),
            {"number": "@NUMBER@", "digest": log.record_digest("@JWS@")},
        )

    def payload(self, number: str, cpr: str, name: str, team: str) -> bytes:
        return self._payload.format(number=number, cpr=cpr, name=name, team=team).encode()

    def jws(self, payload: bytes) -> str:
        signing_input = f"{self._header}.{_b64(payload)}"
        return f"{signing_input}.{_b64(self.issuing.key.sign(signing_input.encode()))}"

    def entry(self, number: str, jws: str) -> bytes:
        return self._entry.format(number=number, digest=log.record_digest(jws)).encode()


async def issuing_context(conn: asyncpg.Connection, keys: KeyStore) -> Issuing:
    """The demo school's active key and the goal, read as the issuer reads them.

    Plain SQL rather than the store modules: the bench must keep filling while their functions
    change shape; the columns read here are the foundation's.
    """
    row = await conn.fetchrow(
        """SELECT s.name, k.kid, g.title, g.duration_days
           FROM schools s JOIN school_keys k ON k.school_id = s.id AND k.retired_at IS NULL,
                goals g
           WHERE s.id = $1 AND g.number = $2""",
        SCHOOL_ID,
        GOAL,
    )
    if row is None:
        raise RuntimeError("the bench schema lacks the demo school, its key or the goal")
    return Issuing(
        School(SCHOOL_ID, row["name"]),
        Goal(GOAL, row["title"], str(row["duration_days"])),
        row["kid"],
        ed25519_key(keys, row["kid"]),
    )


@dataclass
class Rows:
    teams: list[tuple[object, ...]] = field(default_factory=list)
    participations: list[tuple[object, ...]] = field(default_factory=list)
    certificates: list[tuple[object, ...]] = field(default_factory=list)
    events: list[tuple[object, ...]] = field(default_factory=list)
    leaves: list[tuple[object, ...]] = field(default_factory=list)
    nodes: list[tuple[object, ...]] = field(default_factory=list)


def generate(
    renderer: Renderer,
    first_serial: int,
    first_event: int,
    edge: RightEdge,
    count: int,
    *,
    with_goal: bool = False,
) -> tuple[Rows, RightEdge]:
    """``count`` certificates with consecutive serials and event ids, appended to ``edge``.

    ``with_goal``: the certificates table has a goal_number column (migration 0004).
    """
    rows = Rows()
    issuing = renderer.issuing
    team_id = uuid.uuid4()
    for i in range(count):
        serial, event_id = first_serial + i, first_event + i
        if i % TEAM_SIZE == 0:
            team_id = uuid.uuid4()
            reference = f"F-{serial}"
            rows.teams.append((team_id, SCHOOL_ID, reference, GOAL, COURSE_START, COURSE_END))
        number = codes.certificate_number(ISSUED_AT.year, serial)
        cpr, name, participation = cpr_for(serial), name_for(serial), uuid.uuid4()
        facts = msgspec.json.encode(
            {"cpr": cpr, "name": name, "exam": "passed", "examDate": None,
             "judgement": None, "droppedOut": False}
        ).decode()  # fmt: skip
        rows.participations.append((participation, team_id, cpr, name, facts, 1, 1))
        payload = renderer.payload(number, cpr, name, reference)
        jws = renderer.jws(payload)
        certificate = (
            number, SCHOOL_ID, participation, cpr, issuing.kid, payload, jws,
            verification_code(serial), ISSUED_AT,
        )  # fmt: skip
        rows.certificates.append((*certificate, GOAL) if with_goal else certificate)
        rows.events.append((event_id, number, "issued", ISSUED_AT))
        entry = renderer.entry(number, jws)
        leaf = merkle.leaf_hash(entry)
        index = edge.size
        edge, nodes = edge.append(leaf)
        rows.leaves.append((index, entry, leaf, number, event_id))
        rows.nodes.extend((n.level, n.index, n.hash) for n in nodes)
    return rows, edge


COLUMNS = {
    "teams": ("id", "school_id", "reference", "goal_number", "start_date", "end_date"),
    "participations": (
        "id", "team_id", "cpr", "name", "facts", "result_group", "result_category",
    ),
    "certificates": (
        "number", "school_id", "participation_id", "cpr", "kid", "payload", "jws",
        "verification_code", "issued_at",
    ),
    "certificate_events": ("id", "certificate_number", "kind", "at"),
    "log_leaves": ("idx", "entry", "leaf_hash", "certificate_number", "event_id"),
    "log_nodes": ("level", "idx", "hash"),
}  # fmt: skip


@dataclass
class FillReport:
    added: int = 0
    serials: list[tuple[int, int]] = field(default_factory=list)  # [first, last] ranges
    generate_s: float = 0.0
    copy_s: float = 0.0
    vacuum_s: float = 0.0
    foreign_keys_checked: bool = True


async def _block(conn: asyncpg.Connection, sequence: str, count: int) -> int:
    """Reserve ``count`` consecutive values of a sequence; return the first."""
    first = int(await conn.fetchval("SELECT nextval($1::regclass)", sequence))
    await conn.execute("SELECT setval($1::regclass, $2)", sequence, first + count - 1)
    return first


async def fill(
    conn: asyncpg.Connection, renderer: Renderer, count: int, *, chunk: int = CHUNK
) -> FillReport:
    """Add ``count`` certificates to the register behind ``conn`` (the server may be idle)."""
    report = FillReport()
    try:
        await conn.execute("SET session_replication_role = replica")
        report.foreign_keys_checked = False
        # The replica role skips every trigger, but the register's own BEFORE INSERT trigger
        # sets each certificate's status-list position and retention date: keep it firing.
        await conn.execute("ALTER TABLE certificates ENABLE ALWAYS TRIGGER certificates_positions")
    except asyncpg.InsufficientPrivilegeError:
        pass
    with_goal = bool(
        await conn.fetchval(
            """SELECT count(*) FROM information_schema.columns WHERE table_schema =
               current_schema() AND table_name = 'certificates' AND column_name = 'goal_number'"""
        )
    )
    columns = dict(COLUMNS)
    if with_goal:
        columns["certificates"] = (*columns["certificates"], "goal_number")
    events_seq = await conn.fetchval("SELECT pg_get_serial_sequence('certificate_events', 'id')")
    try:
        while report.added < count:
            n = min(chunk, count - report.added)
            async with conn.transaction():
                head = await conn.fetchrow("SELECT size, edge FROM log_head FOR UPDATE")
                if head is None:
                    raise RuntimeError("the log head is missing")
                edge = RightEdge(head["size"], tuple(Hash(bytes(h)) for h in head["edge"]))
                first_serial = await _block(conn, "certificate_serial", n)
                first_event = await _block(conn, events_seq, n)
                started = time.perf_counter()
                rows, edge = generate(
                    renderer, first_serial, first_event, edge, n, with_goal=with_goal
                )
                copied = time.perf_counter()
                report.generate_s += copied - started
                for table, records in (
                    ("teams", rows.teams),
                    ("participations", rows.participations),
                    ("certificates", rows.certificates),
                    ("certificate_events", rows.events),
                    ("log_leaves", rows.leaves),
                    ("log_nodes", rows.nodes),
                ):
                    await conn.copy_records_to_table(table, records=records, columns=columns[table])
                await conn.execute(
                    "UPDATE log_head SET size = $1, edge = $2", edge.size, list(edge.hashes)
                )
                report.copy_s += time.perf_counter() - copied
            report.added += n
            report.serials.append((first_serial, first_serial + n - 1))
    finally:
        await conn.execute("RESET session_replication_role")
        if not report.foreign_keys_checked:
            await conn.execute("ALTER TABLE certificates ENABLE TRIGGER certificates_positions")
    started = time.perf_counter()
    # A register that has been running is vacuumed and analysed; a freshly copied one is not.
    await conn.execute("VACUUM (ANALYZE) " + ", ".join(COLUMNS))
    report.vacuum_s = time.perf_counter() - started
    return report


def lookups(serials: list[tuple[int, int]], count: int, seed: int) -> Iterator[tuple[str, str]]:
    """``count`` (number, display code) pairs of filled certificates, spread over all ranges."""
    rng = random.Random(seed)
    total = sum(last - first + 1 for first, last in serials)
    for _ in range(count):
        pick = rng.randrange(total)
        for first, last in serials:
            if pick <= last - first:
                serial = first + pick
                break
            pick -= last - first + 1
        yield (
            codes.certificate_number(ISSUED_AT.year, serial),
            codes.display_code(verification_code(serial)),
        )
