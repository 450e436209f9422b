"""The development identity provider's tokens are opaque: no CPR number for whoever holds one."""

from __future__ import annotations

import base64
import datetime as dt

from service.identity import DevelopmentIdentityProvider
from tests.conftest import FixedClock
from tests.helpers import ASE

SECRET = b"s" * 32


async def test_a_token_proves_its_person_until_it_expires() -> None:
    clock = FixedClock()
    identity = DevelopmentIdentityProvider(SECRET, clock, lifetime=dt.timedelta(minutes=5))
    token = identity.issue(ASE)
    person = await identity.authenticate(token)
    assert person is not None
    assert person.cpr == ASE
    clock.now += dt.timedelta(minutes=5)
    assert await identity.authenticate(token) is None


def test_a_token_does_not_show_the_cpr_number_in_any_encoding() -> None:
    token = DevelopmentIdentityProvider(SECRET, FixedClock()).issue(ASE)
    digits = ASE.replace("-", "")
    body = token.removeprefix("dev1.")
    decoded = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    for text in (token, decoded.decode("latin-1")):
        assert ASE not in text
        assert digits not in text
    # Every piece of the token, as a JWT's would be, decodes to bytes without the number.
    for piece in token.split("."):
        raw = base64.urlsafe_b64decode(piece + "=" * (-len(piece) % 4))
        assert digits.encode() not in raw
        assert ASE.encode() not in raw


async def test_a_changed_forged_or_foreign_token_proves_nothing() -> None:
    clock = FixedClock()
    identity = DevelopmentIdentityProvider(SECRET, clock)
    token = identity.issue(ASE)
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    other = DevelopmentIdentityProvider(b"t" * 32, clock).issue(ASE)
    for bad in (flipped, other, "dev1.", "dev1.!!", "dev1." + "A" * 10, "", token[5:]):
        assert await identity.authenticate(bad) is None, bad
