"""Building and sending the school API's requests from the bench (httpx, loopback only)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Sequence

import httpx
import msgspec

from bench.fill import COURSE_END, COURSE_START, GOAL, SCHOOL_ID, cpr_for, name_for

_references = itertools.count(1)


def team_body(first_serial: int, size: int, *, tag: str) -> bytes:
    """A team of ``size`` participants who all passed: each gets a certificate."""
    return msgspec.json.encode(
        {
            "team": {
                "reference": f"{tag}-{next(_references)}",
                "goal": GOAL,
                "start": COURSE_START.isoformat(),
                "end": COURSE_END.isoformat(),
            },
            "participants": [
                {"cpr": cpr_for(s), "name": name_for(s), "exam": "passed"}
                for s in range(first_serial, first_serial + size)
            ],
        }
    )


async def post_teams(
    client: httpx.AsyncClient, token: str, bodies: Sequence[bytes], *, concurrency: int
) -> tuple[float, int, list[float]]:
    """Send the bodies, ``concurrency`` at a time; return wall seconds, certificates issued
    and each request's latency. Raises RuntimeError on any answer but 201."""
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    issued = 0

    async def one(body: bytes) -> None:
        nonlocal issued
        async with gate:
            started = time.perf_counter()
            response = await client.post(
                f"/api/schools/{SCHOOL_ID}/teams",
                content=body,
                headers={
                    "Authorization": f"Bearer {token}",
                    "Idempotency-Key": f"bench-{next(_references)}",
                    "Content-Type": "application/json",
                },
            )
            latencies.append(time.perf_counter() - started)
        if response.status_code != 201:
            raise RuntimeError(f"issuing answered {response.status_code}: {response.text[:500]}")
        issued += sum(1 for p in response.json()["participants"] if p.get("certificate"))

    started = time.perf_counter()
    await asyncio.gather(*(one(b) for b in bodies))
    return time.perf_counter() - started, issued, latencies


async def get_latencies(
    client: httpx.AsyncClient, paths: Sequence[str], *, expect: str | None = None
) -> list[float]:
    """GET each path in turn (one connection: latency is service time); raise on errors."""
    out = []
    for path in paths:
        started = time.perf_counter()
        response = await client.get(path)
        out.append(time.perf_counter() - started)
        if response.status_code != 200 or (expect and expect not in response.text):
            raise RuntimeError(f"GET {path} answered {response.status_code}: {response.text[:300]}")
    return out
