"""The root error of the formats package and its meaningful subtypes."""


class FormatError(Exception):
    """Something could not be encoded, decoded or verified."""


class InvalidSignatureError(FormatError):
    """A signature does not verify against the given key, or the signed bytes were altered."""


class MalformedDocumentError(FormatError):
    """Bytes that should be a document of a known format are not."""


class UnprintableTextError(FormatError):
    """Text a certificate cannot carry faithfully in every form (PDF, XML, MeMo, JSON).

    The message says what is wrong, never the text itself: it may hold a person's name.
    """
