"""A green run means every check ran: a skipped test, a missing outside tool or an empty
parametrize fails the run, unless AMU_ALLOW_UNCHECKED=1 says so out loud."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.externals import ROOT


def _pytest(example: str, *, allow_unchecked: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "AMU_ALLOW_UNCHECKED"}
    if allow_unchecked:
        env["AMU_ALLOW_UNCHECKED"] = "1"
    return subprocess.run(  # noqa: S603 - our own interpreter on our own example file
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            f"tests/examples/{example}",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_a_skip_fails_the_run() -> None:
    run = _pytest("skipping.py", allow_unchecked=False)
    assert run.returncode == 1, run.stdout
    assert "2 failed" in run.stdout
    assert "amu-no-such-validator is absent" in run.stdout
    assert "may not skip" in run.stdout


def test_the_opt_out_skips_and_says_so() -> None:
    run = _pytest("skipping.py", allow_unchecked=True)
    assert run.returncode == 0, run.stdout
    assert "2 skipped" in run.stdout
    assert "AMU_ALLOW_UNCHECKED=1: 2 tests were NOT CHECKED" in run.stdout


def test_a_parametrize_over_nothing_fails_at_collection() -> None:
    run = _pytest("empty_parametrize.py", allow_unchecked=False)
    assert run.returncode != 0, run.stdout
    assert "Empty parameter set" in run.stdout
