"""Writes of the poll: a feed's new articles, mentions and band keys, then its fetch state, in one
transaction (shared with the other feeds of its group) — so a crash at any point leaves either
all of a feed's work or none of it."""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, select, update
from sqlalchemy.engine import Dialect

from jirga.dedup import DedupConfig, best_match
from jirga.types import Article, FeedState, MatchedArticle
from storage import search
from storage.chunked import chunks
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
    error: str | None = None  # the feed's articles could not be stored (none of them were)


@dataclass(frozen=True)
class FeedSave:
    """One fetched feed to save: its matching articles (none for a 304, an error or a feed with
    nothing new) and its state after the fetch."""

    state: FeedState
    status: int | None
    items: Sequence[MatchedArticle] = ()
    # The state to save instead when the database refuses the feed's articles (a constraint or
    # a value it cannot hold): the fetch counts as failed and the validators stay as they were,
    # so the feed backs off and is fetched again. None: such an error fails the whole group.
    failed_state: FeedState | None = None


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
        "entry_hashes": state.entry_hashes,
    }


# A FeedState's fields after feed_id, in order: each is the column of feeds of that name.
STATE_FIELDS = tuple(f.name for f in fields(FeedState))[1:]
_STATE_COLUMNS = (*state_values(FeedState("", "")), "last_fetched_at", "last_status", "updated_at")


@functools.cache
def _state_update(dialect: Dialect) -> tuple[str, tuple[Callable[[Any], Any] | None, ...]]:
    """``UPDATE feeds SET ... WHERE id = ?`` for the driver, and each parameter's conversion
    (the columns' own types' bind processors, so values are stored exactly as SQLAlchemy would
    store them), built once per dialect. Every poll writes every fetched feed's state, and for
    a re-poll of feeds that did not change, SQLAlchemy's per-row parameter handling cost more
    than the update itself."""
    table = cast(Table, FeedRow.__table__)
    quote = dialect.identifier_preparer.quote
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    sets = ", ".join(f"{quote(name)} = {mark}" for name in _STATE_COLUMNS)
    # Only constant identifiers and parameter markers are formatted in: every value is bound.
    statement = f"UPDATE {quote(table.name)} SET {sets} WHERE id = {mark}"  # noqa: S608
    columns = [table.c[name] for name in _STATE_COLUMNS] + [table.c.id]
    return statement, tuple(c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns)


def write_states(
    conn: Connection, states: Sequence[tuple[FeedState, int | None]], now: dt.datetime
) -> None:
    """Save feeds' states after a fetch, with the HTTP status each one got."""
    if not states:
        return
    statement, processors = _state_update(conn.dialect)
    rows = []
    for state, status in states:
        values = (*state_values(state).values(), now, status, now, state.feed_id)
        rows.append(
            tuple(v if p is None else p(v) for p, v in zip(processors, values, strict=True))
        )
    conn.exec_driver_sql(statement, rows)


def store_articles(
    conn: Connection, items: Sequence[MatchedArticle], dedup: DedupConfig
) -> StoreReport:
    """Insert matching articles with their mentions and band keys; existing ones are skipped."""
    return store_article_groups(conn, [items], dedup)[0]


def store_article_groups(
    conn: Connection, groups: Sequence[Sequence[MatchedArticle]], dedup: DedupConfig
) -> list[StoreReport]:
    """:func:`store_articles` for several feeds' articles at once, with a report for each group.

    A handful of statements whatever the number of articles: the candidate originals of all of
    them are read first, the articles go in with one multi-row INSERT, and the few found to be
    near-copies are then linked to their originals, which may be earlier articles of the same
    call (of the same group or an earlier one).
    """
    items = [item for group in groups for item in group]
    owners = [n for n, group in enumerate(groups) for _ in group]
    counts = [Counter[str]() for _ in groups]
    if not items:
        return [StoreReport() for _ in groups]
    candidates = _candidate_originals(conn, items, dedup)
    ids = _insert_articles(conn, items)
    mention_rows: list[dict[str, object]] = []
    band_rows: list[tuple[int, int, int]] = []
    indexed: list[search.IndexRow] = []
    links: list[dict[str, object]] = []
    # The originals stored so far from ``items`` (their band keys are not in the table yet),
    # and which of them hold each key: a group holds hundreds, and comparing each new article's
    # keys with every one of them cost more than the rest of the loop.
    batch = _Batch()
    for item, owner, article_id, stored in zip(items, owners, ids, candidates, strict=True):
        count = counts[owner]
        if article_id is None:
            count["duplicates"] += 1
            continue
        a = item.article
        near = batch.sharing(item.band_keys, dedup)
        original = _near_original(a.text, a.published_at, item.band_keys, dedup, stored, near)
        if original is not None:
            count["near_duplicates"] += 1
            links.append({"v_id": article_id, "v_of": original[0], "v_sim": original[1]})
        else:  # only originals can be linked to (duplicate_of is NULL)
            batch.add(_Stored(article_id, a.text, a.published_at, frozenset(item.band_keys)))
        count["new"] += 1
        count["mentions"] += len(item.mentions)
        indexed.append((article_id, a.title, a.text, a.published_at, item.search_words))
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
        band_rows += ((article_id, b, k) for b, k in item.band_keys)
    if links:
        conn.execute(_link_update(), links)
    search.index_rows(conn, indexed)
    if mention_rows:
        conn.execute(insert_ignore(conn, MentionRow), mention_rows)
    if band_rows:
        _insert_band_rows(conn, band_rows)
    return [
        StoreReport(
            new=c["new"],
            duplicates=c["duplicates"],
            near_duplicates=c["near_duplicates"],
            mentions=c["mentions"],
        )
        for c in counts
    ]


def _insert_band_rows(conn: Connection, rows: Sequence[tuple[int, int, int]]) -> None:
    """Insert ``(article_id, band, band_key)`` rows of articles inserted in this transaction.

    They are about 30 for every article, so per-row work matters: the rows go to the driver as
    they are, skipping SQLAlchemy's per-row parameter processing, which cost more than the
    inserts themselves. No conflict is possible: every article id is new, and each of its bands
    comes once.
    """
    mark = _placeholder(conn)
    table = ArticleBandRow.__tablename__
    # Only a constant table name and parameter markers are formatted in: every value is bound.
    statement = f"INSERT INTO {table} (article_id, band, band_key) VALUES ({mark}, {mark}, {mark})"  # noqa: S608
    conn.exec_driver_sql(statement, list(rows))


@dataclass(frozen=True)
class _Stored:
    """An article inserted earlier in the same call, as a candidate original."""

    id: int
    text: str
    published_at: dt.datetime
    band_keys: frozenset[tuple[int, int]]


class _Batch:
    """The originals inserted so far in one call, found by their band keys."""

    def __init__(self) -> None:
        self._stored: list[_Stored] = []
        self._holding: dict[tuple[int, int], list[int]] = defaultdict(list)

    def add(self, stored: _Stored) -> None:
        index, holding = len(self._stored), self._holding
        for key in stored.band_keys:
            holding[key].append(index)
        self._stored.append(stored)

    def sharing(self, band_keys: Sequence[tuple[int, int]], dedup: DedupConfig) -> list[_Stored]:
        """Those sharing at least ``dedup.min_shared_bands`` of ``band_keys`` (all of them when
        there are fewer), in the order they were added."""
        holding = self._holding
        found = [holding[key] for key in set(band_keys) if key in holding]
        if not found:
            return []  # the usual case: no key in common with any of them
        need = min(dedup.min_shared_bands, len(band_keys))
        shared = Counter(i for holders in found for i in holders)
        return [self._stored[i] for i in sorted(i for i, n in shared.items() if n >= need)]


def _article_values(a: Article) -> dict[str, object]:
    return {
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
        "duplicate_of": None,
        "duplicate_similarity": None,
    }


@functools.cache
def _article_insert(dialect: str) -> Any:
    """The article insert for a dialect, built once; it returns each inserted row's identity."""
    return insert_ignore(dialect, ArticleRow).returning(
        ArticleRow.id, ArticleRow.source, ArticleRow.entry_key, ArticleRow.canonical_url
    )


def _insert_articles(conn: Connection, items: Sequence[MatchedArticle]) -> list[int | None]:
    """Insert the articles (SQLAlchemy sends them as multi-row INSERTs); the id of each, or None
    for those already stored or repeating an earlier one of ``items``.

    Rows come back in no set order and without the skipped ones, so they are told apart by
    (source, entry key, canonical URL). Items sharing all three are one article: either the
    first goes in and the rest conflict with it, or all conflict with a stored row, so a
    returned row belongs to the first of them.
    """
    values = [_article_values(i.article) for i in items]
    rows = conn.execute(_article_insert(conn.dialect.name), values)
    inserted = {(r.source, r.entry_key, r.canonical_url): int(r.id) for r in rows}
    ids: list[int | None] = []
    for item in items:
        a = item.article
        ids.append(inserted.pop((a.source, a.entry_key, a.canonical_url), None))
    return ids


@functools.cache
def _link_update() -> Any:
    return (
        update(ArticleRow)
        .where(ArticleRow.id == bindparam("v_id"))
        .values(duplicate_of=bindparam("v_of"), duplicate_similarity=bindparam("v_sim"))
    )


# Band keys per candidate query: each is a bound parameter, and drivers cap those per statement.
_KEYS_PER_QUERY = 500


def _placeholder(conn: Connection) -> str:
    """The driver's positional parameter marker, for statements sent to it as they are."""
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def _band_holders(
    conn: Connection, items: Sequence[MatchedArticle], dedup: DedupConfig
) -> dict[tuple[int, int], list[int]]:
    """The stored articles holding each of the items' band keys.

    One statement per :data:`_KEYS_PER_QUERY` keys, on article_bands alone, by an OR of
    ``(band = n AND band_key IN (...))``, which SQLite answers from the (band, band_key) index:
    joined to articles, it would rather walk all of those by their date or duplicate_of index,
    and a row-value IN would scan the table. The text goes to the driver as it is (the band
    numbers are integers written in, the keys bound): SQLAlchemy's expansion of the IN lists
    cost more than running the query.
    """
    holders: dict[tuple[int, int], list[int]] = defaultdict(list)
    per_query = max(1, _KEYS_PER_QUERY // max(1, dedup.bands))
    mark = _placeholder(conn)
    table = ArticleBandRow.__tablename__
    for start in range(0, len(items), per_query):
        by_band: dict[int, set[int]] = defaultdict(set)
        for item in items[start : start + per_query]:
            for band, key in item.band_keys:
                by_band[band].add(key)
        if not by_band:
            continue
        clauses, params = [], []
        for band in sorted(by_band):
            keys = sorted(by_band[band])
            markers = ", ".join([mark] * len(keys))
            clauses.append(f"(band = {int(band)} AND band_key IN ({markers}))")
            params += keys
        # Formatted in: a constant table name, band numbers (ints) and markers; keys are bound.
        query = f"SELECT article_id, band, band_key FROM {table} WHERE {' OR '.join(clauses)}"  # noqa: S608
        for article_id, band, key in conn.exec_driver_sql(query, tuple(params)):
            holders[(band, key)].append(article_id)
    return holders


def _candidate_originals(
    conn: Connection, items: Sequence[MatchedArticle], dedup: DedupConfig
) -> list[list[tuple[dt.datetime, int, str]]]:
    """For each item, the stored originals (publication time, id, text) worth the exact check:
    within :data:`NEAR_WINDOW` of it, sharing at least ``dedup.min_shared_bands`` of its band
    keys (all of them when it has fewer), the :data:`MAX_NEAR_CANDIDATES` sharing most (then
    oldest, then lowest id).

    Read for all the items at once, before any of them is stored: their own band keys go in
    after them, so the table shows only articles stored before this call.
    """
    holders = _band_holders(conn, items, dedup)
    shared_by_item: list[Counter[int]] = []
    for item in items:
        shared = Counter(a for k in item.band_keys for a in holders.get(k, ()))
        need = min(dedup.min_shared_bands, len(item.band_keys))
        shared_by_item.append(Counter({a: n for a, n in shared.items() if n >= need}))
    # Which of those are originals, and when they were published.
    published: dict[int, dt.datetime] = {}
    for chunk in chunks(sorted({a for shared in shared_by_item for a in shared})):
        rows = conn.execute(
            select(ArticleRow.id, ArticleRow.published_at).where(
                ArticleRow.id.in_(chunk), ArticleRow.duplicate_of.is_(None)
            )
        )
        published.update((int(r.id), r.published_at) for r in rows)
    chosen: list[list[int]] = []
    for item, shared in zip(items, shared_by_item, strict=True):
        at = item.article.published_at
        ranked = sorted(
            (-n, published[a], a)
            for a, n in shared.items()
            if a in published and abs(published[a] - at) <= NEAR_WINDOW
        )
        chosen.append([a for _, _, a in ranked[:MAX_NEAR_CANDIDATES]])
    texts: dict[int, str] = {}
    wanted = sorted({a for ids in chosen for a in ids})
    for chunk in chunks(wanted):
        rows = conn.execute(select(ArticleRow.id, ArticleRow.text).where(ArticleRow.id.in_(chunk)))
        texts.update((int(r.id), r.text) for r in rows)
    return [[(published[a], a, texts[a]) for a in ids] for ids in chosen]


def _near_original(
    text: str,
    published_at: dt.datetime,
    band_keys: Sequence[tuple[int, int]],
    dedup: DedupConfig,
    stored: Sequence[tuple[dt.datetime, int, str]],
    batch: Sequence[_Stored] = (),
) -> tuple[int, float] | None:
    """The earlier original this text is a near-copy of, with the similarity, if any: among
    the ``stored`` candidates (:func:`_candidate_originals`) and the articles of this call
    that share enough of its band keys (``batch``, from :meth:`_Batch.sharing`), whose keys
    are not stored yet."""
    if not band_keys:
        return None
    rows = list(stored)
    rows += (
        (s.published_at, s.id, s.text)
        for s in batch
        if abs(s.published_at - published_at) <= NEAR_WINDOW
    )
    if not rows:
        return None
    rows.sort(key=lambda r: (r[0], r[1]))  # oldest first: on a tie the original wins
    found = best_match(text, ((r[1], r[2]) for r in rows), dedup)
    return (int(found[0]), found[1]) if found else None
