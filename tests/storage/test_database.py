"""Engine set-up and the facade's basics on both databases."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from jirga.errors import StorageError
from jirga.types import Feed
from storage.facade import Storage
from storage.models import FeedRow

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
DAWN = Feed("dawn", "Dawn", "https://www.dawn.com/feeds/home", "pk", "en", ("news",))


def test_sqlite_pragmas(sqlite_url: str) -> None:
    store = Storage(sqlite_url)
    try:
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
    finally:
        store.close()


def test_sqlite_folder_is_created(tmp_path: object) -> None:
    from pathlib import Path

    target = Path(str(tmp_path)) / "deep" / "er" / "jirga.db"
    store = Storage(f"sqlite:///{target}")
    try:
        store.upgrade()
        assert target.exists()
    finally:
        store.close()


def test_unmigrated_database_is_refused(db_url: str) -> None:
    store = Storage(db_url)
    try:
        with pytest.raises(StorageError, match="jirga db upgrade"):
            store.require_current_schema()
    finally:
        store.close()


def test_sync_feeds_keeps_state_and_disables_removed(storage: Storage) -> None:
    other = Feed("tolo", "TOLOnews", "https://tolonews.com/rss.xml", "af", "en")
    storage.sync_feeds([DAWN, other], NOW)
    with storage.engine.begin() as conn:
        conn.execute(sa.update(FeedRow).where(FeedRow.id == "dawn").values(etag='"v1"'))
    renamed = Feed("dawn", "Dawn News", DAWN.url, "pk", "en", ("news", "english"))
    storage.sync_feeds([renamed], NOW)
    assert storage.feeds() == [renamed, Feed(**{**other.__dict__, "enabled": False})]
    with storage.engine.connect() as conn:
        assert conn.execute(sa.select(FeedRow.etag).where(FeedRow.id == "dawn")).scalar() == '"v1"'


def test_changed_url_resets_validators(storage: Storage) -> None:
    storage.sync_feeds([DAWN], NOW)
    with storage.engine.begin() as conn:
        conn.execute(sa.update(FeedRow).values(etag='"v1"', gone=True))
    moved = Feed("dawn", "Dawn", "https://www.dawn.com/feeds/latest", "pk", "en", ("news",))
    storage.sync_feeds([moved], NOW)
    with storage.engine.connect() as conn:
        row = conn.execute(sa.select(FeedRow.etag, FeedRow.gone, FeedRow.url)).one()
    assert row == (None, False, moved.url)


def test_datetimes_come_back_aware_utc(storage: Storage) -> None:
    storage.sync_feeds(
        [DAWN], dt.datetime(2026, 3, 1, 17, 0, tzinfo=dt.timezone(dt.timedelta(hours=5)))
    )
    with storage.engine.connect() as conn:
        created = conn.execute(sa.select(FeedRow.created_at)).scalar_one()
    assert created == NOW
    assert created.utcoffset() == dt.timedelta(0)


def test_naive_datetimes_are_refused(storage: Storage) -> None:
    with pytest.raises(StorageError):
        storage.sync_feeds([DAWN], dt.datetime(2026, 3, 1, 12, 0))


def test_driver_errors_become_storage_error(tmp_path: object) -> None:
    store = Storage(
        "postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 2}
    )
    try:
        with pytest.raises(StorageError, match=r"127\.0\.0\.1"):
            store.feeds()
    finally:
        store.close()


def test_sync_feeds_rewrites_only_what_changed(storage: Storage) -> None:
    later = NOW + dt.timedelta(hours=1)
    storage.sync_feeds([DAWN], NOW)
    storage.sync_feeds([DAWN], later)  # nothing changed: the row is left alone
    with storage.engine.connect() as conn:
        assert conn.execute(sa.select(FeedRow.updated_at)).scalar_one() == NOW
    storage.sync_feeds([], later)  # removed: disabled
    storage.sync_feeds([DAWN], later)  # back in the config: enabled again
    assert storage.feeds() == [DAWN]
