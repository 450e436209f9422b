"""Not collected by the suite (no test_ prefix): tests/test_honest_checks.py runs it to show that
a skip fails the run."""

import pytest

from tests.externals import require_tool


def test_needs_a_tool_that_is_not_there() -> None:
    require_tool("amu-no-such-validator")


def test_skips_outright() -> None:
    pytest.skip("a test that gave up")
