"""SQL for the schools' side of retention: participations and participation and combined documents
past 30 years, and delivery's personal data (print jobs' PDFs and names, e-Boks consents). These
tables are not the register."""

from __future__ import annotations

import datetime as dt

from registry.db import Connection

_PARTICIPATIONS_DUE = """
    FROM participations p JOIN teams t ON t.id = p.team_id
    WHERE p.erased_at IS NULL
      AND (greatest(t.end_date, (p.facts->>'examDate')::date) + interval '30 years'
           + interval '28 days')::date < $1
      AND NOT EXISTS (SELECT 1 FROM certificates c
                      WHERE c.participation_id = p.id AND c.erased_at IS NULL
                        AND c.retain_until >= $1)
"""


async def due_participations(conn: Connection, as_of: dt.date) -> int:
    """How many participations are past retention: every certificate of them past it too, and
    30 years and the four-week retake window passed since the course's end or the exam."""
    return await _count(conn, _PARTICIPATIONS_DUE, as_of)


async def erase_participations(conn: Connection, as_of: dt.date, at: dt.datetime) -> int:
    """Blank name, CPR number and reported facts of the participations past retention."""
    sql = "UPDATE participations SET cpr = NULL, name = NULL, facts = '{}', erased_at = $2 "
    return _changed(
        await conn.execute(sql + "WHERE id IN (SELECT p.id " + _PARTICIPATIONS_DUE + ")", as_of, at)
    )


# Participation and combined documents (migration 0019): on the participations' schedule, 30
# years and four weeks after the last goal's end, the name and CPR number go; the row stays (which
# document, which goals, when) as the certificates' and participations' rows do.
_DOCUMENTS_DUE = """
    FROM other_documents d
    WHERE d.erased_at IS NULL
      AND ((SELECT max((g->>'end')::date) FROM jsonb_array_elements(d.goals) AS g)
           + interval '30 years' + interval '28 days')::date < $1
"""


async def due_documents(conn: Connection, as_of: dt.date) -> int:
    """How many participation and combined documents are past retention."""
    return await _count(conn, _DOCUMENTS_DUE, as_of)


async def erase_documents(conn: Connection, as_of: dt.date, at: dt.datetime) -> int:
    """Blank the name and CPR number of the documents past retention."""
    sql = "UPDATE other_documents SET cpr = NULL, name = NULL, erased_at = $2 "
    return _changed(
        await conn.execute(sql + "WHERE id IN (SELECT d.id " + _DOCUMENTS_DUE + ")", as_of, at)
    )


# Delivery's personal data (migrations 0003, 0009). Delivery's tables are not the register: they
# are not append-only, so these are plain UPDATE and DELETE statements; print_jobs' constraint
# makes the blanking whole.

_PRINT_JOBS_DUE = """
    FROM print_jobs WHERE erased_at IS NULL AND coalesce(printed_at, spooled_at) < $1
"""


async def due_print_jobs(conn: Connection, before: dt.datetime) -> int:
    """How many print jobs still hold a PDF and a name though printed (or, while nothing marks
    them printed, spooled) before ``before``."""
    return await _count(conn, _PRINT_JOBS_DUE, before)


async def erase_print_jobs(conn: Connection, before: dt.datetime, at: dt.datetime) -> int:
    """Blank the PDF and the name of those print jobs; the row stays as delivery history."""
    sql = "UPDATE print_jobs SET pdf = NULL, participant_name = NULL, erased_at = $2 "
    return _changed(
        await conn.execute(sql + "WHERE id IN (SELECT id " + _PRINT_JOBS_DUE + ")", before, at)
    )


# A person's consents to one school go when nothing of that person at that school holds personal
# data any more (certificates and participations are kept 30 years after the exam, above), and
# the latest answer is older than $2 (a consent recorded before the school reported the team).
_CONSENTS_DUE = """
    FROM (SELECT school_id, cpr FROM eboks_consents GROUP BY school_id, cpr
          HAVING max(recorded_at) < $1) AS x
    WHERE NOT EXISTS (SELECT 1 FROM certificates c
                      WHERE c.school_id = x.school_id AND c.cpr = x.cpr)
      AND NOT EXISTS (SELECT 1 FROM participations p JOIN teams t ON t.id = p.team_id
                      WHERE t.school_id = x.school_id AND p.cpr = x.cpr)
      AND NOT EXISTS (SELECT 1 FROM other_documents d
                      WHERE d.school_id = x.school_id AND d.cpr = x.cpr)
"""


async def due_consents(conn: Connection, recorded_before: dt.datetime) -> int:
    """How many (school, person) pairs have e-Boks consents past retention."""
    return await _count(conn, _CONSENTS_DUE, recorded_before)


async def erase_consents(conn: Connection, recorded_before: dt.datetime) -> int:
    """Delete every recorded answer of those pairs; returns how many pairs."""
    rows = await conn.fetch(
        "DELETE FROM eboks_consents e USING (SELECT x.school_id, x.cpr "  # noqa: S608 - constant text
        + _CONSENTS_DUE
        + ") AS due WHERE e.school_id = due.school_id AND e.cpr = due.cpr "
        "RETURNING e.school_id, e.cpr",
        recorded_before,
    )
    return len({(r["school_id"], r["cpr"]) for r in rows})


async def _count(conn: Connection, due: str, *args: object) -> int:
    """How many rows ``due`` (a FROM ... WHERE clause of this module's) selects."""
    count: int = await conn.fetchval("SELECT count(*) " + due, *args)
    return count


def _changed(status: str) -> int:
    """The row count of a command's status (``UPDATE 3``)."""
    return int(status.rsplit(maxsplit=1)[-1])
