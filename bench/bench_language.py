"""Accuracy of jirga's language detectors: the heuristic, py3langid alone, and the combination.

Run from the checkout: ``uv run python bench/bench_language.py``. It prints, for each evaluation
set, each detector's accuracy and confusion matrix (rows: truth, columns: answer, "-" for none).

Sets: our own labelled sentences (``tests/data/language/labelled.jsonl``, written for jirga) and,
when ``../shared`` is beside the checkout, real text: the BBC Urdu feed, the VOA/Azadi Pashto
articles and the BBC/CNN English entries of August 2021.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

import feedparser

from jirga.language import LANGUAGES, detect_heuristic, detect_langid, detect_with_confidence
from jirga.sanitize import html_to_text

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
LABELLED = ROOT / "tests" / "data" / "language" / "labelled.jsonl"
PARAGRAPH_CHARS = 600  # real articles are cut to paragraph length, like a feed summary

Sample = tuple[str, str]  # (true language, text)
Detector = Callable[[str], tuple[str | None, float]]

DETECTORS: dict[str, Detector] = {
    "heuristic": detect_heuristic,
    "py3langid": detect_langid,
    "combined": detect_with_confidence,
}


def _cut(text: str, limit: int = PARAGRAPH_CHARS) -> str:
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0]


def labelled_sets() -> dict[str, list[Sample]]:
    """Our labelled sentences, as a whole and by kind (headline, paragraph, short)."""
    rows = [json.loads(line) for line in LABELLED.read_text("utf-8").splitlines() if line]
    sets: dict[str, list[Sample]] = {"labelled (all)": [(r["lang"], r["text"]) for r in rows]}
    for kind in sorted({r["kind"] for r in rows}):
        sets[f"labelled ({kind})"] = [(r["lang"], r["text"]) for r in rows if r["kind"] == kind]
    return sets


def bbc_urdu(shared: Path) -> list[Sample]:
    """Titles and summaries of the BBC Urdu feed, one sample each."""
    feed = feedparser.parse((shared / "corpus/real-feeds/bbc-urdu-ur-2018-10-24.xml").read_bytes())
    samples: list[Sample] = []
    for entry in feed.entries:
        for field in ("title", "summary"):
            text = html_to_text(entry.get(field, ""))
            if text:
                samples.append(("ur", text))
    return samples


def zamai_pashto(shared: Path) -> list[Sample]:
    """Titles and opening paragraphs of the VOA/Azadi Pashto articles, each article once."""
    samples: list[Sample] = []
    seen: set[str] = set()
    for path in sorted((shared / "corpus/articles/zamai-pashto-2025").glob("*.json")):
        for record in json.loads(path.read_text("utf-8")):
            if record["url"] in seen:
                continue
            seen.add(record["url"])
            samples += [("ps", record["title"]), ("ps", _cut(record["content"]))]
    return [s for s in samples if s[1].strip()]


def rumca_english(shared: Path) -> list[Sample]:
    """Titles and descriptions of the BBC and CNN entries of August 2021, each link once."""
    samples: list[Sample] = []
    seen: set[str] = set()
    for path in sorted((shared / "corpus/articles/rumca-js-2021-08").glob("*.json")):
        for record in json.loads(path.read_text("utf-8")):
            if record["link"] in seen:
                continue
            seen.add(record["link"])
            for field in ("title", "description"):
                text = html_to_text(record.get(field) or "")
                if text:
                    samples.append(("en", text))
    return samples


def evaluate(detector: Detector, samples: Iterable[Sample]) -> tuple[float, Counter[tuple]]:
    """Accuracy and the (truth, answer) counts."""
    confusion: Counter[tuple] = Counter()
    for truth, text in samples:
        confusion[truth, detector(text)[0] or "-"] += 1
    total = sum(confusion.values())
    right = sum(n for (truth, answer), n in confusion.items() if truth == answer)
    return (right / total if total else 0.0), confusion


def _print_matrix(confusion: Counter[tuple]) -> None:
    columns = [*LANGUAGES, "-"]
    truths = [lang for lang in LANGUAGES if any(t == lang for t, _ in confusion)]
    print("        " + "".join(f"{c:>6}" for c in columns))
    for truth in truths:
        print(f"    {truth:<4}" + "".join(f"{confusion[truth, c]:>6}" for c in columns))


def main() -> int:
    sets = labelled_sets()
    if SHARED.is_dir():
        sets["bbc urdu feed (ur)"] = bbc_urdu(SHARED)
        sets["voa/azadi articles (ps)"] = zamai_pashto(SHARED)
        sets["bbc/cnn 2021-08 (en)"] = rumca_english(SHARED)
    else:
        print(f"{SHARED} is absent: real-text sets skipped\n")
    detect_langid("warm up")  # load the model outside the timings
    for name, samples in sets.items():
        print(f"== {name}: {len(samples)} samples")
        for label, detector in DETECTORS.items():
            started = time.perf_counter()
            accuracy, confusion = evaluate(detector, samples)
            per_ms = len(samples) / max((time.perf_counter() - started) * 1000, 1e-9)
            print(f"  {label:<10} accuracy {accuracy:.3f}   ({per_ms:.1f} texts/ms)")
            _print_matrix(confusion)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
