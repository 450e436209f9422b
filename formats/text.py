"""What text a certificate may carry: the one place for the rules every form of it shares.

A certificate's words are signed as JSON, carried in the certificate XML and a MeMo message
(XML 1.0) and printed on the PDF in the embedded DejaVu Sans, drawn glyph by glyph with no
bidirectional reordering and no shaping. Text is accepted only if all of them carry it
faithfully, so nothing is refused (or printed wrongly) after it was signed::

    clean_name("  Åse Ødegård ")     # "Åse Ødegård": NFC-normalised, outer spaces dropped
    clean_name("\\u202eÅse")          # UnprintableTextError: a bidirectional control
    printable("山田")                 # UnprintableTextError: no glyph in the PDF's font

What is refused, and why (docs/formats.md, "What text a record may carry"):

- control characters (C0, DEL, C1: NUL, tab, newline, escape ...): XML 1.0 cannot hold most of
  them and none has a place in a name or a reference;
- format characters (Unicode category Cf): bidirectional embeddings, overrides and isolates
  (U+202A-202E, U+2066-2069), the marks U+200E/U+200F and U+061C, zero-width spaces and joiners,
  the byte-order mark: invisible, they make a printed name read differently from the signed one;
- surrogates, private-use and unassigned code points, line and paragraph separators, and every
  space but U+0020 (a no-break space looks like a space and compares unequal to it);
- right-to-left letters and digits (bidirectional classes R, AL, AN): the PDF draws them left to
  right and unjoined; names in the CPR register are written in Latin letters anyway;
- any character without a glyph in both embedded fonts (regular and bold): it would print as an
  empty box.
"""

from __future__ import annotations

import unicodedata
from functools import cache
from pathlib import Path

from reportlab.pdfbase.ttfonts import TTFontFile

from formats.errors import UnprintableTextError

FONTS = Path(__file__).parent / "fonts"
_FONT_FILES = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf")  # what formats.pdf_layout draws with

_REFUSED_CATEGORIES = {
    "Cc": "a control character",
    "Cf": "an invisible formatting character (a bidirectional control or a zero-width one)",
    "Cs": "a lone surrogate",
    "Co": "a private-use character",
    "Cn": "an unassigned code point",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
}
_RIGHT_TO_LEFT = frozenset({"R", "AL", "AN"})


@cache
def _glyphs() -> frozenset[int]:
    """The code points both embedded fonts draw (read once per process)."""
    maps = [set(TTFontFile(str(FONTS / name)).charToGlyph) for name in _FONT_FILES]
    return frozenset(set.intersection(*maps))


@cache
def carried_characters() -> frozenset[str]:
    """Every character ``printable`` accepts: drawn by both fonts and refused by no rule."""
    return frozenset(c for c in map(chr, _glyphs()) if _refusal(c) is None)


def printable(value: str) -> None:
    """Check that every character of ``value`` can be carried by every form of a certificate.

    Raises UnprintableTextError saying which kind of character is refused (not which text).
    """
    carried = carried_characters()
    for char in value:
        if char not in carried:
            raise UnprintableTextError(
                _refusal(char) or "contains a character the certificate's font cannot draw"
            )


def _refusal(char: str) -> str | None:
    """Why a rule other than the font's refuses ``char``, or None."""
    category = unicodedata.category(char)
    if category in _REFUSED_CATEGORIES:
        return f"contains {_REFUSED_CATEGORIES[category]}"
    if category == "Zs" and char != " ":
        return "contains a space other than U+0020"
    if unicodedata.bidirectional(char) in _RIGHT_TO_LEFT:
        return "contains right-to-left script, which the PDF cannot draw"
    return None


def clean_text(value: str) -> str:
    """``value`` NFC-normalised, without outer spaces, checked by ``printable``, and holding at
    least one visible character (a letter, digit, punctuation or symbol).

    Raises UnprintableTextError.
    """
    text = unicodedata.normalize("NFC", value).strip(" ")
    printable(text)
    if not any(unicodedata.category(c)[0] in "LNPS" for c in text):
        raise UnprintableTextError("has no visible character")
    return text


def clean_name(value: str) -> str:
    """A person's name as it is signed: ``clean_text`` of it, holding at least one letter.

    Raises UnprintableTextError.
    """
    name = clean_text(value)
    if not any(unicodedata.category(c).startswith("L") for c in name):
        raise UnprintableTextError("has no letter")
    return name
