"""Argument types the ``amu-bevis`` subcommands share: a bad value is refused by argparse with
a message naming the option, before anything touches a database."""

from __future__ import annotations

import argparse
import re

_INSTITUTION = re.compile(r"\d{6}")


def institution_number(text: str) -> str:
    """A school's institution number: six digits."""
    if not _INSTITUTION.fullmatch(text):
        raise argparse.ArgumentTypeError("an institution number is 6 digits, e.g. 751234")
    return text
