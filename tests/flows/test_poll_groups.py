"""How a poll groups its feeds for saving (by the feeds that bring articles, and by feeds in all),
and how it keeps what was alive before it out of the collector's full passes."""

from __future__ import annotations

import gc
import weakref

import pytest

from flows import polling
from flows.polling import Poller, _Pending, backoff
from flows.summary import PollSummary
from jirga.pipeline import DocumentResult
from jirga.settings import Settings
from jirga.types import FetchOutcome, FetchResult
from storage.facade import Storage
from tests.storage.test_save_feeds import FEEDS, NOW, _item, _state


class _Saver:
    """Stands in for the save thread: records each group handed to it."""

    def __init__(self) -> None:
        self.groups: list[list[_Pending]] = []

    def submit(self, pending: list[_Pending]) -> None:
        self.groups.append(pending)


@pytest.fixture
def poller(storage: Storage, monkeypatch: pytest.MonkeyPatch) -> Poller:
    monkeypatch.setattr(polling, "SAVE_WAIT", 3600.0)  # only the counts close a group here
    poller = Poller(Settings(), storage, {f.id: f for f in FEEDS}, (), NOW, PollSummary())
    poller._pending, poller._pending_since, poller._pending_with_items = [], 0.0, 0
    poller._saver = _Saver()  # type: ignore[assignment]
    return poller


def _queue(poller: Poller, *, with_articles: bool) -> None:
    state = _state(FEEDS[0], '"e1"')
    result = FetchResult(FetchOutcome.OK, url=state.url, final_url=state.url, status=200)
    doc = DocumentResult(matched=(_item(0, "dawn"),) if with_articles else (), entries_seen=1)
    poller._queue(state, result, backoff(poller.settings), FetchOutcome.OK, doc)


def test_feeds_without_articles_fill_a_group_of_their_own_size(poller: Poller) -> None:
    saver: _Saver = poller._saver  # type: ignore[assignment]
    for _ in range(polling.SAVE_GROUP_FEEDS - 1):
        _queue(poller, with_articles=False)
    assert saver.groups == []
    _queue(poller, with_articles=False)
    assert [len(g) for g in saver.groups] == [polling.SAVE_GROUP_FEEDS]


def test_feeds_with_articles_close_a_group_at_the_smaller_size(poller: Poller) -> None:
    saver: _Saver = poller._saver  # type: ignore[assignment]
    for _ in range(10):
        _queue(poller, with_articles=False)
    for _ in range(polling.SAVE_GROUP):
        _queue(poller, with_articles=True)
    assert [len(g) for g in saver.groups] == [10 + polling.SAVE_GROUP]
    # The count starts again with the next group.
    for _ in range(polling.SAVE_GROUP - 1):
        _queue(poller, with_articles=True)
    assert len(saver.groups) == 1


class _Cycle:
    me: object


@pytest.mark.parametrize("frozen_before", [False, True])
def test_a_poll_keeps_what_was_alive_before_it_out_of_full_collections(
    storage: Storage, frozen_before: bool
) -> None:
    # Frozen for the poll (a full collection would walk all of it), and given back to the
    # collector after; a freeze that was there before the poll is left as it was.
    settings = Settings(parse_workers=0)
    poller = Poller(settings, storage, {f.id: f for f in FEEDS}, (), NOW, PollSummary())
    if frozen_before:
        gc.freeze()
    try:
        with poller:
            assert gc.get_freeze_count() > 0
            garbage = _Cycle()
            garbage.me = garbage
            dead = weakref.ref(garbage)
            del garbage
            gc.collect()
            assert dead() is None  # a poll's own garbage is still collected
        after = gc.get_freeze_count()
    finally:
        gc.unfreeze()
    assert (after > 0) is frozen_before


def test_a_body_on_its_way_to_a_worker_is_held_by_the_payload_alone(poller: Poller) -> None:
    # Documents queued for the workers while they start are in memory once, as the payload;
    # the key kept for the result has everything the feed's state needs but the body.
    state = _state(FEEDS[0], '"e1"')
    result = FetchResult(
        FetchOutcome.OK, url=state.url, final_url=state.url, status=200, body=b"<rss/>", etag='"e2"'
    )
    (((key_state, kept), payload),) = poller._bodies(iter([(state, result)]), backoff(Settings()))

    assert payload[0] == b"<rss/>"
    assert key_state == state
    assert kept.body is None
    assert kept == FetchResult(
        FetchOutcome.OK, url=state.url, final_url=state.url, status=200, etag='"e2"'
    )
