"""The other documents a school issues besides AMU certificates: what they say, not how.

Two kinds (DOMAIN.md): the participation document (deltagelsesbevis) for a participant who got
no certificate, saying when and which goal they attended; and the combined document of a
composite course (samlet bevis for sammensat forløb), listing the goals completed together.
Neither is an AMU certificate: no certificate number, never registered, logged, reported or
verified as one. Their PDF is drawn by ``formats.pdf_layout`` and signed by ``formats.pdf``::

    document = OtherDocument(id="…", kind=OtherDocumentKind.PARTICIPATION, …)
    pdf = signer.render_document(document, signed_at=document.issued_at)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from formats.record import Participant, School


class OtherDocumentKind(StrEnum):
    PARTICIPATION = "participation"  # deltagelsesbevis
    COMBINED = "combined"  # samlet bevis for et sammensat forløb


@dataclass(frozen=True, slots=True)
class DocumentGoal:
    """One goal the document names, with the days it ran."""

    number: str
    title: str
    duration_days: str  # decimal as text, as in the certificate record
    start: dt.date
    end: dt.date


@dataclass(frozen=True, slots=True)
class OtherDocument:
    """One participation or combined document as the school issued it.

    ``reference`` is the team's reference (participation) or the composite course's (combined).
    """

    id: str
    kind: OtherDocumentKind
    participant: Participant
    school: School
    reference: str
    goals: tuple[DocumentGoal, ...]
    issued_at: dt.datetime  # UTC, whole seconds
