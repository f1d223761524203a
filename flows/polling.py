"""The poll as plain engine calls against storage, without Prefect.

``flows/poll.py`` wraps this in a Prefect flow; the benchmark of Prefect's overhead calls it
directly. It reads like a recipe: pick due feeds → fetch → process (parse, normalise, match,
fingerprint) → store, a group of feeds per transaction.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from flows.save_thread import SaveThread
from flows.summary import PollSummary
from jirga.dedup import DedupConfig
from jirga.fetch import Fetcher, FetchLimits, user_agent
from jirga.health import BackoffPolicy, apply_fetch, is_due
from jirga.pipeline import Caps, DocumentResult, Source
from jirga.pipeline_pool import DocumentPayload, DocumentPool
from jirga.settings import Settings
from jirga.types import Feed, FeedState, FetchOutcome, FetchResult, Term
from storage.facade import Storage
from storage.polls import FeedSave

#: Tags that mark a feed as mixing languages, so each entry's language is detected.
MIXED_LANGUAGE_TAGS = frozenset({"mixed", "multilingual"})


class ProgressHook(Protocol):
    """Told how many feeds a poll will fetch, then of each one as it completes."""

    def start(self, total: int) -> None: ...

    def advance(self, feed_id: str, outcome: FetchOutcome) -> None: ...


@dataclass(frozen=True)
class PollPlan:
    """Which feeds one poll fetches, decided from their state and ``now``."""

    due: tuple[FeedState, ...]
    backing_off: int


def plan_poll(
    states: Sequence[FeedState],
    now: dt.datetime,
    *,
    only: Sequence[str] | None = None,
    force: bool = False,
) -> PollPlan:
    """Due feeds: not gone and past their next attempt (``force``: ignore the wait; feeds named in
    ``only`` are fetched even when gone)."""
    chosen = [s for s in states if only is None or s.feed_id in only]
    due = [s for s in chosen if is_due(s, now) or (force and (not s.gone or only is not None))]
    due_ids = {s.feed_id for s in due}
    waiting = sum(1 for s in chosen if not s.gone and s.feed_id not in due_ids)
    return PollPlan(due=tuple(due), backing_off=waiting)


def source_of(feed: Feed) -> Source:
    """How the normaliser should treat a feed's entries."""
    return Source(
        source=feed.id,
        feed_id=feed.id,
        outlet=feed.name,
        url=feed.url,
        language=feed.language,
        detect_language=bool(MIXED_LANGUAGE_TAGS & set(feed.tags)),
    )


def fetch_limits(settings: Settings) -> FetchLimits:
    """The fetcher's limits from the settings."""
    return FetchLimits(
        connect_timeout=settings.fetch_connect_timeout,
        read_timeout=settings.fetch_read_timeout,
        deadline=settings.fetch_deadline,
        max_body_bytes=settings.fetch_max_bytes,
        max_redirects=settings.fetch_max_redirects,
        allow_private_networks=settings.allow_private_networks,
        user_agent=user_agent(settings.contact),
        max_retry_after=settings.fetch_max_retry_after,
    )


def caps(settings: Settings) -> Caps:
    """The per-document caps from the settings."""
    return Caps(
        max_entries=settings.max_entries_per_feed,
        max_field_chars=settings.max_field_chars,
        max_entry_chars=settings.max_entry_chars,
        context_window=settings.match_context_window,
    )


def dedup_config(settings: Settings) -> DedupConfig:
    """The near-duplicate rule from the settings."""
    return DedupConfig(threshold=settings.dedup_threshold, min_words=settings.dedup_min_words)


def backoff(settings: Settings) -> BackoffPolicy:
    """The backoff policy from the settings."""
    return BackoffPolicy(
        base=settings.backoff_base, cap=settings.backoff_max, gone_after=settings.gone_after
    )


#: Feeds with articles saved together in one transaction, at most; feeds in all (most polls
#: are mostly feeds that brought nothing to store, whose states cost little beside the
#: transaction: grouping eight times as many of them made a re-poll of 1,000 unchanged feeds
#: about 8% faster); and how long the first may wait. Each commit writes out every page its
#: transaction touched, and the near-duplicate band keys, random by design, touch pages all
#: over their index: 100 feeds with articles a group instead of 25 took the save thread of
#: the benchmark's cold poll from 2.5 to 1.7-2.0 CPU-s, for 15 MB more at the peak.
SAVE_GROUP = 100
SAVE_GROUP_FEEDS = 800
SAVE_WAIT = 1.0  # seconds


@dataclass(frozen=True)
class _Pending:
    """A fetched feed waiting to be saved with its group, and what it adds to the summary."""

    save: FeedSave
    outcome: FetchOutcome
    doc: DocumentResult | None


@dataclass
class Poller:
    """One poll over a set of due feeds, storing as each feed completes."""

    settings: Settings
    storage: Storage
    feeds: dict[str, Feed]
    terms: tuple[Term, ...]
    now: dt.datetime
    summary: PollSummary
    progress: ProgressHook | None = None
    dedup: DedupConfig = dataclasses.field(default_factory=DedupConfig)

    def __enter__(self) -> Poller:
        """Start the fetcher and the worker processes once, for every batch of this poll."""
        self._fetcher = Fetcher(
            fetch_limits(self.settings),
            concurrency=self.settings.fetch_concurrency,
            per_host=self.settings.fetch_per_host,
            exempt_networks=self.settings.fetch_exempt_networks,
        )
        self._pool = DocumentPool(
            self.terms,
            caps=caps(self.settings),
            dedup=self.dedup,
            workers=self.settings.parse_workers or None,
            timeout=self.settings.parse_timeout,
            memory_mb=self.settings.parse_memory_mb,
            detect_languages=any(source_of(f).detect_language for f in self.feeds.values()),
        )
        # Everything alive when the poll starts (imported modules, settings, the engine; with
        # Prefect, far more) is left out of the collector's full passes until the poll ends:
        # each of those walked all of it, and a cold poll of 1,000 feeds ran six, 0.43-0.46 s
        # of the main process's 3 s. Only if nobody froze objects before (unfreezing would undo
        # their freeze); afterwards they are collected as before.
        self._froze = gc.get_freeze_count() == 0
        if self._froze:
            gc.freeze()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._pool.close()
            self._fetcher.close()
        finally:
            if self._froze:
                gc.unfreeze()

    def run(self, due: Sequence[FeedState]) -> None:
        """Fetch, process and store every feed in ``due`` (inside ``with poller:``).

        Feeds are saved in groups of up to :data:`SAVE_GROUP` feeds with articles and
        :data:`SAVE_GROUP_FEEDS` in all (or after :data:`SAVE_WAIT` seconds), one transaction
        each, in order, by a thread of their own (:mod:`flows.save_thread`) while the next feeds
        are parsed. A crash loses at most the
        work of the groups not yet saved (a few): those feeds keep their old validators, so the
        next poll fetches and stores them again. A failed save stops the poll with its error.
        """
        policy = backoff(self.settings)
        self._pending: list[_Pending] = []
        self._pending_since = 0.0
        self._pending_with_items = 0
        fetched = self._fetcher.fetch_many(due, self.now)
        documents = self._bodies(fetched, policy)
        with SaveThread(self._save_group) as self._saver:
            for (state, result), doc in self._pool.process_many(documents):
                self._processed(state, result, doc, policy)
            self._save()

    def _bodies(
        self, fetched: Iterator[tuple[FeedState, FetchResult]], policy: BackoffPolicy
    ) -> Iterator[tuple[tuple[FeedState, FetchResult], DocumentPayload]]:
        """Bodies to process, each with the digests of the entries its feed's last stored body
        held (so that those are not parsed again); every other outcome is recorded on its feed
        straight away."""
        for state, result in fetched:
            if result.outcome is FetchOutcome.OK and result.body is not None:
                source = source_of(self.feeds[state.feed_id])
                seen = state.entry_hashes or b""
                # The key waits for the document's result, the body only for its trip to a
                # worker: the key does not hold it, so that documents queued for the workers
                # (see WorkerPool.run_many) are in memory once, as the message that carries them.
                kept = dataclasses.replace(result, body=None)
                yield (state, kept), (result.body, dict(result.headers), source, self.now, seen)
                continue
            if result.outcome is FetchOutcome.RETRY_LATER:
                # The server asked for a pause: not a failure, but worth a line.
                self.summary.warnings.append((state.feed_id, result.error or "retry later"))
            elif result.outcome is not FetchOutcome.NOT_MODIFIED:
                self.summary.errors.append((state.feed_id, result.error or result.outcome.value))
            self._queue(state, result, policy, result.outcome, None)

    def _processed(
        self, state: FeedState, result: FetchResult, doc: DocumentResult, policy: BackoffPolicy
    ) -> None:
        for warning in doc.warnings:
            self.summary.warnings.append((state.feed_id, warning))
        if doc.error is not None:
            # A body that does not parse is the feed's failure: back off, keep the old validators.
            failed = dataclasses.replace(
                result, outcome=FetchOutcome.ERROR, error=f"unparseable feed: {doc.error}"
            )
            self.summary.errors.append((state.feed_id, failed.error or ""))
            self._queue(state, failed, policy, FetchOutcome.ERROR, None)
            return
        self._queue(state, result, policy, FetchOutcome.OK, doc)

    def _queue(
        self,
        state: FeedState,
        result: FetchResult,
        policy: BackoffPolicy,
        outcome: FetchOutcome,
        doc: DocumentResult | None,
    ) -> None:
        """Add a feed to the group being saved; save the group when it is full or old."""
        items = doc.matched if doc is not None else ()
        failed_state = None
        if items:  # should the database refuse this feed's articles, the fetch counts as failed
            refused = dataclasses.replace(result, outcome=FetchOutcome.ERROR, error="not stored")
            failed_state = apply_fetch(state, refused, self.now, policy)
        saved = apply_fetch(state, result, self.now, policy)
        if doc is not None:  # the body was stored: its entries' digests go with the validators
            saved = dataclasses.replace(saved, entry_hashes=doc.entry_hashes)
        save = FeedSave(saved, result.status, items, failed_state)
        if not self._pending:
            self._pending_since = time.monotonic()
            self._pending_with_items = 0
        self._pending.append(_Pending(save, outcome, doc))
        self._pending_with_items += bool(items)
        if (
            self._pending_with_items >= SAVE_GROUP
            or len(self._pending) >= SAVE_GROUP_FEEDS
            or time.monotonic() - self._pending_since >= SAVE_WAIT
        ):
            self._save()

    def _save(self) -> None:
        """Hand the pending feeds to the save thread, as one group."""
        pending, self._pending = self._pending, []
        if pending:
            self._saver.submit(pending)

    def _save_group(self, pending: list[_Pending]) -> None:
        """Save a group of feeds in one transaction, then count them and report progress (on
        the save thread)."""
        reports = self.storage.save_feeds([p.save for p in pending], self.now, self.dedup)
        s = self.summary
        for p, report in zip(pending, reports, strict=True):
            outcome = p.outcome
            if report.error is not None:  # the database refused this feed's articles
                s.errors.append((p.save.state.feed_id, report.error))
                outcome = FetchOutcome.ERROR
            self._count(outcome)
            if p.doc is not None:
                s.entries_seen += p.doc.entries_seen
                s.entries_unchanged += p.doc.unchanged
            s.new_articles += report.new
            s.duplicates += report.duplicates
            s.near_duplicates += report.near_duplicates
            s.mentions += report.mentions
            self._tick(p.save.state.feed_id, outcome)

    def _count(self, outcome: FetchOutcome) -> None:
        s = self.summary
        match outcome:
            case FetchOutcome.OK:
                s.ok += 1
            case FetchOutcome.NOT_MODIFIED:
                s.not_modified += 1
            case FetchOutcome.RETRY_LATER:
                s.retry_later += 1
            case FetchOutcome.GONE:
                s.gone += 1
            case FetchOutcome.ERROR:
                s.failed += 1

    def _tick(self, feed_id: str, outcome: FetchOutcome) -> None:
        if self.progress is not None:
            self.progress.advance(feed_id, outcome)


def poll_once(
    settings: Settings,
    storage: Storage,
    feeds: Sequence[Feed],
    terms: tuple[Term, ...],
    now: dt.datetime,
    *,
    force: bool = False,
    only: Sequence[str] | None = None,
) -> PollSummary:
    """One poll of the due feeds as plain engine calls: no Prefect, no lease, no batches (the
    benchmark and the crash tests run it; the flow adds those around the same Poller)."""
    summary = PollSummary(feeds_configured=len(feeds))
    storage.sync_feeds(feeds, now)
    plan = plan_poll(storage.feed_states(), now, only=only, force=force)
    summary.feeds_due = len(plan.due)
    summary.backing_off = plan.backing_off
    if plan.due:
        with Poller(
            settings=settings,
            storage=storage,
            feeds={f.id: f for f in feeds},
            terms=terms,
            now=now,
            summary=summary,
            dedup=dedup_config(settings),
        ) as poller:
            poller.run(plan.due)
    return summary
