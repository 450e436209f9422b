"""Request parameters several handlers share."""

from __future__ import annotations

from typing import Annotated

from litestar.params import HeaderParameter

IdempotencyKey = Annotated[
    str, HeaderParameter(name="Idempotency-Key", min_length=1, max_length=200)
]
"""A write repeated with the same key returns the first answer (``issuers.idempotency``)."""
