"""Domain types shared by every stage: frozen values with timezone-aware UTC datetimes."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field


class AliasRule(enum.StrEnum):
    """How one alias of a watch term is allowed to match.

    ``acronym``   case-sensitive, whole token (``TTP`` but not ``ttp`` or ``TTPs``).
    ``word``      case-insensitive, whole word, in any script.
    ``context``   a whole word that only counts when one of the term's context words is near it
                  (the bare ``طالبان`` also means "students").
    """

    ACRONYM = "acronym"
    WORD = "word"
    CONTEXT = "context"


@dataclass(frozen=True)
class Feed:
    """A feed the user watches, as written in ``config/feeds.toml``."""

    id: str
    name: str
    url: str
    country: str
    language: str
    tags: tuple[str, ...] = ()
    enabled: bool = True


@dataclass(frozen=True)
class Alias:
    """One spelling of a watch term and the rule it matches by."""

    text: str
    rule: AliasRule


@dataclass(frozen=True)
class Term:
    """A watch term: every article that mentions one is stored."""

    id: str
    name: str
    aliases: tuple[Alias, ...]
    context: tuple[str, ...] = ()


@dataclass(frozen=True)
class TrackedNarrative:
    """A narrative the analyst follows by name, from ``config/narratives.toml``."""

    id: str
    name: str
    description: str
    phrases: tuple[str, ...] = field(default_factory=tuple)
    # Ids of watch terms: an article is scored against this narrative only when it mentions one of
    # them. Empty: every stored article is scored.
    terms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Watchlist:
    """Everything jirga watches: feeds, terms and tracked narratives."""

    feeds: tuple[Feed, ...]
    terms: tuple[Term, ...]
    narratives: tuple[TrackedNarrative, ...]


# --- poll stages -------------------------------------------------------------------------------


class FetchOutcome(enum.StrEnum):
    """What one fetch of one feed came to."""

    OK = "ok"  # a body to parse
    NOT_MODIFIED = "not_modified"  # 304, or a body byte-identical to the last one
    RETRY_LATER = "retry_later"  # 429/503 with Retry-After: not a failure
    GONE = "gone"  # 410
    ERROR = "error"  # anything else: network, policy, HTTP status, size, deadline


@dataclass(frozen=True)
class FeedState:
    """What jirga remembers of a feed between polls (the conditional-GET validators and health)."""

    feed_id: str
    url: str
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    consecutive_errors: int = 0
    consecutive_gone: int = 0
    next_attempt_at: dt.datetime | None = None
    gone: bool = False
    redirect_url: str | None = None
    last_success_at: dt.datetime | None = None
    last_error: str | None = None
    # The digests of the entries of the last body stored (see jirga.unchanged), or None.
    entry_hashes: bytes | None = None


@dataclass(frozen=True)
class FetchResult:
    """The answer to one fetch, with everything the poll needs to update the feed's state."""

    outcome: FetchOutcome
    url: str  # the URL asked for
    final_url: str  # after redirects
    status: int | None = None
    body: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    retry_after: dt.datetime | None = None
    permanent_redirect: str | None = None  # target of a 301/308 chain, to confirm next time
    error: str | None = None
    elapsed: float = 0.0


@dataclass(frozen=True)
class RawEntry:
    """One feed entry as the parser found it: untrusted text, not yet normalised."""

    guid: str | None
    link: str | None
    title: str
    summary_html: str
    content_html: str
    published: str | None  # the date as the feed wrote it
    published_parsed: dt.datetime | None  # feedparser's reading of it, UTC, or None
    author: str | None = None
    language: str | None = None  # xml:lang or the feed's language, when declared


@dataclass(frozen=True)
class ParsedFeed:
    """A parsed feed document: its entries (newest first, capped) and what went wrong."""

    entries: tuple[RawEntry, ...]
    title: str | None = None
    version: str | None = None  # feedparser's format name, e.g. "rss20", "atom10"
    language: str | None = None
    warnings: tuple[str, ...] = ()
    error: str | None = None  # set when nothing usable could be parsed


@dataclass(frozen=True)
class Mention:
    """One match of a watch-term alias: its place in the article's plain text, and its sentence."""

    term: str
    alias: str
    start: int
    end: int
    snippet: str


@dataclass(frozen=True)
class Article:
    """A normalised entry, ready to be matched, deduplicated and stored."""

    source: str  # feed id, or "import:<outlet>"
    feed_id: str | None
    outlet: str
    entry_key: str
    url: str | None
    canonical_url: str | None
    title: str
    text: str  # plain text: title and body, for matching and clustering
    html: str  # sanitized HTML for display
    language: str
    published_at: dt.datetime
    date_estimated: bool
    fetched_at: dt.datetime
    content_hash: str
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class MatchedArticle:
    """An article that mentions a watch term, with its mentions and near-duplicate band keys."""

    article: Article
    mentions: tuple[Mention, ...]
    band_keys: tuple[tuple[int, int], ...] = ()
    # The search words of the title and of the body, each space-joined
    # (jirga.searchtext.article_words), made where the article was: the parser processes fold
    # on both cores, and the store, which runs in one, need not fold again. None: not made yet.
    search_words: tuple[str, str] | None = None


@dataclass(frozen=True)
class FeedHealth:
    """A feed's health as ``jirga feeds status`` shows it."""

    feed_id: str
    name: str
    enabled: bool
    url: str
    last_fetched_at: dt.datetime | None
    last_success_at: dt.datetime | None
    last_status: int | None
    consecutive_errors: int
    last_error: str | None
    next_attempt_at: dt.datetime | None
    gone: bool
    redirect_url: str | None
    articles: int


# --- narratives ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredArticle:
    """An article as the narratives stage reads it back from storage."""

    id: int
    source: str
    outlet: str
    url: str | None
    title: str
    text: str
    language: str
    published_at: dt.datetime
    duplicate_of: int | None
    terms: tuple[str, ...]


@dataclass(frozen=True)
class Passage:
    """A sentence that represents a narrative, quoted with where and when it appeared."""

    text: str
    article_id: int
    outlet: str
    published_at: dt.datetime
    language: str


@dataclass(frozen=True)
class NarrativeFacts:
    """What the narratives stage computed for one narrative, to be stored on its row."""

    id: int
    label: str
    key_phrases: tuple[str, ...]
    representative_article_id: int | None
    state: str
    first_seen: dt.datetime
    last_seen: dt.datetime
    active_days: int
    article_count: int
    languages: tuple[str, ...]
    outlets: tuple[str, ...]
    terms: tuple[str, ...]
    passages: tuple[Passage, ...]
    daily: tuple[tuple[dt.date, int, int], ...]  # (local day, articles, outlets)


@dataclass(frozen=True)
class Membership:
    """One article assigned to one narrative."""

    article_id: int
    narrative_id: int
    similarity: float


@dataclass(frozen=True)
class NarrativeMerge:
    """Two narratives found to be one: ``from_id``'s articles now belong to ``into_id``."""

    from_id: int
    into_id: int
    similarity: float
    at: dt.datetime


@dataclass(frozen=True)
class NarrativeSummary:
    """A narrative as listed: its label, state, span, reach and how to find its articles."""

    id: int
    label: str
    key_phrases: tuple[str, ...]
    state: str
    first_seen: dt.datetime
    last_seen: dt.datetime
    active_days: int
    article_count: int
    languages: tuple[str, ...]
    outlets: tuple[str, ...]
    terms: tuple[str, ...]
    representative_article_id: int | None
    representative_title: str | None
    representative_url: str | None
    merged_into: int | None


@dataclass(frozen=True)
class OutletRole:
    """How one outlet carried a narrative: first, then amplifying, with its near-copies."""

    outlet: str
    first_at: dt.datetime
    articles: int
    copies: int  # of these, near-copies of another outlet's article
    role: str  # "first" or "amplified"


@dataclass(frozen=True)
class MemberArticle:
    """A member article of a narrative, with what links it to the rest."""

    article_id: int
    title: str
    url: str | None
    outlet: str
    language: str
    published_at: dt.datetime
    similarity: float
    duplicate_of: int | None
    terms: tuple[str, ...]


@dataclass(frozen=True)
class NarrativeDetail:
    """Everything about one narrative: summary, timeline, outlets, passages and members."""

    summary: NarrativeSummary
    timeline: tuple[tuple[dt.date, int, int], ...]  # (local day, articles, outlets)
    outlets: tuple[OutletRole, ...]
    passages: tuple[Passage, ...]
    members: tuple[MemberArticle, ...]
    merged_from: tuple[int, ...]
