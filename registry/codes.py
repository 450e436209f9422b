"""Certificate numbers and verification codes, as printed on paper and typed by people.

Verification codes use Crockford's base32 alphabet (no I, L, O, U), 8 characters = 40 bits,
shown as XXXX-XXXX; typing is forgiving (case, dashes, O for 0, I and L for 1).
"""

from __future__ import annotations

import hmac
import re
import secrets

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_TYPOS = str.maketrans({"O": "0", "I": "1", "L": "1"})
_NUMBER = re.compile(r"^\d{4}-\d{7,}$")


def certificate_number(year: int, serial: int) -> str:
    """e.g. 2026-0000042: the issue year and a serial from the register's sequence."""
    return f"{year:04d}-{serial:07d}"


def is_certificate_number(value: str) -> bool:
    return bool(_NUMBER.match(value))


def new_verification_code() -> str:
    """Eight random characters (stored without the dash)."""
    return new_verification_codes(1)[0]


def new_verification_codes(count: int) -> list[str]:
    """``count`` fresh codes from one call for randomness (one system call, not one a code)."""
    raw = secrets.token_bytes(5 * count)  # exactly 40 bits a code: 8 symbols of 5 bits
    return [_code(int.from_bytes(raw[i : i + 5])) for i in range(0, 5 * count, 5)]


def _code(bits: int) -> str:
    return "".join(_ALPHABET[(bits >> shift) & 31] for shift in range(35, -1, -5))


def normalise_code(typed: str) -> str:
    """What a person typed, in the stored form: upper case, no dashes or spaces, typos mapped."""
    return typed.upper().replace("-", "").replace(" ", "").translate(_TYPOS)


def display_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def code_matches(typed: str, stored: str) -> bool:
    """Constant-time comparison, so timing does not help a guesser."""
    return hmac.compare_digest(normalise_code(typed).encode(), stored.encode())
