"""Copies of every signed checkpoint kept outside the database, so the audit sees a checkpoint
that was deleted from ``log_checkpoints`` or a log that was rewound to an earlier size.

The register signs a checkpoint, stores it, and hands it to a ``CheckpointCopies`` in the same
transaction (a failed copy rolls the checkpoint back); ``amu-bevis audit`` reads the copies and
compares them with the table and the recomputed tree::

    copies = FileCheckpointCopies(data_dir / FILE_NAME)
    note = await log.checkpoint(conn, signing_key, key, now=now, copies=copies)
    report = await audit.audit(conn, saved_note, outside=copies.notes())

A checkpoint is deterministic (Ed25519 over the same size and root), so if the transaction fails
after the copy was written, the next request signs the same note again and the table catches up.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import os
from pathlib import Path
from typing import Protocol, runtime_checkable

FILE_NAME = "log-checkpoints.txt"  # under the service's data folder


@runtime_checkable  # Litestar checks injected values against the handler's annotation
class CheckpointCopies(Protocol):
    """Where every newly signed checkpoint is also kept, outside the database."""

    async def keep(self, note: bytes) -> None:
        """Keep ``note`` durably; raises OSError if it could not be kept."""

    def notes(self) -> list[bytes]:
        """Every note kept so far, oldest first."""


class FileCheckpointCopies:
    """One line per note (base64, since a note spans lines) appended to a file, synced to disk."""

    def __init__(self, path: Path) -> None:
        self.path = path

    async def keep(self, note: bytes) -> None:
        await asyncio.to_thread(self._append, base64.b64encode(note) + b"\n")

    def _append(self, line: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("ab") as file:
            file.write(line)
            file.flush()
            os.fsync(file.fileno())

    def notes(self) -> list[bytes]:
        """The kept notes; a line that is not base64 (a torn last write) is skipped."""
        if not self.path.exists():
            return []
        found = []
        for line in self.path.read_bytes().splitlines():
            try:
                found.append(base64.b64decode(line, validate=True))
            except (binascii.Error, ValueError):
                continue
        return found


class MemoryCheckpointCopies:
    """Copies in a list: for tests and tools whose log dies with the process."""

    def __init__(self) -> None:
        self._notes: list[bytes] = []

    async def keep(self, note: bytes) -> None:
        self._notes.append(note)

    def notes(self) -> list[bytes]:
        return list(self._notes)
