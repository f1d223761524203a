"""Questions about narratives in domain words: lists with filters, and one narrative in full."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, RowMapping, select

from jirga.types import (
    MemberArticle,
    NarrativeDetail,
    NarrativeSummary,
    OutletRole,
    Passage,
)
from storage.models import (
    ArticleRow,
    MentionRow,
    NarrativeArticleRow,
    NarrativeDayRow,
    NarrativeMergeRow,
    NarrativeRow,
)

#: Lifecycle states a narrative can be listed by.
STATES = ("new", "growing", "steady", "fading", "recurring", "merged")


def _member_exists(*conditions: Any) -> Any:
    return (
        select(NarrativeArticleRow.article_id)
        .join(ArticleRow, ArticleRow.id == NarrativeArticleRow.article_id)
        .where(NarrativeArticleRow.narrative_id == NarrativeRow.id, *conditions)
        .exists()
    )


def _summary(row: RowMapping) -> NarrativeSummary:
    return NarrativeSummary(
        id=row["id"],
        label=row["label"],
        key_phrases=tuple(row["key_phrases"] or ()),
        state=row["state"],
        first_seen=row["first_seen"],
        last_seen=row["last_seen"],
        active_days=row["active_days"],
        article_count=row["article_count"],
        languages=tuple(row["languages"] or ()),
        outlets=tuple(row["outlets"] or ()),
        terms=tuple(row["terms"] or ()),
        representative_article_id=row["representative_article_id"],
        representative_title=row["rep_title"],
        representative_url=row["rep_url"],
        merged_into=row["merged_into"],
    )


def _base() -> Any:
    rep = ArticleRow.__table__.alias("rep")
    return select(
        *NarrativeRow.__table__.c, rep.c.title.label("rep_title"), rep.c.url.label("rep_url")
    ).outerjoin(rep, rep.c.id == NarrativeRow.representative_article_id)


def list_narratives(
    conn: Connection,
    *,
    since: dt.datetime | None = None,
    states: Sequence[str] = (),
    term: str | None = None,
    language: str | None = None,
    outlet: str | None = None,
    include_merged: bool = False,
    limit: int = 50,
) -> list[NarrativeSummary]:
    """Narratives, most recently seen first; every filter is a bound parameter."""
    query = _base()
    if not include_merged:
        query = query.where(NarrativeRow.merged_into.is_(None))
    if since is not None:
        query = query.where(NarrativeRow.last_seen >= since)
    if states:
        query = query.where(NarrativeRow.state.in_(list(states)))
    if term is not None:
        query = query.where(
            _member_exists(
                select(MentionRow.id)
                .where(MentionRow.article_id == ArticleRow.id, MentionRow.term == term)
                .exists()
            )
        )
    if language is not None:
        query = query.where(_member_exists(ArticleRow.language == language))
    if outlet is not None:
        query = query.where(
            _member_exists((ArticleRow.outlet == outlet) | (ArticleRow.source == outlet))
        )
    query = query.order_by(NarrativeRow.last_seen.desc(), NarrativeRow.id.desc()).limit(limit)
    return [_summary(r) for r in conn.execute(query).mappings()]


#: The columns a narrative's member article is read with (see :func:`member_article`).
MEMBER_COLUMNS = (
    ArticleRow.id,
    ArticleRow.title,
    ArticleRow.url,
    ArticleRow.outlet,
    ArticleRow.language,
    ArticleRow.published_at,
    ArticleRow.duplicate_of,
    NarrativeArticleRow.similarity,
)


def member_article(m: RowMapping, terms: tuple[str, ...] = ()) -> MemberArticle:
    """A member article from a row of :data:`MEMBER_COLUMNS`."""
    return MemberArticle(
        article_id=m["id"],
        title=m["title"],
        url=m["url"],
        outlet=m["outlet"],
        language=m["language"],
        published_at=m["published_at"],
        similarity=m["similarity"],
        duplicate_of=m["duplicate_of"],
        terms=terms,
    )


def narrative_detail(conn: Connection, narrative_id: int) -> NarrativeDetail | None:
    """One narrative with its timeline, outlets, passages and member articles."""
    row = conn.execute(_base().where(NarrativeRow.id == narrative_id)).mappings().first()
    if row is None:
        return None
    timeline = tuple(
        (r.day, r.article_count, r.outlet_count)
        for r in conn.execute(
            select(NarrativeDayRow)
            .where(NarrativeDayRow.narrative_id == narrative_id)
            .order_by(NarrativeDayRow.day)
        )
    )
    members_rows = (
        conn.execute(
            select(*MEMBER_COLUMNS)
            .join(NarrativeArticleRow, NarrativeArticleRow.article_id == ArticleRow.id)
            .where(NarrativeArticleRow.narrative_id == narrative_id)
            .order_by(ArticleRow.published_at, ArticleRow.id)
        )
        .mappings()
        .all()
    )
    ids = [m["id"] for m in members_rows]
    terms: dict[int, set[str]] = {}
    if ids:
        for article_id, term in conn.execute(
            select(MentionRow.article_id, MentionRow.term)
            .join(NarrativeArticleRow, NarrativeArticleRow.article_id == MentionRow.article_id)
            .where(NarrativeArticleRow.narrative_id == narrative_id)
            .distinct()
        ):
            terms.setdefault(article_id, set()).add(term)
    members = tuple(member_article(m, tuple(sorted(terms.get(m["id"], ())))) for m in members_rows)
    merged_from = tuple(
        r[0]
        for r in conn.execute(
            select(NarrativeMergeRow.from_id)
            .where(NarrativeMergeRow.into_id == narrative_id)
            .order_by(NarrativeMergeRow.id)
        )
    )
    passages = tuple(
        Passage(
            text=p["text"],
            article_id=p["article_id"],
            outlet=p["outlet"],
            published_at=dt.datetime.fromisoformat(p["published_at"]),
            language=p["language"],
        )
        for p in (row["passages"] or ())
    )
    return NarrativeDetail(
        summary=_summary(row),
        timeline=timeline,
        outlets=outlet_roles(members),
        passages=passages,
        members=members,
        merged_from=merged_from,
    )


def outlet_roles(members: Sequence[MemberArticle]) -> tuple[OutletRole, ...]:
    """Who carried a narrative first and who amplified it, with their near-copies."""
    by_outlet: dict[str, list[MemberArticle]] = {}
    for m in members:  # members come oldest first
        by_outlet.setdefault(m.outlet, []).append(m)
    ordered = sorted(by_outlet.items(), key=lambda kv: (kv[1][0].published_at, kv[0]))
    return tuple(
        OutletRole(
            outlet=name,
            first_at=items[0].published_at,
            articles=len(items),
            copies=sum(1 for m in items if m.duplicate_of is not None),
            role="first" if index == 0 else "amplified",
        )
        for index, (name, items) in enumerate(ordered)
    )
