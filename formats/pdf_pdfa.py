"""Turn ReportLab's drawing into a PDF/A-1b document, and keep it one when pyHanko writes again.

PDF/A-1b (ISO 19005-1, level B; the part PDFBox's preflight validates, so the part we claim)
asks for every font embedded (the drawing uses only the TTFs
in ``formats/fonts``), no transparency (the drawing has none), device colours tied to an
OutputIntent (the sRGB profile in ``formats/icc``), XMP metadata that claims the part and
conformance, and clean file syntax::

    pdf = to_pdfa(reportlab_bytes, created=signed_at)

ReportLab's open-source writer gets three things wrong for PDF/A: it puts ``endstream``
straight after the stream data with no end-of-line, it writes an Info dictionary that the XMP
would have to match, and it has no XMP or OutputIntent. ``to_pdfa`` rewrites the file at the
byte level instead of parsing it: ReportLab writes one classic cross-reference table with every
object in order, so each object is the bytes between two offsets. Stream objects get the
missing end-of-line (``/Length`` stays right: it never counts that EOL), the Info dictionary's
number is reused for the XMP stream, the catalog gains ``/Metadata`` and ``/OutputIntents``,
the compressed sRGB profile (built once per process) is appended, and the cross-reference table
and trailer are written anew. Anything not shaped as expected raises ``ValueError``, so a
ReportLab upgrade that changes its output fails loudly (and the PDF/A tests with it).

The metadata is kept to what survives pyHanko's later rewrites of the XMP intact: the PDF/A
identification, the creating tool, the creation, modification and producer entries, and the
title (dc:title, shown by viewers through ``/DisplayDocTitle``). pyHanko writes a Dublin Core
array with its namespace declared on the element, which PDFBox's XMP parser rejects, unless
the namespace is already declared on the ``rdf:Description``: the simple ``dc:format``
attribute puts it there, so the title survives signing. There is no Info dictionary (PDF/A
does not need one, and each of its entries would have to match the XMP, which pyHanko's
rewrites would break).

With ``structure`` the file is also tagged (``/MarkInfo``, a structure tree over the marked
content the layout drew, ``/Lang`` from ReportLab). The conformance claimed stays level B:
level A (or U) needs a validator for that part, and the suite has only PDFBox's preflight.

pyHanko stamps the XMP modification date with the wall clock on every write (its writers set
``last_modified = "now"`` just before writing). ``formats`` takes its time as an argument, so
``pin_clock`` replaces the writer's metadata with one whose modification date is fixed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import zlib
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape

from pyhanko.pdf_utils.metadata import model
from pyhanko.pdf_utils.writer import BasePdfFileWriter

ICC_PROFILE = Path(__file__).parent / "icc" / "sRGB.icc"
# The profile's own description; PDF/A readers show it as the intended output condition.
OUTPUT_CONDITION = "sRGB IEC61966-2.1"
CREATOR_TOOL = "amu-bevis"
PRODUCER = "ReportLab PDF Library"
# PDF/A-1b: the part the suite's validator (PDFBox preflight) checks; never claim more.
PDFA_PART = "1"
PDFA_CONFORMANCE = "B"

# PDF 1.7 in the header (PDF/A-1 allows any 1.n there; preflight checks the features used),
# then a comment of bytes above 127 that marks the file as binary, as PDF/A asks.
_HEADER = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
_XMP = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="{tool}">
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" \
xmlns:xmp="http://ns.adobe.com/xap/1.0/" \
xmlns:pdf="http://ns.adobe.com/pdf/1.3/" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/" \
dc:format="application/pdf" \
xmp:ModifyDate="{date}" pdf:Producer="{producer}" xmp:CreateDate="{date}" \
xmp:CreatorTool="{tool}" rdf:about="" pdfaid:part="{part}" pdfaid:conformance="{conformance}">
<dc:title><rdf:Alt><rdf:li xml:lang="x-default">{title}</rdf:li></rdf:Alt></dc:title>
</rdf:Description>
</rdf:RDF>
</x:xmpmeta>
<?xpacket end="r"?>"""
_TRAILER = re.compile(
    rb"trailer\n<<(?P<dict>.*?)>>\nstartxref\n(?P<startxref>\d+)\n%%EOF\n?\Z", re.DOTALL
)
_REFERENCE = rb"/%s (\d+) 0 R"
_XREF_HEAD = re.compile(rb"xref\n0 (\d+)\n")
_XREF_ENTRY = 20  # "oooooooooo ggggg n \n"
_STREAM_END = b"endstream\nendobj\n"
_DICT_END = b"\n>>\nendobj\n"
_LENGTH = re.compile(rb"/Length (\d+)")


def to_pdfa(
    drawing: bytes,
    *,
    created: dt.datetime,
    title: str = "",
    structure: Sequence[tuple[str, str | None]] = (),
) -> bytes:
    """Rewrite a ReportLab PDF as PDF/A-1b: clean syntax, XMP, sRGB OutputIntent, no Info.

    ``title`` goes into the XMP (dc:title), shown by viewers (DisplayDocTitle). ``structure``
    is the role and alternative text of each marked-content sequence of the one page, MCID
    order: with it the file is tagged (MarkInfo, a StructTreeRoot with a Document element over
    one element per MCID, the page's StructParents and ParentTree). Raises ValueError if
    ``created`` is naive or ``drawing`` is not laid out as ReportLab writes a file.
    """
    if created.tzinfo is None:
        raise ValueError("created must be timezone-aware")
    objects, root, info = _split_reportlab(drawing)
    page = _single_page(objects)
    icc = len(objects) + 1
    tree = icc + 1 if structure else None
    out = bytearray(_HEADER)
    offsets: list[int] = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        if number == info:
            out += _stream_object(number, b"/Type /Metadata /Subtype /XML", _xmp(created, title))
        elif number == root:
            out += body[: -len(_DICT_END)] + _catalog_entries(info, icc, tree) + _DICT_END
        elif number == page and tree is not None:
            out += body[: -len(_DICT_END)] + b"\n/StructParents 0" + _DICT_END
        else:
            out += _with_eol_before_endstream(body)
    offsets.append(len(out))
    out += _icc_object(icc)
    if tree is not None:
        for body in _structure_objects(tree, page, structure):
            offsets.append(len(out))
            out += body
    size = len(offsets) + 1
    # A fingerprint of the content, so the ID is the same for the same certificate and
    # differs between certificates, with no clock or randomness.
    file_id = hashlib.md5(out, usedforsecurity=False).hexdigest().encode()
    startxref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<<\n/ID [<%s><%s>]\n/Root %d 0 R\n/Size %d\n>>\n" % (
        file_id,
        file_id,
        root,
        size,
    )
    out += b"startxref\n%d\n%%%%EOF\n" % startxref
    return bytes(out)


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


def _split_reportlab(drawing: bytes) -> tuple[list[bytes], int, int]:
    """Each object's bytes in number order, and the numbers of the catalog and Info."""
    trailer = _TRAILER.search(drawing)
    if trailer is None:
        raise ValueError("no trailer where ReportLab writes one")
    root = re.search(_REFERENCE % b"Root", trailer["dict"])
    info = re.search(_REFERENCE % b"Info", trailer["dict"])
    xref_at = int(trailer["startxref"])
    head = _XREF_HEAD.match(drawing, xref_at)
    if root is None or info is None or head is None:
        raise ValueError("not ReportLab's cross-reference table and trailer")
    count = int(head[1])
    table = drawing[head.end() : head.end() + count * _XREF_ENTRY]
    offsets = [int(table[i : i + 10]) for i in range(_XREF_ENTRY, len(table), _XREF_ENTRY)]
    if len(offsets) != count - 1 or offsets != sorted(offsets):
        raise ValueError("ReportLab's objects are not in number order")
    ends = [*offsets[1:], xref_at]
    objects = [drawing[start:end] for start, end in zip(offsets, ends, strict=True)]
    for number, body in enumerate(objects, start=1):
        if not body.startswith(b"%d 0 obj\n" % number) or not body.endswith(b"endobj\n"):
            raise ValueError(f"object {number} is not where the cross-reference table says")
    catalog, info_number = int(root[1]), int(info[1])
    if not objects[catalog - 1].endswith(_DICT_END) or b"/Catalog" not in objects[catalog - 1]:
        raise ValueError("the catalog is not a plain dictionary")
    return objects, catalog, info_number


def _with_eol_before_endstream(body: bytes) -> bytes:
    """The object with an end-of-line before ``endstream``, checked against its ``/Length``."""
    if not body.endswith(_STREAM_END):
        return body
    data_at = body.index(b"\nstream\n") + len(b"\nstream\n")
    length = _LENGTH.search(body, 0, data_at)
    if length is None or data_at + int(length[1]) != len(body) - len(_STREAM_END):
        raise ValueError("a stream's /Length does not match its data")
    return body[: -len(_STREAM_END)] + b"\n" + _STREAM_END


def _stream_object(number: int, entries: bytes, data: bytes) -> bytes:
    return (
        b"%d 0 obj\n<<\n%s /Length %d\n>>\nstream\n" % (number, entries, len(data))
        + data
        + b"\n"
        + _STREAM_END
    )


def _catalog_entries(metadata: int, profile: int, tree: int | None) -> bytes:
    intent = (
        b"<< /Type /OutputIntent /S /GTS_PDFA1 /OutputConditionIdentifier (%s) /Info (%s)"
        b" /RegistryName (http://www.color.org) /DestOutputProfile %d 0 R >>"
    ) % (OUTPUT_CONDITION.encode(), OUTPUT_CONDITION.encode(), profile)
    entries = b"\n/Metadata %d 0 R /OutputIntents [ %s ]" % (metadata, intent)
    entries += b"\n/ViewerPreferences << /DisplayDocTitle true >>"
    if tree is not None:
        entries += b"\n/MarkInfo << /Marked true >> /StructTreeRoot %d 0 R" % tree
    return entries


def _single_page(objects: list[bytes]) -> int:
    """The number of the one page object."""
    page = re.compile(rb"/Type /Page\s*\n>>")
    pages = [n for n, body in enumerate(objects, start=1) if page.search(body)]
    if len(pages) != 1:
        raise ValueError("not one page where ReportLab writes one")
    return pages[0]


def _structure_objects(
    tree: int, page: int, structure: Sequence[tuple[str, str | None]]
) -> list[bytes]:
    """The StructTreeRoot (``tree``), its Document element and one element per MCID.

    The ParentTree maps the page's StructParents (0) to the elements in MCID order.
    """
    document = tree + 1
    elements = [document + 1 + mcid for mcid in range(len(structure))]
    refs = b" ".join(b"%d 0 R" % e for e in elements)
    bodies = [
        b"%d 0 obj\n<< /Type /StructTreeRoot /K %d 0 R /ParentTree << /Nums [ 0 [ %s ] ] >>"
        b" /ParentTreeNextKey 1 >>\nendobj\n" % (tree, document, refs),
        b"%d 0 obj\n<< /Type /StructElem /S /Document /P %d 0 R /K [ %s ] >>\nendobj\n"
        % (document, tree, refs),
    ]
    for mcid, ((role, alt), number) in enumerate(zip(structure, elements, strict=True)):
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", role):
            raise ValueError("a structure role is a plain PDF name")
        extra = b" /Alt <%s>" % _utf16(alt).hex().encode() if alt else b""
        bodies.append(
            b"%d 0 obj\n<< /Type /StructElem /S /%s /P %d 0 R /Pg %d 0 R /K %d%s >>\nendobj\n"
            % (number, role.encode(), document, page, mcid, extra)
        )
    return bodies


def _utf16(text: str) -> bytes:
    """A PDF text string in UTF-16BE with its byte-order mark."""
    return b"\xfe\xff" + text.encode("utf-16-be")


def _xmp(created: dt.datetime, title: str) -> bytes:
    return _XMP.format(
        title=escape(title),
        tool=CREATOR_TOOL,
        producer=PRODUCER,
        date=created.replace(microsecond=0).isoformat(),
        part=PDFA_PART,
        conformance=PDFA_CONFORMANCE,
    ).encode()


def _icc_object(number: int) -> bytes:
    return _stream_object(number, b"/N 3 /Filter /FlateDecode", _icc_compressed())


@cache
def _icc_compressed() -> bytes:
    """The sRGB profile, read and compressed once per process."""
    return zlib.compress(ICC_PROFILE.read_bytes())
