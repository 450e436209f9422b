"""Small builders shared by the HTTP tests."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.externals import ROOT

Client = AsyncTestClient[Litestar]

ASE = "010190-1234"  # Åse Ødegård: 1 Jan 1990 (fails modulus 11, as many real numbers do)
BO = "020285-4321"


def team_body(
    participants: list[dict[str, Any]] | None = None,
    *,
    reference: str = "H-101",
    goal: str = "48113",
    start: str = "2026-11-09",
    end: str = "2026-11-10",
) -> dict[str, Any]:
    return {
        "team": {"reference": reference, "goal": goal, "start": start, "end": end},
        "participants": participants
        if participants is not None
        else [
            {"cpr": ASE, "name": "Åse Ødegård", "exam": "passed"},
            {"cpr": BO, "name": "Bo Jensen", "exam": "failed"},
        ],
    }


async def post_team(
    client: Client,
    token: str,
    body: dict[str, Any],
    *,
    school: str = "751234",
    key: str = "key-1",
) -> Any:
    return await client.post(
        f"/api/schools/{school}/teams",
        json=body,
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
    )


async def login(client: Client, cpr: str) -> dict[str, str]:
    response = await client.post("/api/dev/login", json={"cpr": cpr})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def passing(n: int) -> list[dict[str, Any]]:
    """``n`` participants who passed, each with a CPR number of their own."""
    return [
        {"cpr": f"{(i % 28) + 1:02d}0190-{1000 + i:04d}", "name": f"Deltager {i}", "exam": "passed"}
        for i in range(n)
    ]


async def issue_passing(
    client: Client, token: str, n: int, *, reference: str = "H-101"
) -> list[dict[str, Any]]:
    """Report a team of ``n`` who passed (the reference is the Idempotency-Key too); their
    certificates as the school API answered."""
    body = team_body(passing(n), reference=reference)
    response = await post_team(client, token, body, key=reference)
    assert response.status_code == 201, response.text
    return [p["certificate"] for p in response.json()["participants"]]


def stdout_of_another_process(code: str) -> bytes:
    """What ``code`` writes to stdout when a fresh interpreter runs it from the repository root
    with another hash seed than this process's.

    Two calls in one process share hash seeds, caches and dict order, so their agreeing proves
    little about bytes that must be the same on every run (a retried delivery, a golden file).
    """
    seed = "2" if os.environ.get("PYTHONHASHSEED") == "1" else "1"
    done = subprocess.run(  # noqa: S603 - our own interpreter, our own code
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "PYTHONHASHSEED": seed},
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout


def demo_credentials(data_dir: Path) -> dict[str, str]:
    """The demo schools' API credentials by institution number, as `serve --demo` saved them to
    ``demo.env`` in its data folder."""
    text = (data_dir / "demo.env").read_text()
    return dict(re.findall(r"^export AMU_SCHOOL_(\d{6})=(\S+)$", text, re.MULTILINE))
