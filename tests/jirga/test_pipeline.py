"""The per-document pipeline: screening entries before making their text changes nothing.

``Stages.process_parsed`` makes the full text only of the entries whose cheap screening text
holds an alias. The reference here makes every entry's text and matches them all, as the
pipeline did before it screened; the two must give equal results on every document at hand:
the fixtures, generated feeds in four languages, entries written to hide an alias behind
markup, references and length caps, and the real feeds and article collections of the corpus.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from bench.feedgen import feed_body, feed_specs
from jirga import pipeline
from jirga.config import load_terms
from jirga.normalise import DEFAULT_MAX_TITLE_CHARS, prepare_text
from jirga.parse import parse_feed
from jirga.pipeline import DocumentResult, Source, Stages
from jirga.types import ParsedFeed, RawEntry

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "feeds"
NOW = dt.datetime(2026, 2, 20, 12, 0, tzinfo=dt.UTC)
SOURCE = Source("feed", "feed", "Outlet", "https://outlet.example/rss", "en", False)
MIXED = Source("mixed", "mixed", "Mixed", "https://mixed.example/rss", "en", True)


@pytest.fixture(scope="module")
def stages() -> Stages:
    """The pipeline over the shipped watch list."""
    return Stages(load_terms(ROOT / "config" / "watchlist.toml"))


def reference(stages: Stages, parsed: ParsedFeed, source: Source) -> DocumentResult:
    """process_parsed as it was before screening: every entry's full text, all matched."""
    limit = stages.caps.max_text_chars
    prepared = [prepare_text(raw, max_text_chars=limit) for raw in parsed.entries]
    found = stages.matcher.find_many([p.text for p in prepared])
    matched = tuple(
        stages._matched(raw, text, mentions, source, NOW)
        for raw, text, mentions in zip(parsed.entries, prepared, found, strict=True)
        if mentions
    )
    screened = stages.process_parsed(parsed, source, NOW)
    # Warnings come from the matched entries only, so they are compared with them.
    return DocumentResult(matched, len(parsed.entries), screened.warnings, screened.error)


def same_as_reference(stages: Stages, parsed: ParsedFeed, source: Source = SOURCE) -> int:
    """Assert the screened pipeline gives the reference's result; return how many matched."""
    got = stages.process_parsed(parsed, source, NOW)
    assert got == reference(stages, parsed, source)
    return len(got.matched)


def entry(title: str, summary: str = "", content: str = "", n: int = 0) -> RawEntry:
    return RawEntry(f"id-{n}", f"https://outlet.example/{n}", title, summary, content, None, NOW)


@pytest.mark.parametrize("name", sorted(p.name for p in DATA.glob("*.xml")))
def test_fixture_feeds(stages: Stages, name: str) -> None:
    same_as_reference(stages, parse_feed((DATA / name).read_bytes()))


@pytest.mark.parametrize("spec", feed_specs(8), ids=lambda s: s.id)
def test_generated_feeds(stages: Stages, spec: object) -> None:
    parsed = parse_feed(feed_body(spec, 50))  # type: ignore[arg-type]
    assert same_as_reference(stages, parsed, MIXED) > 0


# Entries whose alias only shows once markup, references or caps are dealt with: the screen
# must let each of them through (those it cannot read are passed on whole).
HIDDEN: list[tuple[str, ...]] = [
    ("Tal<b>iban</b> talks", ""),
    ("x", "<p>Zalmay</p><p>Khalilzad</p>"),
    ("x", "<p>the &#84;TP said</p>"),
    ("x", "the &amp;#84;TP said"),  # escaped twice
    ("x", "&lt;p&gt;Tal&lt;b&gt;iban&lt;/b&gt;"),  # markup escaped once more
    ("x", "a &lt; b, said the TTP"),
    ("x", "Q&amp;A with the TTP"),
    ("x", "", "<div>طال<span>بان</span> د کابل</div>"),  # in the content
    ("x", "<p>خلیل\u200cزاد</p>"),
    ("x", "TTP\u00a0chief"),
    ("x" * (DEFAULT_MAX_TITLE_CHARS - 4) + " TTPs", ""),  # cut to "... TTP", which matches
    ("نو", "<p>" + "ټي ټي پي " * 3 + "</p>"),
    ("nothing", "<p>to see</p>"),
]


def test_entries_that_hide_an_alias(stages: Stages) -> None:
    entries = tuple(entry(*fields, n=n) for n, fields in enumerate(HIDDEN))
    assert same_as_reference(stages, ParsedFeed(entries), MIXED) == len(HIDDEN) - 1


def test_screening_skips_the_text_of_most_entries(
    stages: Stages, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[RawEntry] = []
    real = pipeline.prepare_text

    def counted(raw: RawEntry, **kwargs: int) -> object:
        made.append(raw)
        return real(raw, **kwargs)

    monkeypatch.setattr(pipeline, "prepare_text", counted)
    parsed = parse_feed(feed_body(feed_specs(2)[1], 50))
    result = stages.process_parsed(parsed, SOURCE, NOW)
    assert result.matched
    assert len(made) < len(parsed.entries) / 2


def test_real_feeds(stages: Stages, shared_dir: Path) -> None:
    files = sorted((shared_dir / "corpus" / "real-feeds").glob("*.xml"))
    assert files
    matched = sum(same_as_reference(stages, parse_feed(f.read_bytes())) for f in files)
    assert matched > 0


def test_article_collections(stages: Stages, shared_dir: Path) -> None:
    matched = 0
    for path in sorted((shared_dir / "corpus" / "articles").glob("*/*.json")):
        records = json.loads(path.read_text(encoding="utf-8"))
        entries = tuple(
            entry(r.get("title") or "", r.get("description") or "", r.get("content") or "", n)
            for n, r in enumerate(records)
        )
        matched += same_as_reference(stages, ParsedFeed(entries), MIXED)
    assert matched > 0
