"""A certificate as a Digital Post message in MeMo 1.2 (``memo-xsd/Version1.2/MeMo_core.xsd``),
and a participation or combined document (``formats.document``) the same way, titled as what
it is and without a signed record (``build_document_memo``).

The PDF is the main document the participant reads; the signed record (compact JWS) rides along
as a technical document so a mailbox or archive can verify it without asking us. The school is
the sender (CVR), the participant the recipient (CPR)::

    message = build_memo(record, message_uuid=job.message_uuid, pdf=pdf, signed_record=token,
                         sender=MemoSender(cvr="12345678", name="AMU Syd"), created_at=now)
    validate_memo(message, settings.memo_schema)   # MalformedDocumentError if not MeMo 1.2

Building needs no schema file; validating does, so its path is an argument (the settings point
at it) and the parsed schema is cached per path. The caller keeps ``message_uuid`` fixed per
certificate: a retried delivery then carries the same UUID and Digital Post drops the duplicate.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import re
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import NewType

from lxml import etree

from formats.document import OtherDocument, OtherDocumentKind
from formats.errors import FormatError, MalformedDocumentError
from formats.record import CertificateRecord
from formats.text import printable

MemoMessage = NewType("MemoMessage", bytes)

NS = "https://DigitalPost.dk/MeMo-1"
MEMO_VERSION = "1.2"
PDF_MEDIA_TYPE = "application/pdf"
JWS_MEDIA_TYPE = "application/jose"  # RFC 7515 §9.2.1: the compact serialization
LANGUAGE = "da"
CASE_SYSTEM = "AMU-bevis"

# Lengths from MeMo_dataTypes.xsd: memoTextType and memoNotificationType.
_TEXT_MAX = 256
_NOTIFICATION_MAX = 160
_CPR = re.compile(r"(?<!\d)\d{6}-?\d{4}(?!\d)")
_CVR = re.compile(r"\d{8}")
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class MemoSender:
    """The school as Digital Post knows it: its CVR number and the name shown to the reader."""

    cvr: str
    name: str


def build_memo(
    record: CertificateRecord,
    *,
    message_uuid: uuid.UUID,
    pdf: bytes,
    signed_record: str,
    sender: MemoSender,
    created_at: dt.datetime,
) -> MemoMessage:
    """The MeMo 1.2 message that delivers one certificate to the participant's digital mailbox.

    Raises FormatError if an input cannot be carried by MeMo: a message UUID that is not
    version 4 (the schema's pattern), a sender CVR that is not eight digits, a participant CPR
    that is not ten digits, a naive ``created_at``, or text with characters XML cannot hold;
    UnprintableTextError (a FormatError) for text that ``formats.text.printable`` refuses.
    """
    title = f"AMU-bevis: {record.goal.title}"
    stem = _filename_stem("AMU-bevis", record.number)
    return _message(
        _Content(
            title=title,
            notification=f"Du har fået et AMU-bevis fra {sender.name}",
            texts=(record.participant.name, record.goal.title),
            case_id=record.number,
            cpr=record.participant.cpr,
            name=record.participant.name,
            pdf_name=f"{stem}.pdf",
            pdf=pdf,
            technical=(f"{stem}.jws", signed_record.encode("ascii")),
        ),
        message_uuid=message_uuid,
        sender=sender,
        created_at=created_at,
    )


def build_document_memo(
    document: OtherDocument,
    *,
    message_uuid: uuid.UUID,
    pdf: bytes,
    sender: MemoSender,
    created_at: dt.datetime,
) -> MemoMessage:
    """The MeMo 1.2 message that delivers a participation or combined document: the PDF alone.

    Titled for what it is (deltagelsesbevis, samlet bevis), never an AMU certificate: the
    document has no certificate number and no signed record. Raises what ``build_memo`` raises.
    """
    if document.kind is OtherDocumentKind.PARTICIPATION:
        first = document.goals[0].title if document.goals else document.reference
        title = f"Deltagelsesbevis: {first}"
        notification = f"Du har fået et deltagelsesbevis fra {sender.name}"
        stem = _filename_stem("Deltagelsesbevis", document.reference)
    else:
        title = f"Samlet bevis for sammensat forløb: {document.reference}"
        notification = f"Du har fået et samlet bevis for et sammensat forløb fra {sender.name}"
        stem = _filename_stem("Samlet-bevis", document.reference)
    return _message(
        _Content(
            title=title,
            notification=notification,
            texts=(
                document.participant.name,
                document.reference,
                *(g.title for g in document.goals),
            ),
            case_id=document.id,
            cpr=document.participant.cpr,
            name=document.participant.name,
            pdf_name=f"{stem}.pdf",
            pdf=pdf,
            technical=None,
        ),
        message_uuid=message_uuid,
        sender=sender,
        created_at=created_at,
    )


@dataclass(frozen=True, slots=True)
class _Content:
    """What differs between the messages: the texts, the recipient, the files."""

    title: str
    notification: str
    texts: tuple[str, ...]  # the free texts ``formats.text.printable`` must accept
    case_id: str
    cpr: str
    name: str
    pdf_name: str
    pdf: bytes
    technical: tuple[str, bytes] | None  # the signed record (JWS) of a certificate


def _message(
    content: _Content, *, message_uuid: uuid.UUID, sender: MemoSender, created_at: dt.datetime
) -> MemoMessage:
    if message_uuid.version != 4:
        raise FormatError("message_uuid must be a version 4 UUID (MeMo memoUuidType)")
    if not _CVR.fullmatch(sender.cvr):
        raise FormatError("sender.cvr must be eight digits")
    cpr = content.cpr.replace("-", "")
    if not (len(cpr) == 10 and cpr.isascii() and cpr.isdigit()):
        raise FormatError("participant.cpr is not a CPR number")  # never echo the value
    # The same text rules as every other form: the school's input parsing applied them before
    # signing, so this only refuses records made some other way.
    for text in (*content.texts, sender.name):
        printable(text)
    try:
        message = _element("Message", memoVersion=MEMO_VERSION)
        header = _child(message, "MessageHeader")
        _text(header, "messageType", "DIGITALPOST")
        _text(header, "messageUUID", str(message_uuid))
        _text(header, "label", _fit(content.title, _TEXT_MAX))
        _text(header, "notification", _fit(content.notification, _NOTIFICATION_MAX))
        sender_el = _child(header, "Sender")
        _text(sender_el, "senderID", sender.cvr)
        _text(sender_el, "idType", "CVR")
        _text(sender_el, "label", _fit(sender.name, _TEXT_MAX))
        recipient = _child(header, "Recipient")
        _text(recipient, "recipientID", cpr)
        _text(recipient, "idType", "CPR")
        _text(recipient, "label", _fit(content.name, _TEXT_MAX))
        case = _child(_child(header, "ContentData"), "CaseID")
        _text(case, "caseID", _fit(content.case_id, _TEXT_MAX))
        _text(case, "caseSystem", CASE_SYSTEM)

        body = _child(message, "MessageBody")
        _text(body, "createdDateTime", _memo_datetime(created_at))
        main = _child(body, "MainDocument")
        _text(main, "label", _fit(content.title, _TEXT_MAX))
        _file(main, PDF_MEDIA_TYPE, content.pdf_name, content.pdf)
        if content.technical is not None:
            filename, data = content.technical
            technical = _child(body, "TechnicalDocument")
            _text(technical, "label", "Digitalt signerede bevisdata (JWS)")
            _file(technical, JWS_MEDIA_TYPE, filename, data)
    except (ValueError, UnicodeEncodeError) as e:
        # lxml refuses control characters and lone surrogates; a JWS is ASCII by definition.
        raise FormatError("the text holds characters a MeMo message cannot") from e
    return MemoMessage(
        etree.tostring(message, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    )


def validate_memo(message: bytes, schema_path: Path) -> None:
    """Check a message against the MeMo schema at ``schema_path`` (``Version1.2/MeMo_core.xsd``).

    Raises MalformedDocumentError with the schema's first complaint (CPR numbers blanked out)
    if the bytes are not well-formed XML or not a valid MeMo message, FormatError if the schema
    itself cannot be loaded.
    """
    schema, lock = _schema(schema_path.resolve())
    try:
        document = etree.fromstring(message, parser=_parser())
    except etree.XMLSyntaxError as e:
        raise MalformedDocumentError(f"not well-formed XML: {_redact(str(e))}") from e
    # The error log lives on the schema object: serialise use so messages never mix.
    with lock:
        try:
            schema.assertValid(document)
        except etree.DocumentInvalid as e:
            # lxml words the first error as "<message>, line <n>".
            raise MalformedDocumentError(f"not a valid MeMo 1.2 message: {_redact(str(e))}") from e


@functools.cache
def _schema(path: Path) -> tuple[etree.XMLSchema, threading.Lock]:
    try:
        schema = etree.XMLSchema(etree.parse(str(path), parser=_parser()))
    except (OSError, etree.XMLSyntaxError, etree.XMLSchemaParseError) as e:
        raise FormatError(f"cannot load the MeMo schema at {path}") from e
    return schema, threading.Lock()


def _parser() -> etree.XMLParser:
    # No entity expansion, no network: messages may come back from outside.
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)


def _redact(text: str) -> str:
    return _CPR.sub("[CPR]", text)


def _element(name: str, **attributes: str) -> etree._Element:
    return etree.Element(f"{{{NS}}}{name}", attributes, nsmap={"memo": NS})


def _child(parent: etree._Element, name: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{NS}}}{name}")


def _text(parent: etree._Element, name: str, value: str) -> None:
    _child(parent, name).text = value


def _file(parent: etree._Element, media_type: str, filename: str, content: bytes) -> None:
    file = _child(parent, "File")
    _text(file, "encodingFormat", media_type)
    _text(file, "filename", filename)
    _text(file, "language", LANGUAGE)
    _text(file, "content", base64.b64encode(content).decode("ascii"))


def _fit(text: str, limit: int) -> str:
    """Shorten text to the schema's limit (counted in characters), marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _filename_stem(prefix: str, name: str) -> str:
    safe = _UNSAFE_FILENAME.sub("-", name).strip("-.")
    return (f"{prefix}-{safe}" if safe else prefix)[: _TEXT_MAX - len(".pdf")]


def _memo_datetime(moment: dt.datetime) -> str:
    if moment.utcoffset() is None:
        raise FormatError("created_at must be timezone-aware")
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
