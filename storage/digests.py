"""Reads and writes of the daily digest: the rows a digest is made from, the digest as stored,
and the claim protocol that sends each digest to each recipient once.

Claim protocol on ``deliveries`` (every step one conditional UPDATE, so that two runs — on one
machine or on several — cannot both win):

``pending → sending``  :func:`claim`: only a pending row, or a ``sending`` row whose claim is
                       older than the caller's ``stale_before`` (its run died mid-send), is
                       taken; ``attempts`` goes up by one and is the claim's token.
``sending → sent``     :func:`mark_sent`, only with the token of the claim.
``sending → pending``  :func:`release`, only with the token, recording why the send failed.

Called by the facade inside its transactions.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Connection,
    RowMapping,
    Select,
    and_,
    func,
    or_,
    select,
    update,
)

from jirga.digest_data import (
    DayArticle,
    Delivery,
    DeliveryStatus,
    DigestSource,
    FeedActivity,
    NarrativeRecord,
    StoredDigest,
    TrackedRecord,
)
from jirga.digest_model import SILENCE_WINDOW, SPIKE_BASELINE_DAYS, TREND_DAYS, day_bounds
from jirga.types import FeedHealth, MemberArticle, Passage, Term, TrackedNarrative
from storage.chunked import chunks, terms_of
from storage.models import (
    ArticleRow,
    DeliveryRow,
    DigestRow,
    NarrativeArticleRow,
    NarrativeDayRow,
    NarrativeRow,
    TrackedDayRow,
)
from storage.narrative_queries import MEMBER_COLUMNS, member_article, outlet_roles
from storage.upsert import insert_ignore

_DAY = dt.timedelta(days=1)


# --- what a digest is made of ------------------------------------------------------------------


def _window_articles(conn: Connection, start: dt.datetime, end: dt.datetime) -> list[DayArticle]:
    rows = (
        conn.execute(
            select(
                ArticleRow.id,
                ArticleRow.title,
                ArticleRow.url,
                ArticleRow.outlet,
                ArticleRow.source,
                ArticleRow.feed_id,
                ArticleRow.language,
                ArticleRow.published_at,
                ArticleRow.duplicate_of,
                NarrativeArticleRow.narrative_id,
            )
            .outerjoin(NarrativeArticleRow, NarrativeArticleRow.article_id == ArticleRow.id)
            .where(ArticleRow.published_at >= start, ArticleRow.published_at < end)
            .order_by(ArticleRow.published_at, ArticleRow.id)
        )
        .mappings()
        .all()
    )
    terms = terms_of(conn, [r["id"] for r in rows])
    return [
        DayArticle(
            id=r["id"],
            title=r["title"],
            url=r["url"],
            outlet=r["outlet"],
            source=r["source"],
            feed_id=r["feed_id"],
            language=r["language"],
            published_at=r["published_at"],
            duplicate_of=r["duplicate_of"],
            terms=terms.get(r["id"], ()),
            narrative_id=r["narrative_id"],
        )
        for r in rows
    ]


def _passages(raw: Sequence[dict[str, object]] | None) -> tuple[Passage, ...]:
    return tuple(
        Passage(
            text=str(p["text"]),
            article_id=int(str(p["article_id"])),
            outlet=str(p["outlet"]),
            published_at=dt.datetime.fromisoformat(str(p["published_at"])),
            language=str(p["language"]),
        )
        for p in (raw or ())
    )


def _narratives(conn: Connection, day: dt.date, end: dt.datetime) -> list[NarrativeRecord]:
    """Narratives (not merged away) with articles on ``day``, with their figures up to ``end``."""
    rows = (
        conn.execute(
            select(*NarrativeRow.__table__.c)
            .join(NarrativeDayRow, NarrativeDayRow.narrative_id == NarrativeRow.id)
            .where(
                NarrativeDayRow.day == day,
                NarrativeDayRow.article_count > 0,
                NarrativeRow.merged_into.is_(None),
            )
            .order_by(NarrativeRow.id)
        )
        .mappings()
        .all()
    )
    ids = [r["id"] for r in rows]
    daily: dict[int, list[tuple[dt.date, int, int]]] = defaultdict(list)
    members: dict[int, list[MemberArticle]] = defaultdict(list)
    for chunk in chunks(ids):
        for nid, d, n, o in conn.execute(
            select(
                NarrativeDayRow.narrative_id,
                NarrativeDayRow.day,
                NarrativeDayRow.article_count,
                NarrativeDayRow.outlet_count,
            )
            .where(NarrativeDayRow.narrative_id.in_(chunk), NarrativeDayRow.day <= day)
            .order_by(NarrativeDayRow.narrative_id, NarrativeDayRow.day)
        ):
            daily[nid].append((d, n, o))
        for m in conn.execute(
            select(NarrativeArticleRow.narrative_id, *MEMBER_COLUMNS)
            .join(ArticleRow, ArticleRow.id == NarrativeArticleRow.article_id)
            .where(NarrativeArticleRow.narrative_id.in_(chunk), ArticleRow.published_at < end)
            .order_by(ArticleRow.published_at, ArticleRow.id)
        ).mappings():
            members[m["narrative_id"]].append(member_article(m))
    out = []
    for r in rows:
        items = members.get(r["id"], [])
        if not items:
            continue
        rep_id = r["representative_article_id"]
        rep = next((m for m in items if m.article_id == rep_id), None)
        out.append(
            NarrativeRecord(
                id=r["id"],
                label=r["label"],
                key_phrases=tuple(r["key_phrases"] or ()),
                representative_article_id=rep_id,
                representative=rep,
                passages=_passages(r["passages"]),
                daily=tuple(daily.get(r["id"], ())),
                outlets=outlet_roles(items),
                first_seen=items[0].published_at,
                article_count=len(items),
            )
        )
    return out


def _tracked(
    conn: Connection, tracked: Sequence[TrackedNarrative], first: dt.date, day: dt.date
) -> list[TrackedRecord]:
    counts: dict[str, list[tuple[dt.date, int]]] = defaultdict(list)
    ids = [t.id for t in tracked]
    if ids:
        for tid, d, n in conn.execute(
            select(TrackedDayRow.tracked_id, TrackedDayRow.day, TrackedDayRow.article_count)
            .where(
                TrackedDayRow.tracked_id.in_(ids),
                TrackedDayRow.day >= first,
                TrackedDayRow.day <= day,
            )
            .order_by(TrackedDayRow.tracked_id, TrackedDayRow.day)
        ):
            counts[tid].append((d, n))
    return [
        TrackedRecord(t.id, t.name, t.description, tuple(counts.get(t.id, ()))) for t in tracked
    ]


def _feed_activity(conn: Connection, since: dt.datetime, until: dt.datetime) -> list[FeedActivity]:
    times: dict[str, list[dt.datetime]] = defaultdict(list)
    for feed_id, published in conn.execute(
        select(ArticleRow.feed_id, ArticleRow.published_at)
        .where(
            ArticleRow.feed_id.is_not(None),
            ArticleRow.published_at >= since,
            ArticleRow.published_at < until,
        )
        .order_by(ArticleRow.feed_id, ArticleRow.published_at)
    ):
        times[str(feed_id)].append(published)
    return [FeedActivity(feed_id, tuple(ts)) for feed_id, ts in sorted(times.items())]


def source(
    conn: Connection,
    *,
    day: dt.date,
    tz: ZoneInfo,
    now: dt.datetime,
    feeds: Sequence[FeedHealth],
    tracked: Sequence[TrackedNarrative],
    terms: Sequence[Term],
) -> DigestSource:
    """Every row the digest of ``day`` is made from (see :class:`DigestSource`)."""
    window_first = day - max(SPIKE_BASELINE_DAYS, TREND_DAYS) * _DAY
    window_start, _ = day_bounds(window_first, tz)
    _, end = day_bounds(day, tz)
    oldest = conn.execute(select(func.min(ArticleRow.published_at))).scalar_one_or_none()
    return DigestSource(
        day=day,
        timezone=tz.key,
        generated_at=now,
        window_start=window_first,
        articles=tuple(_window_articles(conn, window_start, end)),
        watching_since=oldest.astimezone(tz).date() if oldest is not None else None,
        narratives=tuple(_narratives(conn, day, end)),
        tracked=tuple(_tracked(conn, tracked, window_first, day)),
        feeds=tuple(feeds),
        feed_activity=tuple(_feed_activity(conn, now - SILENCE_WINDOW, now)),
        term_names=tuple((t.id, t.name) for t in terms),
    )


# --- the digest as stored ----------------------------------------------------------------------


def _stored(row: RowMapping) -> StoredDigest:
    return StoredDigest(
        id=row["id"],
        day=row["day"],
        subject=row["subject"],
        html=row["html"],
        text=row["text"],
        markdown=row["markdown"],
        created_at=row["created_at"],
    )


def save_digest(
    conn: Connection,
    *,
    day: dt.date,
    subject: str,
    html: str,
    text: str,
    markdown: str,
    now: dt.datetime,
) -> StoredDigest:
    """Store the digest of ``day`` unless one is stored already; the stored one either way.

    The first digest stored for a day is the one every recipient gets, however often the day is
    rerun: a rerun never re-renders what was (or is being) sent.
    """
    conn.execute(
        insert_ignore(conn, DigestRow).values(
            day=day, subject=subject, html=html, text=text, markdown=markdown, created_at=now
        )
    )
    found = stored_digest(conn, day=day)
    assert found is not None
    return found


def stored_digest(
    conn: Connection, *, day: dt.date | None = None, digest_id: int | None = None
) -> StoredDigest | None:
    """The stored digest of a day, or with an id."""
    query = select(*DigestRow.__table__.c)
    query = query.where(DigestRow.day == day) if day is not None else query
    query = query.where(DigestRow.id == digest_id) if digest_id is not None else query
    row = conn.execute(query).mappings().first()
    return _stored(row) if row is not None else None


# --- deliveries --------------------------------------------------------------------------------


def _delivery(r: RowMapping) -> Delivery:
    return Delivery(
        id=r["id"],
        digest_id=r["digest_id"],
        day=r["day"],
        recipient=r["recipient"],
        message_id=r["message_id"],
        status=r["status"],
        attempts=r["attempts"],
        claimed_at=r["claimed_at"],
        sent_at=r["sent_at"],
        last_error=r["last_error"],
    )


def _deliveries() -> Select[Any]:
    return select(*DeliveryRow.__table__.c, DigestRow.day).join(
        DigestRow, DigestRow.id == DeliveryRow.digest_id
    )


def add_deliveries(conn: Connection, digest_id: int, recipients: Sequence[tuple[str, str]]) -> None:
    """A pending delivery for each ``(recipient, message id)`` that has none yet."""
    for recipient, message_id in recipients:
        conn.execute(
            insert_ignore(conn, DeliveryRow).values(
                digest_id=digest_id,
                recipient=recipient,
                message_id=message_id,
                status=DeliveryStatus.PENDING.value,
                attempts=0,
            )
        )


def deliveries(conn: Connection, digest_id: int) -> list[Delivery]:
    """Every delivery of one digest, by recipient."""
    query = _deliveries().where(DeliveryRow.digest_id == digest_id)
    rows = conn.execute(query.order_by(DeliveryRow.recipient)).mappings()
    return [_delivery(r) for r in rows]


def _claimable(stale_before: dt.datetime) -> ColumnElement[bool]:
    return or_(
        DeliveryRow.status == DeliveryStatus.PENDING.value,
        and_(
            DeliveryRow.status == DeliveryStatus.SENDING.value,
            DeliveryRow.claimed_at < stale_before,
        ),
    )


def deliveries_due(
    conn: Connection, *, since: dt.date, stale_before: dt.datetime
) -> list[Delivery]:
    """Deliveries of digests of ``since`` or later that a run may claim now, oldest day first."""
    query = _deliveries().where(DigestRow.day >= since, _claimable(stale_before))
    rows = conn.execute(query.order_by(DigestRow.day, DeliveryRow.id)).mappings()
    return [_delivery(r) for r in rows]


def claim(
    conn: Connection, delivery_id: int, *, now: dt.datetime, stale_before: dt.datetime
) -> int | None:
    """Take a delivery for sending; its new attempt number (the claim's token), or None when
    it is sent already or another run holds a live claim on it."""
    token = conn.execute(
        update(DeliveryRow)
        .where(DeliveryRow.id == delivery_id, _claimable(stale_before))
        .values(
            status=DeliveryStatus.SENDING.value,
            claimed_at=now,
            attempts=DeliveryRow.attempts + 1,
        )
        .returning(DeliveryRow.attempts)
    ).scalar_one_or_none()
    return int(token) if token is not None else None


def mark_sent(conn: Connection, delivery_id: int, *, attempt: int, now: dt.datetime) -> bool:
    """Record that the claim ``attempt`` was accepted by the server (or written to the outbox)."""
    done = conn.execute(
        update(DeliveryRow)
        .where(
            DeliveryRow.id == delivery_id,
            DeliveryRow.status == DeliveryStatus.SENDING.value,
            DeliveryRow.attempts == attempt,
        )
        .values(status=DeliveryStatus.SENT.value, sent_at=now, last_error=None)
    ).rowcount
    return bool(done)


def release(conn: Connection, delivery_id: int, *, attempt: int, error: str) -> bool:
    """Give the claim ``attempt`` back after a failed send; the next run tries again."""
    done = conn.execute(
        update(DeliveryRow)
        .where(
            DeliveryRow.id == delivery_id,
            DeliveryRow.status == DeliveryStatus.SENDING.value,
            DeliveryRow.attempts == attempt,
        )
        .values(status=DeliveryStatus.PENDING.value, last_error=error[:2000])
    ).rowcount
    return bool(done)
