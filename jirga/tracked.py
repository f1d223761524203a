"""Score articles against the analyst's tracked narratives (``config/narratives.toml``) in
English, Urdu, Pashto and Dari, without a model download.

An article and each narrative's phrases and description are read as *units*: the words of
:func:`jirga.labels.words` (folded), with one inflectional ending stripped, and the words of a
small hand-written lexicon (:data:`LEXICON`) replaced by a concept shared by the four languages,
so the English phrase "talks with the TTP" also finds ``ٹی ٹی پی سے مذاکرات`` and
``له ټي ټي پي سره خبرې اترې``. Stop words (:data:`jirga.labels.STOP_WORDS`) are dropped;
negations are a concept of their own.

Units have weights: 0.25 for the watch terms and their boilerplate (the TTP, the Taliban,
Khalilzad, Pakistan, Afghanistan, "banned": every scored article names one), 0.5 for *topic*
concepts, which the news carries whatever its framing (Kabul, Islamabad, Khyber Pakhtunkhwa, Doha,
the deal, the talks, the takeover, the army, the operation, the US, the region, peace, rule), and
1 for everything else.

The score of an article for a narrative:

1. *Exemplars* are the phrases and the clauses of the description (split at punctuation; a
   clause needs two units besides watch terms). An exemplar of ``n`` distinct units *matches*
   when the article has a window of ``2n + 2`` consecutive units holding at least 60 % of them
   ("most of its words, close together"), a watch term counting a quarter here too.
2. ``evidence`` = the sum of the weights of the distinct units, watch terms aside, found by
   matching exemplars; a unit found only through the description counts half (the description
   is written for the reader, in general words).
3. ``similarity`` = the cosine of TF-IDF unit vectors of the article and of the narrative's
   description and phrases together (sublinear tf; IDF across the tracked narratives; times the
   unit weight squared, so that watch terms and topics hardly count).
4. ``score = t / (t + 1.25)`` with ``t = evidence + 3 × similarity``: in [0, 1), 0.5 at
   ``t = 1.25``.

A narrative is told when the score reaches :data:`THRESHOLD` (0.55, ``t >= 1.53``): roughly two
framing words from the phrases, or one and a topic concept with a trace of resemblance; a framing
word alone, or "the Doha agreement" alone (two topic concepts), needs a clear resemblance to the
whole narrative. The numbers were chosen with ``bench/bench_tracked.py``. Negation is only a
word here: "no talks with the TTP" still finds "talks with the TTP".
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from jirga.labels import STOP_WORDS, words
from jirga.types import TrackedNarrative

__all__ = ["LEXICON", "THRESHOLD", "TrackedScorer", "units"]

THRESHOLD = 0.55
"""A score at or above this means the article tells the narrative (see the module docstring):
the best macro F1 of the threshold sweep in ``bench/bench_tracked.py``, lower end of its plateau."""

# Concepts and how the four languages write them (any inflection the stemmer does not reach is
# listed). Written for jirga; the analyst's phrases in config/narratives.toml are matched through
# it, so a concept missing here is still found in the language its phrase is written in.
# fmt: off
LEXICON: dict[str, tuple[str, ...]] = {
    "TTP": (
        "TTP", "Tehrik Taliban Pakistan", "Tehreek Taliban Pakistan", "Tehrik Taliban",
        "Tehreek Taliban", "Pakistani Taliban", "Fitna al-Khawarij", "khawarij",
        "تحریک طالبان پاکستان", "تحریک طالبان", "ٹی ٹی پی", "ټي ټي پي", "پاکستانی طالبان",
        "پاکستاني طالبانو", "پاکستاني طالبان", "فتنہ الخوارج", "خوارج",
    ),
    "TALIBAN": ("Taliban", "Taleban", "Islamic Emirate", "طالبان", "طالبانو", "امارت اسلامی",
                "اسلامي امارت", "امارت اسلامیہ"),
    "KHALILZAD": ("Khalilzad", "خلیلزاد", "خلیل زاد"),
    "PAKISTAN": ("Pakistan", "Pakistani", "پاکستان", "پاکستانی", "پاکستاني"),
    "AFGHANISTAN": ("Afghanistan", "Afghan", "Afghans", "افغانستان", "افغان", "افغاني"),
    "BANNED": ("banned", "proscribed", "outlawed", "کالعدم"),
    "TALK": ("talk", "dialogue", "dialog", "negotiate", "negotiation", "parley", "مذاکرات",
             "مذاکرہ", "بات چیت", "گفت و شنید", "خبرې اترې", "خبرو اترو", "مذاکره", "گفتگو"),
    "JIRGA": ("jirga", "جرگہ", "جرگے", "جرګه", "جرګې", "جرگه"),
    "MEDIATE": ("mediate", "mediation", "mediator", "broker", "facilitate", "ثالثی", "ثالث",
                "منځګړیتوب", "منځګړی", "میانجیگری", "میانجی"),
    "PEACE": ("peace", "امن", "سوله", "صلح"),
    "CEASEFIRE": ("ceasefire", "truce", "جنگ بندی", "اوربند", "آتش بس"),
    "MILITARY": ("military", "army", "troops", "armed forces", "فوج", "فوجی", "عسکری", "پوځ",
                 "پوځي", "نظامی", "ارتش"),
    "OPERATION": ("operation", "offensive", "crackdown", "آپریشن", "عملیات", "عملیاتو"),
    "SOLUTION": ("solution", "solve", "solved", "solves", "resolve", "way out", "حل", "حلاره",
                 "راه حل"),
    "FAIL": ("fail", "failure", "futile", "ناکام", "ناکامی", "ناکامي", "شکست"),
    "POLITICAL": ("political", "politically", "سیاسی", "سیاسي"),
    "NOT": ("not", "no", "never", "cannot", "نہیں", "نہ", "نه", "نیست"),
    "KABUL": ("Kabul", "کابل"),
    "ISLAMABAD": ("Islamabad", "اسلام آباد", "اسلاماباد"),
    "TODAY": ("today", "آج", "نن", "امروز"),
    "TOMORROW": ("tomorrow", "next", "کل", "سبا", "فردا"),
    "TAKEOVER": ("takeover", "take over", "took over", "taken over", "seize", "seized", "seizure",
                 "fall of", "victory", "triumph", "conquest", "قبضہ", "قبضے", "فتح", "سقوط",
                 "بریا", "نیواک", "پیروزی", "تسلط"),
    "MODEL": ("model", "blueprint", "precedent", "template", "playbook", "ماڈل", "مثال",
              "نمونہ", "بېلګه", "ماډل", "نمونه", "الگو", "سرمشق"),
    "EMBOLDEN": ("embolden", "encourage", "boost", "morale", "inspire", "حوصلہ", "حوصلے",
                 "زړورتیا", "روحیه", "جسارت", "جسور", "دلگرم"),
    "REPEAT": ("repeat", "replicate", "copy", "دہرانا", "دہرایا", "تکرار"),
    "TALIBANISATION": ("Talibanisation", "Talibanization", "طالبانائزیشن"),
    "RULE": ("rule", "regime", "راج", "واکمني", "حاکمیت"),
    "KP": ("Khyber Pakhtunkhwa", "KP", "Khyber", "خیبر پختونخوا", "خیبر پښتونخوا"),
    "USA": ("usa", "America", "American", "Washington", "United States", "امریکہ", "امریکی",
            "واشنگٹن", "امریکا", "امریکې", "امریکايي", "واشنګټن", "آمریکا", "آمریکایی",
            "واشنگتن"),
    "PROXY": ("proxy", "pawn", "surrogate", "پراکسی", "نیابتي", "پراکسي", "نیابتی"),
    "DOHA": ("Doha", "دوحہ", "دوحې", "دوحه"),
    "DEAL": ("deal", "agreement", "accord", "pact", "treaty", "معاہدہ", "معاہدے", "سمجھوتہ",
             "تړون", "هوکړه", "توافق", "توافقنامه", "معامله", "قرارداد"),
    "SECRET": ("secret", "secretly", "hidden", "covert", "back channel", "backchannel", "annex",
               "clause", "خفیہ", "شقیں", "پس پردہ", "پټ", "پټې", "پټه", "مخفی", "پنهان",
               "محرمانه"),
    "BASE": ("base", "bases", "اڈے", "اڈا", "اڈوں", "اډې", "اډه", "پایگاه"),
    "INTEREST": ("interest", "strategic", "strategy", "geopolitical", "great game", "مفادات",
                 "مفاد", "اسٹریٹجک", "ګټې", "ګټو", "ستراتیژیک", "منافع", "راهبردی",
                 "استراتژیک", "بازی بزرگ"),
    "HAND": ("hand behind", "backing", "sponsor", "پشت پناہی", "سرپرستی", "ملاتړ", "پشتیبانی"),
    "REGION": ("region", "regional", "خطہ", "خطے", "علاقائی", "سیمه", "سیمې", "منطقه"),
}
# fmt: on
# Watch terms: every scored article names one, so they only place a phrase, never make one.
_WATCH = frozenset({"TTP", "TALIBAN", "KHALILZAD", "PAKISTAN", "AFGHANISTAN", "BANNED"})
# What the news is about whatever its framing: places, the talks, the deal, the takeover, the army.
_TOPIC = frozenset({
    "KABUL", "ISLAMABAD", "KP", "DOHA", "DEAL", "TALK", "TAKEOVER", "MILITARY", "OPERATION",
    "USA", "REGION", "PEACE", "RULE",
})  # fmt: skip
_WATCH_WEIGHT = 0.25
_TOPIC_WEIGHT = 0.5
_MATCH = 0.6
_DESCRIPTION_CREDIT = 0.5
_EVIDENCE_HALF = 1.25
_SIMILARITY_EVIDENCE = 3.0

_STOP = frozenset().union(*STOP_WORDS.values())
_LATIN = re.compile(r"[a-z]+")
_LATIN_SUFFIXES = (
    "ings", "ing", "ions", "ion", "ments", "ment", "ised", "ized", "ises", "izes", "ise", "ize",
    "ed", "es", "s", "e",
)  # fmt: skip
_ARABIC_SUFFIXES = (
    "هایی", "های", "ها", "انو", "ونو", "ونه", "ات", "ان", "وں", "یں", "ې", "ۍ", "ے", "ه", "ی", "و",
)  # fmt: skip
_CLAUSES = re.compile(r"[.;:,!?()\u2014\u2013۔،؟]+|\s-\s")


@functools.lru_cache(maxsize=1 << 16)
def _stem(word: str) -> str:
    """Strip one common inflectional ending, keeping at least three letters."""
    if _LATIN.fullmatch(word):
        if word.endswith("ies") and len(word) > 4:
            return word[:-3] + "y"
        suffixes = _LATIN_SUFFIXES
    else:
        suffixes = _ARABIC_SUFFIXES
    for suffix in suffixes:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _stems(text: str) -> list[tuple[str, str]]:
    """(folded word, stem) of each word of ``text``."""
    return [(w, _stem(w)) for w in words(text)]


def _index_keys(form: str) -> set[tuple[str, ...]]:
    """How a lexicon form is looked up: by its words, and by their stems, because stripping one
    ending is not idempotent ("پنهان" stems to "پنه", "پنهانی" to "پنهان"). Short Latin stems
    are left out: "bases" would make "based" a base, "backing" make "back" a backing."""
    pairs = _stems(form)
    keys = {tuple(w for w, _ in pairs)}
    if all(len(s) >= 5 or not _LATIN.fullmatch(s) for _, s in pairs):
        keys.add(tuple(s for _, s in pairs))
    return keys


_INDEX: dict[tuple[str, ...], str] = {
    key: concept
    for concept, forms in LEXICON.items()
    for form in forms
    for key in _index_keys(form)
}
# The longest lexicon form starting with each word, so most words skip the lookup.
_LONGEST: dict[str, int] = {}
for _key in _INDEX:
    _LONGEST[_key[0]] = max(_LONGEST.get(_key[0], 0), len(_key))


def units(text: str) -> list[str]:
    """The units of ``text``: concepts (upper case) and stems of the other content words."""
    words = _stems(text)
    out: list[str] = []
    i = 0
    while i < len(words):
        key, stem = words[i]
        longest = max(_LONGEST.get(key, 0), _LONGEST.get(stem, 0))
        for size in range(min(longest, len(words) - i), 0, -1):
            span = words[i : i + size]
            concept = _INDEX.get(tuple(k for k, _ in span)) or _INDEX.get(tuple(s for _, s in span))
            if concept is not None:
                out.append(concept)
                i += size
                break
        else:
            if key not in _STOP:
                out.append(stem)
            i += 1
    return out


def _share_weight(unit: str) -> float:
    """How much a unit counts towards "most of a phrase's words"."""
    return _WATCH_WEIGHT if unit in _WATCH else 1.0


def _weight(unit: str) -> float:
    """How much a unit counts as evidence (and in the similarity)."""
    if unit in _WATCH:
        return _WATCH_WEIGHT
    return _TOPIC_WEIGHT if unit in _TOPIC else 1.0


@dataclass(frozen=True)
class _Exemplar:
    units: tuple[str, ...]  # distinct, in order
    window: int
    total: float
    credit: float  # how much of its units' weight a match earns


def _exemplar(text: str, min_strong: int, credit: float) -> _Exemplar | None:
    """The exemplar of a phrase or clause, or None when it has fewer than ``min_strong`` units
    other than watch terms (which say nothing about the framing)."""
    found = tuple(dict.fromkeys(units(text)))
    if sum(u not in _WATCH for u in found) < min_strong:
        return None
    return _Exemplar(found, 2 * len(found) + 2, sum(_share_weight(u) for u in found), credit)


def _best_window(ex: _Exemplar, where: dict[str, list[int]]) -> tuple[float, frozenset[str]]:
    """The best share of ``ex``'s weight found within one window, and the units found there."""
    events = sorted((p, u) for u in ex.units for p in where.get(u, ()))
    best, best_units = 0.0, frozenset[str]()
    inside: dict[str, int] = {}
    weight = 0.0  # of the distinct units inside; sums of 1/4, 1/2 and 1 are exact
    lo = 0
    for pos, unit in events:
        inside[unit] = inside.get(unit, 0) + 1
        if inside[unit] == 1:
            weight += _share_weight(unit)
        while events[lo][0] <= pos - ex.window:
            gone = events[lo][1]
            inside[gone] -= 1
            if inside[gone] == 0:
                weight -= _share_weight(gone)
            lo += 1
        if weight > best:
            best, best_units = weight, frozenset(u for u, n in inside.items() if n)
    return best / ex.total, best_units


def _tfidf(counts: Counter[str], idf: dict[str, float], default: float) -> dict[str, float]:
    # The unit weight squared: the resemblance should come from the framing words, or any short
    # item naming the Doha agreement and the Taliban resembles every narrative that names them.
    return {u: (1 + math.log(n)) * idf.get(u, default) * _weight(u) ** 2 for u, n in counts.items()}


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    dot = sum(w * b[u] for u, w in a.items() if u in b)
    norm = math.sqrt(sum(w * w for w in a.values())) * math.sqrt(sum(w * w for w in b.values()))
    return dot / norm if norm else 0.0


@dataclass(frozen=True)
class _Compiled:
    narrative: TrackedNarrative
    exemplars: tuple[_Exemplar, ...]
    profile: dict[str, float]


@dataclass(frozen=True)
class TrackedScorer:
    """Scores texts against tracked narratives (see the module docstring for the formula).

    ``narratives`` are taken as given (any sequence; kept as a tuple). Building the scorer reads
    every phrase once; scoring one text reads the text once for all narratives.
    """

    narratives: Sequence[TrackedNarrative]
    threshold: float = THRESHOLD
    _compiled: tuple[_Compiled, ...] = field(init=False, repr=False, compare=False)
    _idf: dict[str, float] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "narratives", tuple(self.narratives))
        ids = [n.id for n in self.narratives]
        if len(set(ids)) != len(ids):
            raise ValueError(f"tracked narrative ids must be unique: {sorted(ids)}")
        texts = {n.id: [n.description, *n.phrases] for n in self.narratives}
        bags = {key: Counter(u for t in ts for u in units(t)) for key, ts in texts.items()}
        df: Counter[str] = Counter(u for bag in bags.values() for u in bag)
        count = max(len(bags), 1)
        idf = {u: math.log(1 + count / d) for u, d in df.items()}
        object.__setattr__(self, "_idf", idf)
        compiled = []
        for n in self.narratives:
            # The description is written for the reader, in general words: its clauses need two
            # content units ("directly" alone is no cue) and earn half the credit of a phrase.
            exemplars = tuple(
                e
                for e in [_exemplar(p, 1, 1.0) for p in n.phrases]
                + [_exemplar(p, 2, _DESCRIPTION_CREDIT) for p in _CLAUSES.split(n.description)]
                if e is not None
            )
            compiled.append(_Compiled(n, exemplars, _tfidf(bags[n.id], idf, math.log(1 + count))))
        object.__setattr__(self, "_compiled", tuple(compiled))

    def score(self, text: str, terms: Collection[str]) -> dict[str, float]:
        """Narrative id → score in [0, 1] for every narrative this text is scored against: those
        without ``terms`` of their own, and those sharing a term with ``terms`` (the ids of the
        watch terms the text mentions). Narratives it is not scored against are absent."""
        mentioned = set(terms)
        chosen = [
            c for c in self._compiled if not c.narrative.terms or mentioned & set(c.narrative.terms)
        ]
        if not chosen:
            return {}
        seq = units(text)
        where: dict[str, list[int]] = {}
        for i, u in enumerate(seq):
            where.setdefault(u, []).append(i)
        vector = _tfidf(Counter(seq), self._idf, math.log(1 + max(len(self._compiled), 1)))
        return {c.narrative.id: self._score(c, where, vector) for c in chosen}

    def _score(self, c: _Compiled, where: dict[str, list[int]], vector: dict[str, float]) -> float:
        credit: dict[str, float] = {}
        for ex in c.exemplars:
            share, present = _best_window(ex, where)
            if share >= _MATCH:
                for u in present - _WATCH:
                    credit[u] = max(credit.get(u, 0.0), ex.credit)
        total = sum(_weight(u) * k for u, k in credit.items())
        total += _SIMILARITY_EVIDENCE * _cosine(vector, c.profile)
        return total / (total + _EVIDENCE_HALF)

    def matches(self, text: str, terms: Collection[str]) -> dict[str, float]:
        """The scores of :meth:`score` that reach ``threshold``."""
        return {k: s for k, s in self.score(text, terms).items() if s >= self.threshold}
