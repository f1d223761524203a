"""A poll saves its feeds in groups: one transaction for several feeds, all of it or none."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
import sqlalchemy as sa

from jirga.dedup import DedupConfig
from jirga.errors import StorageError
from jirga.types import Feed, FeedState, MatchedArticle
from storage.facade import Storage
from storage.models import FeedRow
from storage.polls import FeedSave
from tests.storage.corpus import DOCS, matched

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
FEEDS = [
    Feed("dawn", "Dawn", "https://dawn.example/rss", "pk", "en"),
    Feed("tolo", "Tolo", "https://tolo.example/rss", "af", "fa"),
]


def _item(index: int, feed_id: str) -> MatchedArticle:
    item = matched(DOCS[index])
    return dataclasses.replace(
        item, article=dataclasses.replace(item.article, source=feed_id, feed_id=feed_id)
    )


def _articles(storage: Storage) -> int:
    with storage.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM articles")).scalar_one())


def _state(feed: Feed, etag: str) -> FeedState:
    return FeedState(feed.id, feed.url, etag=etag, last_success_at=NOW)


def test_a_group_saves_every_feeds_articles_and_state(storage: Storage) -> None:
    storage.sync_feeds(FEEDS, NOW)
    reports = storage.save_feeds(
        [
            FeedSave(_state(FEEDS[0], '"d1"'), 200, [_item(0, "dawn"), _item(1, "dawn")]),
            FeedSave(_state(FEEDS[1], '"t1"'), 304),
        ],
        NOW,
        DedupConfig(),
    )

    assert [r.new for r in reports] == [2, 0]
    states = {s.feed_id: s for s in storage.feed_states()}
    assert states["dawn"].etag == '"d1"' and states["tolo"].etag == '"t1"'
    assert _articles(storage) == 2


def test_a_failure_without_a_failed_state_keeps_none_of_the_group(storage: Storage) -> None:
    storage.sync_feeds(FEEDS, NOW)
    broken = _item(2, "no-such-feed")  # its feed_id breaks the foreign key
    good = FeedSave(_state(FEEDS[0], '"d1"'), 200, [_item(0, "dawn")])

    with pytest.raises(StorageError):
        storage.save_feeds(
            [good, FeedSave(_state(FEEDS[1], '"t1"'), 200, [broken])], NOW, DedupConfig()
        )

    states = {s.feed_id: s for s in storage.feed_states()}
    assert states["dawn"].etag is None and states["tolo"].etag is None  # fetched again next time
    assert _articles(storage) == 0
    assert [r.new for r in storage.save_feeds([good], NOW, DedupConfig())] == [1]
    assert [r.duplicates for r in storage.save_feeds([good], NOW, DedupConfig())] == [1]
    assert _articles(storage) == 1


def _refused(feed: Feed, etag: str) -> FeedSave:
    """A feed whose article the database refuses (its feed_id breaks the foreign key)."""
    failed = FeedState(feed.id, feed.url, consecutive_errors=1, next_attempt_at=NOW, last_error="x")
    return FeedSave(_state(feed, etag), 200, [_item(2, "no-such-feed")], failed)


def test_a_feed_whose_articles_are_refused_fails_alone(storage: Storage) -> None:
    storage.sync_feeds(FEEDS, NOW)
    good = FeedSave(_state(FEEDS[0], '"d1"'), 200, [_item(0, "dawn"), _item(1, "dawn")])

    reports = storage.save_feeds([_refused(FEEDS[1], '"t1"'), good], NOW, DedupConfig())

    assert [r.new for r in reports] == [0, 2]
    assert reports[1].error is None
    assert reports[0].error is not None and "could not be stored" in reports[0].error
    states = {s.feed_id: s for s in storage.feed_states()}
    assert states["dawn"].etag == '"d1"' and states["dawn"].consecutive_errors == 0
    tolo = states["tolo"]
    assert tolo.etag is None and tolo.consecutive_errors == 1  # fetched again, after a pause
    assert tolo.last_error == reports[0].error
    assert _articles(storage) == 2  # the refused feed's savepoint took nothing else with it


def _statements(storage: Storage) -> list[str]:
    """The SQL the storage's engine sends from now on."""
    sent: list[str] = []
    sa.event.listen(
        storage.engine, "before_cursor_execute", lambda *args: sent.append(args[2].upper())
    )
    return sent


def test_a_group_is_saved_without_savepoints_until_a_feed_is_refused(storage: Storage) -> None:
    storage.sync_feeds(FEEDS, NOW)
    first = FeedSave(
        _state(FEEDS[0], '"d1"'), 200, [_item(0, "dawn")], _refused(FEEDS[0], "").failed_state
    )
    second = FeedSave(
        _state(FEEDS[1], '"t1"'), 200, [_item(1, "tolo")], _refused(FEEDS[1], "").failed_state
    )
    sent = _statements(storage)

    assert [r.new for r in storage.save_feeds([first, second], NOW, DedupConfig())] == [1, 1]
    assert not [s for s in sent if s.startswith("SAVEPOINT")]

    sent.clear()
    later = FeedSave(_state(FEEDS[0], '"d2"'), 200, [_item(3, "dawn")])
    reports = storage.save_feeds([later, _refused(FEEDS[1], '"t2"')], NOW, DedupConfig())

    # The first try kept nothing; the second saved each feed in a savepoint of its own.
    assert [r.new for r in reports] == [1, 0] and reports[1].error is not None
    assert len([s for s in sent if s.startswith("SAVEPOINT")]) == 1  # the refused feed's
    assert _articles(storage) == 3
    states = {s.feed_id: s for s in storage.feed_states()}
    assert states["dawn"].etag == '"d2"' and states["tolo"].consecutive_errors == 1


def test_entry_hashes_are_saved_with_the_state_and_read_back_as_bytes(storage: Storage) -> None:
    storage.sync_feeds(FEEDS, NOW)
    hashes = bytes(range(16))
    state = dataclasses.replace(_state(FEEDS[0], '"d1"'), entry_hashes=hashes)
    storage.save_feeds([FeedSave(state, 200, [_item(0, "dawn")])], NOW, DedupConfig())
    by_id = {s.feed_id: s for s in storage.feed_states()}
    assert by_id["dawn"].entry_hashes == hashes
    assert isinstance(by_id["dawn"].entry_hashes, bytes)
    assert by_id[FEEDS[1].id].entry_hashes is None


def test_states_written_for_the_driver_are_what_sqlalchemy_writes(storage: Storage) -> None:
    # write_states binds through the driver; each value must be stored as a Core UPDATE of the
    # same values stores it (compared as the driver reads the rows back, types and all).
    from storage import polls

    storage.sync_feeds(FEEDS, NOW)
    later = NOW + dt.timedelta(hours=3, microseconds=17)
    full = FeedState(
        "dawn", "https://dawn.example/moved", '"e"', "Tue, 10 Mar 2026 12:00:00 GMT", "ab" * 32,
        2, 1, later, True, "https://dawn.example/next", NOW, "HTTP 500", bytes(range(16)),
    )  # fmt: skip
    bare = FeedState("tolo", "https://tolo.example/rss")
    table = FeedRow.__table__
    columns = polls._STATE_COLUMNS

    def raw() -> list[tuple[object, ...]]:
        with storage.engine.connect() as conn:
            names = ", ".join(columns)
            return [
                tuple(r) for r in conn.exec_driver_sql(f"SELECT {names} FROM feeds ORDER BY id")
            ]

    with storage.engine.begin() as conn:
        polls.write_states(conn, [(full, 500), (bare, None)], later)
    ours = raw()
    with storage.engine.begin() as conn:
        for state, status in [(full, 500), (bare, None)]:
            values = {**polls.state_values(state), "last_fetched_at": later, "last_status": status}
            values["updated_at"] = later
            conn.execute(sa.update(table).where(table.c.id == state.feed_id).values(values))
    assert raw() == ours
    by_id = {s.feed_id: s for s in storage.feed_states()}
    assert by_id["dawn"] == full and by_id["tolo"] == bare
