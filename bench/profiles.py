"""Profiles of the slowest figures: py-spy's collapsed stacks for servers, pyinstrument
in-process; both summarised as top frames (self time and inclusive time)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench.measure import ROOT

_FRAME = re.compile(r"^(?P<function>.*) \((?P<path>[^()]*?)(?::(?P<line>\d+))?\)$")
TOP = 15


def _frame_name(frame: str) -> str:
    """``function (file)`` with the path shortened to the package and no line number."""
    match = _FRAME.match(frame.strip())
    if match is None:
        return frame.strip()
    path = match.group("path")
    for marker in ("site-packages/", str(ROOT) + "/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{match.group('function')} ({path})"


def _ours(name: str) -> bool:
    return any(f"({p}/" in name for p in ("registry", "issuers", "formats", "bench"))


def summarise_stacks(stacks: Counter[tuple[str, ...]]) -> dict[str, Any]:
    """Top frames by self samples and by inclusive samples (our code, and everything)."""
    total = sum(stacks.values())
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for frames, count in stacks.items():
        if not frames:
            continue
        own[frames[-1]] += count
        for name in set(frames):
            inclusive[name] += count

    def share(counter: Counter[str], keep: Callable[[str], bool]) -> list[dict[str, Any]]:
        rows = [(n, c) for n, c in counter.most_common() if keep(n)][:TOP]
        return [{"frame": n, "percent": round(100 * c / max(total, 1), 1)} for n, c in rows]

    return {
        "samples": total,
        "top_self": share(own, lambda _n: True),
        "top_inclusive_ours": share(inclusive, _ours),
        "top_inclusive_all": share(
            inclusive, lambda n: not n.startswith(("<module>", "run (", "_run (", "main ("))
        ),
    }


SERVING = "Server.run (uvicorn/server.py)"
STARTING = ("_find_and_load (", "LifespanOn.", "Server.startup (", "Server.shutdown (")


def _serving(frames: tuple[str, ...]) -> bool:
    """A sample of the server serving: in uvicorn's loop, not importing or starting up."""
    return SERVING in frames and not any(f.startswith(STARTING) for f in frames)


def summarise_py_spy(raw: Path) -> dict[str, Any]:
    """Summarise py-spy's ``--format raw`` output (``frame;frame;... count`` per line), keeping
    only the samples taken while the server served (start-up imports are dropped)."""
    stacks: Counter[tuple[str, ...]] = Counter()
    if not raw.exists():
        return {"error": f"py-spy wrote no profile to {raw}"}
    every = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = tuple(_frame_name(f) for f in stack.split(";"))
        every += int(count)
        if _serving(frames):
            stacks[frames] += int(count)
    summary = summarise_stacks(stacks)
    summary["tool"] = "py-spy (server process, 250 Hz, busy samples while serving)"
    summary["samples_including_start_up"] = every
    return summary


async def pyinstrument_profile(work: Callable[[], Awaitable[None]]) -> dict[str, Any]:
    """Run ``work`` under pyinstrument and summarise it like a py-spy profile."""
    from pyinstrument import Profiler  # noqa: PLC0415 - a dev dependency, only when profiling

    profiler = Profiler(interval=0.001, async_mode="enabled")
    profiler.start()
    await work()
    session = profiler.stop()
    stacks: Counter[tuple[str, ...]] = Counter()

    def walk(frame: Any, path: tuple[str, ...]) -> None:
        name = _frame_name(f"{frame.function} ({frame.file_path_short or frame.file_path}"
                           f":{frame.line_no})")  # fmt: skip
        here = (*path, name)
        self_time = frame.total_self_time
        if self_time > 0:
            stacks[here] += round(self_time * 10_000)
        for child in frame.children:
            walk(child, here)

    root = session.root_frame()
    if root is not None:
        walk(root, ())
    summary = summarise_stacks(stacks)
    summary["tool"] = "pyinstrument (in-process, 1 ms interval; units of 0.1 ms)"
    return summary
