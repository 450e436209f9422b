"""Delivery rendering: the signed PDF/A page (QR code, PAdES) plus its MeMo message, against a
bare ReportLab one-page PDF with the same lines of text (Helvetica, no QR, no PDF/A, no
signature). In-process, one certificate after another; the parts of the product's pipeline
(unsigned page, signature, MeMo) are timed separately to show where the time goes.
"""

from __future__ import annotations

import datetime as dt
import io
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from bench import fill, profiles
from bench.measure import Mode, Spread, ratio
from formats.jws import sign_record
from formats.memo import MemoSender, build_memo
from formats.pdf import PdfSigner
from formats.pdf_layout import render_unsigned
from formats.record import CertificateRecord, Goal, School

TARGET_RATE = 150.0
TARGET_RATIO = 0.6
BASE_URL = "https://bevis.example"
SENDER = MemoSender(cvr="29183746", name="Erhvervsskolen Nordvest")
SIGNED_AT = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)


def _pki() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate, x509.Certificate]:
    """A TEST CA and a school certificate it issued, EC P-256, made for this run."""
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "TEST bench CA")])
    school = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "TEST Erhvervsskolen Nordvest")])
    start, end = dt.datetime(2025, 1, 1, tzinfo=dt.UTC), dt.datetime(2045, 1, 1, tzinfo=dt.UTC)

    def issue(
        subject: x509.Name, public: ec.EllipticCurvePublicKey, *, ca: bool
    ) -> x509.Certificate:
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_name)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(
                x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True
            )
            .sign(ca_key, hashes.SHA256())
        )

    return (
        key,
        issue(school, key.public_key(), ca=False),
        issue(ca_name, ca_key.public_key(), ca=True),
    )


@dataclass(frozen=True)
class Item:
    record: CertificateRecord
    code: str
    jws: str


def _items(count: int, offset: int) -> list[Item]:
    key = ed25519.Ed25519PrivateKey.generate()
    issuing = fill.Issuing(
        School(fill.SCHOOL_ID, "Erhvervsskolen Nordvest"),
        Goal(fill.GOAL, "Hygiejne for fødevarebranchen", "1.0"),
        "751234-bench",
        key,
    )
    items = []
    for serial in range(offset, offset + count):
        record = issuing.record(
            f"2026-{serial:07d}", fill.cpr_for(serial), fill.name_for(serial), "H-1"
        )
        items.append(
            Item(record, fill.verification_code(serial), sign_record(record, key, kid="k"))
        )
    return items


def bare_pdf(record: CertificateRecord) -> bytes:
    """The baseline: a one-page ReportLab PDF with the certificate's lines of text."""
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4)
    lines = [
        "AMU-bevis", record.participant.name, record.participant.cpr[:6] + "-xxxx",
        f"{record.goal.number} {record.goal.title}", record.goal.duration_days,
        record.school.name, record.course_start.isoformat(), record.course_end.isoformat(),
        record.number, record.issued_at.isoformat(),
    ]  # fmt: skip
    y = 780.0
    for line in lines:
        canvas.drawString(72, y, line)
        y -= 20
    canvas.showPage()
    canvas.save()
    return out.getvalue()


async def _product(signer: PdfSigner, item: Item) -> None:
    pdf = await signer.render_async(item.record, item.code, BASE_URL, SIGNED_AT)
    build_memo(
        item.record, message_uuid=uuid.uuid4(), pdf=pdf, signed_record=item.jws,
        sender=SENDER, created_at=SIGNED_AT,
    )  # fmt: skip


def _rate(count: int, started: float) -> float:
    return count / (time.perf_counter() - started)


def _timed(items: list[Item], work: Callable[[Item], object]) -> float:
    started = time.perf_counter()
    for item in items:
        work(item)
    return _rate(len(items), started)


def _memo_with(pdf: bytes) -> Callable[[Item], object]:
    def work(item: Item) -> object:
        return build_memo(
            item.record, message_uuid=uuid.uuid4(), pdf=pdf, signed_record=item.jws,
            sender=SENDER, created_at=SIGNED_AT,
        )  # fmt: skip

    return work


async def run(mode: Mode) -> dict[str, Any]:
    key, certificate, ca = _pki()
    signer = PdfSigner(key, certificate, chain=[ca])
    items = _items(mode.delivery_count, 1)
    await _product(signer, items[0])  # fonts, ICC profile and caches: once per process
    bare_pdf(items[0].record)
    baseline, product = Spread([]), Spread([])
    unsigned, memo = Spread([]), Spread([])
    sizes: dict[str, int] = {}
    for _ in range(mode.repeats):
        baseline.values.append(_timed(items, lambda i: bare_pdf(i.record)))
        started = time.perf_counter()
        for item in items:
            await _product(signer, item)
        product.values.append(_rate(len(items), started))
        unsigned.values.append(
            _timed(items, lambda i: render_unsigned(i.record, code=i.code,
                                                    verify_base_url=BASE_URL, created=SIGNED_AT))
        )  # fmt: skip
        pdf = await signer.render_async(items[0].record, items[0].code, BASE_URL, SIGNED_AT)
        memo.values.append(_timed(items, _memo_with(pdf)))
        sizes = {"signed_pdf_bytes": len(pdf), "bare_pdf_bytes": len(bare_pdf(items[0].record))}
    profile = None
    if mode.profile:

        async def work() -> None:
            for item in items:
                await _product(signer, item)

        profile = await profiles.pyinstrument_profile(work)
    rate, base = product.summary()["median"], baseline.summary()["median"]
    return {
        "certificates_per_repeat": len(items),
        "baseline_bare_reportlab_per_s": baseline.summary(),
        "product_pdf_pades_memo_per_s": product.summary(),
        "part_unsigned_pdfa_page_per_s": unsigned.summary(),
        "part_memo_only_per_s": memo.summary(),
        "ratio": ratio(rate, base),
        "target_rate_per_s": TARGET_RATE,
        "target_ratio": TARGET_RATIO,
        "meets_target": rate >= TARGET_RATE and ratio(rate, base) >= TARGET_RATIO,
        "process": "one Python process, one certificate at a time (one core)",
        **sizes,
        "profile": profile,
    }
