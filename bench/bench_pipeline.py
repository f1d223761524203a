"""Where a parser worker's CPU goes: each stage of the per-document pipeline, in one process.

    uv run python bench/bench_pipeline.py [--feeds 200] [--entries 50]

The synthetic feeds of ``bench_poll.py`` (``feedgen``) are run through
``jirga.pipeline.Stages`` in this process, with no pool, no HTTP and no database, and then
through each stage on its own, all in microseconds of one core per entry (best of five). The
limit printed first is an lxml tree of the same bytes, in the same process: the figure
``bench_poll.py``'s "20x the lxml limit" goal is counted in. Stages overlap (the whole is not
the sum); the matched-article stage is paid only by the entries that mention a watch term, and
is given both per such article and spread over every entry. What the whole costs beyond the
stages is the per-document glue: results and summaries built, warnings counted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import pickle
from collections.abc import Callable
from pathlib import Path

from feedgen import feed_body, feed_specs
from lxml import etree
from timing import best_of

from jirga.config import load_watchlist
from jirga.normalise import prepare_text, screening_text
from jirga.parse import parse_feed
from jirga.parse_fast import read_feed
from jirga.pipeline import Source, Stages
from jirga.unchanged import UnchangedEntries

ROOT = Path(__file__).resolve().parents[1]
HEADERS = {"content-type": "application/rss+xml; charset=utf-8"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=200, help="feeds (default 200)")
    parser.add_argument("--entries", type=int, default=50, help="entries per feed (default 50)")
    args = parser.parse_args()

    specs = feed_specs(args.feeds)
    bodies = [feed_body(spec, args.entries) for spec in specs]
    sources = [
        Source(s.id, s.id, s.id, f"https://outlet.example{s.path}", s.language, s.mixed)
        for s in specs
    ]
    stages = Stages(load_watchlist(ROOT / "config").terms)
    now = dt.datetime.now(dt.UTC)
    pairs = list(zip(bodies, sources, strict=True))
    parsed = [parse_feed(body, HEADERS) for body in bodies]
    entries = sum(len(p.entries) for p in parsed)
    results = [stages.process_document(b, HEADERS, s, now, b"") for b, s in pairs]
    articles = sum(len(r.matched) for r in results)
    screened = [
        [screening_text(raw, max_text_chars=stages.caps.max_text_chars) for raw in p.entries]
        for p in parsed
    ]
    chosen = [
        (raw, source)
        for p, texts, source in zip(parsed, screened, sources, strict=True)
        for raw, maybe in zip(p.entries, stages.matcher.may_mention_many(texts), strict=True)
        if maybe
    ]
    prepared = [
        (raw, prepare_text(raw, max_text_chars=stages.caps.max_text_chars), source)
        for raw, source in chosen
    ]
    found = [(raw, p, stages.matcher.find(p.text), source) for raw, p, source in prepared]
    found = [f for f in found if f[2]]
    blobs = [pickle.dumps(r, protocol=5) for r in results]
    print(
        f"{args.feeds} feeds x {args.entries} entries ({sum(map(len, bodies)) / 1e6:.1f} MB),"
        f" {articles} matching; load average {os.getloadavg()[0]:.2f}\n"
    )

    def per_entry(label: str, run: Callable[[], object], count: int = entries) -> float:
        us = best_of(run) / count * 1e6
        print(f"  {label:<50} {us:8.1f} us per {'entry' if count == entries else 'article'}")
        return us

    limit = per_entry(
        "lxml tree of the bytes (the limit)", lambda: [etree.fromstring(b) for b in bodies]
    )
    whole = per_entry(
        "whole pipeline, with entry tracking",
        lambda: [stages.process_document(b, HEADERS, s, now, b"") for b, s in pairs],
    )
    per_entry(
        "whole pipeline, without",
        lambda: [stages.process_document(b, HEADERS, s, now) for b, s in pairs],
    )
    print("  stages:")
    per_entry(
        "  parse_feed (decode, prolog, entry cut, read)",
        lambda: [parse_feed(b, HEADERS) for b in bodies],
    )
    per_entry(
        "    of which the lxml reader (parse_fast)", lambda: [read_feed(b, HEADERS) for b in bodies]
    )
    per_entry(
        "  entry tracking (spans and digests)",
        lambda: [UnchangedEntries(b"", stages._scope, 200)(b) for b in bodies],
    )
    per_entry(
        "  screening text (nh3 first pass)",
        lambda: [
            [screening_text(r, max_text_chars=stages.caps.max_text_chars) for r in p.entries]
            for p in parsed
        ],
    )
    per_entry(
        "  screen: fold and scan", lambda: [stages.matcher.may_mention_many(s) for s in screened]
    )
    per_entry(
        "  full text and match of the screened-in entries",
        lambda: [
            stages.matcher.find(prepare_text(raw, max_text_chars=stages.caps.max_text_chars).text)
            for raw, _ in chosen
        ],
    )
    one = per_entry(
        "  matched article (normalise, fingerprint)",
        lambda: [stages._matched(raw, p, m, s, now) for raw, p, m, s in found],
        count=max(len(found), 1),
    )
    print(f"  {'    spread over every entry':<50} {one * len(found) / entries:8.1f} us per entry")
    per_entry(
        "  result pickled (worker side)", lambda: [pickle.dumps(r, protocol=5) for r in results]
    )
    per_entry("  result unpickled (poller side)", lambda: [pickle.loads(b) for b in blobs])
    print(f"\nwhole pipeline: {whole / limit:.0f}x the lxml tree of the same bytes")


if __name__ == "__main__":
    main()
