"""The batched random UUIDs are what uuid4 makes: version 4, RFC 4122 variant, all distinct."""

from __future__ import annotations

import uuid

from issuers.uuids import random_uuids


def test_random_uuids_are_version_4_and_distinct() -> None:
    made = random_uuids(1000)

    assert len(made) == 1000
    assert len(set(made)) == 1000
    assert all(u.version == 4 and u.variant == uuid.RFC_4122 for u in made)
    assert all(str(u)[14] == "4" for u in made)  # delivery_jobs' check on message_uuid


def test_no_uuids_for_none() -> None:
    assert random_uuids(0) == []
