"""Delivery's errors: a channel that is unavailable now, or one that refused the message."""

from __future__ import annotations

from issuers.errors import IssuingError


class DeliveryError(IssuingError):
    """A certificate could not be delivered."""


class ChannelUnavailableError(DeliveryError):
    """The channel did not answer, or answered that it cannot take messages now; try later."""


class ChannelRefusedError(DeliveryError):
    """The channel refused this message; sending the same message again cannot help."""


class UndeliverableError(DeliveryError):
    """The certificate cannot be delivered as it stands (withdrawn, or its signature fails)."""
