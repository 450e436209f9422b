"""Retention, the whole run: the register's certificates (``registry.retention``) and the schools'
side's own personal data, in one transaction.

Certificates and what is needed to reissue them are kept 30 years after the exam (DOMAIN.md,
"The central registry"). Past that the register blanks each certificate's personal columns, and
this side blanks the name, CPR number and reported facts of its participation. Delivery's
personal data goes in the same run (docs/delivery.md, "Retention"): a print job's PDF and name
``print_retention`` after it was printed (spooled, while nothing marks it printed); a person's
e-Boks consents to a school once nothing of that person at that school is kept any more and the
latest answer is over ``CONSENT_GRACE`` old. Those tables are not append-only, so this is a
plain UPDATE and DELETE::

    report = await run_retention(conn, now=clock(), apply=False)   # what has passed the age
    report = await run_retention(conn, now=clock(), apply=True,    # remove its personal data
                                 print_retention=dt.timedelta(days=30))
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

from issuers import retention_store
from registry import retention
from registry.db import Connection
from registry.retention_store import Due

RETENTION_YEARS = retention.RETENTION_YEARS
# A consent recorded for a person the school has not reported yet: a course is days or weeks
# long and reported soon after, so a year without anything of the person means no course came.
CONSENT_GRACE = dt.timedelta(days=365)
PRINT_RETENTION_DAYS = 30  # a print job's PDF and name, after printing
PRINT_RETENTION = dt.timedelta(days=PRINT_RETENTION_DAYS)


@dataclass(frozen=True, slots=True)
class RetentionReport:
    as_of: dt.date
    applied: bool
    due: list[Due]  # certificates past their retention date with personal data still stored
    participations: int  # participations past it (erased when applied)
    erased: list[str] = field(default_factory=list)  # certificates erased by this run
    print_jobs: int = 0  # print jobs past print retention with PDF and name (blanked if applied)
    consents: int = 0  # (school, person) pairs whose e-Boks consents are past it (deleted)
    documents: int = 0  # participation and combined documents past it (blanked if applied)


async def run_retention(
    conn: Connection,
    *,
    now: dt.datetime,
    apply: bool,
    print_retention: dt.timedelta = PRINT_RETENTION,
) -> RetentionReport:
    """Report what has passed the retention age on ``now``'s date; with ``apply``, erase its
    personal data in one transaction. Raises asyncpg.InsufficientPrivilegeError (and erases
    nothing) if the database's clock disagrees that a row is past its date."""
    as_of = now.astimezone(dt.UTC).date()
    printed_before = now - print_retention
    async with conn.transaction():
        due = await retention.due(conn, as_of)
        if not apply:
            return RetentionReport(
                as_of,
                applied=False,
                due=due,
                participations=await retention_store.due_participations(conn, as_of),
                print_jobs=await retention_store.due_print_jobs(conn, printed_before),
                consents=await retention_store.due_consents(conn, now - CONSENT_GRACE),
                documents=await retention_store.due_documents(conn, as_of),
            )
        erased = await retention.erase(conn, due, at=now)
        report = RetentionReport(
            as_of,
            applied=True,
            due=due,
            participations=await retention_store.erase_participations(conn, as_of, now),
            erased=erased,
            documents=await retention_store.erase_documents(conn, as_of, now),
        )
        # After the register's erasure: a person whose last certificate went just now no longer
        # holds a consent in place.
        consents = await retention_store.erase_consents(conn, now - CONSENT_GRACE)
        print_jobs = await retention_store.erase_print_jobs(conn, printed_before, now)
        return dataclasses.replace(report, consents=consents, print_jobs=print_jobs)
