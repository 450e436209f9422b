"""The channels a certificate travels through, as small ports.

Adapters are named for their technology and the port they fill (``GatewayDigitalPost`` /
``MemoryDigitalPost``); the settings choose which (``service.adapters``). Every adapter
of a port passes the same contract tests (``tests/issuers/delivery/test_contracts.py``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Protocol

from formats.memo import MemoMessage, MemoSender
from formats.record import CertificateRecord
from issuers.other_document_store import StoredDocument
from registry.certificate_store import StoredCertificate
from registry.db import Connection

Receipt = str
"""What a channel answers for a delivered message: its id there (a message receipt, a path)."""


class DigitalPost(Protocol):
    """Digital Post (public schools): a lookup, then the MeMo message."""

    async def can_receive(self, cpr: str) -> bool:
        """Whether the person can receive digital post (False: exempt, send on paper).

        Raises ChannelUnavailableError when the lookup cannot be answered now.
        """

    async def send(self, message: MemoMessage, message_uuid: uuid.UUID) -> Receipt:
        """Deliver one MeMo message. Sending the same ``message_uuid`` again delivers nothing
        new and returns the first receipt. Raises ChannelUnavailableError (try again later) or
        ChannelRefusedError (the message itself was refused)."""


class Eboks(Protocol):
    """e-Boks through a distributor (private schools, with the participant's consent)."""

    async def send(self, message: MemoMessage, message_uuid: uuid.UUID) -> Receipt:
        """Deliver one MeMo message; the same contract as ``DigitalPost.send``."""


@dataclass(frozen=True, slots=True)
class PrintItem:
    """One paper certificate, or participation or combined document, for a school's print list.
    No CPR number: the PDF carries it. Exactly one of ``certificate_number`` and ``document_id``
    is set; a document has its ``document_title`` instead of a certificate number."""

    spool_key: str  # the same key spools once, however often it is sent
    school_id: str
    certificate_number: str | None
    participant_name: str
    reason: str
    day: dt.date  # the print list it belongs to
    at: dt.datetime
    pdf: bytes
    document_id: uuid.UUID | None = None
    document_title: str | None = None

    def __post_init__(self) -> None:
        if (self.certificate_number is None) == (self.document_id is None):
            raise ValueError("a print item is a certificate or a document, not both or neither")
        if (self.document_id is None) != (self.document_title is None):
            raise ValueError("a document's print item has a title, a certificate's has none")


@dataclass(frozen=True, slots=True)
class PrintListEntry:
    """A line of the print list: a certificate (its number) or a document (its title)."""

    certificate_number: str | None
    participant_name: str
    reason: str
    spooled_at: dt.datetime
    receipt: Receipt
    document_title: str | None = None


class PrintSpool(Protocol):
    """Where paper certificates (and participation and combined documents) wait to be printed
    and posted, one list per school and day."""

    async def spool(self, item: PrintItem) -> Receipt:
        """Add the item to its print list; a repeated ``spool_key`` adds nothing."""

    async def daily_list(self, school_id: str, day: dt.date) -> list[PrintListEntry]:
        """The school's print list for ``day``, in the order the items came."""


class Documents(Protocol):
    """What delivery sends of a certificate, or of a participation or combined document, made
    as every other copy of it is (``issuers.documents.CertificateDocuments``)."""

    async def pdf(self, conn: Connection, record: CertificateRecord, *, code: str) -> bytes:
        """The signed PDF the participant reads, with ``code`` (XXXX-XXXX) printed on it."""

    async def memo(
        self,
        conn: Connection,
        record: CertificateRecord,
        stored: StoredCertificate,
        *,
        code: str,
        message_uuid: uuid.UUID,
        sender: MemoSender,
    ) -> MemoMessage:
        """The MeMo message around that PDF, the same bytes on every retry but the PDF's."""

    async def document_pdf(self, conn: Connection, document: StoredDocument) -> bytes:
        """The signed PDF of a participation or combined document, as the participant downloads
        it (for the print list)."""

    async def document_memo(
        self,
        conn: Connection,
        document: StoredDocument,
        *,
        message_uuid: uuid.UUID,
        sender: MemoSender,
    ) -> MemoMessage:
        """The MeMo message of a participation or combined document around its signed PDF,
        titled as that document (never as an AMU certificate)."""
