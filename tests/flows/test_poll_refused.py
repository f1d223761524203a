"""A poll whose database refuses one feed's articles: that feed fails, the others are saved."""

from __future__ import annotations

from flows.polling import Poller, _Pending
from flows.summary import PollSummary
from jirga.pipeline import DocumentResult
from jirga.settings import Settings
from jirga.types import FetchOutcome
from storage.facade import Storage
from storage.polls import FeedSave
from tests.storage.test_save_feeds import FEEDS, NOW, _item, _refused, _state


def test_a_poll_counts_a_refused_feed_as_failed_and_goes_on(storage: Storage) -> None:
    storage.sync_feeds(FEEDS, NOW)
    summary = PollSummary()
    poller = Poller(Settings(), storage, {f.id: f for f in FEEDS}, (), NOW, summary)
    good = FeedSave(_state(FEEDS[0], '"d1"'), 200, [_item(0, "dawn")])
    poller._save_group(
        [
            _Pending(_refused(FEEDS[1], '"t1"'), FetchOutcome.OK, DocumentResult(entries_seen=50)),
            _Pending(good, FetchOutcome.OK, DocumentResult(entries_seen=50, unchanged=20)),
        ]
    )
    assert (summary.ok, summary.failed, summary.new_articles) == (1, 1, 1)
    assert summary.entries_seen == 100 and summary.entries_unchanged == 20
    assert [feed for feed, _ in summary.errors] == ["tolo"]
