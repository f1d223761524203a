"""Offline language detection for the four languages jirga reads: en, ur, ps and fa (Dari/Persian).

Urdu, Pashto and Persian share the Arabic script, so a general-purpose detector easily mixes them
up on headline-length text. Two detectors are here, and the one :func:`detect_language` uses
combines them (``bench/bench_language.py`` measures all three):

* :func:`heuristic_scores` counts what only one of the three languages writes: Urdu's
  ٹ ڈ ڑ ں ے ھ ہ, Pashto's ټ ډ ړ ږ ښ ګ ڼ ې ۍ ځ څ, and each language's commonest function words
  (Persian has no letter of its own, but has است، را، می‌…); Latin script counts for English.
* :func:`langid_scores` asks py3langid (its model ships inside the package) restricted to the four.

:func:`detect_with_confidence` adds the heuristic's evidence to py3langid's log-probabilities, so
a single letter only Pashto uses outweighs a character n-gram model that has seen little Pashto,
while py3langid still decides text that carries no such marks.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

LANGUAGES: tuple[str, ...] = ("en", "ur", "ps", "fa")

# Letters each language writes and the other two do not (in standard orthography).
_UR_LETTERS = frozenset("ٹڈڑںےھۓہۃ")
_PS_LETTERS = frozenset("ټډړږښګڼېۍځڅ")
# Arabic yeh (ي) ends many Pashto words (وايي، ملي، شوي) where Urdu and Persian write ی. Text typed
# on an Arabic keyboard has ي inside words too (قيمت), and then it says nothing about Pashto.
_ARABIC_YEH = "ي"
_FINAL_YEH = re.compile(r"ي(?![^\W\d_])")
_MEDIAL_YEH = re.compile(r"ي(?=[^\W\d_])")
# Arabic-keyboard spellings folded before the word lists are consulted (not ہ/ه: Urdu کہ and
# Persian که are different words).
_FOLD = str.maketrans({"ي": "ی", "ك": "ک", "ۀ": "ه"})


def _words(spaced: str) -> frozenset[str]:
    return frozenset(spaced.translate(_FOLD).split())


# Frequent function words and verb forms, chosen so the lists do not overlap: a word two of the
# languages share (هم، نه، او، پر) tells nothing and is left out.
_UR_WORDS = _words(
    "کے کی ہے میں نے اور سے کو کا ہیں یہ وہ بھی تھا تھی تھے گیا گئی گئے کیا لیے ساتھ کہ نہیں "
    "ہو رہا رہی رہے جو یا اپنے بعد"
)
_PS_WORDS = _words(
    "د په چې دا له سره ته کې دي یې شو شوه شوي شوې کړ کړي کړې کوي وايي څخه لپاره پورې "
    "تر دې دوی وو ورکړ ویل وویل"
)
_FA_WORDS = _words(
    "و در به از که این را است با برای آن شد شده می های ها کرد کرده خود نیز یک بود اند دارد "
    "کند شود باید پس گفت هستند"
)
_FA_PREFIX = "می\u200c"  # the present-tense prefix joined by a ZWNJ: می‌شود، می‌گوید
_FA_SUFFIXES = ("\u200cها", "\u200cهای", "\u200cاست", "\u200cاند")

_TOKEN = re.compile(r"[^\W\d_][\w\u200c\u200d]*")
_DIACRITICS = re.compile("[\u064b-\u065f\u0670\u0640]")  # harakat, superscript alef, tatweel

# Weights of the heuristic evidence, in natural-log units added to py3langid's log-probabilities.
_LETTER_WEIGHT = 3.0
_WEAK_LETTER_WEIGHT = 0.5
_WORD_WEIGHT = 2.0
_CAP = 30.0  # evidence per language is capped so a long article cannot overflow the scale

DEFAULT_MIN_LETTERS = 6
# The opening of an article tells its language as well as the whole; this bounds the cost.
DEFAULT_MAX_CHARS = 2_000


def _is_arabic_letter(ch: str) -> bool:
    return "\u0600" <= ch <= "\u06ff" or "\u0750" <= ch <= "\u077f" or "\ufb50" <= ch <= "\ufeff"


def _letter_counts(text: str) -> tuple[int, int]:
    """(Latin letters, Arabic-script letters) in the text."""
    latin = arabic = 0
    for ch in text:
        if not ch.isalpha():
            continue
        if ch.isascii() or "\u00c0" <= ch <= "\u024f":
            latin += 1
        elif _is_arabic_letter(ch):
            arabic += 1
    return latin, arabic


def heuristic_scores(text: str) -> dict[str, float]:
    """Evidence per language from script, letters unique to one language, and function words.

    The numbers are additive log-odds-like weights, not probabilities. English's is positive when
    most letters are Latin and negative when most are Arabic-script; zero for ur, ps and fa
    means the text carries no mark of that language.
    """
    scores = dict.fromkeys(LANGUAGES, 0.0)
    latin, arabic = _letter_counts(text)
    if latin + arabic == 0:
        return scores
    # English is the only Latin-script language here: the script decides, and a Latin acronym in
    # an Urdu headline (UNICEF, ICC) counts against it rather than for it.
    scores["en"] = _CAP * (latin - arabic) / (latin + arabic)
    if arabic == 0:
        return scores
    plain = _DIACRITICS.sub("", unicodedata.normalize("NFC", text))
    ur = sum(ch in _UR_LETTERS for ch in plain) * _LETTER_WEIGHT
    ps = sum(ch in _PS_LETTERS for ch in plain) * _LETTER_WEIGHT
    if _ARABIC_YEH in plain and not _MEDIAL_YEH.search(plain):
        ps += len(_FINAL_YEH.findall(plain)) * _WEAK_LETTER_WEIGHT
    fa = 0.0
    for token in _TOKEN.findall(plain.translate(_FOLD)):
        if token in _UR_WORDS:
            ur += _WORD_WEIGHT
        elif token in _PS_WORDS:
            ps += _WORD_WEIGHT
        elif token in _FA_WORDS or token.startswith(_FA_PREFIX) or token.endswith(_FA_SUFFIXES):
            fa += _WORD_WEIGHT
    share = arabic / (latin + arabic)
    scores["ur"] = min(ur, _CAP) * share
    scores["ps"] = min(ps, _CAP) * share
    scores["fa"] = min(fa, _CAP) * share
    return scores


@functools.cache
def _identifier() -> Any:
    """py3langid restricted to the four languages, loaded once per process (offline; see
    :mod:`jirga.langid_model` for how it is kept)."""
    from jirga.langid_model import load_identifier

    return load_identifier(LANGUAGES)


def load_model() -> None:
    """Load the statistical model now rather than on first use (a fork server does this once
    for all its workers when some feed mixes languages)."""
    _identifier()


def langid_scores(text: str) -> dict[str, float]:
    """py3langid's probability of each of the four languages (they sum to 1)."""
    ranked: list[tuple[str, float]] = _identifier().rank(text)
    return {lang: float(prob) for lang, prob in ranked}


def _best(scores: Mapping[str, float]) -> tuple[str, float]:
    """The top language and its softmax share of the scores (a confidence in [0, 1])."""
    top = max(scores.values())
    weights = {lang: math.exp(score - top) for lang, score in scores.items()}
    lang = max(weights, key=weights.__getitem__)
    return lang, weights[lang] / sum(weights.values())


def detect_heuristic(text: str) -> tuple[str | None, float]:
    """The heuristic alone: (language, confidence), or (None, 0.0) when its evidence is a tie."""
    scores = heuristic_scores(text)
    first, second = sorted(scores.values(), reverse=True)[:2]
    if first == second:
        return None, 0.0
    return _best(scores)


def detect_langid(text: str) -> tuple[str | None, float]:
    """py3langid alone, restricted to the four languages: (language, probability)."""
    latin, arabic = _letter_counts(text)
    if latin + arabic == 0:
        return None, 0.0
    scores = langid_scores(text)
    lang = max(scores, key=scores.__getitem__)
    return lang, scores[lang]


def detect_with_confidence(
    text: str, *, min_letters: int = DEFAULT_MIN_LETTERS, max_chars: int = DEFAULT_MAX_CHARS
) -> tuple[str | None, float]:
    """The combined detector: (language, confidence in [0, 1]), or (None, 0.0) if too short.

    Text with fewer than ``min_letters`` Latin or Arabic-script letters cannot be told apart and
    gets None; so does text in any other script (Cyrillic, Devanagari, ...). Any Latin-script
    text counts as English, the only Latin-script language jirga reads. Only the first
    ``max_chars`` characters are looked at.
    """
    text = text[:max_chars]
    latin, arabic = _letter_counts(text)
    if latin + arabic < min_letters:
        return None, 0.0
    if not arabic:
        # Latin script alone can only be English here; the statistical model (tens of MB,
        # loaded on first use) is kept for telling the three Arabic-script languages apart.
        return "en", 1.0
    evidence = heuristic_scores(text)
    combined = {
        lang: math.log(max(prob, 1e-12)) + evidence[lang]
        for lang, prob in langid_scores(text).items()
    }
    return _best(combined)


def detect_language(
    text: str,
    default: str | None = None,
    *,
    min_letters: int = DEFAULT_MIN_LETTERS,
    max_chars: int = DEFAULT_MAX_CHARS,
    min_confidence: float = 0.0,
) -> str | None:
    """The language of ``text`` (one of :data:`LANGUAGES`), or ``default`` when it cannot tell.

    ``default`` comes back for text shorter than ``min_letters`` letters, text in none of the
    four scripts, and answers less sure than ``min_confidence``.
    """
    lang, confidence = detect_with_confidence(text, min_letters=min_letters, max_chars=max_chars)
    if lang is None or confidence < min_confidence:
        return default
    return lang
