"""The poll_feeds flow end to end: a real loopback server, a real database, a real Prefect API."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from flows.poll import poll_feeds
from flows.runopts import RUN_OPTIONS, RunOptions
from flows.summary import PollSummary
from jirga.settings import Settings
from storage.facade import Storage
from storage.models import ArticleRow, FeedRow, MentionRow
from tests.flows.conftest import FeedServer, Route
from tests.flows.feeds import Item, feeds_toml, rss

pytestmark = pytest.mark.usefixtures("prefect_api")

DAY = dt.datetime(2026, 2, 20, 8, 0, tzinfo=dt.UTC)
EN_ITEMS = [
    Item(
        "Islamabad weighs fresh talks with the TTP",
        "Officials said a jirga of tribal elders could open talks with Tehrik-i-Taliban Pakistan.",
        "https://dawn.example/news/1?utm_source=rss",
        guid="dawn-1",
        published=DAY,
    ),
    Item(
        "Cricket: Pakistan beat Afghanistan in Sharjah",
        "A last-over finish in a match between Pakistan and Afghanistan.",
        "https://dawn.example/sport/2",
        guid="dawn-2",
        published=DAY,
    ),
    Item(
        "Khalilzad says Doha process must continue",
        "Zalmay Khalilzad told reporters the process with the Taliban must go on.",
        "https://dawn.example/news/3",
        guid="dawn-3",
        published=DAY,
    ),
]
UR_ITEMS = [
    Item(
        "کالعدم تحریک طالبان پاکستان سے مذاکرات پر غور",
        "حکومت نے کالعدم تحریک طالبان پاکستان سے بات چیت کے لیے ایک جرگہ تشکیل دیا ہے۔",
        "https://urdu.example/1",
        guid="ur-1",
        published=DAY,
    ),
    Item(
        "یونیورسٹی کے طالبان کا امتحان",
        "جامعہ کے طالبان اور طالبات نے سالانہ امتحان دیا۔",
        "https://urdu.example/2",
        guid="ur-2",
        published=DAY,
    ),
]


def settings_for(home: Path, **overrides: object) -> Settings:
    return Settings(
        data_dir=home / "data",
        config_dir=home / "config",
        allow_private_networks=True,
        fetch_deadline=5,
        parse_workers=1,
        **overrides,  # type: ignore[arg-type]
    )


def run_poll(settings: Settings, **params: object) -> PollSummary:
    token = RUN_OPTIONS.set(RunOptions(settings=settings))
    try:
        return PollSummary(**poll_feeds(**params))  # type: ignore[arg-type]
    finally:
        RUN_OPTIONS.reset(token)


@pytest.fixture
def two_feeds(jirga_home: Path, feed_server: FeedServer) -> Settings:
    feed_server.routes["/en.xml"] = Route(body=rss(EN_ITEMS), headers={"ETag": '"en-1"'})
    feed_server.routes["/ur.xml"] = Route(body=rss(UR_ITEMS))
    (jirga_home / "config" / "feeds.toml").write_text(
        feeds_toml(
            [("en", feed_server.url("/en.xml"), "en"), ("ur", feed_server.url("/ur.xml"), "ur")]
        )
    )
    settings = settings_for(jirga_home)
    with Storage(settings.effective_database_url) as store:
        store.upgrade()
    return settings


def articles(settings: Settings) -> list[tuple[str, str, str]]:
    with Storage(settings.effective_database_url) as store, store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(ArticleRow.source, ArticleRow.entry_key, ArticleRow.canonical_url).order_by(
                ArticleRow.source, ArticleRow.entry_key
            )
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_poll_stores_matching_articles_with_mentions(two_feeds: Settings) -> None:
    summary = run_poll(two_feeds)
    assert summary.feeds_due == 2 and summary.ok == 2 and summary.failed == 0
    assert summary.entries_seen == 5
    assert summary.new_articles == 3
    assert articles(two_feeds) == [
        ("en", "dawn-1", "https://dawn.example/news/1"),
        ("en", "dawn-3", "https://dawn.example/news/3"),
        ("ur", "ur-1", "https://urdu.example/1"),
    ]
    with Storage(two_feeds.effective_database_url) as store, store.engine.connect() as conn:
        terms = conn.execute(
            sa.select(
                ArticleRow.entry_key,
                MentionRow.term,
                MentionRow.start,
                MentionRow.end,
                ArticleRow.text,
            ).join(MentionRow, MentionRow.article_id == ArticleRow.id)
        ).all()
        by_key: dict[str, set[str]] = {}
        for key, term, start, end, text in terms:
            by_key.setdefault(key, set()).add(term)
            assert 0 <= start < end <= len(text)
        assert by_key["dawn-1"] == {"ttp"}
        assert by_key["dawn-3"] >= {"khalilzad", "taliban"}
        assert "ttp" in by_key["ur-1"]
        feed = conn.execute(sa.select(FeedRow).where(FeedRow.id == "en")).mappings().one()
        assert feed["etag"] == '"en-1"' and feed["last_status"] == 200
        assert feed["consecutive_errors"] == 0 and feed["last_success_at"] is not None


def test_second_poll_is_conditional_and_adds_nothing(
    two_feeds: Settings, feed_server: FeedServer
) -> None:
    run_poll(two_feeds)
    before = articles(two_feeds)
    again = run_poll(two_feeds, force=True)
    assert again.not_modified == 2  # one 304 (ETag), one byte-identical body
    assert again.new_articles == 0
    assert articles(two_feeds) == before


def test_changed_feed_adds_only_new_entries(two_feeds: Settings, feed_server: FeedServer) -> None:
    run_poll(two_feeds)
    extra = Item(
        "Taliban announce new cabinet",
        "The Taliban named ministers in Kabul on Tuesday.",
        "https://dawn.example/news/4",
        guid="dawn-4",
        published=DAY,
    )
    feed_server.routes["/en.xml"] = Route(body=rss([*EN_ITEMS, extra]), headers={"ETag": '"en-2"'})
    summary = run_poll(two_feeds, force=True)
    assert summary.new_articles == 1
    # The three entries the feed held before are left out unparsed: the same bytes as when
    # they were stored (or found to mention nothing).
    assert summary.entries_seen == 4 and summary.entries_unchanged == 3
    assert summary.duplicates == 0
    assert "4 entries seen (3 unchanged)" in summary.headline()
    assert len(articles(two_feeds)) == 4
    # An edited entry is parsed again, and found to be stored already; the rest stay unchanged.
    edited = dataclasses.replace(EN_ITEMS[0], title=EN_ITEMS[0].title + " (updated)")
    items = [edited, *EN_ITEMS[1:], extra]
    feed_server.routes["/en.xml"] = Route(body=rss(items), headers={"ETag": '"en-3"'})
    summary = run_poll(two_feeds, force=True)
    assert summary.entries_unchanged == 3 and summary.duplicates == 1
    assert summary.new_articles == 0 and len(articles(two_feeds)) == 4


def test_changed_watch_list_matches_unchanged_entries_again(
    two_feeds: Settings, feed_server: FeedServer, jirga_home: Path
) -> None:
    run_poll(two_feeds)
    watchlist = jirga_home / "config" / "watchlist.toml"
    watchlist.write_text(
        watchlist.read_text(encoding="utf-8")
        + '\n[[term]]\nid = "cricket"\nname = "Cricket"\ncontext = []\n'
        + '[[term.alias]]\ntext = "Cricket"\nrule = "word"\n',
        encoding="utf-8",
    )
    more = Item("Weather", "Rain in Lahore.", "https://dawn.example/news/5", guid="dawn-5")
    feed_server.routes["/en.xml"] = Route(body=rss([*EN_ITEMS, more]), headers={"ETag": '"en-2"'})
    summary = run_poll(two_feeds, force=True)
    # Under another watch list no entry counts as unchanged: the cricket story now matches.
    assert summary.entries_unchanged == 0
    assert summary.new_articles == 1 and summary.duplicates == 2
    assert ("en", "dawn-2", "https://dawn.example/sport/2") in articles(two_feeds)


def test_failing_feed_is_recorded_and_others_carry_on(
    two_feeds: Settings, feed_server: FeedServer
) -> None:
    feed_server.routes["/ur.xml"] = Route(status=500, body=b"oops")
    summary = run_poll(two_feeds)
    assert summary.ok == 1 and summary.failed == 1
    assert summary.errors and summary.errors[0][0] == "ur" and "500" in summary.errors[0][1]
    with Storage(two_feeds.effective_database_url) as store:
        health = {h.feed_id: h for h in store.feed_health()}
    assert health["ur"].consecutive_errors == 1
    assert health["ur"].next_attempt_at is not None
    assert health["en"].articles == 2
    # Backing off: the next ordinary poll leaves it alone.
    later = run_poll(two_feeds)
    assert later.backing_off == 1 and later.feeds_due == 1


def test_second_poll_while_one_holds_the_lease_exits_cleanly(two_feeds: Settings) -> None:
    now = dt.datetime.now(dt.UTC)
    with Storage(two_feeds.effective_database_url) as store:
        assert store.acquire_lock("poll_feeds", "otherhost:1:abc", now, dt.timedelta(minutes=5))
    summary = run_poll(two_feeds)
    assert summary.skipped and "another poll" in summary.skipped
    assert articles(two_feeds) == []


def test_lease_of_a_dead_process_is_taken_over(two_feeds: Settings) -> None:
    import socket

    now = dt.datetime.now(dt.UTC)
    with Storage(two_feeds.effective_database_url) as store:
        # A pid that cannot exist on Linux (above pid_max): the holder died.
        store.acquire_lock(
            "poll_feeds", f"{socket.gethostname()}:99999999:dead", now, dt.timedelta(hours=1)
        )
    summary = run_poll(two_feeds)
    assert summary.skipped is None and summary.new_articles == 3


def test_policy_refuses_loopback_feeds_without_the_opt_out(
    two_feeds: Settings, feed_server: FeedServer
) -> None:
    strict = two_feeds.model_copy(update={"allow_private_networks": False})
    summary = run_poll(strict)
    assert summary.failed == 2
    assert all("127.0.0.1" in reason or "loopback" in reason for _, reason in summary.errors)
    assert feed_server.hits == {}


def test_summary_is_kept_as_a_prefect_artifact(two_feeds: Settings) -> None:
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    run_poll(two_feeds)

    async def latest() -> str:
        async with get_client() as client:
            found = await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["poll-summary"])),
                limit=1,
                sort="CREATED_DESC",  # type: ignore[arg-type]
            )
        return str(found[0].data)

    report = asyncio.run(latest())
    assert "# Poll summary" in report
    assert "| new matching articles | 3 |" in report


def test_only_transient_storage_errors_are_retried() -> None:
    from prefect.states import Failed

    from flows.poll import _transient
    from jirga.errors import StorageError

    def state_of(exc: Exception) -> object:
        return Failed(data=exc)

    assert _transient(None, None, state_of(StorageError("locked", transient=True)))  # type: ignore[arg-type]
    assert not _transient(None, None, state_of(StorageError("constraint")))  # type: ignore[arg-type]
    assert not _transient(None, None, state_of(ValueError("bug")))  # type: ignore[arg-type]
