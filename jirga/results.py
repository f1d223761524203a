"""What the database's query commands answer with: listed articles, search hits, daily counts and
the rows of a read-only SQL statement. Plain frozen values with UTC datetimes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ArticleRecord:
    """One stored article as a list shows it."""

    id: int
    published_at: dt.datetime
    outlet: str
    source: str  # the feed id, or "import:<outlet>"
    feed_id: str | None
    language: str
    title: str
    url: str | None
    terms: tuple[str, ...]  # watch-term ids it mentions, sorted
    narrative_id: int | None
    duplicate_of: int | None  # the first-seen original of a near-copy
    date_estimated: bool  # the feed's date was missing or absurd: the fetch time stands in


@dataclass(frozen=True)
class SearchHit:
    """An article found by a search, with its score (higher is better; None when the query had
    no words to rank by) and a snippet of its text with the hits marked."""

    article: ArticleRecord
    score: float | None
    snippet: str


@dataclass(frozen=True)
class DayCount:
    """How many articles one value of a dimension (a term, outlet, language or narrative) had on
    one local day."""

    day: dt.date
    key: str
    articles: int


@dataclass(frozen=True)
class SqlResult:
    """The rows of one read-only statement, at most the limit asked for."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    truncated: bool  # more rows were there than the limit
