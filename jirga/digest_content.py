"""What a daily digest says: frozen values, ready to render, with every feed string made plain.

:mod:`jirga.digest_model` builds a :class:`Digest`; :mod:`jirga.digest_render` turns it into
HTML, plain text and Markdown. Times are aware (local to the digest's time zone where a reader
sees them); text fields are one plain line each, already bounded by :class:`DigestLimits`.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from jirga.spikes import Spike
from jirga.types import OutletRole

_DAY = dt.timedelta(days=1)
FEATURED_STATES = ("new", "growing", "recurring")


@dataclass(frozen=True)
class DigestLimits:
    """Caps on what one digest shows, so that the email stays small and readable.

    Whatever a cap leaves out is counted and the digest says so; nothing is dropped silently.
    """

    max_narratives: int = 25  # narratives shown, most important first
    max_articles_per_narrative: int = 40
    max_other_articles: int = 100  # articles of the day in no narrative shown
    max_outlets: int = 30  # outlets in the day at a glance
    outlets_per_narrative: int = 12
    key_phrases: int = 6
    title_chars: int = 300
    passage_chars: int = 400
    phrase_chars: int = 60
    name_chars: int = 100
    error_chars: int = 200

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if value < 1:
                raise ValueError(f"DigestLimits.{name} must be at least 1")


@dataclass(frozen=True)
class Average:
    """A trailing mean: ``mean`` articles a day over the ``days`` days before the digest's day."""

    mean: float
    days: int


@dataclass(frozen=True)
class Volume:
    """One row of the day at a glance: a watch term, a language or an outlet."""

    key: str
    label: str
    count: int
    average: Average | None
    spike: Spike | None = None


@dataclass(frozen=True)
class SpikeNote:
    """A spike, named for the reader: what kind of series, and which one."""

    kind: str  # "term", "language", "outlet", "narrative"
    label: str
    spike: Spike


@dataclass(frozen=True)
class Glance:
    """The day at a glance: matching articles by watch term, language and outlet."""

    total: int
    average: Average | None
    near_copies: int
    terms: tuple[Volume, ...]
    languages: tuple[Volume, ...]
    outlets: tuple[Volume, ...]
    outlets_omitted: int
    spikes: tuple[SpikeNote, ...]


@dataclass(frozen=True)
class ArticleLine:
    """An article as the digest lists it: a plain title, a safe link or none, where and when."""

    id: int
    title: str
    url: str | None
    outlet: str
    language: str
    published: dt.datetime  # local time
    copy_of: int | None
    direction: str


@dataclass(frozen=True)
class Quote:
    """A cited passage: the sentence as printed, with its outlet and local date."""

    text: str
    outlet: str
    day: dt.date
    language: str
    direction: str


@dataclass(frozen=True)
class Trend:
    """Daily counts ending on the digest's day, oldest first, and the same said in words."""

    first_day: dt.date
    counts: tuple[int, ...]
    words: str

    @property
    def last_day(self) -> dt.date:
        return self.first_day + (len(self.counts) - 1) * _DAY


@dataclass(frozen=True)
class NarrativeItem:
    """One narrative as the digest shows it, with figures as of the end of the day."""

    id: int
    state: str
    label: str
    label_direction: str
    key_phrases: tuple[str, ...]
    headline: ArticleLine | None
    quotes: tuple[Quote, ...]
    outlets: tuple[OutletRole, ...]
    outlets_omitted: int
    first_seen: dt.date
    active_days: int
    articles_on_day: int
    outlets_on_day: int
    articles_to_date: int
    average: Average | None
    spike: Spike | None
    trend: Trend
    articles: tuple[ArticleLine, ...]
    articles_omitted: int

    @property
    def featured(self) -> bool:
        """New, growing and recurring narratives are shown in full."""
        return self.state in FEATURED_STATES


@dataclass(frozen=True)
class TrackedItem:
    """A tracked narrative's count on the day, against its average, and its trend."""

    id: str
    name: str
    description: str
    count: int
    average: Average | None
    spike: Spike | None
    trend: Trend


@dataclass(frozen=True)
class FeedProblem:
    """A feed that needs a look: gone, failing, backing off, or silent for longer than usual."""

    feed_id: str
    name: str
    kind: str  # "gone", "failing", "backing off", "silent"
    detail: str


@dataclass(frozen=True)
class Digest:
    """The daily digest of one local day."""

    day: dt.date
    timezone: str
    generated_at: dt.datetime
    glance: Glance
    narratives: tuple[NarrativeItem, ...]  # most important first
    narratives_omitted: int
    articles_omitted: int  # of the day, left out by the caps (narratives and lists)
    tracked: tuple[TrackedItem, ...]
    feed_problems: tuple[FeedProblem, ...]
    other_articles: tuple[ArticleLine, ...]  # of the day, in no narrative shown
    limits: DigestLimits = field(default_factory=DigestLimits)

    @property
    def empty(self) -> bool:
        """No article mentioning a watch term was published on the day."""
        return self.glance.total == 0

    def featured(self, state: str) -> tuple[NarrativeItem, ...]:
        """The narratives of one featured state, most important first."""
        return tuple(n for n in self.narratives if n.state == state)

    @property
    def also_active(self) -> tuple[NarrativeItem, ...]:
        """Narratives told on the day that are neither new, growing nor recurring."""
        return tuple(n for n in self.narratives if not n.featured)

    @property
    def subject(self) -> str:
        """The email's subject line: the day and what it holds, in numbers."""
        when = f"{self.day:%a %d %b %Y}"
        if self.empty:
            return f"jirga digest {when}: no matching articles"
        counts = Counter(n.state for n in self.narratives)
        parts = [f"{counts[s]} {s}" for s in FEATURED_STATES if counts[s]]
        told = ", ".join(parts) + " narratives" if parts else "no new narratives"
        return f"jirga digest {when}: {self.glance.total} articles, {told}"
