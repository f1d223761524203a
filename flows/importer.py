"""Import of archives and backfills through the poll's own normalise → match → dedup → store path.

Two kinds of file: JSON Lines (one article a line) and saved feed documents (RSS/Atom). Imported
articles keep their original dates. A bad line is reported with its line number and skipped; the
other lines are imported.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jirga.config import LANGUAGES
from jirga.dates import parse_iso8601
from jirga.dedup import DedupConfig
from jirga.parse import parse_feed
from jirga.pipeline import Caps, Source, Stages
from jirga.types import Feed, MatchedArticle, RawEntry, Term
from storage.facade import Storage

IMPORT_BATCH = 500  # articles per transaction
FEED_SUFFIXES = (".xml", ".rss", ".atom", ".rdf")


@dataclass
class ImportReport:
    """What an import did."""

    lines: int = 0
    accepted: int = 0  # lines that were well-formed articles (matching or not)
    matched: int = 0
    new: int = 0
    duplicates: int = 0
    near_duplicates: int = 0
    problems: list[str] = field(default_factory=list)  # "file:line: reason"


def source_for(name: str, feeds: Mapping[str, Feed]) -> tuple[str, str | None, str]:
    """(source, feed id, outlet) for a ``source`` field: a feed id, or an outlet name."""
    if name in feeds:
        return name, name, feeds[name].name
    return f"import:{name}", None, name


def raw_from_json(record: Mapping[str, Any]) -> RawEntry:
    """A JSON Lines record as a raw entry; ``text`` wins over ``summary`` as the body."""
    published = record.get("published")
    parsed = parse_iso8601(published) if isinstance(published, str) else None
    body = record.get("text") or record.get("summary") or ""
    return RawEntry(
        guid=None,
        link=record.get("url"),
        title=str(record.get("title") or ""),
        summary_html=str(record.get("summary") or ""),
        content_html=str(body),
        published=published if isinstance(published, str) else None,
        published_parsed=parsed,
    )


def _check_record(record: object) -> str | None:
    if not isinstance(record, dict):
        return "not a JSON object"
    if not (record.get("title") or record.get("summary") or record.get("text")):
        return "no title, summary or text"
    if not isinstance(record.get("source"), str) or not record["source"].strip():
        return "no source (a feed id or an outlet name)"
    if "published" in record and not isinstance(record["published"], str):
        return "published is not an ISO 8601 string"
    if isinstance(record.get("published"), str) and parse_iso8601(record["published"]) is None:
        return f"published {record['published']!r} is not an ISO 8601 date"
    lang = record.get("language")
    if lang is not None and lang not in LANGUAGES:
        return f"unknown language {lang!r} (known: {', '.join(LANGUAGES)})"
    return None


class Importer:
    """Loads files of articles into storage."""

    def __init__(
        self,
        storage: Storage,
        feeds: Mapping[str, Feed],
        terms: tuple[Term, ...],
        *,
        caps: Caps,
        now: dt.datetime,
        dedup: DedupConfig | None = None,
    ) -> None:
        self.storage = storage
        self.feeds = feeds
        self.now = now
        self.dedup = dedup or DedupConfig()
        self.stages = Stages(terms, caps=caps, dedup=self.dedup)

    def import_path(self, path: Path, *, source: str | None = None) -> ImportReport:
        """Import one file: JSON Lines by default, a feed document by its suffix."""
        if path.suffix.lower() in FEED_SUFFIXES:
            return self._import_feed(path, source or path.stem, named=source is not None)
        return self._import_jsonl(path)

    def _store(self, batch: list[MatchedArticle], report: ImportReport) -> None:
        if not batch:
            return
        stored = self.storage.store_imported(batch, self.dedup)
        report.new += stored.new
        report.duplicates += stored.duplicates
        report.near_duplicates += stored.near_duplicates
        batch.clear()

    def _import_jsonl(self, path: Path) -> ImportReport:
        report = ImportReport()
        batch: list[MatchedArticle] = []
        for number, line in _lines(path, report):
            report.lines += 1
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                report.problems.append(
                    f"{path}:{number}: invalid JSON ({exc.msg} at column {exc.colno})"
                )
                continue
            problem = _check_record(record)
            if problem:
                report.problems.append(f"{path}:{number}: {problem}")
                continue
            report.accepted += 1
            src, feed_id, outlet = source_for(record["source"].strip(), self.feeds)
            feed = self.feeds.get(feed_id or "")
            raw = raw_from_json(record)
            language = record.get("language") or (feed.language if feed else None)
            item = self.stages.process_entry(
                raw,
                Source(
                    source=src,
                    feed_id=feed_id,
                    outlet=outlet,
                    url=feed.url if feed else None,
                    language=language or "en",
                    detect_language=language is None,
                ),
                self.now,
            )
            if item is None:
                continue
            report.matched += 1
            batch.append(item)
            if len(batch) >= IMPORT_BATCH:
                self._store(batch, report)
        self._store(batch, report)
        return report

    def _import_feed(self, path: Path, source_name: str, *, named: bool) -> ImportReport:
        report = ImportReport()
        src, feed_id, outlet = source_for(source_name, self.feeds)
        feed = self.feeds.get(feed_id or "")
        parsed = parse_feed(
            path.read_bytes(),
            {},
            max_entries=self.stages.caps.max_entries,
            max_field_chars=self.stages.caps.max_field_chars,
            max_entry_chars=self.stages.caps.max_entry_chars,
        )
        report.problems += [f"{path}: {w}" for w in parsed.warnings]
        if parsed.error:
            report.problems.append(f"{path}: {parsed.error}")
            return report
        language = (feed.language if feed else None) or _declared_language(parsed.language)
        result = self.stages.process_parsed(
            parsed,
            Source(
                source=src,
                feed_id=feed_id,
                # A name given with --source is the outlet; else the feed's own title says it.
                outlet=feed.name if feed else (outlet if named else parsed.title or outlet),
                url=feed.url if feed else None,
                language=language or "en",
                detect_language=language is None,
            ),
            self.now,
        )
        report.lines = report.accepted = result.entries_seen
        report.matched = len(result.matched)
        batch = list(result.matched)
        self._store(batch, report)
        return report


def _declared_language(code: str | None) -> str | None:
    if not code:
        return None
    short = code.split("-")[0].lower()
    return short if short in LANGUAGES else None


def _lines(path: Path, report: ImportReport) -> Iterator[tuple[int, str]]:
    """Non-blank lines with their numbers; undecodable bytes are reported, not fatal."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                report.problems.append(f"{path}:{number}: not UTF-8; bad bytes dropped")
                line = raw.decode("utf-8", errors="ignore")
            if line.strip():
                yield number, line
