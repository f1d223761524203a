"""Text normalisation for matching in Latin and Arabic script, with a map back to the original.

Urdu, Pashto and Dari/Persian outlets spell the same word with different code points (Arabic or
Persian yeh and kaf, four kinds of heh, optional diacritics, tatweel, ZWNJ), and Latin text differs
in case and compatibility forms. :func:`normalize` folds all of that onto one spelling and keeps an
offset map, so a match found in the folded text is reported as a span of the text as stored.

What is folded, character by character (only step 7 looks at a character's neighbours):

1. NFKC, then (by default) full case folding: presentation forms and ligatures such as ``ﻻ`` become
   their letters, ``ＴＴＰ`` becomes ``ttp``. Spacing accents, whose NFKC form holds a space
   (``¨``), are left as they are.
2. Yeh: Arabic ``ي`` (U+064A) and alef maksura ``ى`` onto Persian ``ی`` (U+06CC). Pashto prints a
   final ``ي`` on purpose, but no two words in the watch list differ by it, and Arabic-keyboard
   typing uses it everywhere. Pashto ``ې`` (U+06D0) and ``ۍ`` (U+06CD), and Urdu bari ye ``ے``, are
   letters of their own and are kept.
3. Kaf: Arabic ``ك`` onto keheh ``ک`` (U+06A9).
4. Heh: Urdu heh goal ``ہ``, do-chashmi ``ھ``, ae ``ە``, teh marbuta ``ة`` and ``ۃ`` onto ``ه``
   (U+0647): Urdu ``دوحہ`` and Persian ``دوحه`` are one spelling, and Arabic-keyboard Urdu types
   ``ه`` for both Urdu hehs.
5. Hamza and madda are diacritics for matching: ``آ أ إ ٱ`` become ``ا``, ``ئ`` becomes ``ی``,
   ``ؤ`` becomes ``و``, ``ۀ ۂ`` become ``ه``, ``ۓ`` becomes ``ے``. The separately typed hamza
   (U+0654) is a combining mark and goes with step 6, so both ways of typing one word agree.
   The stand-alone hamza ``ء`` is a letter and is kept.
6. Removed: every combining mark of the Arabic blocks (harakat U+064B–U+065F, superscript alef
   U+0670, the Urdu/Quranic signs U+0610–U+061A and U+06D6–U+06ED), tatweel (U+0640), and every
   format character (category Cf: ZWNJ, ZWJ, bidi marks, soft hyphen, BOM). Removing the ZWNJ
   makes Persian ``خلیل‌زاد`` read ``خلیلزاد``; it also makes ``طالبان‌ها`` one word.
7. Separators: a run of whitespace and hyphens (``-``, U+2010–U+2013) becomes one space, so
   ``Tehrik-i-Taliban`` and ``Tehrik i  Taliban`` are one spelling.
8. Digits (optional, on by default): Arabic-Indic and Persian digits onto ``0``–``9``.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from jirga.cache import code_point_lists

__all__ = [
    "WORD_AHEAD",
    "WORD_BEHIND",
    "Normalized",
    "fold",
    "folded_text",
    "is_word",
    "normalize",
]

_LETTERS = {
    "\u064a": "\u06cc",  # ي Arabic yeh
    "\u0649": "\u06cc",  # ى alef maksura
    "\u0626": "\u06cc",  # ئ yeh with hamza
    "\u0643": "\u06a9",  # ك Arabic kaf
    "\u06c1": "\u0647",  # ہ heh goal (Urdu)
    "\u06be": "\u0647",  # ھ heh do-chashmi (Urdu aspirates)
    "\u06d5": "\u0647",  # ە ae
    "\u0629": "\u0647",  # ة teh marbuta
    "\u06c3": "\u0647",  # ۃ teh marbuta goal (Urdu)
    "\u06c0": "\u0647",  # ۀ heh with yeh above (Persian ezafe)
    "\u06c2": "\u0647",  # ۂ heh goal with hamza
    "\u0622": "\u0627",  # آ alef with madda
    "\u0623": "\u0627",  # أ alef with hamza above
    "\u0625": "\u0627",  # إ alef with hamza below
    "\u0671": "\u0627",  # ٱ alef wasla
    "\u0624": "\u0648",  # ؤ waw with hamza
    "\u06d3": "\u06d2",  # ۓ bari ye with hamza
}
_DIGITS = {chr(0x0660 + i): str(i) for i in range(10)} | {
    chr(0x06F0 + i): str(i) for i in range(10)
}
_HYPHENS = frozenset("-\u2010\u2011\u2012\u2013")
_TATWEEL = "\u0640"
_ARABIC_BLOCKS = (
    (0x0600, 0x06FF),
    (0x0750, 0x077F),
    (0x0870, 0x08FF),
    (0xFB50, 0xFDFF),
    (0xFE70, 0xFEFF),
)
# Planes 3-13 and 15-16 hold only CJK ideographs and private use: nothing there folds or vanishes.
_SCANNED = (range(0x30000), range(0xE0000, 0xE1000))


def _removed(ch: str) -> bool:
    category = unicodedata.category(ch)
    if category == "Cf" or ch == _TATWEEL:
        return True
    cp = ord(ch)
    return category == "Mn" and any(lo <= cp <= hi for lo, hi in _ARABIC_BLOCKS)


def _fold_char(ch: str, casefold: bool, digits: bool) -> str:
    """The normalised form of one character: usually one character, sometimes none or several."""
    text = unicodedata.normalize("NFKC", ch)
    if casefold and (folded := text.casefold()) != text:
        text = unicodedata.normalize("NFKC", folded)
    out = []
    for c in text:
        if c.isspace() or c in _HYPHENS:
            out.append(" ")
        elif _removed(c):
            continue
        elif digits and c in _DIGITS:
            out.append(_DIGITS[c])
        else:
            out.append(_LETTERS.get(c, c))
    return "".join(out)


def _char_class(chars: Iterable[str]) -> str:
    """A regex character class of ``chars``, written as ranges."""
    cps = sorted({ord(c) for c in chars})
    parts: list[str] = []
    i = 0
    while i < len(cps):
        j = i
        while j + 1 < len(cps) and cps[j + 1] == cps[j] + 1:
            j += 1
        lo, hi = re.escape(chr(cps[i])), re.escape(chr(cps[j]))
        parts.append(lo if i == j else f"{lo}-{hi}")
        i = j + 1
    return "[" + "".join(parts) + "]"


# --- scans of Unicode ----------------------------------------------------------------------------


def _marks_and_formats() -> tuple[list[str], list[str]]:
    """The scanned characters of category M (marks) and of category Cf (format), in one pass."""
    marks, formats = [], []
    for block in _SCANNED:
        for cp in block:
            category = unicodedata.category(chr(cp))
            if category[0] == "M":
                marks.append(chr(cp))
            elif category == "Cf":
                formats.append(chr(cp))
    return marks, formats


def _scanned_chars() -> list[str]:
    return [chr(cp) for block in _SCANNED for cp in block if not 0xD800 <= cp <= 0xDFFF]


def _per_char(transform: Callable[[str], str], chars: list[str]) -> list[str] | None:
    """``transform`` of each character, from one call over all of them joined by newlines.

    A newline is a starter that composes with nothing, so NFKC or case folding of the joined
    text is that of each character in turn; None if the pieces do not come apart one for one.
    """
    pieces = transform("\n".join(chars)).split("\n")
    return pieces if len(pieces) == len(chars) else None


def _changing_both(marks: list[str], formats: frozenset[str]) -> dict[bool, list[str]]:
    """:func:`_changing` for both ``casefold`` settings (every process folding text needs both:
    the matcher keeps its aliases' case for acronyms), given the scanned marks and format
    characters.

    :func:`_fold_char` starts from NFKC and case folding: a character both leave alone changes
    only if it is a space, a hyphen, removed, a digit or a letter that is mapped. The whole range
    is tested with one call of each over the joined text instead of two calls per character,
    the NFKC pass shared by both settings; only the characters found are folded one by one.
    """
    chars = [ch for ch in _scanned_chars() if ch != "\n"]  # the separator is a space anyway
    nfkc = _per_char(lambda t: unicodedata.normalize("NFKC", t), chars)
    folded = _per_char(str.casefold, nfkc) if nfkc is not None else None
    removed = formats | {_TATWEEL} | {ch for ch in marks if _removed(ch)}
    special = removed | set(_HYPHENS) | set(_LETTERS) | set(_DIGITS)

    def changing(outs: list[str] | None) -> list[str]:
        if outs is None:  # not expected; folding every character is always right
            return ["\n", *chars]
        pairs = zip(chars, outs, strict=True)
        return ["\n"] + [ch for ch, o in pairs if o != ch or ch in special or ch.isspace()]

    return {False: changing(nfkc), True: changing(folded)}


def _scans() -> dict[str, list[str]]:
    """What this module's tables start from: the marks and format characters, and the
    characters folding may change with and without case folding (:func:`_changing_both`)."""
    marks, formats = _marks_and_formats()
    changing = _changing_both(marks, frozenset(formats))
    return {
        "marks": marks,
        "formats": formats,
        "changing": changing[False],
        "changing_casefold": changing[True],
    }


# Scanning every code point takes about 0.1 s, in every process that imports this module (the
# parser pool's fork server, at the start of a poll, among them); the results are kept in the
# cache directory, keyed by this file, Python's version and its Unicode tables.
_SCANS = code_point_lists(
    Path(__file__), ("marks", "formats", "changing", "changing_casefold"), _scans
)
_MARK_CHARS, _FORMAT_CHARS = _SCANS["marks"], frozenset(_SCANS["formats"])


# --- word boundaries ------------------------------------------------------------------------------

# A word character is a letter or a number of any script ([^\W_]: what str.isalnum accepts) or a
# mark. Marks matter in Latin and Indic text; the Arabic ones are gone once the text is folded.
_MARKS = _char_class(_MARK_CHARS)
WORD_AHEAD = rf"(?![^\W_])(?!{_MARKS})"
"""Regex: no word character follows."""
WORD_BEHIND = rf"(?<![^\W_])(?<!{_MARKS})"
"""Regex: no word character precedes."""
_WORD_CHAR = re.compile(rf"[^\W_]|{_MARKS}")


def is_word(text: str, index: int) -> bool:
    """Whether ``text[index]`` exists and is a word character (a letter, mark or number)."""
    return 0 <= index < len(text) and _WORD_CHAR.match(text, index) is not None


# --- folding tables ------------------------------------------------------------------------------

_UNICODE = 0x110000
_Codes = npt.NDArray[np.uint32]


_SPECIAL = np.uint32(0xFFFFFFFF)  # in ``single``: the character is removed or expands
_SPECIAL_BYTES = b"\xff\xff\xff\xff"


@dataclass(frozen=True)
class _Tables:
    single: _Codes  # per code point: its fold where that is one character, else _SPECIAL
    length: npt.NDArray[np.uint8]  # per code point: 0 removed, 1 folded to one, n expanded to n
    expand: dict[int, _Codes]  # code point -> the characters it expands to


def _changing(casefold: bool) -> list[str]:
    """The scanned characters that :func:`_fold_char` may change; all others fold to themselves."""
    return _SCANS["changing_casefold" if casefold else "changing"]


@functools.cache
def _tables(casefold: bool, digits: bool) -> _Tables:
    # Built once per process and option set (about 0.1 s). Folding is then array lookups over the
    # text's code points, which is what makes it fast enough to run on every article.
    single = np.arange(_UNICODE, dtype=np.uint32)
    length = np.ones(_UNICODE, dtype=np.uint8)
    expand: dict[int, _Codes] = {}
    for ch in _changing(casefold):
        cp = ord(ch)
        out = _fold_char(ch, casefold, digits)
        if out == ch:
            continue
        if " " in out and out != " ":
            continue  # spacing accents ("¨" is NFKC " ̈"): punctuation, left as they are
        length[cp] = len(out)
        if len(out) == 1:
            single[cp] = ord(out)
            continue
        single[cp] = _SPECIAL
        if out:
            expand[cp] = np.array([ord(c) for c in out], dtype=np.uint32)
    return _Tables(single, length, expand)


@dataclass(frozen=True, eq=False)
class Normalized:
    """A normalised text and, for each of its characters, the offset of the original character
    it came from (the characters of an expansion, such as ``ﻻ`` to ``لا``, share one; a run of
    separators folded to one space keeps the offset of its first). ``origin`` is None when every
    character kept its place."""

    text: str
    origin: npt.NDArray[np.int64] | None

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span behind the normalised span ``text[start:end]`` (``start < end``)."""
        if self.origin is None:
            return start, end
        return int(self.origin[start]), int(self.origin[end - 1]) + 1

    def index(self, offset: int) -> int:
        """The first normalised position whose original offset is ``offset`` or later."""
        if self.origin is None:
            return min(offset, len(self.text))
        return int(np.searchsorted(self.origin, offset))


def _expand(
    tables: _Tables, codes: _Codes, folded: _Codes, lengths: npt.NDArray[np.uint8]
) -> _Codes:
    """The folded codes when some characters expand (``ﻻ``, ``…``, ``ß``)."""
    ends = np.cumsum(lengths, dtype=np.int64)
    kept = np.empty(int(ends[-1]), dtype=np.uint32)
    one = lengths == 1
    kept[ends[one] - 1] = folded[one]
    for index in np.flatnonzero(lengths > 1):
        piece = tables.expand[int(codes[index])]
        kept[ends[index] - len(piece) : ends[index]] = piece
    return kept


def normalize(text: str, *, casefold: bool = True, digits: bool = True) -> Normalized:
    """Fold ``text`` for matching (see the module docstring) and keep the offset map.

    ``casefold=False`` keeps case (for case-sensitive acronyms); ``digits=False`` keeps
    Arabic-Indic and Persian digits as they are.
    """
    tables = _tables(casefold, digits)
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    folded = tables.single[codes]
    data = folded.tobytes()
    origin: npt.NDArray[np.int64] | None = None
    # Byte search is exact here: every real code point has a zero high byte, so four 0xFF bytes
    # in a row can only come from a _SPECIAL code.
    if _SPECIAL_BYTES in data:
        lengths = tables.length[codes]
        if lengths.max() <= 1:  # removals only (ZWNJ, diacritics, tatweel): the common case
            kept_at = lengths.astype(bool)
            folded, origin = folded[kept_at], np.flatnonzero(kept_at)
        else:
            folded = _expand(tables, codes, folded, lengths)
            origin = np.repeat(np.arange(len(codes), dtype=np.int64), lengths)
        data = folded.tobytes()
    out = data.decode("utf-32-le", "surrogatepass")
    if "  " in out:  # a run of separators becomes its first space
        space = folded == 0x20
        keep = np.ones(len(folded), dtype=bool)
        keep[1:] = ~(space[1:] & space[:-1])
        if origin is None:
            origin = np.arange(len(folded), dtype=np.int64)
        folded, origin = folded[keep], origin[keep]
        out = folded.tobytes().decode("utf-32-le", "surrogatepass")
    return Normalized(out, origin)


def folded_text(text: str, *, casefold: bool = True, digits: bool = True) -> str:
    """``normalize(text).text``, without the offset map: for a text only searched (the
    screening of a feed's entries), whose offsets cost more than its folding."""
    tables = _tables(casefold, digits)
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    folded = tables.single[codes]
    data = folded.tobytes()
    if _SPECIAL_BYTES in data:  # see normalize
        lengths = tables.length[codes]
        if lengths.max() <= 1:
            folded = folded[lengths.astype(bool)]
        else:
            folded = _expand(tables, codes, folded, lengths)
        data = folded.tobytes()
    out = data.decode("utf-32-le", "surrogatepass")
    if "  " in out:  # as in normalize (a regex over the text is slower, runs being many)
        space = folded == 0x20
        keep = np.ones(len(folded), dtype=bool)
        keep[1:] = ~(space[1:] & space[:-1])
        out = folded[keep].tobytes().decode("utf-32-le", "surrogatepass")
    return out


def fold(text: str, *, casefold: bool = True, digits: bool = True) -> str:
    """The normalised text alone, with outer spaces stripped: how an alias or a context word is
    compared."""
    return folded_text(text, casefold=casefold, digits=digits).strip()
