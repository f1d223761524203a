"""Full-text search on both databases: the query language, Arabic-script folding, filters,
ranking, snippets, the index kept in step with the articles, its rebuild and its migration."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from jirga.config import load_terms
from jirga.dedup import DedupConfig
from jirga.pipeline import Source, Stages
from jirga.query import Phrase, Query, parse_query
from storage.facade import Storage
from storage.search import fts5_match, pg_tsquery
from tests.storage.corpus import (
    DOCS,
    T0,
    Doc,
    group_into_narratives,
    matched,
    merge_narratives,
    store_docs,
)

TZ = ZoneInfo("Asia/Karachi")
NOW = T0 + dt.timedelta(days=10)


def keys(store: Storage, ids: dict[str, int], text: str, **kw: object) -> list[str]:
    by_id = {v: k for k, v in ids.items()}
    hits = store.search(parse_query(text, now=NOW, tz=TZ), **kw)  # type: ignore[arg-type]
    return [by_id[h.article.id] for h in hits]


@pytest.fixture
def corpus(storage: Storage) -> tuple[Storage, dict[str, int]]:
    return storage, store_docs(storage)


def test_words_match_anywhere_and_phrases_in_order(corpus: tuple[Storage, dict[str, int]]) -> None:
    store, ids = corpus
    assert sorted(keys(store, ids, "peace talks")) == ["envoy", "talks"]
    assert keys(store, ids, '"peace talks"') == ["talks"]
    assert keys(store, ids, '"talks peace"') == []
    # A hyphenated word is a phrase of its parts.
    assert keys(store, ids, "talks-resume") == ["talks"]


def test_or_and_exclusion(corpus: tuple[Storage, dict[str, int]]) -> None:
    store, ids = corpus
    assert sorted(keys(store, ids, "talks -cricket")) == ["envoy", "talks"]
    assert sorted(keys(store, ids, "cricket OR doha")) == ["envoy", "reject"]
    assert sorted(keys(store, ids, 'talks -"peace talks"')) == ["envoy", "reject"]
    # Exclusions alone: every article without the word.
    assert "reject" not in keys(store, ids, "-cricket", limit=50)
    assert len(keys(store, ids, "-cricket", limit=50)) == len(DOCS) - 1


def test_arabic_script_spellings_find_each_other(corpus: tuple[Storage, dict[str, int]]) -> None:
    store, ids = corpus
    # Arabic kaf (ك) and heh (ه) in the query, Urdu keheh (ک) and heh goal (ہ) in the text.
    assert keys(store, ids, "مذاكرات") == ["urdu"]
    assert keys(store, ids, "كابل") == ["urdu"]
    assert keys(store, ids, '"نیا دور"') == ["urdu"]
    # Persian yeh in the query, Arabic yeh (وويل) in the Pashto text.
    assert keys(store, ids, "وویل") == ["pashto"]
    # With and without the ZWNJ, with Arabic yeh.
    assert keys(store, ids, "خلیل‌زاد") == ["dari"]
    assert keys(store, ids, "خليلزاد") == ["dari"]
    # Case and accents do not matter either.
    assert keys(store, ids, "KĀBUL") == ["talks"]


def test_snippets_mark_the_original_text(corpus: tuple[Storage, dict[str, int]]) -> None:
    store, _ = corpus
    (hit,) = store.search(parse_query("مذاكرات", now=NOW, tz=TZ))
    assert "**مذاکرات**" in hit.snippet  # the article's spelling, not the query's
    (hit,) = store.search(parse_query('"PEACE talks"', now=NOW, tz=TZ))
    assert "said **peace talks** with" in hit.snippet
    (hit,) = store.search(parse_query("خليلزاد", now=NOW, tz=TZ))
    assert "**خلیل‌زاد**" in hit.snippet


def test_field_filters(corpus: tuple[Storage, dict[str, int]]) -> None:
    store, ids = corpus
    assert sorted(keys(store, ids, "term:khalilzad")) == ["dari", "envoy"]
    assert sorted(keys(store, ids, "term:khalilzad term:ttp -lang:en")) == ["dari", "urdu"]
    assert keys(store, ids, 'outlet:"express tribune"') == ["envoy"]
    assert keys(store, ids, "outlet:tribune") == ["envoy"]  # the source (feed id)
    assert sorted(keys(store, ids, "lang:ur,ps")) == ["pashto", "urdu"]
    assert keys(store, ids, "peace -outlet:dawn") == ["envoy"]
    # Local days: since the start of 2026-03-04 in Karachi, until the end of 2026-03-04.
    assert sorted(keys(store, ids, "since:2026-03-04 until:2026-03-04")) == ["pashto", "urdu"]
    assert sorted(keys(store, ids, "talks since:2026-03-02")) == ["envoy", "reject"]


def test_narrative_filter_follows_merges(corpus: tuple[Storage, dict[str, int]]) -> None:
    store, ids = corpus
    group_into_narratives(store, {1: [ids["talks"], ids["urdu"]], 2: [ids["reject"]]})
    assert sorted(keys(store, ids, "narrative:1")) == ["talks", "urdu"]
    assert keys(store, ids, "talks narrative:2") == ["reject"]
    assert sorted(keys(store, ids, "talks -narrative:1")) == ["envoy", "reject"]
    merge_narratives(store, from_id=2, into_id=1)
    # Narrative 2's article moved to 1; asking for 2 gives what it became.
    assert sorted(keys(store, ids, "narrative:2")) == ["reject", "talks", "urdu"]
    hits = store.search(parse_query("reject", now=NOW, tz=TZ))
    assert [h.article.narrative_id for h in hits] == [1]


def test_title_words_rank_first(storage: Storage) -> None:
    docs = [
        Doc("body", "Weather report", "Rain in Kabul; jirga elders met about the flood."),
        Doc("title", "Jirga elders meet", "They met about the flood in the morning today."),
    ]
    # Articles without the words, so that they are rare enough to carry weight in BM25.
    docs += [
        Doc(f"other{i}", f"Market prices {i}", "Wheat and flour prices rose.") for i in range(6)
    ]
    ids = store_docs(storage, docs)
    assert keys(storage, ids, "jirga elders") == ["title", "body"]
    hits = storage.search(parse_query("jirga", now=NOW, tz=TZ))
    assert hits[0].score is not None and hits[0].score > hits[1].score  # type: ignore[operator]
    assert keys(storage, ids, "jirga", sort="oldest") == ["body", "title"]


def test_filters_only_lists_newest_first(corpus: tuple[Storage, dict[str, int]]) -> None:
    store, ids = corpus
    hits = store.search(parse_query("lang:en", now=NOW, tz=TZ))
    assert [h.score for h in hits] == [None, None, None]
    assert keys(store, ids, "lang:en") == ["envoy", "reject", "talks"]


def test_article_records_carry_terms_and_urls(corpus: tuple[Storage, dict[str, int]]) -> None:
    store, _ = corpus
    (hit,) = store.search(parse_query('"Khalilzad meets"', now=NOW, tz=TZ))
    a = hit.article
    assert (a.outlet, a.source, a.language, a.terms) == (
        "Express Tribune",
        "tribune",
        "en",
        ("khalilzad",),
    )
    assert a.url == "https://tribune.example/envoy"
    assert a.published_at == T0 + dt.timedelta(days=2)
    assert a.published_at.tzinfo is not None


def _index_count(store: Storage) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM article_search")).scalar_one())


def test_index_follows_inserts_and_deletes(corpus: tuple[Storage, dict[str, int]]) -> None:
    store, ids = corpus
    assert _index_count(store) == len(DOCS)
    ids = store_docs(store, [Doc("late", "Late news on tribal jirga", "Elders met.")])
    assert keys(store, ids, "tribal") == ["late"]
    with store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM articles WHERE id = :i"), {"i": ids["talks"]})
    assert _index_count(store) == len(DOCS)  # one added, one removed
    assert keys(store, ids, '"peace talks"') == []


def test_storing_an_article_twice_indexes_it_once(storage: Storage) -> None:
    store_docs(storage, DOCS[:2])
    store_docs(storage, DOCS[:2])
    assert _index_count(storage) == 2


def test_reindex_rebuilds_the_same_index(corpus: tuple[Storage, dict[str, int]]) -> None:
    store, ids = corpus
    before = {q: keys(store, ids, q) for q in ("peace talks", "مذاكرات", "خليلزاد", "-cricket")}
    with store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM article_search"))
    assert keys(store, ids, "peace talks") == []
    seen: list[int] = []
    assert store.reindex(progress=seen.append) == len(DOCS)
    assert seen == [len(DOCS)]
    assert {q: keys(store, ids, q) for q in before} == before
    assert store.search_index_size() > 0


def test_migration_indexes_existing_articles(db_url: str) -> None:
    store = Storage(db_url)
    try:
        store.upgrade("0001")
        # Articles written before the index existed, straight into the table.
        from storage.models import ArticleRow

        rows = []
        for d in DOCS:
            a = matched(d).article
            rows.append(
                {
                    "source": a.source,
                    "outlet": a.outlet,
                    "entry_key": a.entry_key,
                    "url": a.url,
                    "canonical_url": a.canonical_url,
                    "title": a.title,
                    "text": a.text,
                    "html": a.html,
                    "language": a.language,
                    "published_at": a.published_at,
                    "date_estimated": False,
                    "fetched_at": a.fetched_at,
                    "content_hash": a.content_hash,
                }
            )
        with store.engine.begin() as conn:
            conn.execute(sa.insert(ArticleRow), rows)
        store.upgrade()
        assert _index_count(store) == len(DOCS)
        hits = store.search(parse_query("مذاكرات", now=NOW, tz=TZ))
        assert [h.article.title for h in hits] == [DOCS[3].title]
    finally:
        store.close()


def test_compiled_queries_quote_every_word() -> None:
    hostile = Query(
        must=(Phrase(('a"b', "NEAR"), "x"), Phrase(("it's",), "y")),
        any_of=((Phrase(("or",), "or"), Phrase(("*",), "*")),),
        must_not=(Phrase(("\\",), "\\"),),
    )
    assert fts5_match(hostile) == (
        '{title body} : (("a""b NEAR" AND "it\'s" AND ("or" OR "*")) NOT ("\\"))'
    )
    assert fts5_match(Query(must=(Phrase(("x",), "x"),)), ["m202611", "d20261201"]) == (
        '{title body} : (("x")) AND period : (m202611 OR d20261201)'
    )
    assert pg_tsquery(hostile) == (
        "(('a\"b' <-> 'NEAR') & ('it''s') & (('or') | ('*'))) & !(('\\\\'))"
    )
    assert fts5_match(Query(must_not=(Phrase(("x",), "x"),))) is None


def test_hostile_words_run_as_plain_text(corpus: tuple[Storage, dict[str, int]]) -> None:
    store, _ = corpus
    hostile = Query(
        must=(Phrase(('a"b', "NEAR", "')", "--"), "x"),),
        must_not=(Phrase(("*", "^"), "y"),),
    )
    assert store.search(hostile) == []


def test_date_filters_are_exact_at_every_edge(storage: Storage) -> None:
    # Around UTC and Karachi midnights, a month end, and one article imported long after.
    times = {
        "utc-before": dt.datetime(2026, 3, 31, 23, 59, 59, tzinfo=dt.UTC),
        "utc-after": dt.datetime(2026, 4, 1, 0, 0, 0, tzinfo=dt.UTC),
        "local-before": dt.datetime(2026, 4, 1, 18, 59, 59, tzinfo=dt.UTC),
        "local-after": dt.datetime(2026, 4, 1, 19, 0, 0, tzinfo=dt.UTC),
        "old": dt.datetime(2024, 1, 15, 12, 0, tzinfo=dt.UTC),
        "newest": dt.datetime(2026, 6, 30, 23, 0, tzinfo=dt.UTC),
    }
    ids = store_docs(
        storage,
        [Doc(k, f"Jirga report {k}", "Elders met in the jirga.", at=t) for k, t in times.items()],
    )
    order = list(times)

    def found(q: str) -> list[str]:
        return sorted(keys(storage, ids, q, limit=50), key=order.index)

    assert found("jirga since:2026-04-01T00:00+00:00") == [
        "utc-after",
        "local-before",
        "local-after",
        "newest",
    ]
    assert found("jirga until:2026-04-01T00:00+00:00") == ["utc-before", "old"]
    # Local days (Asia/Karachi, UTC+5): 2 April starts at 19:00 UTC on 1 April.
    assert found("jirga since:2026-04-02") == ["local-after", "newest"]
    assert found("jirga since:2026-04-01 until:2026-04-01") == [
        "utc-before",
        "utc-after",
        "local-before",
    ]
    assert found("jirga since:2024-01-01 until:2024-12-31") == ["old"]
    assert found("jirga since:2026-06-30T22:59:59+00:00") == ["newest"]
    assert found("jirga since:2026-07-01") == ["newest"]  # 19:00 UTC on 30 June
    assert found("jirga since:2026-07-02") == []  # after the newest article


_MIXED_FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Mixed</title>
<item><title>Kābul: the Taliban&#8217;s envoy</title><link>https://mixed.example/1</link>
<description>&lt;p&gt;ﻻ Tali&lt;b&gt;ban&lt;/b&gt; talks… in Doha&lt;/p&gt;</description></item>
<item><title>طالبانِ افغانستان</title><link>https://mixed.example/2</link>
<description>کابل میں طالبان کے ترجمان نے کہا۔ ۲۰۲۴ خلیل‌زاد</description></item>
<item><title></title><link>https://mixed.example/3</link>
<description>TTP ٹی ٹی پی، دَ طالبانو وياند ــ ﷺ</description></item>
</channel></rss>"""


def _index_dump(store: Storage) -> list[tuple[object, ...]]:
    query = (
        "SELECT article_id, CAST(document AS text) FROM article_search ORDER BY article_id"
        if store.engine.dialect.name == "postgresql"
        else "SELECT rowid, title, body, period FROM article_search ORDER BY rowid"
    )
    with store.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.text(query))]


def test_words_made_by_the_pipeline_index_as_a_rebuild_does(storage: Storage) -> None:
    # The parser processes make each article's search words; a rebuild makes them from the
    # stored rows. The index must not depend on which did it.
    terms = load_terms(Path(__file__).resolve().parents[2] / "config" / "watchlist.toml")
    source = Source("mixed", None, "Mixed", None, "en", detect_language=True)
    result = Stages(terms).process_document(_MIXED_FEED.encode(), {}, source, T0)
    assert len(result.matched) == 3
    assert all(m.search_words is not None for m in result.matched)
    storage.store_imported(list(result.matched), DedupConfig())
    made = _index_dump(storage)
    assert len(made) == 3
    storage.reindex()
    assert _index_dump(storage) == made
