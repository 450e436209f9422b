"""Delivery of participation and combined documents (issuers/delivery/document_delivery.py):
the certificates' worker takes their jobs from the same outbox transaction, sends each once as a
valid MeMo message titled as the document it is, and waits instead of printing when the
participant cannot receive it digitally."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
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
from issuers.delivery.spool import FolderPrintSpool
from issuers.delivery.worker import Channels, Worker
from issuers.document_keys import DocumentSigners
from issuers.documents import CertificateDocuments
from registry import db
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
    channels = Channels(
        digital_post=post, eboks=eboks, spool=FolderPrintSpool(settings.data_dir / "spool")
    )
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


async def test_an_exempt_participant_s_document_waits_and_is_not_printed(
    client: Client,
    seeded: Demo,
    conn: asyncpg.Connection,
    worker: Worker,
    post: MemoryDigitalPost,
    clock: FixedClock,
) -> None:
    post.exempt.add(BO)
    assert (await post_team(client, seeded.public, _body())).status_code == 201
    document_id = await _document_id(conn)
    assert await drain(worker) == 2
    state = await document_job_store.state_of(conn, document_id)
    assert state is not None
    assert (state.state, state.note) == (JobState.PENDING, EXEMPT)
    assert await conn.fetchval("SELECT count(*) FROM print_jobs") == 0
    assert post.sends == 1  # Åse's certificate only

    # Once Bo can receive digital post, the next look sends it.
    post.exempt.discard(BO)
    clock.now += dt.timedelta(hours=2)
    assert await drain(worker) == 1
    state = await document_job_store.state_of(conn, document_id)
    assert state is not None
    assert (state.state, state.channel) == (JobState.DELIVERED, Channel.DIGITAL_POST)


async def test_a_private_school_s_document_goes_to_eboks_once_consent_is_recorded(
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
    assert (state.state, state.note) == (JobState.PENDING, NO_CONSENT)

    consent = await client.post(
        "/api/schools/863410/eboks-consents",
        json={"cpr": BO},
        headers={**seeded.school(seeded.private), "Idempotency-Key": "consent-bo"},
    )
    assert consent.status_code == 201, consent.text
    assert await drain(worker) == 1  # due at once, not at the next recheck
    state = await document_job_store.state_of(conn, document_id)
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
