"""Near-duplicate detection: MinHash signatures, LSH band keys and exact Jaccard verification.

A syndicated or lightly edited copy of a story (an agency piece republished with a new headline or
an extra paragraph, an Urdu story re-typed with other punctuation) is found in two steps: storage
returns the stored articles that share a band key with the new one (:func:`band_keys`), and
:func:`best_match` keeps the most similar of them whose exact shingle Jaccard reaches the threshold.
Exact duplicates (same entry, same canonical URL, same content hash) are caught before this stage.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
import threading
import unicodedata
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, TypeVar

import numpy as np
import numpy.typing as npt

__all__ = [
    "DEFAULT_CONFIG",
    "DedupConfig",
    "band_keys",
    "best_match",
    "candidate_probability",
    "normalize",
    "shingles",
    "signature",
    "similarity",
]

K = TypeVar("K")
Signature = npt.NDArray[np.uint32]
Shingles = npt.NDArray[np.uint64]
_Kind = Literal["word", "char"]


@dataclass(frozen=True)
class DedupConfig:
    """How texts are shingled, signed and banded, and how similar a copy must be.

    ``bands * rows`` must equal ``num_perm``. A pair of Jaccard ``s`` shares a band key with
    probability ``1 - (1 - s**rows)**bands``. A candidate must share ``min_shared_bands`` of
    them (:func:`candidate_probability`): with 2, a pair is fetched with probability 0.20 at
    0.4, 0.93 at 0.6, 0.998 at 0.7 and 0.9999 at 0.75, so the keys over-fetch a little and the
    exact Jaccard decides. One shared band alone is what boilerplate (a shared sign-off, a
    standard sentence) gives unrelated articles: requiring two keeps those out of the exact
    check, at the cost of 0.2% of the pairs right at the threshold.

    ``threshold`` 0.7, measured by ``bench/bench_dedup.py``: a changed headline, an added
    paragraph or re-typed punctuation/ZWNJ keep English and Urdu copies at 0.75-1.0 (both edits
    at once: 0.65-0.75); other articles on the same crisis stay under 0.12 (62,000 real BBC/CNN
    pairs: p95 0.04), but two press releases of one template about different operations reach
    0.59-0.64, which rules out a lower threshold. A 30% rewrite (0.2) is another article.

    Texts under ``min_words`` words are never near-duplicates (a headline alone is too generic).
    Texts under ``char_below_words`` words are shingled as character ``char_size``-grams, where
    one changed word would destroy too large a share of a few word n-grams; the boundary is low
    because character grams also bring templated statements closer together.
    Changing any field changes every signature and band key: stored keys must be recomputed.
    """

    num_perm: int = 128
    bands: int = 32
    rows: int = 4
    shingle_size: int = 3
    threshold: float = 0.7
    min_shared_bands: int = 2
    min_words: int = 8
    seed: int = 1
    char_below_words: int = 20
    char_size: int = 5

    def __post_init__(self) -> None:
        problems = []
        if self.bands < 1 or self.rows < 1 or self.bands * self.rows != self.num_perm:
            problems.append(
                f"bands × rows must equal num_perm ({self.bands} × {self.rows} != {self.num_perm})"
            )
        if not 1 <= self.min_shared_bands <= self.bands:
            problems.append("min_shared_bands must be between 1 and bands")
        if self.bands > 1 << 16:
            problems.append("at most 65536 bands")
        if self.shingle_size < 1 or self.char_size < 1:
            problems.append("shingle_size and char_size must be at least 1")
        if self.min_words < max(self.shingle_size, 1):
            problems.append("min_words must be at least shingle_size")
        if not 0.0 < self.threshold <= 1.0:
            problems.append("threshold must be in (0, 1]")
        if problems:
            raise ValueError("invalid DedupConfig: " + "; ".join(problems))


DEFAULT_CONFIG = DedupConfig()

# --- normalisation -----------------------------------------------------------------------------

# Combining marks are deleted rather than turned into spaces: Arabic harakat, hamza and madda sit
# inside words (NFKD splits أ, آ, ئ, ۂ, ۓ into a base letter and such a mark), and so do Latin
# accents. The ranges cover Latin, Cyrillic, Hebrew and every Arabic block.
_MARK_RANGES = (
    (0x0300, 0x036F),
    (0x0483, 0x0489),
    (0x0591, 0x05C7),
    (0x0610, 0x061A),
    (0x064B, 0x065F),
    (0x0670, 0x0670),
    (0x06D6, 0x06ED),
    (0x0860, 0x08FF),
    (0x1AB0, 0x1AFF),
    (0x1DC0, 0x1DFF),
    (0x20D0, 0x20FF),
    (0xFE20, 0xFE2F),
)
# Invisible characters that editors and keyboards leave inside words: ZWNJ, ZWJ, direction marks
# and isolates, the BOM, the soft hyphen and the Arabic tatweel. Apostrophes are deleted too, so
# that "militants'" and "militants" are one word.
_DELETED = "\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_DELETED += "\ufeff\u00ad\u0640'\u2019\u2018\u02bc"
# One spelling per letter, whichever keyboard typed it: Arabic yeh/alef maksura and kaf become the
# Persian/Urdu forms, every heh that is not do-chashmi becomes Urdu heh goal; Arabic-Indic and
# Persian digits become ASCII.
_LETTER_FOLDS = {
    "\u064a": "\u06cc",  # ي -> ی
    "\u0649": "\u06cc",  # ى -> ی
    "\u0643": "\u06a9",  # ك -> ک
    "\u0647": "\u06c1",  # ه -> ہ
    "\u06d5": "\u06c1",  # ە -> ہ
    "\u0629": "\u06c3",  # ة -> ۃ
    "\u0671": "\u0627",  # ٱ -> ا (the other alefs lose their hamza or madda mark)
}


def _build_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    for low, high in _MARK_RANGES:
        for cp in range(low, high + 1):
            if unicodedata.category(chr(cp)) in {"Mn", "Me"}:
                table[cp] = None
    table.update({ord(c): None for c in _DELETED})
    table.update({ord(k): v for k, v in _LETTER_FOLDS.items()})
    for digit in range(10):
        table[0x0660 + digit] = str(digit)
        table[0x06F0 + digit] = str(digit)
    return table


_TABLE = _build_table()
# A word is a run of letters and digits; everything else (punctuation, ۔ ، ؟, symbols) separates.
_WORD = re.compile(r"[^\W_]+")


def _tokens(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", text.casefold()).translate(_TABLE)
    return _WORD.findall(folded)


def normalize(text: str) -> str:
    """The form of ``text`` that is shingled: case-folded, Arabic-script folded, one space a word.

    Punctuation, combining marks (harakat, accents), ZWNJ/ZWJ, tatweel and direction marks are
    removed; ي/ى→ی, ك→ک, ه→ہ; Arabic-Indic digits become ASCII.
    """
    return " ".join(_tokens(text))


# --- shingles and signatures -------------------------------------------------------------------

_U64 = np.uint64
_MASK64 = (1 << 64) - 1
_ROLL = _U64(0x100000001B3)  # FNV-64 prime: an odd multiplier for combining n-gram parts
_WORD_SALT = 0x6A09E667F3BCC908
_CHAR_SALT = 0xBB67AE8584CAA73B
# Shingles per block when signing. The (num_perm × shingles) products of a longer text are made
# in a buffer kept by each thread, a block at a time: made fresh, products of more than about
# 300 shingles (300 KB) were allocated and handed back to the system at every call, six times
# the cost of the arithmetic itself (an article of 1,000 words: 1.2 ms to sign, 0.17 ms with the
# buffer). Up to one block, fresh ones are cheaper than the buffer's handling.
_BLOCK = 256
_PRODUCTS = threading.local()


def _mix(z: Shingles) -> Shingles:
    """splitmix64's finaliser, vectorised: spreads every input bit over the whole word."""
    z = z ^ (z >> _U64(30))
    z = z * _U64(0xBF58476D1CE4E5B9)
    z = z ^ (z >> _U64(27))
    z = z * _U64(0x94D049BB133111EB)
    return z ^ (z >> _U64(31))


def _ngrams(parts: Shingles, n: int, salt: int) -> Shingles:
    """Sorted unique hashes of every run of ``n`` consecutive parts (all parts if fewer)."""
    n = min(n, parts.size)
    count = parts.size - n + 1
    acc = np.full(count, salt, dtype=_U64)
    for k in range(n):
        acc = acc * _ROLL + parts[k : k + count]
    return np.unique(_mix(acc))


def _kind(words: int, config: DedupConfig) -> _Kind | None:
    if words < config.min_words:
        return None
    return "char" if words < config.char_below_words else "word"


def _shingle(tokens: list[str], kind: _Kind, config: DedupConfig) -> Shingles:
    if kind == "word":
        # crc32 of the UTF-8 bytes is stable everywhere and collides for 1 pair in 4e9; the
        # n-gram step re-mixes it.
        ids = np.fromiter(map(zlib.crc32, map(str.encode, tokens)), dtype=_U64, count=len(tokens))
        return _ngrams(ids, config.shingle_size, _WORD_SALT)
    points = np.frombuffer(" ".join(tokens).encode("utf-32-le"), dtype="<u4").astype(_U64)
    return _ngrams(points, config.char_size, _CHAR_SALT)


def shingles(text: str, config: DedupConfig = DEFAULT_CONFIG) -> Shingles | None:
    """The sorted unique 64-bit shingle hashes of ``text``, or None when it is too short.

    Word ``shingle_size``-grams of :func:`normalize`'s form; character ``char_size``-grams (spaces
    included) for texts under ``char_below_words`` words; None under ``min_words`` words.
    """
    tokens = _tokens(text)
    kind = _kind(len(tokens), config)
    return None if kind is None else _shingle(tokens, kind, config)


def _splitmix(state: int) -> tuple[int, int]:
    state = (state + 0x9E3779B97F4A7C15) & _MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return state, z ^ (z >> 31)


@functools.lru_cache(maxsize=8)
def _permutations(num_perm: int, seed: int) -> tuple[Shingles, Shingles]:
    """Multipliers and offsets of the hash family, from the seed alone.

    Drawn in pure Python, not from numpy's generators, whose streams may change between releases.
    """
    state = seed & _MASK64
    mul, add = [], []
    for _ in range(num_perm):
        state, a = _splitmix(state)
        state, b = _splitmix(state)
        mul.append(a | 1)
        add.append(b)
    arrays = np.array(mul, dtype=_U64)[:, None], np.array(add, dtype=_U64)[:, None]
    for array in arrays:
        array.flags.writeable = False  # shared by every caller through the cache
    return arrays


def _minhash(values: Shingles, config: DedupConfig) -> Signature:
    # Multiply-shift hashing: (a·x + b) mod 2^64 with odd a, keeping the high 32 bits. Its low
    # bits are weak but the minimum is decided by the high ones, and x is already mixed.
    mul, add = _permutations(config.num_perm, config.seed)
    if values.size <= _BLOCK:
        best: Shingles = (values[None, :] * mul + add).min(axis=1)
        return (best >> _U64(32)).astype(np.uint32)
    products = getattr(_PRODUCTS, "buffer", None)
    if products is None or products.shape[0] != config.num_perm:
        products = _PRODUCTS.buffer = np.empty((config.num_perm, _BLOCK), dtype=_U64)
    best = np.full(config.num_perm, np.iinfo(np.uint64).max, dtype=_U64)
    for start in range(0, values.size, _BLOCK):
        block = values[None, start : start + _BLOCK]
        part = products[:, : block.shape[1]]
        np.multiply(block, mul, out=part)
        np.add(part, add, out=part)
        np.minimum(best, part.min(axis=1), out=best)
    return (best >> _U64(32)).astype(np.uint32)


def signature(text: str, config: DedupConfig = DEFAULT_CONFIG) -> Signature | None:
    """The MinHash signature of ``text`` (``num_perm`` uint32 values), or None when ineligible.

    Deterministic: the same text and config give the same signature in every process, on every
    platform and Python version (no ``hash()``, no numpy random stream).
    """
    values = shingles(text, config)
    return None if values is None else _minhash(values, config)


def band_keys(sig: Signature, config: DedupConfig = DEFAULT_CONFIG) -> list[tuple[int, int]]:
    """The LSH band keys of a signature: ``(band index, key)`` for each of ``config.bands``.

    A key is a signed 64-bit integer (it fits a PostgreSQL BIGINT and a SQLite INTEGER): the first
    8 bytes of BLAKE2b over the band index and the band's little-endian values. The index is hashed
    in, so a key is unique across bands and can be matched on its own. Two texts are candidates
    when they share at least one key.
    """
    if sig.shape != (config.num_perm,):
        raise ValueError(f"signature has shape {sig.shape}, config expects ({config.num_perm},)")
    raw = memoryview(sig.astype("<u4").tobytes())
    width = 4 * config.rows
    keys = []
    for band, keyed in enumerate(_band_hashers(config.bands)):
        hasher = keyed.copy()  # cheaper than setting up salt and person again
        hasher.update(raw[band * width : (band + 1) * width])
        keys.append((band, int.from_bytes(hasher.digest(), "big", signed=True)))
    return keys


@functools.lru_cache(maxsize=8)
def _band_hashers(bands: int) -> tuple[hashlib.blake2b, ...]:
    """Each band's BLAKE2b, keyed with its index and jirga's personalisation, before any data."""
    return tuple(
        hashlib.blake2b(digest_size=8, salt=band.to_bytes(16, "little"), person=b"jirga-dedup-lsh")
        for band in range(bands)
    )


def candidate_probability(jaccard: float, config: DedupConfig = DEFAULT_CONFIG) -> float:
    """How likely a pair of this Jaccard similarity shares ``min_shared_bands`` band keys."""
    hit, bands = jaccard**config.rows, config.bands
    fewer = sum(
        math.comb(bands, k) * hit**k * (1.0 - hit) ** (bands - k)
        for k in range(config.min_shared_bands)
    )
    return float(min(max(1.0 - fewer, 0.0), 1.0))


# --- verification ------------------------------------------------------------------------------


def _jaccard(a: Shingles, b: Shingles) -> float:
    common = np.intersect1d(a, b, assume_unique=True).size
    union = a.size + b.size - common
    return common / union if union else 0.0


def similarity(text_a: str, text_b: str, config: DedupConfig = DEFAULT_CONFIG) -> float:
    """The exact Jaccard similarity of the two texts' shingle sets, in [0, 1].

    Both are shingled the way the shorter one is (character n-grams when it is short), so a pair
    on either side of ``char_below_words`` is still compared like with like. A text under
    ``min_words`` words is similar to nothing: 0.0.
    """
    tokens_a, tokens_b = _tokens(text_a), _tokens(text_b)
    kind = _kind(min(len(tokens_a), len(tokens_b)), config)
    if kind is None:
        return 0.0
    return _jaccard(_shingle(tokens_a, kind, config), _shingle(tokens_b, kind, config))


def best_match(
    text: str, candidates: Iterable[tuple[K, str]], config: DedupConfig = DEFAULT_CONFIG
) -> tuple[K, float] | None:
    """The candidate most similar to ``text`` with Jaccard >= ``config.threshold``, or None.

    ``candidates`` are ``(key, text)`` pairs, typically the stored articles sharing a band key
    with ``text``. Pass them oldest first: on a tie the first wins, so a copy is linked to the
    first-seen original. ``text`` itself being ineligible (too short) gives None.
    """
    tokens = _tokens(text)
    if _kind(len(tokens), config) is None:
        return None
    mine: dict[_Kind, Shingles] = {}
    best: tuple[K, float] | None = None
    for key, other in candidates:
        other_tokens = _tokens(other)
        kind = _kind(min(len(tokens), len(other_tokens)), config)
        if kind is None:
            continue
        if kind not in mine:
            mine[kind] = _shingle(tokens, kind, config)
        score = _jaccard(mine[kind], _shingle(other_tokens, kind, config))
        if score >= config.threshold and (best is None or score > best[1]):
            best = (key, score)
    return best
