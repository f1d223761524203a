"""Full-text search over articles behind one interface: SQLite FTS5, PostgreSQL ``tsvector``.

The index is not a model: on SQLite it is the FTS5 table ``article_search(title, body,
period)`` keyed by the article id (its rowid), on PostgreSQL the table
``article_search(article_id, document)`` with a GIN index. Both hold the article's *search
words* (:mod:`jirga.searchtext`), computed in Python because the folding is the matcher's, so
the storage layer writes the index whenever it writes an article (:func:`index_rows`), and
:func:`rebuild_index` redoes it from the articles. Deleting an article deletes its entry (a
trigger on SQLite, a cascading foreign key on PostgreSQL). On SQLite the ``period`` column holds
the article's UTC day, month and year as words, so that a date filter narrows the match inside
FTS5 (see :func:`jirga.searchtext.period_cover`).

A parsed :class:`jirga.query.Query` is compiled to an FTS5 MATCH expression or a ``tsquery`` in
which every word is quoted, and is handed to the database as one bound parameter: what the user
typed never becomes query syntax. Snippets are cut from the original text in Python
(:mod:`jirga.snippets`) rather than by ``snippet()`` / ``ts_headline``, which only see the
folded words: the reader gets the article's own spelling and case, the same way on both
databases.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import (
    ColumnClause,
    ColumnElement,
    Connection,
    Subquery,
    bindparam,
    cast,
    column,
    func,
    literal_column,
    null,
    select,
    table,
    text,
)
from sqlalchemy.dialects.postgresql import TSQUERY

from jirga.query import Phrase, Query, QueryError
from jirga.results import SearchHit
from jirga.searchtext import (
    article_words,
    body_of,
    date_tokens,
    period_cover,
    tsvector_literal,
)
from jirga.snippets import snippet
from storage import article_queries
from storage.models import ArticleRow

INDEX_TABLE = "article_search"
#: Tables of the index that are not models (FTS5 keeps its data in shadow tables).
INDEX_TABLES = {
    "sqlite": frozenset(
        {INDEX_TABLE}
        | {f"{INDEX_TABLE}_{part}" for part in ("data", "idx", "content", "docsize", "config")}
    ),
    "postgresql": frozenset({INDEX_TABLE}),
}
#: The views the search migration creates, for psql, sqlite3, Datasette or a notebook.
VIEWS = ("article_view", "narrative_day_view", "tracked_day_view", "feed_health_view")
#: Orders a search can list by.
SEARCH_SORTS = ("relevance", "newest", "oldest")
# Title words count this much more than body words in the ranking.
_TITLE_WEIGHT = 4.0
_BATCH = 1000
# Period words narrow a search whose dates span at most this share of the archive.
_PERIOD_SHARE = 0.2

_fts = table(INDEX_TABLE, column("rowid"), column("title"), column("body"), column("period"))
_pg = table(INDEX_TABLE, column("article_id"), column("document"))
# FTS5 functions and MATCH take the table's own name.
_FTS_REF: ColumnClause[Any] = literal_column(INDEX_TABLE)

_SQLITE_INSERT = text(
    "INSERT OR REPLACE INTO article_search (rowid, title, body, period) "
    "VALUES (:id, :title, :body, :period)"
)
_PG_INSERT = text(
    "INSERT INTO article_search (article_id, document) VALUES (:id, CAST(:doc AS tsvector)) "
    "ON CONFLICT (article_id) DO UPDATE SET document = EXCLUDED.document"
)
_PG_INDEX_DDL = "CREATE INDEX ix_article_search_document ON article_search USING gin (document)"


# --- writing the index ------------------------------------------------------------------------


def index_values(
    article_id: int,
    title: str,
    text_: str,
    published_at: dt.datetime,
    dialect: str,
    search_words: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """The bound values of one article's index entry on a dialect; ``search_words`` are
    :func:`jirga.searchtext.article_words` of the title and text, made here when not given."""
    title_words, body_words = search_words or article_words(title, text_)
    if dialect == "postgresql":
        # PostgreSQL combines the GIN index with the date index by itself: no period words.
        doc = tsvector_literal(title_words.split(), body_words.split())
        return {"id": article_id, "doc": doc}
    return {
        "id": article_id,
        "title": title_words,
        "body": body_words,
        "period": date_tokens(published_at),
    }


# Article id, title, text, publication time, and its search words if already made.
IndexRow = tuple[int, str, str, dt.datetime, tuple[str, str] | None]


def index_rows(conn: Connection, rows: Iterable[IndexRow]) -> int:
    """Index (or re-index) articles; the number indexed."""
    dialect = conn.dialect.name
    statement = _PG_INSERT if dialect == "postgresql" else _SQLITE_INSERT
    done = 0
    batch: list[dict[str, Any]] = []
    for article_id, title, text_, published_at, made in rows:
        batch.append(index_values(article_id, title, text_, published_at, dialect, made))
        if len(batch) >= _BATCH:
            conn.execute(statement, batch)
            done += len(batch)
            batch = []
    if batch:
        conn.execute(statement, batch)
        done += len(batch)
    return done


def rebuild_index(
    conn: Connection, *, batch: int = _BATCH, progress: Callable[[int], None] | None = None
) -> int:
    """Empty the index and index every article again, in id order; the number indexed.

    Runs in the caller's transaction: readers keep the old index until it commits.
    """
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        # A GIN index is far cheaper to build once than to grow row by row.
        conn.execute(text("DROP INDEX IF EXISTS ix_article_search_document"))
        conn.execute(text("TRUNCATE article_search"))
    else:
        conn.execute(text("DELETE FROM article_search"))
    done, last = 0, 0
    while True:
        rows = conn.execute(
            select(ArticleRow.id, ArticleRow.title, ArticleRow.text, ArticleRow.published_at)
            .where(ArticleRow.id > last)
            .order_by(ArticleRow.id)
            .limit(batch)
        ).all()
        if not rows:
            break
        done += index_rows(conn, ((r.id, r.title, r.text, r.published_at, None) for r in rows))
        last = rows[-1].id
        if progress is not None:
            progress(done)
    if postgres:
        conn.execute(text(_PG_INDEX_DDL))
        conn.execute(text("ANALYZE article_search"))
    else:
        # Merge FTS5's segments into one b-tree: smaller, and faster to query.
        conn.execute(text("INSERT INTO article_search (article_search) VALUES ('optimize')"))
    return done


def index_size(conn: Connection) -> int:
    """Bytes the index takes on disk (its tables and indexes)."""
    if conn.dialect.name == "postgresql":
        return int(
            conn.execute(
                text("SELECT pg_total_relation_size(CAST(:t AS regclass))"), {"t": INDEX_TABLE}
            ).scalar_one()
        )
    # Every b-tree of the shadow tables, their own indexes included.
    query = text(
        "SELECT coalesce(sum(d.pgsize), 0) FROM dbstat AS d "
        "JOIN sqlite_schema AS s ON s.name = d.name WHERE s.tbl_name IN :names"
    ).bindparams(bindparam("names", expanding=True))
    return int(conn.execute(query, {"names": sorted(INDEX_TABLES["sqlite"])}).scalar_one())


# --- compiling a query ------------------------------------------------------------------------


def _fts5_phrase(p: Phrase) -> str:
    # Inside an FTS5 string only the double quote is special; search words never hold one, and
    # doubling it keeps that true whatever a caller passes.
    return '"' + " ".join(w.replace('"', '""') for w in p.words) + '"'


def _fts5_any(phrases: Sequence[Phrase]) -> str:
    return "(" + " OR ".join(_fts5_phrase(p) for p in phrases) + ")"


def _text_only(expression: str) -> str:
    # Query words look in the title and the body, never among the period words.
    return "{title body} : (" + expression + ")"


def fts5_match(query: Query, periods: Sequence[str] = ()) -> str | None:
    """The FTS5 MATCH expression of the query's text, None when it has nothing to look for;
    ``periods`` (from :func:`jirga.searchtext.period_cover`) narrow it to those periods."""
    if not query.has_text:
        return None
    parts = [_fts5_phrase(p) for p in query.must] + [_fts5_any(g) for g in query.any_of]
    expression = "(" + " AND ".join(parts) + ")"
    if query.must_not:
        expression += " NOT " + _fts5_any(query.must_not)
    expression = _text_only(expression)
    if periods:
        expression += " AND period : (" + " OR ".join(periods) + ")"
    return expression


def _ts_lexeme(word: str) -> str:
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def _ts_phrase(p: Phrase) -> str:
    return "(" + " <-> ".join(_ts_lexeme(w) for w in p.words) + ")"


def _ts_any(phrases: Sequence[Phrase]) -> str:
    return "(" + " | ".join(_ts_phrase(p) for p in phrases) + ")"


def pg_tsquery(query: Query) -> str | None:
    """The ``tsquery`` text of the query's text, None when it has nothing to look for."""
    if not query.has_text:
        return None
    parts = [_ts_phrase(p) for p in query.must] + [_ts_any(g) for g in query.any_of]
    expression = " & ".join(parts)
    if query.must_not:
        expression = f"({expression}) & !{_ts_any(query.must_not)}"
    return expression


def _excluded(conn: Connection, phrases: Sequence[Phrase]) -> ColumnElement[bool]:
    """Articles holding none of the phrases (for a query with exclusions only)."""
    if conn.dialect.name == "postgresql":
        tsq = cast(bindparam("excluded", _ts_any(phrases)), TSQUERY)
        hit = select(_pg.c.article_id).where(
            _pg.c.article_id == ArticleRow.id, _pg.c.document.op("@@")(tsq)
        )
        return ~hit.exists()
    found = select(_fts.c.rowid).where(
        _FTS_REF.op("MATCH")(bindparam("excluded", _text_only(_fts5_any(phrases))))
    )
    return ArticleRow.id.not_in(found)


def _periods(conn: Connection, query: Query) -> list[str]:
    """Period words covering the query's dates, when it has a lower bound and they pay.

    An open upper bound ends at the newest article. The exact bounds stay in the SQL: the
    period words only keep FTS5 from matching (and ranking) articles far outside them. Over a
    large part of the archive, merging their lists costs more than it saves (on a million
    articles over two years: 4x faster for 30 days, even at a quarter, slower beyond).
    """
    since, until = query.filters.since, query.filters.until
    if since is None:
        return []
    # Two subqueries: SQLite answers a lone min() or max() from the index, both at once by a scan.
    oldest, newest = conn.execute(
        select(
            select(func.min(ArticleRow.published_at)).scalar_subquery(),
            select(func.max(ArticleRow.published_at)).scalar_subquery(),
        )
    ).one()
    if oldest is None or newest is None:
        return []
    end = newest + dt.timedelta(seconds=1)
    if until is None or until > end:
        until = end
    if since < oldest:
        since = oldest
    if until - since > _PERIOD_SHARE * (end - oldest):
        return []
    # A range that cannot hold any article gets one period word that no article has.
    return period_cover(since, until) or ["d00000000"]


def _without_exclusions(query: Query) -> Query:
    return Query(must=query.must, any_of=query.any_of, filters=query.filters)


# --- searching --------------------------------------------------------------------------------


def _ranked(conn: Connection, query: Query, sort: str, limit: int) -> tuple[Subquery, list[Any]]:
    """The best ``limit`` hits as a subquery of ``(id, score)``, and the order to list them in."""
    where = article_queries.conditions(conn, query.filters)
    if not query.has_text:
        if query.must_not:
            where.append(_excluded(conn, query.must_not))
        by_date = article_queries.sort_order("oldest" if sort == "oldest" else "newest")
        ranked = (
            select(ArticleRow.id, null().label("score"))
            .where(*where)
            .order_by(*by_date)
            .limit(limit)
            .subquery("ranked")
        )
        return ranked, list(by_date)
    if conn.dialect.name == "postgresql":
        tsq = cast(bindparam("tsq", pg_tsquery(query)), TSQUERY)
        # Ranked on what is looked for only: ts_rank scores a query with a NOT in it as 0.
        positive = cast(bindparam("rank_tsq", pg_tsquery(_without_exclusions(query))), TSQUERY)
        # Weights of D (body) and A (title) as {D, C, B, A}; 1: divided by 1 + log(length).
        weights: ColumnClause[Any] = literal_column("'{0.25, 0.4, 0.6, 1.0}'::float4[]")
        rank = func.ts_rank(weights, _pg.c.document, positive, 1)
        base = (
            select(ArticleRow.id, rank.label("score"))
            .select_from(_pg)
            .join(ArticleRow, ArticleRow.id == _pg.c.article_id)
            .where(_pg.c.document.op("@@")(tsq), *where)
        )
        best_first: Any = rank.desc()
    else:
        bm25 = func.bm25(_FTS_REF, _TITLE_WEIGHT, 1.0, 0.0)
        base = (
            select(ArticleRow.id, (-bm25).label("score"))
            .select_from(_fts)
            .join(ArticleRow, ArticleRow.id == _fts.c.rowid)
            .where(
                _FTS_REF.op("MATCH")(bindparam("match", fts5_match(query, _periods(conn, query)))),
                *where,
            )
        )
        best_first = bm25.asc()
    if sort == "relevance":
        ranked = base.order_by(best_first, ArticleRow.id.desc()).limit(limit).subquery("ranked")
        return ranked, [ranked.c.score.desc(), ranked.c.id.desc()]
    by_date = article_queries.sort_order(sort)
    return base.order_by(*by_date).limit(limit).subquery("ranked"), list(by_date)


def search(
    conn: Connection, query: Query, *, sort: str = "relevance", limit: int = 20
) -> list[SearchHit]:
    """The articles matching the query, best first (or in the named order), each with a
    snippet of its text around the hits."""
    if sort not in SEARCH_SORTS:
        raise QueryError(f"unknown sort {sort!r}; one of {', '.join(SEARCH_SORTS)}")
    ranked, order = _ranked(conn, query, sort, limit)
    wanted = query.wanted()
    return [
        SearchHit(
            article=f.record,
            score=f.score,
            snippet=snippet(body_of(f.record.title, f.text), wanted),
        )
        for f in article_queries.page(conn, ranked, order, with_text=True)
    ]
