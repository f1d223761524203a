"""The per-document work of a poll: parse → normalise → match → fingerprint.

It runs inside the parser processes (both cores), so only the few entries that mention a watch
term travel back to the main process, already normalised and matched.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from jirga.dedup import DedupConfig, band_keys, signature
from jirga.match import Matcher
from jirga.normalise import (
    DEFAULT_MAX_TEXT_CHARS,
    PreparedText,
    normalise_entry,
    prepare_text,
    screening_text,
)
from jirga.parse import parse_feed, read_leniently
from jirga.searchtext import article_words
from jirga.types import MatchedArticle, Mention, ParsedFeed, RawEntry, Term
from jirga.unchanged import UnchangedEntries, code_fingerprint, scope_key


@dataclass(frozen=True)
class Caps:
    """Limits applied to every document."""

    max_entries: int = 200
    max_field_chars: int = 100_000
    max_entry_chars: int = 400_000
    context_window: int = 8  # words around a bare context alias (see jirga.match)
    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS


@dataclass(frozen=True)
class Source:
    """Where a document came from, as the normaliser needs to know it."""

    source: str  # feed id, or "import:<outlet>"
    feed_id: str | None
    outlet: str
    url: str | None
    language: str
    detect_language: bool  # the feed mixes languages: detect per entry


@dataclass(frozen=True)
class DocumentResult:
    """What one document yielded: its matching articles, and what went wrong."""

    matched: tuple[MatchedArticle, ...] = ()
    entries_seen: int = 0  # in the document, the unchanged ones included
    warnings: tuple[str, ...] = ()
    error: str | None = None
    # Tracking (see jirga.unchanged): the digests of the document's entries, to keep with the
    # feed's state (None: keep none), and how many entries were left out as unchanged.
    entry_hashes: bytes | None = None
    unchanged: int = 0


@dataclass
class Stages:
    """The stateful parts of the pipeline, built once per process."""

    terms: tuple[Term, ...]
    caps: Caps = field(default_factory=Caps)
    dedup: DedupConfig = field(default_factory=DedupConfig)

    def __post_init__(self) -> None:
        self.matcher = Matcher(self.terms, context_window=self.caps.context_window)
        # What an entry's outcome depends on besides its bytes and its feed's settings, hashed
        # once: written out for every document, the watch list alone cost more than the hash.
        self._scope = scope_key(code_fingerprint(), self.terms, self.caps, self.dedup)

    def process_document(
        self,
        body: bytes,
        headers: Mapping[str, str],
        source: Source,
        fetched_at: dt.datetime,
        seen: bytes | None = None,
    ) -> DocumentResult:
        """Parse one feed document and keep the entries that mention a watch term.

        ``seen``: the entry digests kept from the feed's last poll (``b""`` for none yet), to
        leave out the entries that have not changed since and to return the new digests
        (:mod:`jirga.unchanged`); None parses every entry and keeps no digests.
        """
        if seen is None:
            return self.process_parsed(self._parse(body, headers), source, fetched_at)
        key = scope_key(self._scope, source)
        skip = UnchangedEntries(seen, key, self.caps.max_entries)
        parsed = self._parse(body, headers, skip)
        hashes, unchanged = skip.hashes, skip.unchanged
        if parsed.error or read_leniently(parsed):
            # Entries told apart by their tags are only sure in well-formed XML: a broken
            # document is parsed whole, and its digests are not kept.
            if unchanged:
                parsed = self._parse(body, headers)
            hashes, unchanged = None, 0
        result = self.process_parsed(parsed, source, fetched_at)
        return dataclasses.replace(
            result,
            entries_seen=result.entries_seen + unchanged,
            entry_hashes=hashes,
            unchanged=unchanged,
        )

    def _parse(
        self, body: bytes, headers: Mapping[str, str], select: UnchangedEntries | None = None
    ) -> ParsedFeed:
        return parse_feed(
            body,
            headers,
            max_entries=self.caps.max_entries,
            max_field_chars=self.caps.max_field_chars,
            max_entry_chars=self.caps.max_entry_chars,
            select=select,
        )

    def process_parsed(
        self, parsed: ParsedFeed, source: Source, fetched_at: dt.datetime
    ) -> DocumentResult:
        """Normalise and match the entries of an already parsed document."""
        if parsed.error:
            return DocumentResult(warnings=parsed.warnings, error=parsed.error)
        # Most entries mention no watch term: a cheap text of each, screened for aliases, says
        # which might, and only those get their full text made (exactly as before: the screen
        # only skips entries whose full text the matcher would find nothing in). Texts are
        # matched a feed at a time: folding costs a fixed amount per call that is more than a
        # short entry's share of the work.
        limit = self.caps.max_text_chars
        screened = [screening_text(raw, max_text_chars=limit) for raw in parsed.entries]
        maybe = self.matcher.may_mention_many(screened)
        chosen = [raw for raw, m in zip(parsed.entries, maybe, strict=True) if m]
        prepared = [prepare_text(raw, max_text_chars=limit) for raw in chosen]
        found = self.matcher.find_many([p.text for p in prepared])
        matched = [
            self._matched(raw, text, mentions, source, fetched_at)
            for raw, text, mentions in zip(chosen, prepared, found, strict=True)
            if mentions
        ]
        # Entry-level warnings (an absurd date, a javascript: link) are summed per kind, so a
        # feed full of them says so once instead of once per entry.
        kinds = Counter(w for m in matched for w in m.article.warnings)
        entry_warnings = tuple(
            f"{n} {'entry' if n == 1 else 'entries'}: {w}" for w, n in sorted(kinds.items())
        )
        return DocumentResult(
            matched=tuple(matched),
            entries_seen=len(parsed.entries),
            warnings=parsed.warnings + entry_warnings,
        )

    def process_entry(
        self, raw: RawEntry, source: Source, fetched_at: dt.datetime
    ) -> MatchedArticle | None:
        """One entry: the matched article, or None when it mentions no watch term.

        The plain text is made and matched first; only the entries that mention a watch term
        (about one in ten) pay for the rest of normalisation.
        """
        prepared = prepare_text(raw, max_text_chars=self.caps.max_text_chars)
        mentions = self.matcher.find(prepared.text)
        if not mentions:
            return None
        return self._matched(raw, prepared, mentions, source, fetched_at)

    def _matched(
        self,
        raw: RawEntry,
        prepared: PreparedText,
        mentions: list[Mention],
        source: Source,
        fetched_at: dt.datetime,
    ) -> MatchedArticle:
        """The rest of normalisation, and the fingerprint, for an entry that mentions a term."""
        article = normalise_entry(
            raw,
            source=source.source,
            feed_id=source.feed_id,
            outlet=source.outlet,
            feed_url=source.url,
            # The feed's configured language wins over xml:lang, which CMSs often leave at
            # their install default; mixed feeds are detected entry by entry instead.
            language=source.language,
            detect=source.detect_language,
            fetched_at=fetched_at,
            max_text_chars=self.caps.max_text_chars,
            prepared=prepared,
        )
        sig = signature(article.text, self.dedup)
        keys = tuple(band_keys(sig, self.dedup)) if sig is not None else ()
        words = article_words(article.title, article.text)
        return MatchedArticle(article, tuple(mentions), keys, words)
