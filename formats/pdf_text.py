"""The Danish words on the paper certificate: dates, durations, the annotations, the CPR mask.

Pure and separate from the drawing so each sentence can be tested on its own::

    annotation_lines(record.annotations)  # ["Prøven er bestået."]
    verification_url("https://tjek.example", "K-1", "ABCD")  # ".../tjek/K-1?kode=ABCD"

The CPR number is printed masked (DDMMYY-xxxx). The paper copy exists to be shown to an
employer or an authority (DOMAIN.md, "Delivery"), and a CPR number is shown unmasked only to
the participant and the issuing school ("Personal data"). The birth date part together with
the name is enough to match the paper to a person's ID; the QR code leads to the registry's
record for anything more.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from urllib.parse import quote
from zoneinfo import ZoneInfo

from formats.errors import FormatError
from formats.record import Annotations, CertificateKind, CertificateRecord

DANISH_TIME = ZoneInfo("Europe/Copenhagen")

_MONTHS = (
    "januar",
    "februar",
    "marts",
    "april",
    "maj",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "december",
)
_CPR = re.compile(r"(\d{6})-?\d{4}")

EXAM_PASSED = "Prøven er bestået."
EXAM_NOT_PASSED = "Prøven er ikke bestået."
DISPENSATION = "Beviset er udstedt på grundlag af fritagelse for prøven (§ 18, stk. 6, 3. pkt.)."
IKV = "Beviset er opnået gennem individuel kompetencevurdering (IKV)."
NO_EXAM = "Der var ikke knyttet en prøve til AMU-målet."
# The legal basis: the act on labour-market training, and the AMU order the seeds (001) name as
# where the exam and certificate rules are laid down ("AMU-bekendtgørelsen").
LEGAL_BASIS = (
    "Beviset er udstedt efter lov om arbejdsmarkedsuddannelser m.v. og AMU-bekendtgørelsen."
)
NOT_A_CERTIFICATE = (
    "Dette dokument er ikke et AMU-bevis. Det giver ikke kompetence som et AMU-bevis "
    "og er ikke registreret i bevisdatabasen."
)
PARTICIPATION_TITLE = ("Deltagelsesbevis", "Dokumentation for deltagelse i undervisning")
COMBINED_TITLE = ("Samlet bevis", "for sammensat forløb")


def danish_date(day: dt.date) -> str:
    """A date the Danish way, e.g. ``3. februar 2025``."""
    return f"{day.day}. {_MONTHS[day.month - 1]} {day.year}"


def issue_date(issued_at: dt.datetime) -> str:
    """The issue date as a Dane reads it: the calendar day in Danish time."""
    return danish_date(issued_at.astimezone(DANISH_TIME).date())


def course_period(start: dt.date, end: dt.date) -> str:
    """``3. februar 2025 – 7. februar 2025``, or one date for a one-day course."""
    if start == end:
        return danish_date(start)
    return f"{danish_date(start)} – {danish_date(end)}"


def duration(days: str) -> str:
    """A duration in days with a decimal comma: ``"2.5"`` gives ``2,5 dage``, ``"1"`` ``1 dag``.

    Raises FormatError if ``days`` is not a decimal number.
    """
    try:
        value = Decimal(days)
    except InvalidOperation as e:
        raise FormatError("goal.duration_days is not a decimal number") from e
    text = format(value.normalize(), "f").replace(".", ",")
    return f"{text} {'dag' if value == 1 else 'dage'}"


def masked_cpr(cpr: str) -> str:
    """``DDMMYY-xxxx``: the birth date part only.

    Raises FormatError (without the number in the message) if it is not a CPR number.
    """
    match = _CPR.fullmatch(cpr.strip())
    if match is None:
        raise FormatError("participant.cpr is not of the form DDMMYY-SSSS")
    return f"{match.group(1)}-xxxx"


def heading(kind: CertificateKind) -> tuple[str, str]:
    """The title and the line under it for each kind of certificate."""
    if kind is CertificateKind.IKV_ACTIVITY:
        return "AMU-bevis", "for individuel kompetencevurdering (IKV)"
    return "AMU-bevis", "Arbejdsmarkedsuddannelse"


def signed_by(school_name: str, *, certificate: bool) -> str:
    """The footer naming the issuing school as the signer of the PDF."""
    what = "Beviset" if certificate else "Dokumentet"
    return (
        f"{what} er underskrevet digitalt af {school_name}. "
        "Den digitale underskrift følger med PDF-filen, ikke med en udskrift"
        + (": kontrollér en udskrift med QR-koden." if certificate else ".")
    )


def annotation_lines(annotations: Annotations) -> list[str]:
    """The three annotations (DOMAIN.md, 001) in plain Danish sentences.

    An exemption from the exam means the exam was not taken, so "not passed" is not printed
    beside it. With no annotation at all, the goal had no exam on the course's start date.
    Special exam conditions are not part of the record and so can never be printed.
    """
    lines: list[str] = []
    if annotations.exam_passed is True:
        lines.append(EXAM_PASSED)
    elif annotations.exam_passed is False and not annotations.dispensation:
        lines.append(EXAM_NOT_PASSED)
    if annotations.dispensation:
        lines.append(DISPENSATION)
    if annotations.ikv:
        lines.append(IKV)
    if not lines:
        lines.append(NO_EXAM)
    return lines


def replaces_line(record: CertificateRecord) -> str | None:
    """The sentence naming the cancelled certificate this one replaces, if any."""
    if record.replaces is None:
        return None
    return f"Dette bevis erstatter bevis nr. {record.replaces}, som er annulleret."


def verification_url(base_url: str, number: str, code: str) -> str:
    """``<base>/tjek/<number>?kode=<code>``, with both parts percent-encoded.

    Raises FormatError if the base is not an http(s) URL.
    """
    if not base_url.startswith(("https://", "http://")):
        raise FormatError("verify_base_url must be an http(s) URL")
    return f"{base_url.rstrip('/')}/tjek/{quote(number, safe='')}?kode={quote(code, safe='')}"
