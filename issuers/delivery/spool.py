"""Print spool adapters: ``FolderPrintSpool`` writes PDFs into a folder per day and school (for a
print room that watches a share), ``TablePrintSpool`` keeps them in the ``print_jobs`` table.

    spool = FolderPrintSpool(Path(".data/print-spool"))
    receipt = await spool.spool(item)            # <day>/<school>/<number>--<key>.pdf
                                                 # (a document: document--<key>.pdf)
    entries = await spool.daily_list("751234", dt.date(2026, 11, 20))
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import re
from pathlib import Path

import asyncpg

from issuers.delivery import print_store
from issuers.delivery.ports import PrintItem, PrintListEntry, Receipt

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class FolderPrintSpool:
    """One folder per day and school; each item is a PDF and a JSON sidecar with its entry.

    The sidecar is written last and atomically (write, then rename), so an item appears on the
    list only when its PDF is complete; a repeated key finds the sidecar and adds nothing.
    """

    def __init__(self, folder: Path) -> None:
        self._folder = folder

    async def spool(self, item: PrintItem) -> Receipt:
        return await asyncio.to_thread(self._spool, item)

    async def daily_list(self, school_id: str, day: dt.date) -> list[PrintListEntry]:
        return await asyncio.to_thread(self._daily_list, school_id, day)

    def _dir(self, school_id: str, day: dt.date) -> Path:
        return self._folder / day.isoformat() / _safe(school_id)

    def _spool(self, item: PrintItem) -> Receipt:
        folder = self._dir(item.school_id, item.day)
        stem = f"{_safe(item.certificate_number or 'document')}--{_safe(item.spool_key)}"
        receipt = f"{item.day.isoformat()}/{_safe(item.school_id)}/{stem}.pdf"
        sidecar = folder / f"{stem}.json"
        if sidecar.exists():
            return receipt
        folder.mkdir(parents=True, exist_ok=True)
        _write_atomically(folder / f"{stem}.pdf", item.pdf)
        entry: dict[str, str] = {
            **(
                {"certificateNumber": item.certificate_number}
                if item.certificate_number is not None
                else {"documentTitle": item.document_title or ""}
            ),
            "participantName": item.participant_name,
            "reason": item.reason,
            "spooledAt": item.at.isoformat(),
            "receipt": receipt,
        }
        _write_atomically(sidecar, json.dumps(entry, ensure_ascii=False).encode())
        return receipt

    def _daily_list(self, school_id: str, day: dt.date) -> list[PrintListEntry]:
        folder = self._dir(school_id, day)
        if not folder.is_dir():
            return []
        entries = []
        for sidecar in folder.glob("*.json"):
            data = json.loads(sidecar.read_text("utf-8"))
            entries.append(
                PrintListEntry(
                    certificate_number=data.get("certificateNumber"),
                    participant_name=data["participantName"],
                    reason=data["reason"],
                    spooled_at=dt.datetime.fromisoformat(data["spooledAt"]),
                    receipt=data["receipt"],
                    document_title=data.get("documentTitle"),
                )
            )
        return sorted(entries, key=lambda e: (e.spooled_at, e.receipt))


class TablePrintSpool:
    """Print jobs in the ``print_jobs`` table, through the caller's pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def spool(self, item: PrintItem) -> Receipt:
        async with self._pool.acquire() as conn:
            job_id = await print_store.insert_print_job(
                conn,
                spool_key=item.spool_key,
                school_id=item.school_id,
                certificate_number=item.certificate_number,
                participant_name=item.participant_name,
                reason=item.reason,
                spool_date=item.day,
                pdf=item.pdf,
                now=item.at,
                document_id=item.document_id,
                document_title=item.document_title,
            )
        return f"print-job:{job_id}"

    async def daily_list(self, school_id: str, day: dt.date) -> list[PrintListEntry]:
        async with self._pool.acquire() as conn:
            jobs = await print_store.print_list(conn, school_id, day)
        return [
            PrintListEntry(
                certificate_number=j.certificate_number,
                participant_name=j.participant_name,
                reason=j.reason,
                spooled_at=j.spooled_at,
                receipt=f"print-job:{j.id}",
                document_title=j.document_title,
            )
            for j in jobs
        ]


def _safe(text: str) -> str:
    return _UNSAFE.sub("-", text).strip("-.") or "x"


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    temporary.replace(path)
