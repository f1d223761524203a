"""SQLAlchemy 2 typed models: one declarative base, one MetaData with a naming convention.

The schema itself is created by the Alembic revisions in ``storage/migrations``; these models
describe it to the ORM and to Core queries. Times are stored as UTC (timezone-aware columns).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.coltypes import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BigInteger primary keys on PostgreSQL, but INTEGER on SQLite so they stay ROWID aliases.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")

#: Longest stable entry key kept; longer GUIDs are replaced by their hash.
ENTRY_KEY_MAX = 255
URL_MAX = 2048


class Base(DeclarativeBase):
    """The one base of every model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dt.datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[str]: JSON,
        list[dict[str, Any]]: JSON,
    }


class FeedRow(Base):
    """A watched feed and its fetch state."""

    __tablename__ = "feeds"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    # ``config_url`` is what feeds.toml says; ``url`` is what is fetched, which a confirmed
    # permanent redirect may have moved on.
    config_url: Mapped[str] = mapped_column(String(URL_MAX))
    url: Mapped[str] = mapped_column(String(URL_MAX))
    country: Mapped[str] = mapped_column(String(10))
    language: Mapped[str] = mapped_column(String(10))
    tags: Mapped[list[str]] = mapped_column(default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Fetch state. Validators are written only after the entries they cover are stored.
    etag: Mapped[str | None] = mapped_column(String(1024))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    body_hash: Mapped[str | None] = mapped_column(String(64))
    last_fetched_at: Mapped[dt.datetime | None]
    last_success_at: Mapped[dt.datetime | None]
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_errors: Mapped[int] = mapped_column(Integer, default=0)
    consecutive_gone: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None]
    gone: Mapped[bool] = mapped_column(Boolean, default=False)
    # A permanent redirect is adopted only when it is seen again on a later poll.
    redirect_url: Mapped[str | None] = mapped_column(String(URL_MAX))
    # What the last stored body's entries hashed to: at the next poll, those entries are not
    # parsed again (jirga.unchanged). Written with the validators, after the articles.
    entry_hashes: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class ArticleRow(Base):
    """A stored article: every one mentions at least one watch term."""

    __tablename__ = "articles"
    __table_args__ = (
        UniqueConstraint("source", "entry_key"),
        UniqueConstraint("canonical_url"),
        Index("ix_articles_published_at", "published_at"),
        Index("ix_articles_content_hash", "content_hash"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    # ``source`` is the feed id, or ``import:<outlet>`` for imported sources not in the feed list;
    # ``(source, entry_key)`` is the stable identity of an entry.
    source: Mapped[str] = mapped_column(String(200))
    feed_id: Mapped[str | None] = mapped_column(
        ForeignKey("feeds.id", ondelete="SET NULL"), index=True
    )
    outlet: Mapped[str] = mapped_column(String(300))
    entry_key: Mapped[str] = mapped_column(String(ENTRY_KEY_MAX))
    url: Mapped[str | None] = mapped_column(String(URL_MAX))
    canonical_url: Mapped[str | None] = mapped_column(String(URL_MAX))
    title: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(10))
    published_at: Mapped[dt.datetime]
    date_estimated: Mapped[bool] = mapped_column(Boolean, default=False)
    fetched_at: Mapped[dt.datetime]
    content_hash: Mapped[str] = mapped_column(String(64))
    duplicate_of: Mapped[int | None] = mapped_column(
        ForeignKey("articles.id", ondelete="SET NULL"), index=True
    )
    duplicate_similarity: Mapped[float | None] = mapped_column(Float)


class ArticleBandRow(Base):
    """MinHash LSH band keys of an article, for finding near-duplicates across outlets."""

    __tablename__ = "article_bands"
    __table_args__ = (Index("ix_article_bands_band_key", "band", "band_key"),)

    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    band: Mapped[int] = mapped_column(Integer, primary_key=True)
    band_key: Mapped[int] = mapped_column(BigInteger)


class MentionRow(Base):
    """One match of a watch-term alias in an article's text."""

    __tablename__ = "mentions"
    __table_args__ = (
        UniqueConstraint("article_id", "term", "start"),
        Index("ix_mentions_term", "term"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    term: Mapped[str] = mapped_column(String(100))
    alias: Mapped[str] = mapped_column(String(300))
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    snippet: Mapped[str] = mapped_column(Text)


class NarrativeRow(Base):
    """A narrative: articles telling the same story with the same framing."""

    __tablename__ = "narratives"
    __table_args__ = (Index("ix_narratives_last_seen", "last_seen"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    label: Mapped[str] = mapped_column(Text, default="")
    key_phrases: Mapped[list[str]] = mapped_column(default=list)
    representative_article_id: Mapped[int | None] = mapped_column(
        ForeignKey("articles.id", ondelete="SET NULL")
    )
    state: Mapped[str] = mapped_column(String(20), default="new")
    # Derived from the members and refreshed whenever they change; kept on the row so that
    # listing narratives is one indexed query.
    languages: Mapped[list[str]] = mapped_column(default=list)
    outlets: Mapped[list[str]] = mapped_column(default=list)  # in order of first appearance
    terms: Mapped[list[str]] = mapped_column(default=list)
    passages: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    first_seen: Mapped[dt.datetime]
    last_seen: Mapped[dt.datetime]
    active_days: Mapped[int] = mapped_column(Integer, default=1)
    article_count: Mapped[int] = mapped_column(Integer, default=0)
    merged_into: Mapped[int | None] = mapped_column(
        ForeignKey("narratives.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class NarrativeArticleRow(Base):
    """Membership of an article in a narrative; an article belongs to one narrative."""

    __tablename__ = "narrative_articles"
    __table_args__ = (UniqueConstraint("article_id"),)

    narrative_id: Mapped[int] = mapped_column(
        ForeignKey("narratives.id", ondelete="CASCADE"), primary_key=True
    )
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    similarity: Mapped[float] = mapped_column(Float)
    joined_at: Mapped[dt.datetime]


class NarrativeDayRow(Base):
    """How many articles and outlets a narrative had on one local day (``JIRGA_TIMEZONE``)."""

    __tablename__ = "narrative_days"

    narrative_id: Mapped[int] = mapped_column(
        ForeignKey("narratives.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    article_count: Mapped[int] = mapped_column(Integer)
    outlet_count: Mapped[int] = mapped_column(Integer)


class NarrativeMergeRow(Base):
    """A recorded merge of one narrative into another (nothing is rewritten silently)."""

    __tablename__ = "narrative_merges"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    from_id: Mapped[int] = mapped_column(ForeignKey("narratives.id", ondelete="CASCADE"))
    into_id: Mapped[int] = mapped_column(ForeignKey("narratives.id", ondelete="CASCADE"))
    similarity: Mapped[float] = mapped_column(Float)
    articles_moved: Mapped[int] = mapped_column(Integer, default=0)
    merged_at: Mapped[dt.datetime]


class ClusterStateRow(Base):
    """The streaming clusterer's state, saved with the assignments it produced (one row)."""

    __tablename__ = "cluster_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    config: Mapped[str] = mapped_column(Text)  # the settings it was built with, to detect changes
    state: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[dt.datetime]


class TrackedScoreRow(Base):
    """An article's score against one of the analyst's tracked narratives (above threshold)."""

    __tablename__ = "tracked_scores"

    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    tracked_id: Mapped[str] = mapped_column(String(100), primary_key=True, index=True)
    score: Mapped[float] = mapped_column(Float)


class TrackedDayRow(Base):
    """How many articles matched a tracked narrative on one local day."""

    __tablename__ = "tracked_days"

    tracked_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    article_count: Mapped[int] = mapped_column(Integer)


class DigestRow(Base):
    """The digest of one local day: what was rendered."""

    __tablename__ = "digests"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    day: Mapped[dt.date] = mapped_column(Date, unique=True)
    subject: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    markdown: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime]


class DeliveryRow(Base):
    """One digest to one recipient: claimed before sending, marked sent after."""

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("digest_id", "recipient"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    digest_id: Mapped[int] = mapped_column(ForeignKey("digests.id", ondelete="CASCADE"))
    recipient: Mapped[str] = mapped_column(String(320))
    message_id: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[dt.datetime | None]
    sent_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class LockRow(Base):
    """A named lease, so that two runs of the same flow never overlap."""

    __tablename__ = "locks"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
