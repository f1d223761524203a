"""Reads and writes of the narratives stage: members, daily counts, merges, tracked scores, and
the clusterer's saved state. Called by the facade inside its transactions."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence

from sqlalchemy import Connection, RowMapping, delete, func, insert, select, update

from jirga.types import Membership, NarrativeFacts, NarrativeMerge, StoredArticle
from storage.chunked import chunks, terms_of
from storage.models import (
    ArticleRow,
    ClusterStateRow,
    NarrativeArticleRow,
    NarrativeDayRow,
    NarrativeMergeRow,
    NarrativeRow,
    TrackedDayRow,
    TrackedScoreRow,
)

_ARTICLE_COLUMNS = (
    ArticleRow.id,
    ArticleRow.source,
    ArticleRow.outlet,
    ArticleRow.url,
    ArticleRow.title,
    ArticleRow.text,
    ArticleRow.language,
    ArticleRow.published_at,
    ArticleRow.duplicate_of,
)


def _articles(conn: Connection, rows: Sequence[RowMapping]) -> list[StoredArticle]:
    terms = terms_of(conn, [r["id"] for r in rows])
    return [
        StoredArticle(
            id=r["id"],
            source=r["source"],
            outlet=r["outlet"],
            url=r["url"],
            title=r["title"],
            text=r["text"],
            language=r["language"],
            published_at=r["published_at"],
            duplicate_of=r["duplicate_of"],
            terms=terms.get(r["id"], ()),
        )
        for r in rows
    ]


def unclustered(
    conn: Connection, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> list[StoredArticle]:
    """Articles in no narrative yet, oldest first (published, then id: a deterministic order)."""
    assigned = select(NarrativeArticleRow.article_id).where(
        NarrativeArticleRow.article_id == ArticleRow.id
    )
    query = select(*_ARTICLE_COLUMNS).where(~assigned.exists())
    if since is not None:
        query = query.where(ArticleRow.published_at >= since)
    if until is not None:
        query = query.where(ArticleRow.published_at < until)
    rows = conn.execute(query.order_by(ArticleRow.published_at, ArticleRow.id)).mappings().all()
    return _articles(conn, rows)


def articles_between(
    conn: Connection, since: dt.datetime | None, until: dt.datetime | None
) -> list[StoredArticle]:
    """Every article published in ``[since, until)``, oldest first."""
    query = select(*_ARTICLE_COLUMNS)
    if since is not None:
        query = query.where(ArticleRow.published_at >= since)
    if until is not None:
        query = query.where(ArticleRow.published_at < until)
    rows = conn.execute(query.order_by(ArticleRow.published_at, ArticleRow.id)).mappings().all()
    return _articles(conn, rows)


def members(conn: Connection, narrative_ids: Sequence[int]) -> dict[int, list[StoredArticle]]:
    """The member articles of each narrative, oldest first."""
    out: dict[int, list[StoredArticle]] = defaultdict(list)
    for chunk in chunks(list(narrative_ids)):
        rows = (
            conn.execute(
                select(NarrativeArticleRow.narrative_id, *_ARTICLE_COLUMNS)
                .join(ArticleRow, ArticleRow.id == NarrativeArticleRow.article_id)
                .where(NarrativeArticleRow.narrative_id.in_(chunk))
                .order_by(ArticleRow.published_at, ArticleRow.id)
            )
            .mappings()
            .all()
        )
        for row, article in zip(rows, _articles(conn, rows), strict=True):
            out[row["narrative_id"]].append(article)
    return dict(out)


def narratives_of(conn: Connection, article_ids: Sequence[int]) -> dict[int, int]:
    """Article id → narrative id, for the given articles that have one."""
    out: dict[int, int] = {}
    for chunk in chunks(list(article_ids)):
        rows = conn.execute(
            select(NarrativeArticleRow.article_id, NarrativeArticleRow.narrative_id).where(
                NarrativeArticleRow.article_id.in_(chunk)
            )
        )
        # Rows, not the result: dict() would take a result (it has keys()) for a mapping.
        out.update((article, narrative) for article, narrative in rows)
    return out


def live_narratives(conn: Connection, seen_since: dt.datetime) -> list[int]:
    """Narratives (not merged away) seen since a time: the ones whose state can still change."""
    rows = conn.execute(
        select(NarrativeRow.id)
        .where(NarrativeRow.last_seen >= seen_since, NarrativeRow.merged_into.is_(None))
        .order_by(NarrativeRow.id)
    )
    return [r[0] for r in rows]


def next_narrative_id(conn: Connection) -> int:
    """The id the next new narrative gets."""
    return int(conn.execute(select(func.coalesce(func.max(NarrativeRow.id), 0))).scalar_one()) + 1


def write_memberships(
    conn: Connection,
    memberships: Sequence[Membership],
    facts: Sequence[NarrativeFacts],
    merges: Sequence[NarrativeMerge],
    now: dt.datetime,
) -> None:
    """Create the narratives that are new, then add the memberships.

    Every narrative an assignment or a merge names gets a row, including one that was opened and
    merged away within the same run (its row records the merge)."""
    existing = set()
    ids = sorted(
        {f.id for f in facts}
        | {m.narrative_id for m in memberships}
        | {m.from_id for m in merges}
        | {m.into_id for m in merges}
    )
    for chunk in chunks(ids):
        existing |= {
            r[0] for r in conn.execute(select(NarrativeRow.id).where(NarrativeRow.id.in_(chunk)))
        }
    spans = {f.id: (f.first_seen, f.last_seen) for f in facts}
    for nid in ids:
        if nid not in existing:
            first, last = spans.get(nid, (now, now))
            conn.execute(
                insert(NarrativeRow).values(
                    id=nid, first_seen=first, last_seen=last, created_at=now, updated_at=now
                )
            )
    if memberships:
        conn.execute(
            insert(NarrativeArticleRow),
            [
                {
                    "narrative_id": m.narrative_id,
                    "article_id": m.article_id,
                    "similarity": m.similarity,
                    "joined_at": now,
                }
                for m in memberships
            ],
        )


def write_merges(conn: Connection, merges: Sequence[NarrativeMerge]) -> None:
    """Move each merged narrative's articles to the one it joined, and record the merge."""
    for m in merges:
        moved = conn.execute(
            update(NarrativeArticleRow)
            .where(NarrativeArticleRow.narrative_id == m.from_id)
            .values(narrative_id=m.into_id)
        ).rowcount
        conn.execute(
            insert(NarrativeMergeRow).values(
                from_id=m.from_id,
                into_id=m.into_id,
                similarity=m.similarity,
                articles_moved=moved or 0,
                merged_at=m.at,
            )
        )
        conn.execute(
            update(NarrativeRow)
            .where(NarrativeRow.id == m.from_id)
            .values(merged_into=m.into_id, state="merged", article_count=0, updated_at=m.at)
        )
        conn.execute(delete(NarrativeDayRow).where(NarrativeDayRow.narrative_id == m.from_id))


def write_facts(conn: Connection, facts: Sequence[NarrativeFacts], now: dt.datetime) -> None:
    """Store what was computed for each narrative, replacing its daily counts."""
    for f in facts:
        conn.execute(
            update(NarrativeRow)
            .where(NarrativeRow.id == f.id)
            .values(
                label=f.label,
                key_phrases=list(f.key_phrases),
                representative_article_id=f.representative_article_id,
                state=f.state,
                first_seen=f.first_seen,
                last_seen=f.last_seen,
                active_days=f.active_days,
                article_count=f.article_count,
                languages=list(f.languages),
                outlets=list(f.outlets),
                terms=list(f.terms),
                passages=[
                    {
                        "text": p.text,
                        "article_id": p.article_id,
                        "outlet": p.outlet,
                        "published_at": p.published_at.isoformat(),
                        "language": p.language,
                    }
                    for p in f.passages
                ],
                updated_at=now,
            )
        )
        conn.execute(delete(NarrativeDayRow).where(NarrativeDayRow.narrative_id == f.id))
        if f.daily:
            conn.execute(
                insert(NarrativeDayRow),
                [
                    {"narrative_id": f.id, "day": day, "article_count": n, "outlet_count": o}
                    for day, n, o in f.daily
                ],
            )


def write_states(conn: Connection, states: Mapping[int, str], now: dt.datetime) -> None:
    """Update only the lifecycle state of narratives whose members did not change."""
    for narrative_id, state in states.items():
        conn.execute(
            update(NarrativeRow)
            .where(NarrativeRow.id == narrative_id, NarrativeRow.state != state)
            .values(state=state, updated_at=now)
        )


def daily_counts(conn: Connection, narrative_ids: Sequence[int]) -> dict[int, dict[dt.date, int]]:
    """Stored daily article counts per narrative."""
    out: dict[int, dict[dt.date, int]] = defaultdict(dict)
    for chunk in chunks(list(narrative_ids)):
        rows = conn.execute(
            select(
                NarrativeDayRow.narrative_id, NarrativeDayRow.day, NarrativeDayRow.article_count
            ).where(NarrativeDayRow.narrative_id.in_(chunk))
        )
        for nid, day, n in rows:
            out[nid][day] = n
    return dict(out)


def write_tracked(
    conn: Connection,
    scores: Sequence[tuple[int, str, float]],
    days: Mapping[tuple[str, dt.date], int],
) -> None:
    """Insert tracked-narrative scores and add to the tracked narratives' daily counts."""
    if scores:
        conn.execute(
            insert(TrackedScoreRow),
            [{"article_id": a, "tracked_id": t, "score": s} for a, t, s in scores],
        )
    for (tracked_id, day), n in sorted(days.items()):
        current = conn.execute(
            select(TrackedDayRow.article_count).where(
                TrackedDayRow.tracked_id == tracked_id, TrackedDayRow.day == day
            )
        ).scalar_one_or_none()
        if current is None:
            conn.execute(
                insert(TrackedDayRow).values(tracked_id=tracked_id, day=day, article_count=n)
            )
        else:
            conn.execute(
                update(TrackedDayRow)
                .where(TrackedDayRow.tracked_id == tracked_id, TrackedDayRow.day == day)
                .values(article_count=current + n)
            )


def load_state(conn: Connection) -> tuple[str, bytes] | None:
    """The saved clusterer state and the config it was made with."""
    row = conn.execute(select(ClusterStateRow.config, ClusterStateRow.state)).first()
    return (row.config, bytes(row.state)) if row else None


def save_state(conn: Connection, config: str, state: bytes, now: dt.datetime) -> None:
    """Replace the saved clusterer state."""
    conn.execute(delete(ClusterStateRow))
    conn.execute(insert(ClusterStateRow).values(id=1, config=config, state=state, updated_at=now))


def reset(conn: Connection) -> None:
    """Forget every narrative, tracked score and the clusterer state (for a rebuild)."""
    for model in (
        NarrativeMergeRow,
        NarrativeDayRow,
        NarrativeArticleRow,
        TrackedDayRow,
        TrackedScoreRow,
        ClusterStateRow,
    ):
        conn.execute(delete(model))
    conn.execute(update(NarrativeRow).values(merged_into=None, representative_article_id=None))
    conn.execute(delete(NarrativeRow))
