"""Labels a person can read: a narrative's key phrases, its representative member, and the
sentences to quote from it.

Text in Latin and Arabic script is tokenised the same way: :func:`jirga.arabic.fold` first (case,
yeh/kaf/heh variants, diacritics, ZWNJ, hyphens), then runs of Unicode letters of two or more
characters. What a reader sees is always the text as an outlet printed it (the most frequent
printed form of a phrase), never the folded form.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
from sklearn.feature_extraction.text import (  # type: ignore[import-untyped, unused-ignore]
    TfidfVectorizer,
)

from jirga.arabic import fold, normalize

__all__ = [
    "STOP_WORDS",
    "Token",
    "cited_passages",
    "key_phrases",
    "medoid",
    "tokens",
    "words",
]

K = TypeVar("K", bound=Hashable)
M = TypeVar("M")

# Short lists of the commonest function words (and news verbs such as "said"), written for jirga.
# They are folded when the module loads, so they are written the way each press prints them.
_STOP_TEXT = {
    "en": """a about after again against all also am an and any are as at be because been before
        being between both but by can could did do does during each few for from further had has
        have having he her here him his how i if in into is it its just me more most my no nor not
        now of off on once only or other our out over own same she should so some such than that
        the their them then there these they this those through to too under until up very was we
        were what when where which while who whom why will with would you your said says say told
        according reported report reports new one two three year years week day today yesterday
        monday tuesday wednesday thursday friday saturday sunday mr ms since however including
        last many may might must us among across another around without near outside via""",
    "ur": """کا کی کے کو سے میں نے پر اور ہے ہیں تھا تھی تھے ہو ہوا ہوئے ہوئی ہوگا ہوں یہ وہ اس ان
        جو کہ بھی تو ہی نہ نہیں کیا کیے کی کر کرنے کرتے کرتی گیا گئے گئی جا جاتا جاتی جائے رہا رہے
        رہی لیے لئے ساتھ بعد تک اب یا اگر جس جن مگر کچھ کسی کوئی ایک دو والے والی والا اپنے اپنی
        کہا کہنا کہ گا گی گے دیا دی دیے سکتا سکتے چاہیے بغیر درمیان قریب""",
    "ps": """د په او چې له سره ته هم دا دغه هغه دی ده دي وو وه کې کښې شو شوي شوې شول وي یې به نه
        تر پر څخه لپاره وروسته مخکې یو دوه کړي کړې کړل کوي وايي ویل وویل هر ځینې ځکه خو نو
        ترمنځ پرته""",
    "fa": """و در به از که این آن با را برای است هست بود شد شده می نمی ها های یک تا بر هم نیز اما
        یا چه ای خود پس پیش کرد کرده کند کنند شود گفت گفته دارد داشت باید وی او ما شما آنها همه
        بین روی زیرا نه اند بدون میان""",
}
STOP_WORDS: Mapping[str, frozenset[str]] = {
    lang: frozenset(fold(w) for w in text.split()) for lang, text in _STOP_TEXT.items()
}
"""The built-in stop words by language (folded); :func:`key_phrases` uses all of them."""
_ALL_STOP = frozenset().union(*STOP_WORDS.values())

_LETTERS = re.compile(r"[^\W\d_]{2,}")
_US = "usa"  # "US" folds to the pronoun "us"; the country keeps a key of its own


@dataclass(frozen=True)
class Token:
    """One word: its folded form, its span in the original text, and whether it directly follows
    the previous token (only a space or hyphen between them, so the two can form a phrase)."""

    key: str
    start: int
    end: int
    joined: bool


def tokens(text: str) -> list[Token]:
    """The words of ``text`` (two letters or more), folded, with their original spans."""
    norm = normalize(text)
    folded = norm.text
    out: list[Token] = []
    last_end = -1
    for m in _LETTERS.finditer(folded):
        start, end = norm.span(m.start(), m.end())
        key = _US if text[start:end] == "US" else m.group()
        joined = last_end >= 0 and folded[last_end : m.start()] == " "
        out.append(Token(key, start, end, joined))
        last_end = m.end()
    return out


_US_WORD = re.compile(r"(?<![^\W_])US(?![^\W_])")


def words(text: str) -> list[str]:
    """The folded words of ``text``, as :func:`tokens` finds them, without their spans (faster)."""
    return _LETTERS.findall(normalize(_US_WORD.sub(_US, text)).text)


def _stop_set(stop_words: Collection[str]) -> frozenset[str]:
    """Built-in stop words plus every word of every caller's entry (an alias such as
    "Tehrik-i-Taliban Pakistan" stops "tehrik", "taliban" and "pakistan")."""
    extra = {t.key for entry in stop_words for t in tokens(entry)}
    return _ALL_STOP | extra


# --- key phrases ---------------------------------------------------------------------------------

_MIN_BIGRAM = 2  # a phrase seen once in a cluster is an accident of one article
_SUBSUME = 0.5  # a bigram stands for a word when it holds at least this share of its uses


def _grams(text: str, stop: frozenset[str], surfaces: dict[str, Counter[str]]) -> Counter[str]:
    """Unigram and bigram counts of one text (bigrams of adjacent content words), recording the
    printed form of each gram in ``surfaces``."""
    counts: Counter[str] = Counter()
    prev: Token | None = None
    for tok in tokens(text):
        if tok.key in stop:
            prev = None
            continue
        counts[tok.key] += 1
        surfaces.setdefault(tok.key, Counter())[text[tok.start : tok.end]] += 1
        if prev is not None and tok.joined:
            gram = f"{prev.key} {tok.key}"
            counts[gram] += 1
            printed = " ".join(text[prev.start : tok.end].split())
            surfaces.setdefault(gram, Counter())[printed] += 1
        prev = tok
    return counts


def key_phrases(
    docs_by_cluster: Mapping[K, Sequence[str]],
    top_n: int = 8,
    stop_words: Collection[str] = (),
) -> dict[K, list[str]]:
    """The ``top_n`` key phrases of each cluster, best first, by class-based TF-IDF.

    Each cluster is one class (all its documents joined, as in BERTopic): the weight of gram ``t``
    in class ``c`` is ``tf(t, c) / |c| × log(1 + A / f(t))``, where ``tf`` counts ``t`` in ``c``,
    ``|c|`` is the number of grams in ``c``, ``f(t)`` counts ``t`` across all classes and ``A``
    is the mean number of grams per class. Grams are single words and pairs of adjacent words,
    neither of them a stop word: the built-in lists (:data:`STOP_WORDS`) and every word of
    ``stop_words`` (pass the watch-term aliases: every article mentions one).

    A pair is preferred to a word it contains when the pair accounts for at least half of the
    word's uses ("peace talks" instead of "talks"); a pair must occur at least twice. Phrases are
    given in their most frequent printed form. Ties break on the folded phrase, so the output is
    deterministic. Labels are relative: the same cluster can get other phrases next to other
    clusters.
    """
    stop = _stop_set(stop_words)
    counts: dict[K, Counter[str]] = {}
    surfaces: dict[K, dict[str, Counter[str]]] = {}
    for key, docs in docs_by_cluster.items():
        surfaces[key] = {}
        counts[key] = Counter()
        for doc in docs:
            counts[key].update(_grams(doc, stop, surfaces[key]))
    across: Counter[str] = Counter()
    for c in counts.values():
        across.update(c)
    average = sum(across.values()) / max(len(counts), 1)
    out: dict[K, list[str]] = {}
    for key, c in counts.items():
        total = sum(c.values())
        score = {t: n / total * math.log(1 + average / across[t]) for t, n in c.items()}
        out[key] = [_printed(surfaces[key][g]) for g in _select(c, score, top_n)]
    return out


def _select(counts: Counter[str], score: Mapping[str, float], top_n: int) -> list[str]:
    """The best grams, a word replaced by the pair that stands for it, each gram once."""
    ranked = sorted(score, key=lambda g: (-score[g], g))
    stands_for: dict[str, str] = {}
    for gram in ranked:  # best pairs first, so each word keeps its best pair
        if " " not in gram or counts[gram] < _MIN_BIGRAM:
            continue
        for word in gram.split(" "):
            if word not in stands_for and counts[gram] >= _SUBSUME * counts[word]:
                stands_for[word] = gram
    chosen: list[str] = []
    for gram in ranked:
        if len(chosen) >= top_n:
            break
        if " " in gram and counts[gram] < _MIN_BIGRAM:
            continue
        pick = stands_for.get(gram, gram)
        if pick not in chosen:
            chosen.append(pick)
    return chosen


def _printed(forms: Counter[str]) -> str:
    """The most frequent printed form; on a tie the one with fewer capitals (a capital is often
    only the start of a sentence), then the first in code-point order."""
    return min(forms, key=lambda f: (-forms[f], sum(c.isupper() for c in f), f))


# --- the representative member -------------------------------------------------------------------


def medoid(vectors: Any) -> int:
    """The index of the row with the highest mean cosine similarity to the other rows.

    ``vectors`` is a 2-D numpy array or a scipy sparse matrix, one row per member. Uses
    ``x_i · Σ x_j - x_i · x_i`` over unit rows, so memory stays linear in the number of members.
    All-zero rows are similar to nothing. Ties go to the lowest index.
    """
    rows = vectors.shape[0]
    if rows == 0:
        raise ValueError("medoid of no vectors")
    if rows == 1:
        return 0
    if hasattr(vectors, "tocsr"):  # scipy sparse: stay sparse
        matrix = vectors.tocsr().astype(np.float64)
        norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
        scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
        unit = matrix.multiply(scale[:, None]).tocsr()
        total = np.asarray(unit.sum(axis=0)).ravel()
        self_sim = (norms > 0).astype(np.float64)
        mean: npt.NDArray[np.float64] = np.asarray(unit @ total).ravel() - self_sim
    else:
        dense = np.asarray(vectors, dtype=np.float64)
        norms = np.linalg.norm(dense, axis=1)
        scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
        unit_dense = dense * scale[:, None]
        mean = unit_dense @ unit_dense.sum(axis=0) - (norms > 0).astype(np.float64)
    return int(np.argmax(np.round(mean, 9)))


# --- cited passages ------------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[۔؟])|\n+")
_SAME_PASSAGE = 0.8  # char-gram cosine above which two sentences are copies of one another


def _sentences(text: str, max_chars: int) -> list[str]:
    """The sentences of ``text``, whitespace collapsed, each cut to ``max_chars`` at a space."""
    out = []
    for piece in _SENTENCE_END.split(text):
        sentence = " ".join(piece.split())
        if len(sentence) > max_chars:
            cut = sentence[: max_chars - 1]
            space = cut.rfind(" ")
            sentence = (cut[:space] if space > max_chars // 2 else cut).rstrip() + "…"
        if sentence:
            out.append(sentence)
    return out


def cited_passages(
    texts: Sequence[str],
    meta: Sequence[M],
    n: int = 3,
    max_chars: int = 300,
    min_chars: int = 40,
) -> list[tuple[str, M]]:
    """Up to ``n`` sentences that best tell what the texts share, each with its text's ``meta``.

    Texts are split into sentences at ``. ! ?`` followed by a space, at ``۔ ؟`` and at newlines;
    sentences shorter than ``min_chars`` are skipped, longer than ``max_chars`` cut (with "…").
    Sentences are TF-IDF vectors of character 3-5-grams (folded text, fit on these sentences); the
    centroid weighs every text equally (the mean of each text's mean sentence vector). The closest
    sentences to it are taken, at most one per text, and never two copies of one sentence
    (cosine >= 0.8). Ties go to the earlier text, then the earlier sentence.
    """
    if len(texts) != len(meta):
        raise ValueError("cited_passages needs one meta per text")
    candidates = [
        (i, s)
        for i, text in enumerate(texts)
        for s in _sentences(text, max_chars)
        if len(s) >= min_chars
    ]
    if not candidates or n < 1:
        return []
    vectorizer = TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=(3, 5),
        preprocessor=fold,
        lowercase=False,
        sublinear_tf=True,
    )
    matrix = vectorizer.fit_transform([s for _, s in candidates]).tocsr()
    owners = np.array([i for i, _ in candidates])
    per_text = [np.asarray(matrix[owners == i].mean(axis=0)).ravel() for i in sorted(set(owners))]
    centroid = np.mean(per_text, axis=0)
    closeness = np.round(np.asarray(matrix @ centroid).ravel(), 9)
    order = sorted(range(len(candidates)), key=lambda k: (-closeness[k], k))
    picked: list[int] = []
    used: set[int] = set()
    for k in order:
        if len(picked) >= n:
            break
        if owners[k] in used:
            continue
        if picked and float((matrix[picked] @ matrix[k].T).max()) >= _SAME_PASSAGE:
            continue
        picked.append(k)
        used.add(int(owners[k]))
    return [(candidates[k][1], meta[candidates[k][0]]) for k in picked]
