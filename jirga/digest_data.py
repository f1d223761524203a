"""What storage hands the digest for one local day: plain rows as frozen values, nothing decided.

:mod:`jirga.digest_model` turns a :class:`DigestSource` into the digest's content; every figure it
shows is counted from these values, and each of them is one row (or a count of rows) of the
database, so a reader can check any number with a query.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from jirga.types import FeedHealth, MemberArticle, OutletRole, Passage


@dataclass(frozen=True)
class DayArticle:
    """A stored article published in the digest's window, with its terms and its narrative."""

    id: int
    title: str
    url: str | None
    outlet: str
    source: str
    feed_id: str | None
    language: str
    published_at: dt.datetime
    duplicate_of: int | None
    terms: tuple[str, ...]
    narrative_id: int | None


@dataclass(frozen=True)
class NarrativeRecord:
    """A narrative active on the day, as stored, with its history up to the end of the day.

    ``daily`` holds the ``narrative_days`` rows up to the day (local day, articles, outlets).
    ``outlets``, ``first_seen`` and ``article_count`` are counted over the member articles
    published before the end of the day, so a digest of a past day shows that day's figures;
    ``representative`` is the stored representative article when it was published by then.
    """

    id: int
    label: str
    key_phrases: tuple[str, ...]
    representative_article_id: int | None
    representative: MemberArticle | None
    passages: tuple[Passage, ...]
    daily: tuple[tuple[dt.date, int, int], ...]
    outlets: tuple[OutletRole, ...]
    first_seen: dt.datetime
    article_count: int


@dataclass(frozen=True)
class TrackedRecord:
    """A tracked narrative of ``config/narratives.toml`` and its ``tracked_days`` counts."""

    id: str
    name: str
    description: str
    daily: tuple[tuple[dt.date, int], ...]


@dataclass(frozen=True)
class FeedActivity:
    """When a feed's stored articles were published, in the weeks before the digest."""

    feed_id: str
    published: tuple[dt.datetime, ...]  # oldest first


@dataclass(frozen=True)
class DigestSource:
    """Everything the digest of ``day`` is made from.

    ``articles`` covers ``window_start`` (the start of the baseline days) to the end of ``day``;
    ``watching_since`` is the local day of the oldest stored article, before which a series has
    no history at all (so a young database is not compared with days it never watched).
    """

    day: dt.date
    timezone: str
    generated_at: dt.datetime
    window_start: dt.date
    articles: tuple[DayArticle, ...]
    watching_since: dt.date | None
    narratives: tuple[NarrativeRecord, ...]
    tracked: tuple[TrackedRecord, ...]
    feeds: tuple[FeedHealth, ...]
    feed_activity: tuple[FeedActivity, ...]
    term_names: tuple[tuple[str, str], ...] = ()  # (term id, name) from the watchlist


# --- what was sent -----------------------------------------------------------------------------


class DeliveryStatus(enum.StrEnum):
    """Where one delivery stands. ``sending`` is a claim: a run took it and has not yet recorded
    the outcome (it is still sending, or it died doing so)."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"


@dataclass(frozen=True)
class StoredDigest:
    """A digest as stored: what it said (HTML with its charts inlined, text, Markdown)."""

    id: int
    day: dt.date
    subject: str
    html: str
    text: str
    markdown: str
    created_at: dt.datetime


@dataclass(frozen=True)
class Delivery:
    """One digest to one recipient."""

    id: int
    digest_id: int
    day: dt.date
    recipient: str
    message_id: str
    status: str
    attempts: int
    claimed_at: dt.datetime | None
    sent_at: dt.datetime | None
    last_error: str | None
