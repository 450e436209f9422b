"""Delivery of participation and combined documents (issuers/delivery/document_delivery.py):
the certificates' worker takes their jobs from the same outbox transaction, sends each once as a
valid MeMo message titled as the document it is, and puts its signed PDF on the school's print
list, like a certificate's, when the participant cannot receive it digitally."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from lxml import etree

from formats.memo import NS, MemoMessage, validate_memo
from issuers.delivery import document_job_store
from issuers.delivery.digitalpost import MemoryDigitalPost
from issuers.delivery.document_delivery import EXEMPT, NO_CONSENT
from issuers.delivery.eboks import MemoryEboks
from issuers.delivery.errors import ChannelRefusedError
from issuers.delivery.job_store import Channel, JobState
from issuers.delivery.ports import Receipt
from issuers.delivery.spool import FolderPrintSpool, TablePrintSpool
from issuers.delivery.worker import Channels, Worker
from issuers.document_keys import DocumentSigners
from issuers.documents import CertificateDocuments
from registry import db
from registry.clock import today_in_denmark
from registry.keys import MemoryKeyStore
from service.settings import Settings
from tests.conftest import Demo, FixedClock
from tests.helpers import ASE, BO, Client, post_team, team_body
from tests.service.digitalpost.support import drain, fast_policy, memo_schema

M = f"{{{NS}}}"


def _body(reference: str = "H-docs") -> dict[str, Any]:
    body = team_body(
        [
            {"cpr": ASE, "name": "Åse Ødegård", "exam": "passed"},
            {"cpr": BO, "name": "Bo Jensen", "droppedOut": True},
        ],
        reference=reference,
    )
    body["team"]["participationDocuments"] = True
    return body


@pytest.fixture
def post() -> MemoryDigitalPost:
    return MemoryDigitalPost()


@pytest.fixture
def eboks() -> MemoryEboks:
    return MemoryEboks()


@pytest.fixture
async def worker(
    settings: Settings,
    clock: FixedClock,
    keys: MemoryKeyStore,
    post: MemoryDigitalPost,
    eboks: MemoryEboks,
) -> AsyncIterator[Worker]:
    """A worker with the app's keys, so the demo schools' document certificates sign the PDFs,
    and every MeMo message checked against the official schema before it is sent."""
    assert settings.database_url is not None
    pool = await db.create_pool(settings.database_url, schema=settings.database_schema, size=2)
    documents = CertificateDocuments(
        keys,
        DocumentSigners(keys),
        clock,
        public_base_url="http://testserver.local",
        memo_schema=memo_schema(),
    )
    channels = Channels(digital_post=post, eboks=eboks, spool=worker_spool(settings))
    try:
        yield Worker(pool, channels, documents, fast_policy(), clock, name="documents-test")
    finally:
        await pool.close()


async def _document_id(conn: asyncpg.Connection) -> Any:
    ids = await conn.fetch("SELECT id FROM other_documents")
    assert len(ids) == 1
    return ids[0]["id"]


async def test_a_participation_document_is_delivered_once_as_valid_memo(
    client: Client,
    seeded: Demo,
    conn: asyncpg.Connection,
    worker: Worker,
    post: MemoryDigitalPost,
) -> None:
    response = await post_team(client, seeded.public, _body())
    assert response.status_code == 201, response.text
    document_id = await _document_id(conn)

    assert await drain(worker) == 2  # Åse's certificate, then Bo's participation document
    assert await drain(worker) == 0
    state = await document_job_store.state_of(conn, document_id)
    assert state is not None
    assert (state.state, state.channel, state.attempts) == (
        JobState.DELIVERED,
        Channel.DIGITAL_POST,
        1,
    )
    assert post.sends == 2
    documents = [
        m
        for m in post.messages.values()
        if m.find(b"Deltagelsesbevis") >= 0 and m.find(b"AMU-bevis:") < 0
    ]
    assert len(documents) == 1
    validate_memo(documents[0], memo_schema())
    root = etree.fromstring(documents[0])
    assert root.findtext(f"{M}MessageHeader/{M}Recipient/{M}recipientID") == BO.replace("-", "")
    assert (root.findtext(f"{M}MessageHeader/{M}label") or "").startswith("Deltagelsesbevis: ")
    assert root.find(f"{M}MessageBody/{M}TechnicalDocument") is None
    pdf = root.findtext(f"{M}MessageBody/{M}MainDocument/{M}File/{M}content")
    assert pdf  # the signed PDF rides along (its content is tested in tests/formats)
    # Never a certificate's delivery: no row in the certificates' queue names it.
    assert await conn.fetchval("SELECT count(*) FROM delivery_jobs") == 1


async def test_an_exempt_participant_s_document_is_spooled_once_as_a_pdf(
    client: Client,
    seeded: Demo,
    conn: asyncpg.Connection,
    worker: Worker,
    post: MemoryDigitalPost,
    settings: Settings,
    clock: FixedClock,
) -> None:
    post.exempt.update({ASE, BO})
    assert (await post_team(client, seeded.public, _body())).status_code == 201
    document_id = await _document_id(conn)
    assert await drain(worker) == 2  # Åse's certificate and Bo's document, both on paper
    state = await document_job_store.state_of(conn, document_id)
    assert state is not None
    assert (state.state, state.channel, state.note) == (JobState.DELIVERED, Channel.PAPER, EXEMPT)
    assert post.sends == 0

    # The app's folder spool: the document's PDF once, beside the certificate's.
    pdfs = sorted(worker_spool_dir(settings).rglob("*.pdf"))
    assert len(pdfs) == 2
    [document_pdf] = [p for p in pdfs if p.name.startswith("document--")]
    assert document_pdf.read_bytes().startswith(b"%PDF-")

    # The school's print list shows it by its title, the certificate by its number as before.
    listed = await client.get(
        "/api/schools/751234/print-list",
        params={"date": today_in_denmark(clock.now).isoformat()},
        headers=seeded.school(seeded.public),
    )
    assert listed.status_code == 200, listed.text
    by_name = {e["participantName"]: e for e in listed.json()}
    assert set(by_name) == {"Åse Ødegård", "Bo Jensen"}
    assert set(by_name["Åse Ødegård"]) == {
        "certificateNumber",
        "participantName",
        "reason",
        "spooledAt",
        "receipt",
    }
    assert "certificateNumber" not in by_name["Bo Jensen"]
    assert by_name["Bo Jensen"]["documentTitle"].startswith("Deltagelsesbevis: ")
    assert by_name["Bo Jensen"]["reason"] == EXEMPT

    # Done on paper: later looks neither print it again nor send it.
    clock.now += dt.timedelta(hours=2)
    post.exempt.clear()
    await drain(worker)  # Åse's certificate goes digitally after paper; the document stays done
    assert len(list(worker_spool_dir(settings).rglob("*.pdf"))) == 2
    state = await document_job_store.state_of(conn, document_id)
    assert state is not None
    assert (state.state, state.channel, state.attempts) == (JobState.DELIVERED, Channel.PAPER, 1)


async def test_an_exempt_participant_s_document_is_on_the_school_s_print_list(
    client: Client,
    seeded: Demo,
    conn: asyncpg.Connection,
    settings: Settings,
    clock: FixedClock,
    keys: MemoryKeyStore,
) -> None:
    """The table spool: one print job naming the document, not a certificate, listed by its
    title; the certificate's print job and line unchanged."""
    post = MemoryDigitalPost()
    post.exempt.update({ASE, BO})
    assert (await post_team(client, seeded.public, _body())).status_code == 201
    document_id = await _document_id(conn)
    assert settings.database_url is not None
    pool = await db.create_pool(settings.database_url, schema=settings.database_schema, size=2)
    try:
        documents = CertificateDocuments(
            keys,
            DocumentSigners(keys),
            clock,
            public_base_url="http://testserver.local",
            memo_schema=None,
        )
        channels = Channels(digital_post=post, eboks=MemoryEboks(), spool=TablePrintSpool(pool))
        worker = Worker(pool, channels, documents, fast_policy(), clock, name="table-spool")
        assert await drain(worker) == 2
        assert await drain(worker) == 0
        listed = await TablePrintSpool(pool).daily_list("751234", today_in_denmark(clock.now))
    finally:
        await pool.close()
    assert [(e.participant_name, e.document_title is None) for e in listed] == [
        ("Åse Ødegård", True),
        ("Bo Jensen", False),
    ]
    assert listed[1].certificate_number is None
    assert listed[1].document_title is not None
    assert listed[1].document_title.startswith("Deltagelsesbevis: ")
    rows = await conn.fetch(
        """SELECT certificate_number, document_id, document_title, pdf FROM print_jobs
           ORDER BY id"""
    )
    assert len(rows) == 2
    certificate, document = rows
    assert certificate["certificate_number"] is not None
    assert certificate["document_id"] is None
    assert document["certificate_number"] is None
    assert document["document_id"] == document_id
    assert bytes(document["pdf"]).startswith(b"%PDF-")

    # The document never enters the certificates' queue.
    assert await conn.fetchval("SELECT count(DISTINCT certificate_number) FROM delivery_jobs") == 1


def worker_spool_dir(settings: Settings) -> Path:
    return settings.delivery.print_spool_dir or settings.data_dir / "print-spool"


def worker_spool(settings: Settings) -> FolderPrintSpool:
    """The app's folder spool, so the API's print list shows what this worker spooled."""
    return FolderPrintSpool(worker_spool_dir(settings))


async def test_a_private_school_s_document_goes_on_paper_without_consent_else_eboks(
    client: Client,
    seeded: Demo,
    conn: asyncpg.Connection,
    worker: Worker,
    eboks: MemoryEboks,
) -> None:
    response = await post_team(client, seeded.private, _body("P-docs"), school="863410")
    assert response.status_code == 201, response.text
    document_id = await _document_id(conn)
    await drain(worker)
    state = await document_job_store.state_of(conn, document_id)
    assert state is not None
    assert (state.state, state.channel, state.note) == (
        JobState.DELIVERED,
        Channel.PAPER,
        NO_CONSENT,
    )
    assert eboks.sends == 0

    # With consent recorded first, the next team's document goes to e-Boks.
    consent = await client.post(
        "/api/schools/863410/eboks-consents",
        json={"cpr": BO},
        headers={**seeded.school(seeded.private), "Idempotency-Key": "consent-bo"},
    )
    assert consent.status_code == 201, consent.text
    response = await post_team(
        client, seeded.private, _body("P-docs-2"), school="863410", key="key-2"
    )
    assert response.status_code == 201, response.text
    later = await conn.fetchval("SELECT id FROM other_documents WHERE reference = 'P-docs-2'")
    await drain(worker)
    state = await document_job_store.state_of(conn, later)
    assert state is not None
    assert (state.state, state.channel) == (JobState.DELIVERED, Channel.EBOKS)
    assert eboks.sends == 1
    validate_memo(next(iter(eboks.messages.values())), memo_schema())


class RefusingDigitalPost(MemoryDigitalPost):
    """Refuses every participation document (as a gateway refuses a message it will not take)."""

    async def send(self, message: MemoMessage, message_uuid: uuid.UUID) -> Receipt:
        if message.find(b"Deltagelsesbevis") >= 0:
            raise ChannelRefusedError("the gateway refused the message")
        return await super().send(message, message_uuid)


async def test_a_refused_document_is_dead_lettered_at_once(
    client: Client,
    seeded: Demo,
    conn: asyncpg.Connection,
    settings: Settings,
    clock: FixedClock,
    keys: MemoryKeyStore,
) -> None:
    assert (await post_team(client, seeded.public, _body())).status_code == 201
    document_id = await _document_id(conn)
    refusing = RefusingDigitalPost()
    assert settings.database_url is not None
    pool = await db.create_pool(settings.database_url, schema=settings.database_schema, size=2)
    try:
        documents = CertificateDocuments(
            keys,
            DocumentSigners(keys),
            clock,
            public_base_url="http://testserver.local",
            memo_schema=None,
        )
        channels = Channels(
            digital_post=refusing, eboks=MemoryEboks(), spool=FolderPrintSpool(settings.data_dir)
        )
        worker = Worker(pool, channels, documents, fast_policy(), clock, name="refused")
        assert await drain(worker) == 2
        assert await drain(worker) == 0
    finally:
        await pool.close()
    state = await document_job_store.state_of(conn, document_id)
    assert state is not None
    assert (state.state, state.attempts) == (JobState.DEAD, 1)
    assert refusing.sends == 1  # the certificate
