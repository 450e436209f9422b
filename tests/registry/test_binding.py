"""What an 'issued' leaf binds (registry.binding), without a database: a v2 entry written by the
log matches its row and names every column that differs; a v1 entry binds the record only."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
from typing import Any

from registry import binding
from registry.transparency import log
from tests.conftest import NOW

SALT = bytes(range(16))
PAYLOAD = json.dumps({"participant": {"cpr": "010190-1234", "name": "A"}}).encode()
JWS = "eyJ9." + base64.urlsafe_b64encode(PAYLOAD).rstrip(b"=").decode() + ".c2ln"
ROW = binding.RowFacts(
    number="2026-0000001",
    jws=JWS,
    payload=PAYLOAD,
    cpr="010190-1234",
    binding_salt=SALT,
    verification_code="ABCD2345",
    status_list=(1, 17),
    retain_until=dt.date(2056, 11, 20),
)


def _entry(*, bound: bool = True) -> bytes:
    extra = (
        {
            "code_sha256": binding.code_digest(SALT, "ABCD2345"),
            "status_list": (1, 17),
            "retain_until": dt.date(2056, 11, 20),
        }
        if bound
        else {}
    )
    event = log.Event(1, "2026-0000001", "issued", NOW, jws=JWS, kid="k", **extra)  # type: ignore[arg-type]
    return log.entry_bytes(event)


def test_a_v2_entry_states_the_binding_and_matches_its_row() -> None:
    entry = json.loads(_entry())
    assert entry["v"] == 2
    assert entry["statusList"] == {"list": 1, "index": 17}
    assert entry["retainUntil"] == "2056-11-20"
    assert "ABCD2345" not in json.dumps(entry)  # only the salted hash is public
    assert binding.mismatches(binding.read_issued(_entry()), ROW) == []


def test_every_bound_column_that_differs_is_named() -> None:
    bound = binding.read_issued(_entry())
    changes: dict[str, tuple[Any, str]] = {
        "verification_code": ("ZZZZ2222", "verification code differs"),
        "binding_salt": (bytes(16), "verification code differs"),
        "status_list": ((1, 18), "status-list position differs"),
        "retain_until": (dt.date(2001, 1, 1), "retention date differs"),
        "cpr": ("311299-9999", "CPR number differs"),
        "jws": (JWS + "x", "is not the one the log recorded"),
        "payload": (PAYLOAD + b" ", "stored record differs"),
        "number": ("2026-0000002", "names another certificate"),
    }
    for column, (value, problem) in changes.items():
        found = binding.mismatches(bound, dataclasses.replace(ROW, **{column: value}))
        assert any(problem in p for p in found), (column, found)


def test_an_erased_row_is_checked_by_what_retention_leaves() -> None:
    erased = dataclasses.replace(ROW, jws=None, payload=None, cpr=None)
    assert binding.mismatches(binding.read_issued(_entry()), erased) == []
    partly = dataclasses.replace(ROW, cpr=None)
    assert binding.mismatches(binding.read_issued(_entry()), partly) == [
        "the personal columns are partly blanked"
    ]


def test_a_v1_entry_binds_the_record_only() -> None:
    bound = binding.read_issued(_entry(bound=False))
    assert bound is not None
    assert not bound.binds_row
    moved = dataclasses.replace(ROW, status_list=(9, 9), verification_code="ZZZZ2222")
    assert binding.mismatches(bound, moved) == []
    assert binding.mismatches(bound, dataclasses.replace(ROW, cpr="311299-9999")) != []


def test_entries_other_than_issued_bind_nothing() -> None:
    revoked = log.entry_bytes(log.Event(2, "2026-0000001", "revoked", NOW, reason="fraud"))
    assert binding.read_issued(revoked) is None
    assert binding.read_issued(b"not json") is None
    assert binding.mismatches(None, ROW) == ["the certificate has no readable 'issued' leaf"]
