"""The transparency log on PostgreSQL: every issued certificate is a leaf, checkpoints are
signed, proofs verify against them, and the database refuses to change what was written."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json

import asyncpg
import pytest

from registry.errors import ProofError
from registry.transparency import merkle, proofs
from registry.transparency.checkpoint import NoteVerifier, open_checkpoint
from tests.conftest import Demo
from tests.helpers import ASE, BO, Client, issue_passing, login, post_team, team_body

# A fresh demo register starts with the key history: the log key and the two schools' keys.
KEY_LEAVES = 3


def _hashes(items: list[str]) -> list[bytes]:
    return [base64.b64decode(h) for h in items]


async def _checkpoint(client: Client) -> tuple[int, bytes]:
    keys = (await client.get("/api/log/keys")).json()
    verifier = NoteVerifier.parse(keys[-1]["verifierKey"])
    note = (await client.get("/api/log/checkpoint")).content
    checkpoint = open_checkpoint(note, verifier)
    return checkpoint.size, checkpoint.root_hash


async def _issue(client: Client, demo: Demo, reference: str, n: int = 2) -> list[str]:
    return [c["number"] for c in await issue_passing(client, demo.public, n, reference=reference)]


async def test_every_issued_certificate_is_proven_included_in_a_signed_checkpoint(
    client: Client, seeded: Demo
) -> None:
    numbers = await _issue(client, seeded, "H-1", n=5)
    size, root = await _checkpoint(client)
    assert size == KEY_LEAVES + 5
    for number in numbers:
        proof = (await client.get(f"/api/log/proof/certificate/{number}")).json()
        entry = json.loads(proof["entry"])
        assert entry["certificate"] == number
        assert entry["event"] == "issued"
        leaf = merkle.leaf_hash(proof["entry"].encode())
        assert base64.b64decode(proof["leafHash"]) == leaf
        proofs.verify_inclusion(
            leaf_hash=leaf,
            index=proof["index"],
            size=size,
            proof=_hashes(proof["hashes"]),
            root=root,
        )


async def test_the_log_entry_names_the_exact_signed_record(client: Client, seeded: Demo) -> None:
    number = (await _issue(client, seeded, "H-1", n=1))[0]
    mine = await client.get(
        f"/api/me/certificates/{number}", headers=await login(client, "010190-1000")
    )
    jws = mine.json()["signedRecord"]
    entry = json.loads((await client.get(f"/api/log/proof/certificate/{number}")).json()["entry"])
    assert entry["recordSha256"] == hashlib.sha256(jws.encode()).hexdigest()


async def test_consistency_between_two_checkpoints_verifies(client: Client, seeded: Demo) -> None:
    await _issue(client, seeded, "H-1", n=3)
    old_size, old_root = await _checkpoint(client)
    await _issue(client, seeded, "H-2", n=4)
    new_size, new_root = await _checkpoint(client)
    assert (old_size, new_size) == (KEY_LEAVES + 3, KEY_LEAVES + 7)
    proof = (
        await client.get(f"/api/log/proof/consistency?first={old_size}&second={new_size}")
    ).json()
    proofs.verify_consistency(
        old_size=old_size,
        new_size=new_size,
        old_root=old_root,
        new_root=new_root,
        proof=_hashes(proof["hashes"]),
    )
    with pytest.raises(ProofError):
        proofs.verify_consistency(
            old_size=old_size,
            new_size=new_size,
            old_root=new_root,
            new_root=new_root,
            proof=_hashes(proof["hashes"]),
        )


async def test_a_proof_beyond_the_log_is_404(client: Client, seeded: Demo) -> None:
    await _issue(client, seeded, "H-1", n=1)
    response = await client.get("/api/log/proof/inclusion?index=0&treeSize=5")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    bad = await client.get("/api/log/proof/consistency?first=0&second=1")
    assert bad.status_code == 400


async def test_concurrent_issuing_gets_consecutive_leaves_and_one_consistent_tree(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    await asyncio.gather(*(_issue(client, seeded, f"H-{i}", n=3) for i in range(8)))
    rows = await conn.fetch("SELECT idx, leaf_hash FROM log_leaves ORDER BY idx")
    assert [r["idx"] for r in rows] == list(range(KEY_LEAVES + 24))
    size, root = await _checkpoint(client)
    assert size == KEY_LEAVES + 24
    assert root == merkle.tree_hash([merkle.Hash(bytes(r["leaf_hash"])) for r in rows])


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE certificates SET jws = 'x'",
        "DELETE FROM certificates",
        "UPDATE certificate_events SET reason = 'x'",
        "DELETE FROM certificate_events",
        "UPDATE log_leaves SET entry = 'x'",
        "DELETE FROM log_leaves",
        "DELETE FROM log_nodes",
        "TRUNCATE certificates CASCADE",
        "DELETE FROM school_keys",
        "UPDATE school_keys SET valid_from = valid_from - interval '1 day'",
    ],
)
async def test_the_database_refuses_to_change_the_register(
    client: Client, seeded: Demo, conn: asyncpg.Connection, statement: str
) -> None:
    await _issue(client, seeded, "H-1", n=1)
    await _checkpoint(client)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await conn.execute(statement)


async def test_a_key_is_retired_once_and_never_unretired(
    seeded: Demo, conn: asyncpg.Connection
) -> None:
    await conn.execute("UPDATE school_keys SET retired_at = valid_from WHERE school_id = '751234'")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await conn.execute("UPDATE school_keys SET retired_at = NULL WHERE school_id = '751234'")


async def test_a_record_changed_behind_the_registers_back_does_not_verify(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    response = await post_team(client, seeded.public, team_body(), key="k")
    certificate = response.json()["participants"][0]["certificate"]
    # Someone with superuser rights switches the triggers off and swaps in another signed record.
    other = await post_team(
        client,
        seeded.public,
        team_body([{"cpr": BO, "name": "Bo Jensen", "exam": "passed"}], reference="H-2"),
        key="o",
    )
    other_number = other.json()["participants"][0]["certificate"]["number"]
    await conn.execute("SET session_replication_role = replica")
    await conn.execute(
        "UPDATE certificates SET jws = (SELECT jws FROM certificates WHERE number = $2) "
        "WHERE number = $1",
        certificate["number"],
        other_number,
    )
    verified = await client.get(
        f"/api/verify/{certificate['number']}", params={"code": certificate["verificationCode"]}
    )
    assert verified.json()["status"] == "invalid"
    assert ASE not in verified.text
