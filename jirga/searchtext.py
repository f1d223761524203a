"""How text becomes search words, the same way for an article being indexed and for a query.

A text is folded as the matcher folds it (:func:`jirga.arabic.normalize`: Arabic-script letter
variants, hamza, diacritics, tatweel, ZWNJ, case, digits), Latin accents are dropped as well
(``Kābul`` is ``kabul``), and the result is cut into words: runs of letters and digits of any
script. Both search backends are handed these words, never raw text, so SQLite and PostgreSQL
agree on what a word is and a query word always meets the indexed word it was folded from.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Sequence

from jirga.arabic import normalize

__all__ = [
    "MAX_WORD_CHARS",
    "article_words",
    "body_of",
    "date_tokens",
    "fold_accents",
    "period_cover",
    "tsvector_literal",
    "words",
]

#: Longer runs are not words a reader searches for (base64, hashes) and are not indexed.
MAX_WORD_CHARS = 80
# PostgreSQL keeps positions 1..16383 and at most 256 of them per lexeme.
_PG_MAX_POSITION = 16383
_PG_MAX_POSITIONS = 256

_COMBINING = "\u0300-\u036f"
_ACCENTS = re.compile(f"[{_COMBINING}]+")
_WORD = re.compile(r"[^\W_]+")


def _latin_bases() -> dict[int, str]:
    """Precomposed Latin letters mapped to their base letter (``ā`` to ``a``)."""
    table: dict[int, str] = {}
    for block in (range(0x00C0, 0x0250), range(0x1E00, 0x1F00)):
        for cp in block:
            decomposed = unicodedata.normalize("NFD", chr(cp))
            base = "".join(c for c in decomposed if not unicodedata.combining(c))
            if len(base) == 1 and base != chr(cp):
                table[cp] = base
    return table


_BASES = _latin_bases()
_ACCENTED = re.compile("[" + "".join(sorted(chr(cp) for cp in _BASES)) + "]")


def fold_accents(text: str) -> str:
    """Precomposed Latin letters onto their base letter; the length stays the same."""
    # Most text has none of them (all of Arabic script): a search is much cheaper than translate.
    return text.translate(_BASES) if _ACCENTED.search(text) else text


def words(text: str) -> list[str]:
    """The search words of ``text``, in order."""
    plain = _ACCENTS.sub("", fold_accents(normalize(text).text))
    return [w for w in _WORD.findall(plain) if len(w) <= MAX_WORD_CHARS]


def body_of(title: str, text: str) -> str:
    """An article's text without the title that the normaliser put on its first line."""
    if title and text.startswith(title):
        rest = text[len(title) :]
        if not rest or rest[0] == "\n":
            return rest[1:]
    return text


def article_words(title: str, text: str) -> tuple[str, str]:
    """The search words of an article's title and of its body (``text`` without the title),
    each joined by single spaces (a word never holds a space)."""
    return " ".join(words(title)), " ".join(words(body_of(title, text)))


def _lexeme(word: str) -> str:
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def tsvector_literal(title_words: Sequence[str], body_words: Sequence[str]) -> str:
    """A PostgreSQL ``tsvector`` value of an article: title words at weight A, body words at the
    default weight D, one position apart from each other and never adjacent across the two, so a
    phrase cannot run from the title into the body."""
    positions: dict[str, list[str]] = {}
    seen: dict[str, set[int]] = {}
    position = 0
    for weight, group in (("A", title_words), ("", body_words)):
        for word in group:
            position += 1
            at = min(position, _PG_MAX_POSITION)
            taken = seen.setdefault(word, set())
            if at in taken or len(taken) >= _PG_MAX_POSITIONS:
                continue
            taken.add(at)
            positions.setdefault(word, []).append(f"{at}{weight}")
        position += 1
    return " ".join(f"{_lexeme(w)}:{','.join(p)}" for w, p in positions.items())


# --- publication periods as words ------------------------------------------------------------
# SQLite's full-text index cannot use the date index, so an article's UTC day, month and year
# are indexed as words of their own (``d20261115 m202611 y2026``, in a column no query word
# reaches): a date filter then narrows the full-text match inside the index instead of after it.


def date_tokens(published_at: dt.datetime) -> str:
    """The period words of a publication time (UTC)."""
    day = published_at.astimezone(dt.UTC)
    return f"d{day:%Y%m%d} m{day:%Y%m} y{day:%Y}"


def _next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def period_cover(since: dt.datetime, until: dt.datetime) -> list[str]:
    """Period words whose articles include every one published in ``[since, until)``: whole
    years and months where they fit, days at the edges (at most about 85 words)."""
    if until <= since:
        return []
    day = since.astimezone(dt.UTC).date()
    last = (until.astimezone(dt.UTC) - dt.timedelta(microseconds=1)).date()
    out: list[str] = []
    while day <= last:
        if day.month == 1 and day.day == 1 and dt.date(day.year, 12, 31) <= last:
            out.append(f"y{day:%Y}")
            day = dt.date(day.year + 1, 1, 1)
        elif day.day == 1 and _next_month(day) - dt.timedelta(days=1) <= last:
            out.append(f"m{day:%Y%m}")
            day = _next_month(day)
        else:
            out.append(f"d{day:%Y%m%d}")
            day += dt.timedelta(days=1)
    return out
