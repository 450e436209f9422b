"""Turn ReportLab's drawing into a PDF/A-2b document, and keep it one when pyHanko writes again.

PDF/A-2b (ISO 19005-2, level B) asks for every font embedded (the drawing uses only the TTFs
in ``formats/fonts``), no transparency (the drawing has none), device colours tied to an
OutputIntent (the sRGB profile in ``formats/icc``), XMP metadata that claims the part and
conformance, and clean file syntax. ReportLab's open-source writer puts ``endstream`` straight
after the stream data with no end-of-line, which PDF/A forbids, so the drawing is rewritten by
pyHanko, which also writes the XMP::

    pdf = to_pdfa(reportlab_bytes, created=signed_at)

The metadata is kept to what survives pyHanko's later rewrites of the XMP intact: the PDF/A
identification, the creating tool and the creation, modification and producer entries.
There is no Info dictionary (PDF/A-2 does not need one, and each of its entries would have to
match the XMP) and so no title or author: pyHanko writes Dublin Core arrays with their
namespace declared on the element, which PDFBox's XMP parser rejects, and a validator's
rejection would make the certificate worthless as an archive copy.

pyHanko stamps the XMP modification date with the wall clock on every write (its writers set
``last_modified = "now"`` just before writing). ``formats`` takes its time as an argument, so
``pin_clock`` replaces the writer's metadata with one whose modification date is fixed.
"""

from __future__ import annotations

import datetime as dt
import io
from functools import cache
from pathlib import Path

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.metadata import model
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import BasePdfFileWriter, copy_into_new_writer

ICC_PROFILE = Path(__file__).parent / "icc" / "sRGB.icc"
# The profile's own description; PDF/A readers show it as the intended output condition.
OUTPUT_CONDITION = "sRGB IEC61966-2.1"
CREATOR_TOOL = "amu-bevis"
PDFA_PART = "2"
PDFA_CONFORMANCE = "B"

_PDFAID = model.NS["pdfaid"]


def to_pdfa(drawing: bytes, *, created: dt.datetime) -> bytes:
    """Rewrite a ReportLab PDF as PDF/A-2b: clean syntax, XMP, sRGB OutputIntent, no Info.

    Raises ValueError if ``created`` is naive.
    """
    if created.tzinfo is None:
        raise ValueError("created must be timezone-aware")
    reader = PdfFileReader(io.BytesIO(drawing))
    writer = copy_into_new_writer(reader, writer_kwargs={"info": None})
    pinned = pin_clock(writer, created)
    pinned.creator = CREATOR_TOOL
    pinned.created = created.replace(microsecond=0)
    pinned.xmp_extra.append(
        model.XmpStructure.of(
            (model.ExpandedName(_PDFAID, "part"), model.XmpValue(PDFA_PART)),
            (model.ExpandedName(_PDFAID, "conformance"), model.XmpValue(PDFA_CONFORMANCE)),
        )
    )
    writer.root["/OutputIntents"] = generic.ArrayObject([_output_intent(writer)])
    out = io.BytesIO()
    writer.write(out)  # type: ignore[no-untyped-call]
    return out.getvalue()


def pin_clock(writer: BasePdfFileWriter, at: dt.datetime) -> model.DocumentMetadata:
    """Make ``writer`` date its revision ``at`` instead of the wall clock; return its metadata."""
    pinned = _PinnedClockMetadata(at)
    writer._meta = pinned  # the only way in; see the module docstring
    return pinned


class _PinnedClockMetadata(model.DocumentMetadata):
    """Document metadata whose ``last_modified`` ignores pyHanko's ``"now"``."""

    def __init__(self, at: dt.datetime) -> None:
        self._at = at.replace(microsecond=0)
        super().__init__()

    @property  # a dataclass field in pyHanko, read-only here
    def last_modified(self) -> dt.datetime:
        return self._at

    @last_modified.setter
    def last_modified(self, _value: object) -> None:
        """Ignore pyHanko's ``"now"``: the time is the caller's."""


@cache
def _icc_profile() -> bytes:
    return ICC_PROFILE.read_bytes()


def _output_intent(writer: BasePdfFileWriter) -> generic.DictionaryObject:
    profile = generic.StreamObject(
        {generic.pdf_name("/N"): generic.NumberObject(3)},  # type: ignore[no-untyped-call]
        stream_data=_icc_profile(),
    )
    profile.compress()  # type: ignore[no-untyped-call]
    return generic.DictionaryObject(  # type: ignore[no-untyped-call]
        {
            generic.pdf_name("/Type"): generic.pdf_name("/OutputIntent"),
            generic.pdf_name("/S"): generic.pdf_name("/GTS_PDFA1"),
            generic.pdf_name("/OutputConditionIdentifier"): generic.pdf_string(OUTPUT_CONDITION),
            generic.pdf_name("/Info"): generic.pdf_string(OUTPUT_CONDITION),
            generic.pdf_name("/RegistryName"): generic.pdf_string("http://www.color.org"),
            generic.pdf_name("/DestOutputProfile"): writer.add_object(profile),
        }
    )
