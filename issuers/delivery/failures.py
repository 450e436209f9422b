"""How a failed delivery attempt is recorded, for the certificates' worker and the documents'
delivery alike: the error text kept on the job and whether retrying can help."""

from __future__ import annotations

from formats.errors import FormatError
from issuers.delivery.errors import ChannelRefusedError, ChannelUnavailableError, UndeliverableError
from issuers.document_keys import NoDocumentCertificateError
from issuers.documents import DocumentUnavailableError

# Refused, or the school cannot sign this PDF: sending the same again cannot help.
_PERMANENT = (
    ChannelRefusedError,
    UndeliverableError,
    NoDocumentCertificateError,
    DocumentUnavailableError,
)


def failure_of(error: Exception) -> tuple[str, bool] | None:
    """(the error text, permanent) of a delivery attempt's ``error``; None for an error no
    channel or document raises (the caller logs it and tries again later)."""
    if isinstance(error, ChannelUnavailableError):
        return str(error), False
    if isinstance(error, _PERMANENT):
        return str(error), True
    if isinstance(error, FormatError):
        # Our own message could not be built or failed the schema: retrying cannot help.
        return f"the MeMo message is not valid: {error}", True
    return None
