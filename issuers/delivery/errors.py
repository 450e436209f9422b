"""Delivery's errors: a channel that is unavailable now, or one that refused the message."""

from __future__ import annotations

from issuers.errors import IssuingError


class DeliveryError(IssuingError):
    """A certificate could not be delivered."""

    status_code = 409
    type_slug = "delivery-refused"


class ChannelUnavailableError(DeliveryError):
    """The channel did not answer, or answered that it cannot take messages now; try later."""

    status_code = 503
    type_slug = "channel-unavailable"


class ChannelRefusedError(DeliveryError):
    """The channel refused this message; sending the same message again cannot help."""

    type_slug = "channel-refused"


class UndeliverableError(DeliveryError):
    """The certificate cannot be delivered as it stands (withdrawn, or its signature fails)."""

    type_slug = "undeliverable"
