"""Verification codes made many at a time have the stored form and do not repeat."""

from __future__ import annotations

import re

from registry import codes


def test_batched_codes_have_the_stored_form() -> None:
    made = codes.new_verification_codes(500)

    assert len(made) == 500
    assert len(set(made)) == 500  # 40 bits each: a repeat in 500 is a broken generator
    assert all(re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{8}", code) for code in made)
    assert all(codes.normalise_code(codes.display_code(code)) == code for code in made)


def test_one_code() -> None:
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{8}", codes.new_verification_code())
