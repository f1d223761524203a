"""Find the watch terms an article mentions: every alias of every term in one pass over its text.

How a match is decided:

- Text and aliases are folded by :func:`jirga.arabic.normalize` (case, yeh/kaf/heh, diacritics,
  tatweel, ZWNJ, runs of spaces and hyphens), and spans are mapped back to the original text.
- An alias matches only as a whole word: the characters just before and after it must not be a
  letter, mark or number of any script, so ``Khalilzad`` is not found in ``Khalilzadeh`` and
  ``طالبان`` not in ``طالبانو``, while ``طالبان،`` and ``pro-Taliban`` are found.
- ``acronym`` aliases must also match case exactly: ``TTP``, ``TTP's`` and ``TTP-linked`` count;
  ``ttp`` (in a URL), ``TTPs`` and ``TTPS`` do not (``TTPs`` is security jargon: tactics,
  techniques and procedures).
- ``context`` aliases count only when one of the term's context words occurs, as a whole word, in
  the same sentence and at most ``context_window`` words before or after the alias.
- Where aliases overlap, the leftmost wins, then the longest: ``Pakistani Taliban`` and
  ``تحریک طالبان`` are mentions of the TTP, not also of the Taliban inside them. At each position
  only the longest alias that has word boundaries is tried; if its rule rejects it (a wrong-case
  acronym, a context alias without context), nothing matches there.

Two engines find the candidates, in one pass over the folded text for all aliases of all terms,
and give the same mentions: an Aho–Corasick automaton (pyahocorasick; the default, about twice as
fast in ``bench/bench_match.py``) and one compiled regex alternation, longest alias first.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, cast

import ahocorasick  # type: ignore[import-not-found]

from jirga.arabic import WORD_AHEAD, WORD_BEHIND, Normalized, fold, folded_text, is_word, normalize
from jirga.errors import ConfigError, ConfigProblem
from jirga.types import AliasRule, Mention, Term

__all__ = ["CONTEXT_WINDOW", "DEFAULT_ENGINE", "SNIPPET_CHARS", "Engine", "Matcher", "snippet"]

Engine = Literal["aho", "regex"]
DEFAULT_ENGINE: Engine = "aho"
CONTEXT_WINDOW: int | None = 8
"""Words either side of a ``context`` alias in which a context word must appear, within its
sentence (None: anywhere in the sentence). Words are what spaces and hyphens separate. 8 is the
smallest window with the recall of the whole sentence on the written examples; it also keeps
run-on text without punctuation, whose "sentence" is hundreds of words, from letting a context
word far away license a bare طالبان."""
SNIPPET_CHARS = 300
"""Longest snippet; a longer sentence is cut around the mention, at spaces, marked with ``…``."""

_WATCHLIST = "watchlist.toml"
# Joins the texts of :meth:`Matcher.find_many`: NUL folds to itself, is no word character, and
# clean text (jirga.sanitize.clean_text) never holds it.
_SEPARATOR = "\x00"


@dataclass(frozen=True)
class _Entry:
    term: str
    alias: str  # as configured
    rule: AliasRule
    cased: str  # the alias folded without case folding, for the acronym check


@dataclass(frozen=True)
class _Candidate:
    start: int  # in the normalised text
    end: int
    key: int


class _AhoEngine:
    """Candidates from an Aho–Corasick automaton: every occurrence of every key in one pass."""

    def __init__(self, keys: Sequence[str]) -> None:
        self._automaton = ahocorasick.Automaton()
        for index, key in enumerate(keys):
            self._automaton.add_word(key, (len(key), index))
        self._automaton.make_automaton()
        self._empty = not keys

    def scan(self, text: str) -> Iterator[_Candidate]:
        if self._empty:
            return
        longest: dict[int, tuple[int, int]] = {}
        for last, (length, key) in self._automaton.iter(text):
            end = last + 1
            start = end - length
            if is_word(text, start - 1) or is_word(text, end):
                continue
            if start not in longest or longest[start][0] < end:
                longest[start] = (end, key)
        for start in sorted(longest):
            end, key = longest[start]
            yield _Candidate(start, end, key)


class _RegexEngine:
    """Candidates from one regex alternation, longest key first, right boundary in the pattern."""

    def __init__(self, keys: Sequence[str]) -> None:
        ordered = sorted(range(len(keys)), key=lambda i: (-len(keys[i]), keys[i]))
        alternation = "|".join(re.escape(keys[i]) for i in ordered)
        # The left boundary is checked in Python: a lookbehind in front of the alternation would
        # stop the regex compiler from skipping ahead to the keys' first characters.
        self._pattern = re.compile(f"(?:{alternation}){WORD_AHEAD}") if keys else None
        self._index = {key: i for i, key in enumerate(keys)}

    def scan(self, text: str) -> Iterator[_Candidate]:
        if self._pattern is None:
            return
        pos = 0
        while (m := self._pattern.search(text, pos)) is not None:
            start = m.start()
            if not is_word(text, start - 1):
                yield _Candidate(start, m.end(), self._index[m.group()])
            pos = start + 1


class Matcher:
    """All aliases of a set of watch terms, compiled once; :meth:`find` runs one pass per text.

    ``engine`` picks how candidates are found (``"aho"`` or ``"regex"``; same results).
    ``context_window`` is how many words either side of a ``context`` alias are searched for the
    term's context words (always within the alias's sentence).
    """

    def __init__(
        self,
        terms: Sequence[Term],
        *,
        engine: Engine = DEFAULT_ENGINE,
        context_window: int | None = CONTEXT_WINDOW,
    ) -> None:
        if engine not in ("aho", "regex"):
            raise ValueError(f"unknown engine {engine!r} (allowed: aho, regex)")
        problems: list[ConfigProblem] = []
        keys: list[str] = []
        entries: list[list[_Entry]] = []
        slot: dict[str, int] = {}
        self._context: dict[str, re.Pattern[str]] = {}
        for term in terms:
            for alias in term.aliases:
                key = fold(alias.text)
                if not key:
                    why = "nothing is left of this alias once folded for matching"
                    problems.append(ConfigProblem(_WATCHLIST, _place(term, alias.text), why))
                    continue
                if key not in slot:
                    slot[key] = len(keys)
                    keys.append(key)
                    entries.append([])
                cased = fold(alias.text, casefold=False)
                entries[slot[key]].append(_Entry(term.id, alias.text, alias.rule, cased))
            if any(a.rule is AliasRule.CONTEXT for a in term.aliases):
                words = sorted({fold(w) for w in term.context} - {""}, key=lambda w: -len(w))
                if not words:
                    why = "a 'context' alias needs context words, and none are left once folded"
                    problems.append(ConfigProblem(_WATCHLIST, f"term {term.id!r}", why))
                    continue
                alternation = "|".join(re.escape(w) for w in words)
                pattern = f"{WORD_BEHIND}(?:{alternation}){WORD_AHEAD}"
                self._context[term.id] = re.compile(pattern)
        if problems:
            raise ConfigError(problems)
        self.engine: Engine = engine
        self.context_window = context_window
        self._entries = [tuple(e) for e in entries]
        self._scanner = _AhoEngine(keys) if engine == "aho" else _RegexEngine(keys)
        self._separator_in_keys = any(_SEPARATOR in key for key in keys)

    def find(self, text: str) -> list[Mention]:
        """Every mention of a watch term in ``text``, in text order; spans index ``text``."""
        norm = normalize(text)
        return self._mentions(text, norm, self._scanner.scan(norm.text))

    def find_many(self, texts: Sequence[str]) -> list[list[Mention]]:
        """:meth:`find` of each text, folded and scanned as one: a feed's fifty entries cost
        one pass instead of fifty (folding has a fixed cost per call that dwarfs a short text).

        The texts are joined with a separator that folds to itself, is no word character and
        is in no alias, so the folded whole is the folded texts joined by it, no candidate
        spans two texts, and each text's boundaries are what they are alone. A text holding
        the separator (clean text never does) is matched on its own.
        """
        found: list[list[Mention]] = [[] for _ in texts]
        joined = [i for i, t in enumerate(texts) if _SEPARATOR not in t]
        for i in set(range(len(texts))).difference(joined):
            found[i] = self.find(texts[i])
        if len(joined) < 2 or self._separator_in_keys:
            for i in joined:
                found[i] = self.find(texts[i])
            return found
        whole = normalize(_SEPARATOR.join(texts[i] for i in joined))
        # Where each text starts in the folded whole and in the joined original.
        folded_starts = [0] + [m.end() for m in re.finditer(_SEPARATOR, whole.text)]
        original_starts = [0]
        for i in joined[:-1]:
            original_starts.append(original_starts[-1] + len(texts[i]) + 1)
        by_text: dict[int, list[_Candidate]] = {}
        for cand in self._scanner.scan(whole.text):
            by_text.setdefault(bisect.bisect_right(folded_starts, cand.start) - 1, []).append(cand)
        for n, cands in by_text.items():
            lo = folded_starts[n]
            hi = folded_starts[n + 1] - 1 if n + 1 < len(folded_starts) else len(whole.text)
            # No origin map: nothing moved, so the text starts at the same place in both.
            origin = None if whole.origin is None else whole.origin[lo:hi] - original_starts[n]
            norm = Normalized(whole.text[lo:hi], origin)
            shifted = [_Candidate(c.start - lo, c.end - lo, c.key) for c in cands]
            found[joined[n]] = self._mentions(texts[joined[n]], norm, iter(shifted))
        return found

    def may_mention_many(self, texts: Sequence[str | None]) -> list[bool]:
        """For each text, whether :meth:`find` might find a mention in it: False where no alias
        occurs as a whole word in its folded form (the rules of each alias are not applied).
        None stands for a text not known, and is always True.

        Only the folded text counts, in which every run of whitespace is one space: a text
        with the same characters but for its whitespace gets the same answer. So the cheap
        :func:`jirga.normalise.screening_text` of the entries of a feed can be screened with
        one call, and only those that may mention a term need their full text made.
        """
        if self._separator_in_keys:
            return [True] * len(texts)
        maybe = [t is None or _SEPARATOR in t for t in texts]
        joined = [i for i, m in enumerate(maybe) if not m]
        if not joined:
            return maybe
        whole = folded_text(_SEPARATOR.join(cast(str, texts[i]) for i in joined))
        starts = [0] + [m.end() for m in re.finditer(_SEPARATOR, whole)]
        for cand in self._scanner.scan(whole):
            maybe[joined[bisect.bisect_right(starts, cand.start) - 1]] = True
        return maybe

    def _mentions(
        self, text: str, norm: Normalized, candidates: Iterator[_Candidate]
    ) -> list[Mention]:
        """The mentions the candidates found in ``norm`` (the folded ``text``) make."""
        mentions: list[Mention] = []
        taken = 0  # the normalised text before this is inside an accepted mention
        for cand in candidates:
            if cand.start < taken:
                continue
            found = self._accept(text, norm, cand)
            if found:
                mentions.extend(found)
                taken = cand.end
        return mentions

    def _accept(self, text: str, norm: Normalized, cand: _Candidate) -> list[Mention]:
        """The mentions (one per term) a candidate makes, or none when every rule rejects it."""
        start, end = norm.span(cand.start, cand.end)
        original = text[start:end]
        sentence: tuple[int, int] | None = None
        chosen: dict[str, _Entry] = {}
        for entry in self._entries[cand.key]:
            # Several aliases of a term can fold to one key; report the one spelled as the text.
            best = chosen.get(entry.term)
            if best is not None and (best.alias == original or entry.alias != original):
                continue
            if entry.rule is AliasRule.ACRONYM and not _same_case(original, entry):
                continue
            if entry.rule is AliasRule.CONTEXT:
                sentence = sentence or _sentence(text, start, end)
                if not self._has_context(norm, cand, sentence, entry.term):
                    continue
            chosen[entry.term] = entry
        if not chosen:
            return []
        passage = _cut(text, *(sentence or _sentence(text, start, end)), start, end)
        return [Mention(e.term, e.alias, start, end, passage) for e in chosen.values()]

    def _has_context(
        self, norm: Normalized, cand: _Candidate, sentence: tuple[int, int], term: str
    ) -> bool:
        """Whether a context word of ``term`` is near the candidate, within its sentence."""
        # The folded text is searched, so context words are spelled as freely as aliases.
        before = norm.text[norm.index(sentence[0]) : cand.start].split()
        after = norm.text[cand.end : norm.index(sentence[1])].split()
        if self.context_window is not None:
            before = before[-self.context_window :] if self.context_window else []
            after = after[: self.context_window]
        pattern = self._context[term]
        return any(pattern.search(" ".join(words)) for words in (before, after))


def _same_case(original: str, entry: _Entry) -> bool:
    return original == entry.alias or fold(original, casefold=False) == entry.cased


# --- sentences and snippets ---------------------------------------------------------------------

# "." ends a sentence only before a space or the end ("3.5", "bbc.com" do not); the others always.
_TERMINATOR = re.compile(r"\n|[!?\u06d4\u061f\uff01\uff1f]|\.(?=\s|\Z|[\"'\u2019\u201d)\]])")
_ABBREVIATIONS = frozenset(
    {"mr", "mrs", "ms", "dr", "gen", "lt", "col", "capt", "maj", "sgt", "st", "jr", "sr", "no"}
    | {"vs", "prof", "gov", "sen", "rep", "brig", "mt"}
)
_REACH = 500  # how far a sentence's ends are looked for: past this it is cut anyway


def _ends_sentence(text: str, m: re.Match[str]) -> bool:
    if m.group() != ".":
        return True
    first = m.start()
    while first > 0 and m.start() - first < 8 and text[first - 1].isalpha():
        first -= 1
    word = text[first : m.start()]
    return not (len(word) == 1 or word.casefold() in _ABBREVIATIONS)  # "U.S.", "Mr."


def _sentence(text: str, start: int, end: int) -> tuple[int, int]:
    """The span of the sentence around ``text[start:end]``, terminator included."""
    lo = max(0, start - _REACH)
    # endpos one past start: a "." just before the span must see the span's first character.
    behind = [m for m in _TERMINATOR.finditer(text, lo, start + 1) if m.end() <= start]
    first = next((m.end() for m in reversed(behind) if _ends_sentence(text, m)), lo)
    reach = min(len(text), end + _REACH)
    ahead = (m.end() for m in _TERMINATOR.finditer(text, end, reach) if _ends_sentence(text, m))
    return first, next(ahead, reach)


def snippet(text: str, start: int, end: int, limit: int = SNIPPET_CHARS) -> str:
    """The sentence containing ``text[start:end]``, whitespace collapsed, cut to about ``limit``
    characters centred on the span (cuts fall on spaces and are marked with ``…``)."""
    return _cut(text, *_sentence(text, start, end), start, end, limit)


def _cut(text: str, first: int, last: int, start: int, end: int, limit: int = SNIPPET_CHARS) -> str:
    if last - first > limit:
        half = max(0, limit - (end - start)) // 2
        lo, hi = max(first, start - half), min(last, end + half)
        spare = limit - (hi - lo)  # room one side could not use goes to the other
        lo, hi = max(first, lo - spare), min(last, hi + spare)
        if lo > first and (space := text.find(" ", lo, start)) >= 0:
            lo = space + 1
        if hi < last and (space := text.rfind(" ", end, hi)) >= 0:
            hi = space
        passage = ("…" if lo > first else "") + text[lo:hi] + ("…" if hi < last else "")
    else:
        passage = text[first:last]
    return " ".join(passage.split())


def _place(term: Term, alias: str) -> str:
    return f"term {term.id!r}, alias {alias!r}"
