"""Article lists, daily counts by local day and the documented views, on both databases."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from jirga.query import ArticleFilters, QueryError
from jirga.types import Feed, FeedState
from storage.facade import Storage
from storage.search import VIEWS
from tests.storage.corpus import DOCS, T0, Doc, group_into_narratives, store_docs

KARACHI = ZoneInfo("Asia/Karachi")  # UTC+5, no daylight saving time
BERLIN = ZoneInfo("Europe/Berlin")  # UTC+1, UTC+2 from 2026-03-29 01:00 UTC


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def test_list_articles_filters_and_sorts(storage: Storage) -> None:
    ids = store_docs(storage)
    by_id = {v: k for k, v in ids.items()}

    def listed(**kw: object) -> list[str]:
        sort = str(kw.pop("sort", "newest"))
        limit = int(kw.pop("limit", 50))  # type: ignore[call-overload]
        found = storage.list_articles(ArticleFilters(**kw), sort=sort, limit=limit)  # type: ignore[arg-type]
        return [by_id[a.id] for a in found]

    assert listed() == ["dari", "pashto", "urdu", "envoy", "reject", "talks"]
    assert listed(sort="oldest", limit=2) == ["talks", "reject"]
    assert listed(sort="outlet") == ["pashto", "reject", "talks", "envoy", "urdu", "dari"]
    assert listed(terms=("khalilzad",)) == ["dari", "envoy"]
    assert listed(outlets=("JANG", "tolo")) == ["dari", "urdu"]
    assert listed(languages=("en",), exclude_terms=("ttp",)) == ["envoy", "reject"]
    assert listed(since=T0 + dt.timedelta(days=3), until=T0 + dt.timedelta(days=4)) == [
        "pashto",
        "urdu",
    ]
    group_into_narratives(storage, {7: [ids["envoy"], ids["dari"]]})
    assert listed(narratives=(7,)) == ["dari", "envoy"]
    (dari,) = storage.list_articles(ArticleFilters(languages=("fa",)))
    assert (dari.narrative_id, dari.terms, dari.outlet) == (7, ("khalilzad",), "Tolo")


def test_unknown_sort_is_refused(storage: Storage) -> None:
    with pytest.raises(QueryError, match="unknown sort"):
        storage.list_articles(ArticleFilters(), sort="id; DROP TABLE articles")


def _at(
    key: str, when: dt.datetime, outlet: str = "Dawn", terms: tuple[str, ...] = ("ttp",)
) -> Doc:
    return Doc(
        key, f"Title {key}", f"Body of {key} about the jirga.", outlet=outlet, at=when, terms=terms
    )


def test_daily_counts_use_the_local_day(storage: Storage) -> None:
    ids = store_docs(
        storage,
        [
            _at("a", utc(2026, 3, 1, 10)),  # 15:00 in Karachi: 1 March
            _at("b", utc(2026, 3, 1, 20), terms=("ttp", "taliban")),  # 01:00 on 2 March
            _at("c", utc(2026, 3, 2, 18, 59), outlet="Jang"),  # 23:59 on 2 March
            _at("d", utc(2026, 3, 2, 19, 0), outlet="Jang"),  # 00:00 on 3 March
        ],
    )
    start, end = utc(2026, 2, 28, 19), utc(2026, 3, 10)
    counts = storage.daily_counts("term", start, end, KARACHI)
    assert [(c.day.isoformat(), c.key, c.articles) for c in counts] == [
        ("2026-03-01", "ttp", 1),
        ("2026-03-02", "ttp", 2),
        ("2026-03-02", "taliban", 1),
        ("2026-03-03", "ttp", 1),
    ]
    outlets = storage.daily_counts("outlet", start, end, KARACHI)
    assert [(c.day.isoformat(), c.key, c.articles) for c in outlets] == [
        ("2026-03-01", "Dawn", 1),
        ("2026-03-02", "Dawn", 1),
        ("2026-03-02", "Jang", 1),
        ("2026-03-03", "Jang", 1),
    ]
    languages = storage.daily_counts("language", start, end, KARACHI)
    assert sum(c.articles for c in languages) == 4
    group_into_narratives(storage, {3: [ids["b"], ids["c"]]})
    narratives = storage.daily_counts("narrative", start, end, KARACHI)
    assert [(c.day.isoformat(), c.key, c.articles) for c in narratives] == [("2026-03-02", "3", 2)]
    # A filter on the dimension's own table (terms by term, narratives by narrative).
    ttp_terms = storage.daily_counts(
        "term", start, end, KARACHI, ArticleFilters(terms=("taliban",))
    )
    assert [(c.day.isoformat(), c.key, c.articles) for c in ttp_terms] == [
        ("2026-03-02", "taliban", 1),
        ("2026-03-02", "ttp", 1),
    ]
    in_three = storage.daily_counts(
        "narrative", start, end, KARACHI, ArticleFilters(narratives=(3,))
    )
    assert [c.articles for c in in_three] == [2]
    # Filters narrow what is counted; the range is half-open.
    only_jang = storage.daily_counts(
        "term", start, utc(2026, 3, 2, 19), KARACHI, ArticleFilters(outlets=("jang",))
    )
    assert [(c.day.isoformat(), c.articles) for c in only_jang] == [("2026-03-02", 1)]


def test_daily_counts_across_a_daylight_saving_change(storage: Storage) -> None:
    store_docs(
        storage,
        [
            _at("before", utc(2026, 3, 28, 23, 30)),  # 00:30 on 29 March at UTC+1
            _at("after", utc(2026, 3, 29, 22, 30)),  # 00:30 on 30 March at UTC+2
            _at("late", utc(2026, 3, 29, 21, 59)),  # 23:59 on 29 March at UTC+2
        ],
    )
    counts = storage.daily_counts("term", utc(2026, 3, 20), utc(2026, 4, 5), BERLIN)
    assert [(c.day.isoformat(), c.articles) for c in counts] == [
        ("2026-03-29", 2),
        ("2026-03-30", 1),
    ]


def test_unknown_dimension_is_refused(storage: Storage) -> None:
    with pytest.raises(QueryError, match="unknown dimension"):
        storage.daily_counts("title", utc(2026, 1, 1), utc(2026, 2, 1), KARACHI)


def test_views_answer_in_plain_sql(storage: Storage) -> None:
    now = dt.datetime.now(dt.UTC)
    storage.sync_feeds(
        [
            Feed("dawn", "Dawn", "https://dawn.example/rss", "pk", "en"),
            Feed("tolo", "Tolo", "https://tolo.example/rss", "af", "fa"),
        ],
        now,
    )
    storage.record_fetch(
        FeedState(
            "tolo",
            "https://tolo.example/rss",
            consecutive_errors=2,
            next_attempt_at=now + dt.timedelta(hours=1),
        ),
        now,
        500,
    )
    ids = store_docs(storage)
    with storage.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE articles SET feed_id = source WHERE source IN ('dawn', 'tolo')")
        )
    group_into_narratives(storage, {5: [ids["talks"], ids["reject"]]})
    storage.save_narratives(
        memberships=[],
        merges=[],
        facts=[],
        states={},
        tracked_scores=[(ids["talks"], "talks-offer", 0.8), (ids["urdu"], "talks-offer", 0.7)],
        tracked_days={
            ("talks-offer", dt.date(2026, 3, 1)): 1,
            ("talks-offer", dt.date(2026, 3, 4)): 1,
        },
        cluster_config="test",
        cluster_state=b"",
        now=T0,
    )
    with storage.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO narrative_days (narrative_id, day, article_count, outlet_count) "
                "VALUES (5, :d, 2, 1)"
            ),
            {"d": dt.date(2026, 3, 1)},
        )
    with storage.engine.connect() as conn:
        article = conn.execute(
            sa.text(
                "SELECT article_id, feed_name, outlet, terms, mention_count, narrative_id, title "
                "FROM article_view WHERE article_id = :i"
            ),
            {"i": ids["talks"]},
        ).one()
        assert tuple(article) == (ids["talks"], "Dawn", "Dawn", "ttp", 1, 5, DOCS[0].title)
        assert conn.execute(sa.text("SELECT count(*) FROM article_view")).scalar_one() == len(DOCS)
        day = conn.execute(
            sa.text("SELECT narrative_id, day, article_count, state FROM narrative_day_view")
        ).one()
        assert (day[0], str(day[1])[:10], day[2], day[3]) == (5, "2026-03-01", 2, "new")
        tracked = conn.execute(
            sa.text(
                "SELECT tracked_id, day, article_count, total_articles FROM tracked_day_view "
                "ORDER BY day"
            )
        ).all()
        assert [(t[0], str(t[1])[:10], t[2], t[3]) for t in tracked] == [
            ("talks-offer", "2026-03-01", 1, 2),
            ("talks-offer", "2026-03-04", 1, 2),
        ]
        health = conn.execute(
            sa.text(
                "SELECT feed_id, state, article_count, consecutive_errors FROM feed_health_view "
                "ORDER BY feed_id"
            )
        ).all()
        assert [tuple(h) for h in health] == [("dawn", "new", 2, 0), ("tolo", "backing off", 1, 2)]
        names = set(sa.inspect(conn).get_view_names())
    assert set(VIEWS) <= names
