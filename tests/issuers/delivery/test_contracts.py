"""One contract per port, run over every adapter of it (as Litestar's channel-backend tests do):
the in-process adapters behave as the real ones, so tests on them say something."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest

from formats.memo import MemoMessage, MemoSender, build_memo
from formats.pdf_text import masked_cpr
from formats.record import (
    Annotations,
    CertificateKind,
    CertificateRecord,
    Goal,
    Participant,
    School,
)
from issuers import school_store
from issuers.delivery.digitalpost import GatewayDigitalPost, MemoryDigitalPost
from issuers.delivery.eboks import GatewayEboks, MemoryEboks
from issuers.delivery.ports import DigitalPost, Documents, Eboks, PrintItem, PrintSpool
from issuers.delivery.spool import FolderPrintSpool, TablePrintSpool
from issuers.document_keys import DevelopmentAuthority, DocumentSigners, NoDocumentCertificateError
from issuers.documents import CertificateDocuments
from registry import db
from registry.keys import MemoryKeyStore
from tests.formats.test_pdf import _flat, _pdftotext
from tests.helpers import ASE, BO
from tests.service.digitalpost.support import UnsignedPdfDocuments, real_clock, running_test_server

RECORD = CertificateRecord(
    number="2026-0000042",
    kind=CertificateKind.AMU,
    participant=Participant(cpr=ASE, name="Åse Ødegård"),
    goal=Goal("48113", "Hygiejne for fødevarebranchen", "1.0"),
    school=School("751234", "Erhvervsskolen Nordvest"),
    team="H-101",
    course_start=dt.date(2026, 11, 9),
    course_end=dt.date(2026, 11, 10),
    exam_date=dt.date(2026, 11, 10),
    issued_at=dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC),
    annotations=Annotations(exam_passed=True, dispensation=False, ikv=False),
)


def _message(message_uuid: uuid.UUID) -> MemoMessage:
    return build_memo(
        RECORD,
        message_uuid=message_uuid,
        pdf=b"%PDF-1.7\n%%EOF\n",
        signed_record="e30.e30.c2ln",
        sender=MemoSender(cvr="29183746", name="Erhvervsskolen Nordvest"),
        created_at=RECORD.issued_at,
    )


@dataclass
class MailboxUnderTest:
    """An adapter and a way to count what its far side kept under one UUID."""

    adapter: DigitalPost | Eboks
    kept: Callable[[uuid.UUID], int]


@pytest.fixture(params=["memory", "http"])
async def digital_post(request: pytest.FixtureRequest) -> AsyncIterator[MailboxUnderTest]:
    if request.param == "memory":
        memory = MemoryDigitalPost(exempt=frozenset({BO}))
        yield MailboxUnderTest(memory, lambda u: int(u in memory.messages))
        return
    with running_test_server(exempt=(BO,)) as (server, url):
        async with httpx.AsyncClient(timeout=5) as http:
            yield MailboxUnderTest(
                GatewayDigitalPost(http, url), lambda u: int(u in server.received())
            )


@pytest.fixture(params=["memory", "http"])
async def eboks(request: pytest.FixtureRequest) -> AsyncIterator[MailboxUnderTest]:
    if request.param == "memory":
        memory = MemoryEboks()
        yield MailboxUnderTest(memory, lambda u: int(u in memory.messages))
        return
    with running_test_server() as (server, url):
        async with httpx.AsyncClient(timeout=5) as http:
            yield MailboxUnderTest(
                GatewayEboks(http, f"{url}/eboks"), lambda u: int(u in server.received())
            )


async def test_digital_post_tells_who_can_receive(digital_post: MailboxUnderTest) -> None:
    adapter = digital_post.adapter
    assert isinstance(adapter, GatewayDigitalPost | MemoryDigitalPost)
    assert await adapter.can_receive(ASE) is True
    assert await adapter.can_receive(BO) is False


async def test_digital_post_keeps_one_message_per_uuid(digital_post: MailboxUnderTest) -> None:
    await _keeps_one_message_per_uuid(digital_post)


async def test_eboks_keeps_one_message_per_uuid(eboks: MailboxUnderTest) -> None:
    await _keeps_one_message_per_uuid(eboks)


async def _keeps_one_message_per_uuid(mailbox: MailboxUnderTest) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    receipt = await mailbox.adapter.send(_message(first), first)
    assert receipt
    assert await mailbox.adapter.send(_message(first), first) == receipt
    other = await mailbox.adapter.send(_message(second), second)
    assert other != receipt
    assert (mailbox.kept(first), mailbox.kept(second)) == (1, 1)


@pytest.fixture(params=["folder", "table"])
async def spool(
    request: pytest.FixtureRequest,
    conn: asyncpg.Connection,
    database_url: str,
    schema: str,
    tmp_path: Path,
) -> AsyncIterator[PrintSpool]:
    if request.param == "folder":
        yield FolderPrintSpool(tmp_path / "spool")
        return
    # The print-job table refers to a certificate: give it one.
    await conn.execute(
        """INSERT INTO schools (id, name, cvr, ownership)
           VALUES ('751234', 'Erhvervsskolen Nordvest', '29183746', 'public'),
                  ('863410', 'Kursuscenter Øresund ApS', '38127456', 'private');
           INSERT INTO school_keys (kid, school_id, public_key, valid_from)
           VALUES ('k', '751234', decode(repeat('00', 32), 'hex'), now());
           INSERT INTO certificates (number, school_id, cpr, kid, payload, jws,
                                     verification_code, issued_at)
           VALUES ('2026-0000042', '751234', '010190-1234', 'k',
                   convert_to('{"courseEnd": "2026-11-10", "examDate": null}', 'UTF8'), 'x',
                   'ABCDEFGH', now())"""
    )
    pool = await db.create_pool(database_url, schema=schema, size=2)
    try:
        yield TablePrintSpool(pool)
    finally:
        await pool.close()


def _item(key: str, *, school: str = "751234", day: int = 20, second: int = 0) -> PrintItem:
    return PrintItem(
        spool_key=key,
        school_id=school,
        certificate_number="2026-0000042",
        participant_name="Åse Ødegård",
        reason="exempt-from-digital-post",
        day=dt.date(2026, 11, day),
        at=dt.datetime(2026, 11, day, 10, 0, second, tzinfo=dt.UTC),
        pdf=b"%PDF-1.7\n%%EOF\n",
    )


async def test_a_spool_lists_each_key_once_per_school_and_day(spool: PrintSpool) -> None:
    receipt = await spool.spool(_item("job-1"))
    assert await spool.spool(_item("job-1")) == receipt
    second = await spool.spool(_item("job-2", second=1))
    await spool.spool(_item("job-3", day=21))
    await spool.spool(_item("job-4", school="863410"))

    listed = await spool.daily_list("751234", dt.date(2026, 11, 20))
    assert [e.receipt for e in listed] == [receipt, second]
    assert listed[0].participant_name == "Åse Ødegård"
    assert listed[0].reason == "exempt-from-digital-post"
    assert await spool.daily_list("751234", dt.date(2026, 11, 22)) == []


@pytest.fixture(params=["unsigned", "signed"])
async def documents(
    request: pytest.FixtureRequest, conn: asyncpg.Connection, keys: MemoryKeyStore
) -> Documents:
    if request.param == "unsigned":
        return UnsignedPdfDocuments("https://bevis.example", memo_schema=None)
    await school_store.insert_school(
        conn, school_id="751234", name="Erhvervsskolen Nordvest", cvr="29183746", ownership="public"
    )
    await DevelopmentAuthority(keys).certify(
        conn,
        school_id="751234",
        school_name="Erhvervsskolen Nordvest",
        now=RECORD.issued_at - dt.timedelta(days=1),
    )
    return _signed(keys)


def _signed(keys: MemoryKeyStore) -> CertificateDocuments:
    return CertificateDocuments(
        keys,
        DocumentSigners(keys),
        real_clock,
        public_base_url="https://bevis.example",
        memo_schema=None,
    )


@pytest.mark.external
async def test_the_documents_give_a_pdf(documents: Documents, conn: asyncpg.Connection) -> None:
    pdf = await documents.pdf(conn, RECORD, code="ABCD-EFGH")
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    # The page's text is in compressed streams, so search what a reader extracts, not the bytes.
    text = _flat(_pdftotext(pdf))
    assert RECORD.participant.name in text
    assert f"{RECORD.number} " in f"{text} "
    assert "ABCD-EFGH" in text
    assert masked_cpr(ASE) in text
    assert ASE not in text  # never the full CPR number
    assert ASE.replace("-", "") not in text


async def test_the_signed_pdf_needs_the_school_s_document_certificate(
    conn: asyncpg.Connection, keys: MemoryKeyStore
) -> None:
    with pytest.raises(NoDocumentCertificateError):
        await _signed(keys).pdf(conn, RECORD, code="ABCD-EFGH")
