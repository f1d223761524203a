"""search index and views

The full-text index of articles (SQLite: an FTS5 table, PostgreSQL: a tsvector table with a GIN
index), filled from the existing articles, and the four documented views. None of these are
models: the autogenerate check in the tests leaves them out.

The index holds search words computed in Python (jirga.searchtext), so the backfill runs here in
batches, and the storage layer indexes every article it stores from now on. On SQLite a trigger
removes an article's entry when the article is deleted; a later batch migration that rebuilds
the ``articles`` table must create that trigger again.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-08
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from jirga.searchtext import body_of, date_tokens, tsvector_literal, words

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_BATCH = 1000

_ARTICLE_VIEW = """
CREATE VIEW article_view AS
SELECT
    a.id AS article_id,
    a.published_at,
    a.date_estimated,
    a.fetched_at,
    a.source,
    a.feed_id,
    f.name AS feed_name,
    f.country AS feed_country,
    a.outlet,
    a.language,
    a.title,
    a.url,
    a.canonical_url,
    a.duplicate_of,
    na.narrative_id,
    (SELECT count(*) FROM mentions AS m WHERE m.article_id = a.id) AS mention_count,
    {terms} AS terms,
    a.text
FROM articles AS a
LEFT JOIN feeds AS f ON f.id = a.feed_id
LEFT JOIN narrative_articles AS na ON na.article_id = a.id
"""
_TERMS = {
    "sqlite": "(SELECT group_concat(t.term, ',') FROM (SELECT DISTINCT m.term AS term "
    "FROM mentions AS m WHERE m.article_id = a.id ORDER BY m.term) AS t)",
    "postgresql": "(SELECT string_agg(DISTINCT m.term, ',' ORDER BY m.term) "
    "FROM mentions AS m WHERE m.article_id = a.id)",
}
_NARRATIVE_DAY_VIEW = """
CREATE VIEW narrative_day_view AS
SELECT
    d.narrative_id,
    d.day,
    d.article_count,
    d.outlet_count,
    n.label,
    n.state,
    n.first_seen,
    n.last_seen,
    n.merged_into
FROM narrative_days AS d
JOIN narratives AS n ON n.id = d.narrative_id
"""
_TRACKED_DAY_VIEW = """
CREATE VIEW tracked_day_view AS
SELECT
    t.tracked_id,
    t.day,
    t.article_count,
    (SELECT count(*) FROM tracked_scores AS s WHERE s.tracked_id = t.tracked_id)
        AS total_articles
FROM tracked_days AS t
"""
# The same words as `jirga feeds status`.
_FEED_HEALTH_VIEW = """
CREATE VIEW feed_health_view AS
SELECT
    f.id AS feed_id,
    f.name,
    f.url,
    f.country,
    f.language,
    f.enabled,
    CASE
        WHEN NOT f.enabled THEN 'disabled'
        WHEN f.gone THEN 'gone'
        WHEN f.next_attempt_at > {now} AND f.consecutive_errors > 0 THEN 'backing off'
        WHEN f.next_attempt_at > {now} THEN 'waiting'
        WHEN f.consecutive_errors > 0 THEN 'failing'
        WHEN f.last_fetched_at IS NULL THEN 'new'
        ELSE 'ok'
    END AS state,
    f.gone,
    f.last_fetched_at,
    f.last_success_at,
    f.last_status,
    f.consecutive_errors,
    f.last_error,
    f.next_attempt_at,
    f.redirect_url,
    (SELECT count(*) FROM articles AS a WHERE a.feed_id = f.id) AS article_count,
    (SELECT max(a.published_at) FROM articles AS a WHERE a.feed_id = f.id) AS last_article_at
FROM feeds AS f
"""
# Times are stored as naive UTC text on SQLite, which compares in order with this form of now.
_NOW = {"sqlite": "strftime('%Y-%m-%d %H:%M:%f', 'now')", "postgresql": "now()"}
_VIEWS = ("article_view", "narrative_day_view", "tracked_day_view", "feed_health_view")


def _utc(value: dt.datetime | str) -> dt.datetime:
    # SQLite hands back its naive UTC text, PostgreSQL an aware datetime.
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment


def _index_values(
    dialect: str, article_id: int, title: str, text: str, published: dt.datetime | str
) -> dict[str, Any]:
    title_words, body_words = words(title), words(body_of(title, text))
    if dialect == "postgresql":
        return {"id": article_id, "doc": tsvector_literal(title_words, body_words)}
    return {
        "id": article_id,
        "title": " ".join(title_words),
        "body": " ".join(body_words),
        "period": date_tokens(_utc(published)),
    }


def _backfill(conn: sa.Connection, dialect: str) -> None:
    if dialect == "postgresql":
        insert = sa.text(
            "INSERT INTO article_search (article_id, document) "
            "VALUES (:id, CAST(:doc AS tsvector))"
        )
    else:
        insert = sa.text(
            "INSERT INTO article_search (rowid, title, body, period) "
            "VALUES (:id, :title, :body, :period)"
        )
    select = sa.text(
        "SELECT id, title, text, published_at FROM articles WHERE id > :last ORDER BY id LIMIT :n"
    )
    last = 0
    while True:
        rows = conn.execute(select, {"last": last, "n": _BATCH}).all()
        if not rows:
            return
        conn.execute(insert, [_index_values(dialect, r[0], r[1], r[2], r[3]) for r in rows])
        last = rows[-1][0]


def upgrade() -> None:
    conn = op.get_bind()
    dialect = conn.dialect.name
    if dialect == "postgresql":
        op.create_table(
            "article_search",
            sa.Column("article_id", sa.BigInteger(), nullable=False),
            sa.Column("document", postgresql.TSVECTOR(), nullable=False),
            sa.ForeignKeyConstraint(
                ["article_id"],
                ["articles.id"],
                name="fk_article_search_article_id_articles",
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("article_id", name="pk_article_search"),
        )
        _backfill(conn, dialect)
        # Built after the backfill: a GIN index is far cheaper to build once than to grow.
        op.execute("CREATE INDEX ix_article_search_document ON article_search USING gin (document)")
    else:
        # Words arrive already folded and cut (jirga.searchtext); unicode61 only splits on the
        # spaces between them, and remove_diacritics 2 keeps any query it is handed consistent.
        # ``period`` holds the UTC day, month and year as words (d20261115 m202611 y2026), so
        # that a date filter narrows the match inside FTS5.
        op.execute(
            "CREATE VIRTUAL TABLE article_search USING fts5("
            "title, body, period, tokenize = 'unicode61 remove_diacritics 2')"
        )
        op.execute(
            "CREATE TRIGGER article_search_delete AFTER DELETE ON articles BEGIN "
            "DELETE FROM article_search WHERE rowid = old.id; END"
        )
        _backfill(conn, dialect)
        op.execute("INSERT INTO article_search (article_search) VALUES ('optimize')")
    op.execute(_ARTICLE_VIEW.format(terms=_TERMS[dialect]))
    op.execute(_NARRATIVE_DAY_VIEW)
    op.execute(_TRACKED_DAY_VIEW)
    op.execute(_FEED_HEALTH_VIEW.format(now=_NOW[dialect]))


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for view in reversed(_VIEWS):
        op.execute(f"DROP VIEW IF EXISTS {view}")
    if dialect == "postgresql":
        op.drop_table("article_search")
    else:
        op.execute("DROP TRIGGER IF EXISTS article_search_delete")
        op.execute("DROP TABLE IF EXISTS article_search")
