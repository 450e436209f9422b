"""What the templates show: certificates and verification results as plain Danish view models.

The annotation sentences are the paper certificate's own (``formats.pdf_text``), so the digital
and the paper versions say the same thing in the same words (DOMAIN.md, 001).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from formats import pdf_text
from formats.record import CertificateRecord
from registry.access_store import Channel
from registry.certificate_store import StoredCertificate
from registry.verification import Verification, VerificationStatus

STATUS_TEXT = {
    "valid": "Gyldigt",
    "cancelled": "Annulleret",
    "revoked": "Tilbagekaldt",
    "unknown": "Ukendt",
    "invalid": "Ugyldigt",
    "key-revoked": "Signeret med en kompromitteret nøgle",
}

# The reason categories of cancellations and revocations (issuers.corrections), in Danish.
REASON_TEXT = {
    "participant-data": "fejl i deltagerens oplysninger",
    "course-data": "fejl i kursets oplysninger",
    "result-data": "fejl i resultatet",
    "other-error": "anden fejl",
    "issued-in-error": "udstedt ved en fejl",
    "exam-annulled": "prøven er annulleret",
    "fraud": "snyd",
    "other": "anden årsag",
}

CHANNEL_TEXT = {
    Channel.SHARE_LINK: "Delt link",
    Channel.VERIFY_PAGE: "Tjek et bevis (nummer og kode)",
    Channel.VERIFY_API: "Opslag via API (nummer og kode)",
}


@dataclass(frozen=True, slots=True)
class CertificateView:
    number: str
    goal_number: str
    goal_title: str
    duration: str
    school_name: str
    period: str
    issued: str
    participant_name: str
    annotations: list[str]
    replaces: str | None
    status: str  # valid, cancelled, revoked
    status_text: str
    status_at: str | None
    replaced_by: str | None
    status_reason: str | None = None


def certificate_view(
    record: CertificateRecord,
    *,
    status: str = "valid",
    status_at: dt.datetime | None = None,
    replaced_by: str | None = None,
    status_reason: str | None = None,
) -> CertificateView:
    return CertificateView(
        number=record.number,
        goal_number=record.goal.number,
        goal_title=record.goal.title,
        duration=pdf_text.duration(record.goal.duration_days),
        school_name=record.school.name,
        period=pdf_text.course_period(record.course_start, record.course_end),
        issued=pdf_text.issue_date(record.issued_at),
        participant_name=record.participant.name,
        annotations=pdf_text.annotation_lines(record.annotations),
        replaces=record.replaces,
        status=status,
        status_text=STATUS_TEXT[status],
        status_at=when(status_at) if status_at else None,
        replaced_by=replaced_by,
        status_reason=REASON_TEXT.get(status_reason or "", status_reason),
    )


def holder_view(stored: StoredCertificate, record: CertificateRecord) -> CertificateView:
    """A certificate of the register as its holder sees it: with its status, if it has one."""
    status = stored.status
    return certificate_view(
        record,
        status=status.kind if status else "valid",
        status_at=status.at if status else None,
        replaced_by=status.replaced_by if status else None,
    )


def verification_view(v: Verification) -> CertificateView | None:
    if v.record is None:
        return None
    return certificate_view(
        v.record,
        status=v.status.value,
        status_at=v.status_at,
        replaced_by=v.replaced_by,
        status_reason=v.status_reason,
    )


def when(at: dt.datetime) -> str:
    """A moment as a Dane reads it: ``20. november 2026 kl. 10.30`` in Danish time."""
    local = at.astimezone(pdf_text.DANISH_TIME)
    return f"{pdf_text.danish_date(local.date())} kl. {local:%H.%M}"


def day(value: dt.date) -> str:
    return pdf_text.danish_date(value)


def is_checked(v: Verification) -> bool:
    """Signature and log inclusion were checked and held (the status came from a real record)."""
    return v.status not in (VerificationStatus.UNKNOWN, VerificationStatus.INVALID)
