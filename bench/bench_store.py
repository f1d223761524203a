"""The save path of a cold poll, replayed: how the size of a save group changes its cost.

    uv run python bench/bench_store.py [--feeds 1000] [--groups 25,50,100,250] [--repeat 3]

The feeds of ``bench_poll.py`` (``feedgen``) go through the pipeline in this process once; their
matching articles are then saved into a fresh SQLite file as a poll saves them
(``Storage.save_feeds``, a group closing at N feeds with articles or, in all, at N times the
poll's ratio of ``SAVE_GROUP_FEEDS`` to ``SAVE_GROUP``), once for every group size, the sizes
taken in turn ``--repeat`` times so that they share the machine's slow and fast moments.
Printed: the wall and CPU seconds of each replay (one thread, no fetching or parsing
meanwhile), and the median of each size against the poll's own (``flows.polling.SAVE_GROUP``).
What was alive before the replays (the articles to save among it) is frozen out of the garbage
collector's full passes, as a poll does.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from feedgen import feed_body, feed_specs

from flows.polling import SAVE_GROUP, SAVE_GROUP_FEEDS
from jirga.config import load_watchlist
from jirga.dedup import DedupConfig
from jirga.pipeline import Source, Stages
from jirga.types import Feed, FeedState, MatchedArticle
from storage import polls
from storage.facade import Storage

ROOT = Path(__file__).resolve().parents[1]
NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def replay(
    feeds: Sequence[Feed], found: Sequence[tuple[str, tuple[MatchedArticle, ...]]], group: int
) -> tuple[float, float]:
    """Wall and CPU seconds of saving ``found`` in groups of ``group`` feeds with articles."""
    with (
        tempfile.TemporaryDirectory(prefix="bench-store-") as tmp,
        Storage(f"sqlite:///{tmp}/jirga.db") as storage,
    ):
        storage.upgrade()
        storage.sync_feeds(feeds, NOW)
        states: dict[str, FeedState] = {s.feed_id: s for s in storage.feed_states()}
        groups: list[list[polls.FeedSave]] = [[]]
        in_all = group * SAVE_GROUP_FEEDS // SAVE_GROUP
        for feed_id, items in found:
            groups[-1].append(polls.FeedSave(states[feed_id], 200, items))
            if sum(bool(s.items) for s in groups[-1]) >= group or len(groups[-1]) >= in_all:
                groups.append([])
        began, cpu = time.perf_counter(), time.thread_time()
        for saves in groups:
            if saves:
                storage.save_feeds(saves, NOW, DedupConfig())
        return time.perf_counter() - began, time.thread_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000, help="feeds (default 1000)")
    parser.add_argument("--groups", default="25,50,100,250", help="group sizes to compare")
    parser.add_argument("--repeat", type=int, default=3, help="replays of each size (default 3)")
    args = parser.parse_args()
    sizes = [int(n) for n in args.groups.split(",")]

    specs = feed_specs(args.feeds)
    watchlist = load_watchlist(ROOT / "config")
    feeds = [Feed(s.id, s.id, f"https://outlet.example{s.path}", "PK", s.language) for s in specs]
    stages = Stages(watchlist.terms)
    found = []
    for spec, feed in zip(specs, feeds, strict=True):
        source = Source(feed.id, feed.id, feed.name, feed.url, feed.language, False)
        result = stages.process_document(feed_body(spec, 50), {}, source, NOW)
        found.append((feed.id, result.matched))
    articles = sum(len(items) for _, items in found)
    print(
        f"{args.feeds} feeds, {articles} matching articles to save;"
        f" load average {os.getloadavg()[0]:.2f}\n"
    )
    # A poll keeps what was alive when it started out of the collector's full passes
    # (flows.polling.Poller): so do the replays, or each full pass would walk every article.
    gc.freeze()
    runs: dict[int, list[tuple[float, float]]] = {size: [] for size in sizes}
    for _ in range(args.repeat):
        for size in sizes:
            runs[size].append(replay(feeds, found, size))
    print("  group   wall s (each replay)            CPU s (each replay)             CPU median")
    base = statistics.median(c for _, c in runs[SAVE_GROUP]) if SAVE_GROUP in runs else None
    for size in sizes:
        walls = " ".join(f"{w:5.2f}" for w, _ in runs[size])
        cpus = " ".join(f"{c:5.2f}" for _, c in runs[size])
        median = statistics.median(c for _, c in runs[size])
        than = f"  {median / base:4.2f}x the poll's ({SAVE_GROUP})" if base else ""
        print(f"  {size:5d}   {walls:<30}  {cpus:<30}  {median:5.2f}{than}")


if __name__ == "__main__":
    main()
