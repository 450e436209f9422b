"""The one A4 page of a certificate or other document, drawn with ReportLab as unsigned PDF/A.

Everything printed comes from the record (or the other document), the goal's competence
description from the catalogue and the verification link; the wording is in
``formats.pdf_text``. The page is drawn in DejaVu Sans (embedded, so æøå print anywhere) in
black and one solid blue, with no transparency::

    pdf = render_unsigned(record, code="7KQ2-MX4P", verify_base_url="https://bevis.example",
                          created=signed_at, description="Deltageren kan ...")
    pdf = render_unsigned_document(document, created=document.issued_at)

The page is tagged: every text block is marked content (``/H1``, ``/P`` with an MCID), the
rules, boxes and QR code are artifacts, and ``formats.pdf_pdfa`` builds the structure tree
over the MCIDs in drawing order, which is the reading order.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import zxingcpp
from reportlab.lib.colors import Color
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from formats import pdf_text
from formats.document import OtherDocument, OtherDocumentKind
from formats.errors import FormatError
from formats.pdf_pdfa import to_pdfa
from formats.record import CertificateRecord
from formats.text import printable

FONTS = Path(__file__).parent / "fonts"
REGULAR = "AmuDejaVuSans"
BOLD = "AmuDejaVuSans-Bold"

_BLACK = Color(0, 0, 0)
_INK = Color(0.1, 0.1, 0.12)
_MUTED = Color(0.36, 0.38, 0.42)
_ACCENT = Color(0.0, 0.25, 0.5)
_RULE = Color(0.78, 0.8, 0.84)

_WIDTH: float = A4[0]
_HEIGHT: float = A4[1]
_MARGIN: float = 20 * mm
_LABEL_WIDTH: float = 42 * mm
_QR_SIZE: float = 38 * mm
_QR_QUIET_ZONE = 4  # modules of white around the code, as ISO/IEC 18004 asks
_DARK_RUN = re.compile(b"\x00+")  # zxing-cpp draws a dark module as a black (0) pixel
_DESCRIPTION_LINES = 6  # a longer competence description is cut with an ellipsis


@dataclass
class _Tags:
    """The structure roles (and alternative texts) of the marked-content sequences drawn so
    far, MCID = index."""

    canvas: Canvas
    roles: list[tuple[str, str | None]] = field(default_factory=list)

    @contextmanager
    def tag(self, role: str, alt: str | None = None) -> Iterator[None]:
        """Mark what is drawn inside as one structure element of ``role`` (H1, P, ...)."""
        self.canvas.addLiteral(f"/{role} <</MCID {len(self.roles)}>> BDC")
        self.roles.append((role, alt))
        yield
        self.canvas.addLiteral("EMC")

    @contextmanager
    def artifact(self) -> Iterator[None]:
        """Mark what is drawn inside as decoration, not content (rules, boxes, the QR code)."""
        self.canvas.addLiteral("/Artifact BMC")
        yield
        self.canvas.addLiteral("EMC")


@cache
def register_fonts() -> None:
    """Register the embedded TTFs with ReportLab once per process."""
    pdfmetrics.registerFont(TTFont(REGULAR, str(FONTS / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(BOLD, str(FONTS / "DejaVuSans-Bold.ttf")))


@dataclass(frozen=True, slots=True)
class _Row:
    label: str
    value: str


def render_unsigned(
    record: CertificateRecord,
    *,
    code: str,
    verify_base_url: str,
    created: dt.datetime,
    description: str = "",
) -> bytes:
    """The certificate as an unsigned, tagged one-page PDF/A-1b document.

    ``description`` is the goal's competence description from the catalogue (empty: none
    printed). Raises FormatError if the record cannot be shown (a malformed CPR number or
    duration, or text too long for one page); UnprintableTextError (a FormatError) for text
    the page cannot draw as given (``formats.text.printable``: no glyph, right-to-left,
    invisible).
    """
    for text in (record.participant.name, record.goal.title, record.school.name, record.team):
        printable(text)
    if description:
        printable(description)
    url = pdf_text.verification_url(verify_base_url, record.number, code)
    # The description gives way to the rest: cut shorter, then left out, before the
    # certificate itself could not be drawn.
    for lines in (_DESCRIPTION_LINES, _DESCRIPTION_LINES // 2, 0):
        out, canvas, tags = _canvas()
        title, subtitle = pdf_text.heading(record.kind)
        y = _draw_heading(tags, record.school.name, title, subtitle)
        y = _draw_rows(tags, y, _rows(record))
        if description and lines:
            y = _draw_section(tags, y, "Kompetencebeskrivelse", [_clip(description, lines)])
        bottom = _draw_assessment(tags, y, record)
        footer = pdf_text.signed_by(record.school.name, certificate=True)
        if bottom >= _draw_verification(tags, footer, url, code) + 4 * mm:
            return _finish(
                out, canvas, tags, created=created, title=f"{title}: {record.goal.title}"
            )
    raise FormatError("the certificate's texts are too long for one page")


def render_unsigned_document(document: OtherDocument, *, created: dt.datetime) -> bytes:
    """A participation or combined document as an unsigned, tagged one-page PDF/A-1b document.

    Titled so nobody takes it for an AMU certificate, with a line saying it is not one.
    Raises FormatError as ``render_unsigned`` does.
    """
    goals = document.goals
    for text in (document.participant.name, document.school.name, document.reference):
        printable(text)
    for goal in goals:
        printable(goal.title)
    if not goals:
        raise FormatError("a document names at least one goal")
    out, canvas, tags = _canvas()
    participation = document.kind is OtherDocumentKind.PARTICIPATION
    title, subtitle = pdf_text.PARTICIPATION_TITLE if participation else pdf_text.COMBINED_TITLE
    y = _draw_heading(tags, document.school.name, title, subtitle)
    rows = [
        _Row("Navn", document.participant.name),
        _Row("CPR-nr.", pdf_text.masked_cpr(document.participant.cpr)),
        _Row("Uddannelsessted", f"{document.school.name} (institutionsnr. {document.school.id})"),
        _Row("Hold" if participation else "Forløb", document.reference),
        _Row(
            "Periode",
            pdf_text.course_period(min(g.start for g in goals), max(g.end for g in goals)),
        ),
        _Row("Udstedt", pdf_text.issue_date(document.issued_at)),
    ]
    y = _draw_rows(tags, y, rows)
    heading = "Deltaget i" if participation else "AMU-mål gennemført sammen"
    lines = [
        f"{g.number} {g.title} ({pdf_text.duration(g.duration_days)}, "
        f"{pdf_text.course_period(g.start, g.end)})"
        for g in goals
    ]
    y = _draw_section(tags, y, heading, lines)
    y = _draw_section(tags, y, "Bemærk", [pdf_text.NOT_A_CERTIFICATE])
    if y < _draw_footer(tags, pdf_text.signed_by(document.school.name, certificate=False)):
        raise FormatError("the document's texts are too long for one page")
    return _finish(out, canvas, tags, created=created, title=f"{title} {subtitle}")


def _canvas() -> tuple[io.BytesIO, Canvas, _Tags]:
    register_fonts()
    out = io.BytesIO()
    canvas = Canvas(
        out,
        pagesize=A4,
        pageCompression=1,
        invariant=1,  # no wall-clock time or random ID from ReportLab: the PDF is a function
        initialFontName=REGULAR,  # ReportLab's default Helvetica would be an unembedded font
        lang="da",
    )
    return out, canvas, _Tags(canvas)


def _finish(
    out: io.BytesIO, canvas: Canvas, tags: _Tags, *, created: dt.datetime, title: str
) -> bytes:
    canvas.showPage()
    canvas.save()
    return to_pdfa(out.getvalue(), created=created, title=title, structure=tags.roles)


def _clip(text: str, most: int) -> str:
    """``text`` cut to what fits ``most`` lines of the description, ending in "…" if cut."""
    width = _WIDTH - 2 * _MARGIN
    lines = simpleSplit(" ".join(text.split()), REGULAR, 9.5, width)
    if len(lines) <= most:
        return " ".join(lines)
    kept = " ".join(lines[:most])
    return kept[:-2].rstrip() + " …"


def _rows(record: CertificateRecord) -> list[_Row]:
    rows = [
        _Row("Navn", record.participant.name),
        _Row("CPR-nr.", pdf_text.masked_cpr(record.participant.cpr)),
        _Row("AMU-mål", f"{record.goal.number} {record.goal.title}"),
        _Row("Varighed", pdf_text.duration(record.goal.duration_days)),
        _Row("Uddannelsessted", f"{record.school.name} (institutionsnr. {record.school.id})"),
        _Row("Hold", record.team),
        _Row("Kursusperiode", pdf_text.course_period(record.course_start, record.course_end)),
    ]
    if record.exam_date is not None:
        rows.append(_Row("Prøvedato", pdf_text.danish_date(record.exam_date)))
    rows += [
        _Row("Udstedt", pdf_text.issue_date(record.issued_at)),
        _Row("Bevisnummer", record.number),
    ]
    return rows


def _draw_heading(tags: _Tags, school_name: str, title: str, subtitle: str) -> float:
    canvas = tags.canvas
    with tags.artifact():
        canvas.setFillColor(_ACCENT)
        canvas.rect(0, _HEIGHT - 12 * mm, _WIDTH, 12 * mm, stroke=0, fill=1)
    y: float = _HEIGHT - 12 * mm - 12 * mm
    with tags.tag("P"):
        canvas.setFont(REGULAR, 10)
        canvas.setFillColor(_MUTED)
        for line in simpleSplit(school_name, REGULAR, 10, _WIDTH - 2 * _MARGIN):
            canvas.drawString(_MARGIN, y, line)
            y -= 13
    y -= 16
    with tags.tag("H1"):
        canvas.setFillColor(_ACCENT)
        canvas.setFont(BOLD, 30)
        canvas.drawString(_MARGIN, y, title)
        y -= 20
        canvas.setFillColor(_INK)
        canvas.setFont(REGULAR, 13)
        canvas.drawString(_MARGIN, y, subtitle)
    y -= 14
    _rule(tags, y)
    return y - 24


def _draw_rows(tags: _Tags, y: float, rows: list[_Row]) -> float:
    canvas = tags.canvas
    value_x = _MARGIN + _LABEL_WIDTH
    value_width = _WIDTH - _MARGIN - value_x
    for row in rows:
        big = row.label in {"Navn", "AMU-mål"}
        font, size = (BOLD, 13) if big else (REGULAR, 11)
        with tags.tag("P"):
            canvas.setFillColor(_MUTED)
            canvas.setFont(REGULAR, 9.5)
            canvas.drawString(_MARGIN, y + (size - 9.5) * 0.2, row.label)
            canvas.setFillColor(_INK)
            canvas.setFont(font, size)
            for line in simpleSplit(row.value, font, size, value_width):
                canvas.drawString(value_x, y, line)
                y -= size * 1.3
        y -= 5
    return y - 6


def _draw_section(tags: _Tags, y: float, heading: str, paragraphs: list[str]) -> float:
    """A heading over paragraphs of small text; returns where the next block starts."""
    canvas = tags.canvas
    _rule(tags, y + 10)
    y -= 12
    with tags.tag("H2"):
        canvas.setFillColor(_ACCENT)
        canvas.setFont(BOLD, 12)
        canvas.drawString(_MARGIN, y, heading)
    y -= 18
    canvas.setFillColor(_INK)
    for paragraph in paragraphs:
        with tags.tag("P"):
            canvas.setFont(REGULAR, 9.5)
            for line in simpleSplit(paragraph, REGULAR, 9.5, _WIDTH - 2 * _MARGIN):
                canvas.drawString(_MARGIN, y, line)
                y -= 12.5
        y -= 4
    return y - 12


def _draw_assessment(tags: _Tags, y: float, record: CertificateRecord) -> float:
    """The annotations, the legal basis and the replaced certificate; returns the lowest point
    drawn."""
    canvas = tags.canvas
    _rule(tags, y + 10)
    y -= 12
    with tags.tag("H2"):
        canvas.setFillColor(_ACCENT)
        canvas.setFont(BOLD, 12)
        canvas.drawString(_MARGIN, y, "Bedømmelse")
    y -= 20
    width = _WIDTH - 2 * _MARGIN - 6 * mm
    canvas.setFillColor(_INK)
    baseline = y
    for sentence in pdf_text.annotation_lines(record.annotations):
        with tags.tag("P"):
            canvas.setFont(REGULAR, 11)
            canvas.drawString(_MARGIN, y, "•")
            for line in simpleSplit(sentence, REGULAR, 11, width):
                canvas.drawString(_MARGIN + 6 * mm, y, line)
                baseline, y = y, y - 15
        y -= 4
    replaces = pdf_text.replaces_line(record)
    if replaces is not None:
        y -= 8
        with tags.tag("P"):
            canvas.setFont(BOLD, 11)
            for line in simpleSplit(replaces, BOLD, 11, _WIDTH - 2 * _MARGIN):
                canvas.drawString(_MARGIN, y, line)
                baseline, y = y, y - 15
    y -= 6
    with tags.tag("P"):
        canvas.setFont(REGULAR, 9.5)
        for line in simpleSplit(pdf_text.LEGAL_BASIS, REGULAR, 9.5, _WIDTH - 2 * _MARGIN):
            canvas.drawString(_MARGIN, y, line)
            baseline, y = y, y - 12.5
    return baseline - 4  # the descenders of the last line


def _draw_footer(tags: _Tags, footer: str) -> float:
    """The small print at the bottom of the page; returns its top."""
    canvas = tags.canvas
    y = _MARGIN
    with tags.tag("P"):
        canvas.setFillColor(_MUTED)
        canvas.setFont(REGULAR, 8.5)
        for line in reversed(simpleSplit(footer, REGULAR, 8.5, _WIDTH - 2 * _MARGIN)):
            canvas.drawString(_MARGIN, y, line)
            y += 11
    return y


def _draw_verification(tags: _Tags, footer: str, url: str, code: str) -> float:
    """The footer and, above it, the box with the QR code; returns the box's top."""
    canvas = tags.canvas
    y = _draw_footer(tags, footer)
    box_y = y + 4 * mm
    box_height = _QR_SIZE + 8 * mm
    with tags.artifact():
        canvas.setStrokeColor(_RULE)
        canvas.setLineWidth(0.8)
        canvas.rect(_MARGIN, box_y, _WIDTH - 2 * _MARGIN, box_height, stroke=1, fill=0)
    with tags.tag("Figure", alt="QR-kode med adressen til kontrol af beviset"):
        _draw_qr(canvas, url, _MARGIN + 4 * mm, box_y + 4 * mm)
    x = _MARGIN + _QR_SIZE + 10 * mm
    width = _WIDTH - _MARGIN - 4 * mm - x
    y = box_y + box_height - 10 * mm
    with tags.tag("H2"):
        canvas.setFillColor(_ACCENT)
        canvas.setFont(BOLD, 12)
        canvas.drawString(x, y, "Kontrollér beviset")
    y -= 16
    with tags.tag("P"):
        canvas.setFillColor(_INK)
        canvas.setFont(REGULAR, 9.5)
        canvas.drawString(x, y, "Scan QR-koden, eller gå til:")
        y -= 13
        canvas.setFont(REGULAR, 9)
        for line in _wrap_url(url, REGULAR, 9, width):
            canvas.drawString(x, y, line)
            y -= 12
    y -= 3
    with tags.tag("P"):
        canvas.setFont(REGULAR, 9.5)
        canvas.drawString(x, y, "Kontrolkode: ")
        canvas.setFont(BOLD, 9.5)
        canvas.drawString(x + pdfmetrics.stringWidth("Kontrolkode: ", REGULAR, 9.5), y, code)
    top: float = box_y + box_height
    return top


def _draw_qr(canvas: Canvas, url: str, x: float, y: float) -> None:
    """The QR code (error correction M) as one filled path of dark runs.

    zxing-cpp encodes it (compiled; ReportLab's pure-Python encoder took a quarter of the
    page's time), choosing the segments, the smallest version and the mask by the standard's
    rules. Its image at one pixel per module, without quiet zone, is the module matrix: 0 is
    dark. The path is written in module units under a transform, origin at the top left module
    and y running down, so each run is four small integers rather than four formatted floats.
    """
    code = zxingcpp.create_barcode(url, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    image = code.to_image(scale=1, add_quiet_zones=False)
    count = image.shape[1]
    pixels = memoryview(image).tobytes()  # type: ignore[arg-type] # its stubs omit the buffer
    module = _QR_SIZE / (count + 2 * _QR_QUIET_ZONE)
    runs = [
        f"{run.start() - start} {row} {run.end() - run.start()} 1 re"
        for row, start in enumerate(range(0, len(pixels), count))
        for run in _DARK_RUN.finditer(pixels, start, start + count)
    ]
    canvas.saveState()
    canvas.setFillColor(_BLACK)
    quiet = _QR_QUIET_ZONE * module
    canvas.transform(module, 0, 0, -module, x + quiet, y + _QR_SIZE - quiet)
    canvas.addLiteral("\n".join([*runs, "f"]))
    canvas.restoreState()


def _rule(tags: _Tags, y: float) -> None:
    with tags.artifact():
        tags.canvas.setStrokeColor(_RULE)
        tags.canvas.setLineWidth(0.8)
        tags.canvas.line(_MARGIN, y, _WIDTH - _MARGIN, y)


def _wrap_url(url: str, font: str, size: float, width: float) -> list[str]:
    """Split a URL (no spaces to break at) after a ``/``, ``?`` or ``&`` where one is near."""
    lines: list[str] = []
    rest = url
    while rest:
        cut = len(rest)
        while pdfmetrics.stringWidth(rest[:cut], font, size) > width:
            cut -= 1
        if cut < len(rest):
            breaks = [i + 1 for i, char in enumerate(rest[:cut]) if char in "/?&"]
            if breaks and breaks[-1] > cut // 2:
                cut = breaks[-1]
        lines.append(rest[: max(cut, 1)])
        rest = rest[max(cut, 1) :]
    return lines
