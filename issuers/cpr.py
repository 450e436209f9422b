"""CPR numbers (personnummer): shape, date and century, and masking.

The modulus-11 check is deliberately absent: since 2007 many valid numbers fail it.
Replacement numbers (erstatningspersonnumre, day + 60) are accepted.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import NewType

from issuers.errors import InvalidInputError

Cpr = NewType("Cpr", str)  # always DDMMYY-SSSS

# ASCII digits only: ``\d`` (and ``str.isdigit``) also match Arabic-Indic or full-width digits.
_SHAPE = re.compile(r"^([0-9]{2})([0-9]{2})([0-9]{2})-?([0-9]{4})$")


def birth_date(cpr: str) -> dt.date | None:
    """The birth date a CPR number encodes, or None if it encodes no real date."""
    match = _SHAPE.match(cpr)
    if match is None:
        return None
    day, month, yy, serial = (int(g) for g in match.groups())
    if day > 60:
        day -= 60  # replacement number
    century = _century(serial // 1000, yy)
    try:
        return dt.date(century + yy, month, day)
    except ValueError:
        return None


def parse_cpr(value: str, *, field: str, today: dt.date | None = None) -> Cpr:
    """Normalise a CPR number to DDMMYY-SSSS.

    Raises InvalidInputError naming ``field`` (never the value) when it is not one, or when
    ``today`` is given and the birth date it encodes (century from the seventh digit) is later.
    """
    born = birth_date(value)
    if born is None:
        raise InvalidInputError(
            "must be a CPR number, DDMMYY-SSSS in ASCII digits with a real birth date",
            field=field,
        )
    if today is not None and born > today:
        raise InvalidInputError("encodes a birth date in the future", field=field)
    digits = value.replace("-", "")
    return Cpr(f"{digits[:6]}-{digits[6:]}")


def mask(cpr: str) -> str:
    """DDMMYY-xxxx: the form shown to anyone but the participant and the issuing school."""
    return f"{cpr[:6]}-xxxx"


def _century(seventh: int, yy: int) -> int:
    # The seventh digit together with the year gives the century (CPR-kontoret's table).
    if seventh <= 3:
        return 1900
    if seventh in (4, 9):
        return 2000 if yy <= 36 else 1900
    return 2000 if yy <= 57 else 1800
