"""Benchmark of jirga.parse / jirga.parsepool: entries per second, in process and on every core.

Run: ``uv run python bench/bench_parse.py [--copies 8] [--entries 1000]``.

A synthetic RSS 2.0 feed of ``--entries`` entries (title, link, guid, date, a ~600-character
HTML description; Urdu and English mixed) is parsed ``--copies`` times:

1. feedparser alone, with its own sanitizer and URI resolution on, then both off (what we use);
2. ``parse_feed`` in this process (``ParserPool(workers=0)``);
3. ``ParserPool`` with one worker process, then with ``os.cpu_count()`` workers;
4. ``lxml.etree.fromstring`` on the same bytes as "the limit", when lxml is installed.

First it prints the pool's start-up cost (fork server and spawn) and the cost of replacing a
worker that crashed. The figures are wall-clock, best of three: on a shared machine they move
with its load, which is printed too.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import time
from collections.abc import Callable

import feedparser
from timing import best_of

from jirga.workerpool import ParserPool

TEXT = (
    "<p>Officials in Peshawar said talks with the <b>TTP</b> would resume after Eid; "
    "پشاور میں حکام نے کہا کہ مذاکرات عید کے بعد دوبارہ شروع ہوں گے۔ "
    '<a href="https://example.org/story">Read more</a> about the ceasefire, the prisoners and '
    "the mediators from Kabul, who met in Doha last week.</p>"
)


def synthetic_feed(entries: int) -> bytes:
    """An RSS 2.0 document with ``entries`` items, newest first."""
    start = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
    items = []
    for i in range(entries):
        when = (start - dt.timedelta(minutes=7 * i)).strftime("%a, %d %b %Y %H:%M:%S +0000")
        items.append(
            f"<item><title>Story {i}: talks in Doha, day {i % 30}</title>"
            f"<link>https://example.org/news/{i}</link>"
            f'<guid isPermaLink="false">example-{i}</guid><pubDate>{when}</pubDate>'
            f"<description><![CDATA[{TEXT * 2}]]></description></item>"
        )
    head = '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Bench</title>'
    return (head + "".join(items) + "</channel></rss>").encode()


def rate(label: str, entries: int, run: Callable[[], object], repeat: int = 3) -> float:
    """Warm up, then keep the best of ``repeat`` timed runs (the machine may be shared);
    print and return entries per second."""
    per_second = entries / best_of(run, repeat)
    print(f"{label:<52} {per_second:>9,.0f} entries/s")
    return per_second


def startup(method: str, workers: int) -> None:
    """Time from constructing a pool to its first results on a tiny document, then the same
    after every worker crashed (the first call in this process also starts the fork server)."""
    tiny = synthetic_feed(1)
    start = time.perf_counter()
    with ParserPool(workers, start_method=method) as pool:
        list(pool.parse_many((i, tiny, None) for i in range(workers)))
        first = time.perf_counter() - start
        crash = dict.fromkeys(range(workers), "crash")
        list(pool.parse_many(((i, tiny, None) for i in range(workers)), _test_behaviour=crash))
        start = time.perf_counter()
        list(pool.parse_many((i, tiny, None) for i in range(workers)))
        again = time.perf_counter() - start
    print(f"start-up, {method:<10} {workers} workers to first results: {first * 1000:6.0f} ms;"
          f" after all crashed, again: {again * 1000:4.0f} ms")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=8, help="documents per timed run")
    parser.add_argument("--entries", type=int, default=1000, help="entries per document")
    args = parser.parse_args()
    doc, copies, n = synthetic_feed(args.entries), args.copies, args.entries
    total = copies * n
    caps = {"max_entries": n}
    print(f"document: {n} entries, {len(doc) / 1e6:.2f} MB; {copies} copies a run")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"cores: {os.cpu_count()}; load average before the run: {load}\n")
    for method in ("forkserver", "spawn"):
        startup(method, os.cpu_count() or 1)
    print()

    def feedparser_only(sanitize: bool) -> Callable[[], object]:
        def run() -> None:
            for _ in range(copies):
                feedparser.parse(
                    io.BytesIO(doc), sanitize_html=sanitize, resolve_relative_uris=sanitize
                )

        return run

    rate("feedparser, sanitizer + URI resolution on", total, feedparser_only(True))
    rate("feedparser, both off", total, feedparser_only(False))
    with ParserPool(0) as here:
        one = rate(
            "parse_feed in process (workers=0)", total, lambda: consume(here, doc, copies, caps)
        )
    for workers in sorted({1, os.cpu_count() or 1}):
        with ParserPool(workers) as pool:
            label = f"ParserPool, {workers} worker process{'es' * (workers > 1)}"
            got = rate(label, total, lambda p=pool: consume(p, doc, copies, caps))
            print(f"{'':<52} {got / one:>9.2f} x in process")
    try:
        from lxml import etree  # type: ignore[import-not-found]
    except ImportError:
        print("lxml.etree.fromstring (the limit): lxml is not installed, not measured")
    else:
        rate(
            "lxml.etree.fromstring (the limit)",
            total,
            lambda: [etree.fromstring(doc) for _ in range(copies)],
        )


def consume(pool: ParserPool, doc: bytes, copies: int, caps: dict[str, int]) -> None:
    """Parse ``copies`` documents through the pool and check each came out whole."""
    for _, result in pool.parse_many(((i, doc, None) for i in range(copies)), **caps):
        assert result.error is None, result.error
        assert len(result.entries) == caps["max_entries"]


if __name__ == "__main__":
    main()
