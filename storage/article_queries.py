"""Questions about articles: filtered lists, and daily counts by term, outlet, language or
narrative. Every value reaches SQL as a bound parameter; sort orders and dimensions come from
the allow-lists below."""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Connection,
    String,
    Subquery,
    cast,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
)

from jirga.localdays import offset_spans
from jirga.query import ArticleFilters, QueryError
from jirga.results import ArticleRecord, DayCount
from storage.models import ArticleRow, MentionRow, NarrativeArticleRow, NarrativeRow

#: Orders ``jirga articles`` can list by.
SORTS: Mapping[str, tuple[Any, ...]] = {
    "newest": (ArticleRow.published_at.desc(), ArticleRow.id.desc()),
    "oldest": (ArticleRow.published_at.asc(), ArticleRow.id.asc()),
    "outlet": (ArticleRow.outlet.asc(), ArticleRow.published_at.desc(), ArticleRow.id.desc()),
    "language": (ArticleRow.language.asc(), ArticleRow.published_at.desc(), ArticleRow.id.desc()),
}
#: What daily counts can be broken down by.
DIMENSIONS = ("term", "outlet", "language", "narrative")
# Merges chain (a into b, later b into c); a filter on an old id follows the chain this far.
_MAX_MERGE_HOPS = 32


# The filters' subqueries use aliases correlated to the article only, so they stay whole when
# the outer query joins the same table (daily counts by term or narrative). The aliases are
# Core table aliases made once: an ORM alias made per query costs more than a search's SQL.
_FILTER_MENTION = MentionRow.__table__.alias("filter_mention")
_FILTER_MEMBER = NarrativeArticleRow.__table__.alias("filter_member")
_TERM_MENTION = MentionRow.__table__.alias("term_mention")


def _mentions(terms: Sequence[str]) -> ColumnElement[bool]:
    m = _FILTER_MENTION.c
    return (
        select(m.id)
        .where(m.article_id == ArticleRow.id, m.term.in_(list(terms)))
        .correlate(ArticleRow)
        .exists()
    )


def _outlet(values: Sequence[str]) -> ColumnElement[bool]:
    lowered = [v.lower() for v in values]
    return or_(
        func.lower(ArticleRow.outlet).in_(lowered), func.lower(ArticleRow.source).in_(lowered)
    )


def _members(narrative_ids: Sequence[int]) -> ColumnElement[bool]:
    na = _FILTER_MEMBER.c
    return (
        select(na.article_id)
        .where(na.article_id == ArticleRow.id, na.narrative_id.in_(list(narrative_ids)))
        .correlate(ArticleRow)
        .exists()
    )


def live_narratives(conn: Connection, narrative_ids: Sequence[int]) -> list[int]:
    """The narratives the given ids stand for now: a merged one's articles moved to the
    narrative it was merged into, so a filter on its old id follows the merge."""
    found: set[int] = set()
    frontier = set(narrative_ids)
    for _ in range(_MAX_MERGE_HOPS):
        if not frontier:
            break
        rows = conn.execute(
            select(NarrativeRow.id, NarrativeRow.merged_into).where(
                NarrativeRow.id.in_(sorted(frontier))
            )
        ).all()
        frontier = set()
        for nid, into in rows:
            found.add(nid)
            if into is not None and into not in found:
                frontier.add(into)
    return sorted(found) or list(narrative_ids)


def conditions(conn: Connection, f: ArticleFilters) -> list[ColumnElement[bool]]:
    """The WHERE conditions on ``articles`` of a set of filters."""
    out: list[ColumnElement[bool]] = []
    if f.terms:
        out.append(_mentions(f.terms))
    if f.exclude_terms:
        out.append(~_mentions(f.exclude_terms))
    if f.outlets:
        out.append(_outlet(f.outlets))
    if f.exclude_outlets:
        out.append(~_outlet(f.exclude_outlets))
    if f.languages:
        out.append(ArticleRow.language.in_([v.lower() for v in f.languages]))
    if f.exclude_languages:
        out.append(ArticleRow.language.not_in([v.lower() for v in f.exclude_languages]))
    if f.narratives:
        out.append(_members(live_narratives(conn, f.narratives)))
    if f.exclude_narratives:
        out.append(~_members(live_narratives(conn, f.exclude_narratives)))
    if f.since is not None:
        out.append(ArticleRow.published_at >= f.since)
    if f.until is not None:
        out.append(ArticleRow.published_at < f.until)
    return out


@dataclass(frozen=True)
class Found:
    """One row of a page of results: the record, its score and (when asked for) its text."""

    record: ArticleRecord
    score: float | None
    text: str


@functools.cache
def _terms(dialect: str) -> Any:
    """The article's watch-term ids, comma-separated (ids are slugs: no commas in them)."""
    m = _TERM_MENTION.c
    if dialect == "postgresql":
        agg = func.string_agg(m.term.distinct(), literal_column("','"))
    else:
        agg = func.group_concat(m.term.distinct())
    return select(agg).where(m.article_id == ArticleRow.id).correlate(ArticleRow).scalar_subquery()


def page(
    conn: Connection,
    ranked: Subquery,
    order: Sequence[Any],
    *,
    with_text: bool = False,
) -> list[Found]:
    """The articles of a ranked subquery (``id`` and ``score`` columns, already limited), with
    their fields, narrative and terms, in one statement, in the given order."""
    columns: list[Any] = [
        ranked.c.score,
        ArticleRow.id,
        ArticleRow.published_at,
        ArticleRow.outlet,
        ArticleRow.source,
        ArticleRow.feed_id,
        ArticleRow.language,
        ArticleRow.title,
        ArticleRow.url,
        ArticleRow.duplicate_of,
        ArticleRow.date_estimated,
        NarrativeArticleRow.narrative_id,
        _terms(conn.dialect.name).label("terms"),
    ]
    if with_text:
        columns.append(ArticleRow.text)
    query = (
        select(*columns)
        .select_from(ranked)
        .join(ArticleRow, ArticleRow.id == ranked.c.id)
        .outerjoin(NarrativeArticleRow, NarrativeArticleRow.article_id == ArticleRow.id)
        .order_by(*order)
    )
    return [
        Found(
            ArticleRecord(
                id=r.id,
                published_at=r.published_at,
                outlet=r.outlet,
                source=r.source,
                feed_id=r.feed_id,
                language=r.language,
                title=r.title,
                url=r.url,
                terms=tuple(sorted(r.terms.split(","))) if r.terms else (),
                narrative_id=r.narrative_id,
                duplicate_of=r.duplicate_of,
                date_estimated=bool(r.date_estimated),
            ),
            None if r.score is None else float(r.score),
            r.text if with_text else "",
        )
        for r in conn.execute(query)
    ]


def sort_order(sort: str) -> tuple[Any, ...]:
    """The ORDER BY of a sort name from :data:`SORTS`."""
    try:
        return SORTS[sort]
    except KeyError:
        raise QueryError(f"unknown sort {sort!r}; one of {', '.join(SORTS)}") from None


def list_articles(
    conn: Connection, filters: ArticleFilters, *, sort: str = "newest", limit: int = 50
) -> list[ArticleRecord]:
    """Articles matching the filters, in the named order, at most ``limit``."""
    order = sort_order(sort)
    ranked = (
        select(ArticleRow.id, null().label("score"))
        .where(*conditions(conn, filters))
        .order_by(*order)
        .limit(limit)
        .subquery("ranked")
    )
    return [f.record for f in page(conn, ranked, order)]


def _dimension(by: str) -> tuple[Any, Any]:
    """(key column, join) of a dimension."""
    if by == "term":
        return MentionRow.term, (MentionRow, MentionRow.article_id == ArticleRow.id)
    if by == "narrative":
        return NarrativeArticleRow.narrative_id, (
            NarrativeArticleRow,
            NarrativeArticleRow.article_id == ArticleRow.id,
        )
    if by == "outlet":
        return ArticleRow.outlet, None
    if by == "language":
        return ArticleRow.language, None
    raise QueryError(f"unknown dimension {by!r}; one of {', '.join(DIMENSIONS)}")


def daily_counts(
    conn: Connection,
    by: str,
    since: dt.datetime,
    until: dt.datetime,
    tz: ZoneInfo,
    filters: ArticleFilters | None = None,
) -> list[DayCount]:
    """Articles per local day (in ``tz``, as narratives count days) and value of ``by``,
    published in ``[since, until)``; days and values without articles are left out."""
    key, join = _dimension(by)
    base = conditions(conn, filters) if filters is not None else []
    counts: dict[tuple[dt.date, str], int] = defaultdict(int)
    if conn.dialect.name == "postgresql":
        pieces: list[tuple[Any, list[ColumnElement[bool]]]] = [
            (
                func.date(func.timezone(literal(tz.key, String), ArticleRow.published_at)),
                [ArticleRow.published_at >= since, ArticleRow.published_at < until],
            )
        ]
    else:
        # SQLite has no time zones: count each piece of constant UTC offset on its own.
        pieces = [
            (
                func.date(
                    ArticleRow.published_at, literal(f"{int(off.total_seconds()):+d} seconds")
                ),
                [ArticleRow.published_at >= start, ArticleRow.published_at < end],
            )
            for start, end, off in offset_spans(tz, since, until)
        ]
    for day_expr, window in pieces:
        day = cast(day_expr, String).label("day")
        query = select(day, key.label("key"), func.count(ArticleRow.id.distinct()).label("n"))
        if join is not None:
            query = query.select_from(ArticleRow).join(*join)
        query = query.where(*window, *base).group_by(day, key)
        for day_text, value, n in conn.execute(query):
            counts[(dt.date.fromisoformat(str(day_text)[:10]), str(value))] += int(n)
    return [
        DayCount(day=d, key=k, articles=n)
        for (d, k), n in sorted(counts.items(), key=lambda kv: (kv[0][0], -kv[1], kv[0][1]))
    ]
