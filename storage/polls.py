"""Writes of the poll: a feed's new articles, mentions and band keys, then its fetch state, in one
transaction (shared with the other feeds of its group) — so a crash at any point leaves either
all of a feed's work or none of it."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, Select, Table, and_, bindparam, func, or_, select, update

from jirga.dedup import DedupConfig, best_match
from jirga.types import FeedState, MatchedArticle
from storage import search
from storage.models import ArticleBandRow, ArticleRow, FeedRow, MentionRow
from storage.upsert import insert_ignore

# How many candidate originals get the exact Jaccard check, most shared band keys first. Band
# keys of common boilerplate can pull in thousands of candidates sharing one or two bands, while
# a real copy (Jaccard >= 0.7) shares about a quarter of the 32 bands: the best ten hold it.
MAX_NEAR_CANDIDATES = 10
# Copies are looked for among articles published this close in time: two statements made from
# one press-release template weeks apart are different news, not a syndicated copy.
NEAR_WINDOW = dt.timedelta(days=14)


@dataclass(frozen=True)
class StoreReport:
    """What storing one feed's matching entries came to."""

    new: int = 0
    duplicates: int = 0  # already stored: same entry key in the feed, or same canonical URL
    near_duplicates: int = 0  # stored, and linked to an earlier original
    mentions: int = 0


@dataclass(frozen=True)
class FeedSave:
    """One fetched feed to save: its matching articles (none for a 304, an error or a feed with
    nothing new) and its state after the fetch."""

    state: FeedState
    status: int | None
    items: Sequence[MatchedArticle] = ()


def state_values(state: FeedState) -> dict[str, object]:
    """The columns of ``feeds`` that hold a FeedState."""
    return {
        "url": state.url,
        "etag": state.etag,
        "last_modified": state.last_modified,
        "body_hash": state.body_hash,
        "consecutive_errors": state.consecutive_errors,
        "consecutive_gone": state.consecutive_gone,
        "next_attempt_at": state.next_attempt_at,
        "gone": state.gone,
        "redirect_url": state.redirect_url,
        "last_success_at": state.last_success_at,
        "last_error": state.last_error,
    }


_STATE_COLUMNS = (*state_values(FeedState("", "")), "last_fetched_at", "last_status", "updated_at")


@functools.cache
def _state_update() -> Any:
    """``UPDATE feeds SET ... WHERE id = ?`` with bound parameters, built once: building the
    statement per feed cost more than running it."""
    table = cast(Table, FeedRow.__table__)
    return (
        update(table)
        .where(table.c.id == bindparam("v_feed_id"))
        .values({name: bindparam(f"v_{name}") for name in _STATE_COLUMNS})
    )


def write_states(
    conn: Connection, states: Sequence[tuple[FeedState, int | None]], now: dt.datetime
) -> None:
    """Save feeds' states after a fetch, with the HTTP status each one got."""
    if not states:
        return
    rows = [
        {
            "v_feed_id": state.feed_id,
            **{f"v_{k}": v for k, v in state_values(state).items()},
            "v_last_fetched_at": now,
            "v_last_status": status,
            "v_updated_at": now,
        }
        for state, status in states
    ]
    conn.execute(_state_update(), rows)


def store_articles(
    conn: Connection, items: Sequence[MatchedArticle], dedup: DedupConfig
) -> StoreReport:
    """Insert matching articles with their mentions and band keys; existing ones are skipped."""
    new = dups = near = 0
    mention_rows: list[dict[str, object]] = []
    band_rows: list[dict[str, object]] = []
    indexed: list[search.IndexRow] = []
    # This feed's articles stored so far: their band keys go in with one statement at the end,
    # so a copy of one of them in the same feed is looked for here as well as in the table.
    batch: list[_Stored] = []
    for item in items:
        a = item.article
        original = _near_original(conn, a.text, a.published_at, item.band_keys, dedup, batch)
        values = {
            "source": a.source,
            "feed_id": a.feed_id,
            "outlet": a.outlet,
            "entry_key": a.entry_key,
            "url": a.url,
            "canonical_url": a.canonical_url,
            "title": a.title,
            "text": a.text,
            "html": a.html,
            "language": a.language,
            "published_at": a.published_at,
            "date_estimated": a.date_estimated,
            "fetched_at": a.fetched_at,
            "content_hash": a.content_hash,
            "duplicate_of": original[0] if original else None,
            "duplicate_similarity": original[1] if original else None,
        }
        article_id = conn.execute(_article_insert(conn.dialect.name), values).scalar_one_or_none()
        if article_id is None:
            dups += 1
            continue
        if item.search_words is None:
            indexed.append((article_id, a.title, a.text, a.published_at))
        else:
            indexed.append((article_id, a.title, a.text, a.published_at, item.search_words))
        new += 1
        near += original is not None
        mention_rows += (
            {
                "article_id": article_id,
                "term": m.term,
                "alias": m.alias,
                "start": m.start,
                "end": m.end,
                "snippet": m.snippet,
            }
            for m in item.mentions
        )
        band_rows += (
            {"article_id": article_id, "band": b, "band_key": k} for b, k in item.band_keys
        )
        if original is None:  # only originals can be linked to (duplicate_of is NULL)
            batch.append(_Stored(article_id, a.text, a.published_at, frozenset(item.band_keys)))
    search.index_rows(conn, indexed)
    if mention_rows:
        conn.execute(insert_ignore(conn, MentionRow), mention_rows)
    if band_rows:
        conn.execute(insert_ignore(conn, ArticleBandRow), band_rows)
    mentions = len(mention_rows)
    return StoreReport(new=new, duplicates=dups, near_duplicates=near, mentions=mentions)


@dataclass(frozen=True)
class _Stored:
    """An article inserted earlier in the same transaction, as a candidate original."""

    id: int
    text: str
    published_at: dt.datetime
    band_keys: frozenset[tuple[int, int]]


@functools.cache
def _article_insert(dialect: str) -> Any:
    """The article insert for a dialect, built once (SQLAlchemy then reuses its compiled form)."""
    return insert_ignore(dialect, ArticleRow).returning(ArticleRow.id)


@functools.cache
def _candidates_query(bands: int, min_shared: int) -> Select[int, str, dt.datetime]:
    """The query for the candidate originals of an article with ``bands`` band keys (those
    sharing ``min_shared`` of them), built once per shape with bound parameters (``b0, k0, b1,
    k1, ...``, ``since``, ``until``): building the 32-way OR anew for every article cost more
    than running it."""
    shared = (
        select(ArticleBandRow.article_id, func.count().label("shared"))
        # OR of (band = ? AND key = ?) rather than a row-value IN: SQLite answers the IN form
        # with a scan of the whole table, this one from the (band, band_key) index.
        .where(
            or_(
                *(
                    and_(
                        ArticleBandRow.band == bindparam(f"b{i}"),
                        ArticleBandRow.band_key == bindparam(f"k{i}"),
                    )
                    for i in range(bands)
                )
            )
        )
        .group_by(ArticleBandRow.article_id)
        .having(func.count() >= min_shared)
        .subquery()
    )
    return (
        select(ArticleRow.id, ArticleRow.text, ArticleRow.published_at)
        .join(shared, shared.c.article_id == ArticleRow.id)
        .where(
            ArticleRow.duplicate_of.is_(None),
            ArticleRow.published_at.between(bindparam("since"), bindparam("until")),
        )
        .order_by(shared.c.shared.desc(), ArticleRow.published_at, ArticleRow.id)
        .limit(MAX_NEAR_CANDIDATES)
    )


def _near_original(
    conn: Connection,
    text: str,
    published_at: dt.datetime,
    band_keys: Sequence[tuple[int, int]],
    dedup: DedupConfig,
    batch: Sequence[_Stored] = (),
) -> tuple[int, float] | None:
    """The earlier original this text is a near-copy of, with the similarity, if any: among
    the stored articles, and the ``batch`` of this transaction whose keys are not stored yet."""
    if not band_keys:
        return None
    params: dict[str, object] = {
        "since": published_at - NEAR_WINDOW,
        "until": published_at + NEAR_WINDOW,
    }
    for i, (band, key) in enumerate(band_keys):
        params[f"b{i}"], params[f"k{i}"] = band, key
    need = min(dedup.min_shared_bands, len(band_keys))
    query = _candidates_query(len(band_keys), need)
    rows = [(r.published_at, r.id, r.text) for r in conn.execute(query, params)]
    keys = set(band_keys)
    rows += (
        (s.published_at, s.id, s.text)
        for s in batch
        if len(keys & s.band_keys) >= need and abs(s.published_at - published_at) <= NEAR_WINDOW
    )
    if not rows:
        return None
    rows.sort(key=lambda r: (r[0], r[1]))  # oldest first: on a tie the original wins
    found = best_match(text, ((r[1], r[2]) for r in rows), dedup)
    return (int(found[0]), found[1]) if found else None
