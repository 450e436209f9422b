"""The bench's register filler makes what the product makes (no timings: the bench is its own
command). Pure: no database."""

from __future__ import annotations

import json
from collections import Counter

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench import fill, profiles
from formats.jws import sign_payload, verify_record
from formats.record import Goal, School
from issuers.cpr import parse_cpr
from registry.transparency import log, merkle

ISSUING = fill.Issuing(
    School("751234", "Erhvervsskolen Nordvest"),
    Goal("48113", "Hygiejne for fødevarebranchen", "1.0"),
    "751234-abcd",
    Ed25519PrivateKey.generate(),
)


def test_filled_records_and_tokens_are_the_products_bytes() -> None:
    renderer = fill.Renderer(ISSUING)
    for serial in (1, 7, 4242, 999_999):
        number, cpr, name = f"2026-{serial:07d}", fill.cpr_for(serial), fill.name_for(serial)
        payload = renderer.payload(number, cpr, name, "F-1")
        assert payload == ISSUING.record(number, cpr, name, "F-1").canonical_bytes()
        token = renderer.jws(payload)
        assert token == sign_payload(payload, ISSUING.key, kid=ISSUING.kid)
        assert verify_record(token, ISSUING.key.public_key()) == payload
        event = log.Event(1, number, "issued", fill.ISSUED_AT, jws=token, kid=ISSUING.kid)
        assert renderer.entry(number, token) == log.entry_bytes(event)
        assert parse_cpr(cpr, field="cpr") == cpr
        assert len(fill.verification_code(serial)) == 8


def test_filled_log_has_the_root_of_its_leaves() -> None:
    rows, edge = fill.generate(fill.Renderer(ISSUING), 1, 1, merkle.RightEdge.empty(), 77)
    leaves = [merkle.Hash(leaf[2]) for leaf in rows.leaves if isinstance(leaf[2], bytes)]
    assert edge.size == 77
    assert edge.root() == merkle.tree_hash(leaves)
    assert len(rows.teams) == 4  # teams of 25
    assert len({(r[1], r[2]) for r in rows.participations}) == 77  # (team, cpr) unique


def test_py_spy_profiles_are_summarised_without_start_up() -> None:
    serving = "Server.run (uvicorn/server.py)"
    stacks: Counter[tuple[str, ...]] = Counter(
        {
            (serving, "issue_team (issuers/issuing.py)", "sign (jwt/algorithms.py)"): 3,
            (serving, "_find_and_load (<frozen importlib._bootstrap>)"): 5,
        }
    )
    kept = Counter({k: v for k, v in stacks.items() if profiles._serving(k)})
    summary = profiles.summarise_stacks(kept)
    assert summary["samples"] == 3
    assert summary["top_self"][0] == {"frame": "sign (jwt/algorithms.py)", "percent": 100.0}
    assert json.dumps(summary)
