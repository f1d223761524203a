"""A search hit's snippet: a short window of the article's own text with the query's words marked.

The window is cut from the original text, not from the folded copy that is indexed: hits are
found in the folded text (so ``كابل`` in the query marks ``کابل`` in the text) and mapped back
through the fold's offset map, so the reader sees the article's spelling, case and diacritics.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Sequence

from jirga.arabic import normalize
from jirga.searchtext import fold_accents

#: Markers put around each highlighted run.
MARK_START = "**"
MARK_END = "**"
#: About how many characters of text a snippet shows.
SNIPPET_CHARS = 200
# Characters shown before the first hit of the window.
_LEAD = 40
# Only the start of very long texts is searched for hits: enough for any snippet, and it keeps a
# page of results cheap when an article holds a whole feed's worth of text.
_SCAN_CHARS = 50_000
_SPACE = re.compile(r"\s+")
_WORD_CHAR = re.compile(r"[^\W_]|[\u0300-\u036f]")
_NOT_WORD = r"(?:[\W_](?<![\u0300-\u036f]))+"
_MAX_SNAP = 60  # characters a window edge moves to avoid cutting a word


def _word(word: str) -> str:
    # The index drops combining accents; in the text they may stand after any letter.
    return "".join(re.escape(c) + "[\u0300-\u036f]*" for c in word)


@functools.lru_cache(maxsize=256)
def _pattern(phrases: tuple[tuple[str, ...], ...]) -> re.Pattern[str] | None:
    """A regex of the phrases as whole words of folded text, longest first."""
    alternatives = sorted(
        {_NOT_WORD.join(_word(w) for w in p) for p in phrases if p}, key=len, reverse=True
    )
    if not alternatives:
        return None
    return re.compile(rf"(?<![^\W_])(?:{'|'.join(alternatives)})(?![^\W_])")


def _is_word(text: str, i: int) -> bool:
    return 0 <= i < len(text) and _WORD_CHAR.match(text, i) is not None


def _window(hits: Sequence[tuple[int, int]], length: int, width: int) -> tuple[int, int]:
    """The stretch of ``width`` characters that holds the most hits (starts of hits)."""
    if not hits:
        return 0, min(length, width)
    starts = [h[0] for h in hits]
    best, best_count = starts[0], 0
    for i, start in enumerate(starts):
        count = bisect.bisect_left(starts, start + width - _LEAD) - i
        if count > best_count:
            best, best_count = start, count
    begin = max(0, best - _LEAD)
    return begin, min(length, begin + width)


def snippet(
    text: str,
    phrases: Sequence[Sequence[str]],
    *,
    width: int = SNIPPET_CHARS,
    start_mark: str = MARK_START,
    end_mark: str = MARK_END,
) -> str:
    """About ``width`` characters of ``text`` around the densest run of hits, each hit between
    markers; the start of the text when nothing matches. ``phrases`` are search-word sequences
    (:func:`jirga.searchtext.words`); a one-word phrase is a word."""
    head = text[:_SCAN_CHARS]
    folded = normalize(head)
    target = fold_accents(folded.text)  # same length: the offset map still holds
    if not target.strip():
        return _SPACE.sub(" ", head[:width]).strip()
    pattern = _pattern(tuple(tuple(p) for p in phrases))
    hits = [m.span() for m in pattern.finditer(target)] if pattern else []
    begin, end = _window(hits, len(target), width)
    # Move the edges out of any word they cut.
    for _ in range(_MAX_SNAP):
        if not (_is_word(target, begin - 1) and _is_word(target, begin)):
            break
        begin -= 1
    for _ in range(_MAX_SNAP):
        if not (_is_word(target, end - 1) and _is_word(target, end)):
            break
        end += 1

    def original(start: int, stop: int) -> tuple[int, int]:
        return folded.span(start, stop)

    out_begin, out_end = original(begin, end) if end > begin else (0, 0)
    out: list[str] = []
    cursor = out_begin
    for start, stop in hits:
        if start < begin or stop > end:
            continue
        a, b = original(start, stop)
        out.append(_SPACE.sub(" ", head[cursor:a]))
        out.append(start_mark + _SPACE.sub(" ", head[a:b]) + end_mark)
        cursor = b
    out.append(_SPACE.sub(" ", head[cursor:out_end]))
    body = "".join(out).strip()
    prefix = "… " if begin > 0 else ""
    suffix = " …" if end < len(target) or len(text) > len(head) else ""
    return prefix + body + suffix
