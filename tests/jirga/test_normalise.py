"""normalise_entry turns hostile raw entries into clean articles; entry keys and content hashes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any

import pytest

from jirga.normalise import MAX_KEY_CHARS, content_hash, entry_key, normalise_entry
from jirga.types import Article, RawEntry

UTC = dt.UTC
FETCHED = dt.datetime(2025, 3, 10, 6, 0, tzinfo=UTC)
FEED_URL = "https://feeds.example.com/pakistan/rss.xml"
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def raw_entry(**fields: Any) -> RawEntry:
    base: dict[str, Any] = {
        "guid": "urn:example:1",
        "link": "https://www.example.com/news/1?utm_source=rss",
        "title": "Heavy rain expected across Punjab",
        "summary_html": "<p>The weather office said showers were likely.</p>",
        "content_html": "",
        "published": "Mon, 10 Mar 2025 04:00:00 GMT",
        "published_parsed": dt.datetime(2025, 3, 10, 4, 0, tzinfo=UTC),
    }
    base.update(fields)
    return RawEntry(**base)


def normalise(raw: RawEntry, **options: Any) -> Article:
    kwargs: dict[str, Any] = {
        "source": "dawn",
        "feed_id": "dawn",
        "outlet": "Dawn",
        "feed_url": FEED_URL,
        "language": "en",
        "detect": False,
        "fetched_at": FETCHED,
    }
    kwargs.update(options)
    return normalise_entry(raw, **kwargs)


def test_a_plain_entry() -> None:
    article = normalise(raw_entry())
    assert article.source == "dawn" and article.feed_id == "dawn" and article.outlet == "Dawn"
    assert article.entry_key == "urn:example:1"
    assert article.url == "https://www.example.com/news/1?utm_source=rss"
    assert article.canonical_url == "https://www.example.com/news/1"
    assert article.title == "Heavy rain expected across Punjab"
    assert article.text == (
        "Heavy rain expected across Punjab\nThe weather office said showers were likely."
    )
    assert article.html == "<p>The weather office said showers were likely.</p>"
    assert article.language == "en"
    assert article.published_at == dt.datetime(2025, 3, 10, 4, 0, tzinfo=UTC)
    assert article.date_estimated is False
    assert article.fetched_at == FETCHED
    assert article.content_hash == content_hash(article.title, article.text)
    assert article.warnings == ()


def test_content_wins_over_summary_and_blank_content_does_not() -> None:
    article = normalise(raw_entry(content_html="<p>Full story.</p>"))
    assert article.text.endswith("Full story.") and "weather office" not in article.text
    assert normalise(raw_entry(content_html="  \n ")).text.endswith("showers were likely.")


def test_relative_link_resolves_against_the_feed() -> None:
    article = normalise(raw_entry(link="/story/7?at_medium=RSS#top"))
    assert article.url == "https://feeds.example.com/story/7?at_medium=RSS#top"
    assert article.canonical_url == "https://feeds.example.com/story/7"


def test_relative_links_in_the_body_resolve_against_the_article() -> None:
    article = normalise(raw_entry(summary_html='<a href="photo/2">more</a>'))
    assert 'href="https://www.example.com/news/photo/2"' in article.html


HOSTILE_HTML = [
    "<script>alert(1)</script>",
    '<img src="https://track.example/p.gif" width=1 height=1>',
    '<p onclick="alert(1)" style="width:expression(alert(1))" class=x>',
    '<a href="javascript:alert(1)">a</a><a href="jav&#x09;ascript:alert(1)">b</a>',
    '<a href="JaVaScRiPt:alert(1)">c</a><a href="vbscript:msgbox(1)">d</a>',
    '<a href="data:text/html,<script>alert(1)</script>">e</a>',
    '<svg onload="alert(1)"></svg><iframe src="https://evil.example/"></iframe>',
    '<form action="https://evil.example/"><input name=q></form>',
    "<!--[if IE]><script>alert(1)</script><![endif]-->",
    "<style>*{background:url(javascript:alert(1))}</style>",
    "\x00\x1b[31m\u202e",
]


def _assert_clean_article(article: Article) -> None:
    for field in (article.title, article.text, article.html, article.entry_key):
        assert not CONTROL.search(field), repr(field)
    lowered = article.html.lower()
    for bad in ("<script", "<img", "<svg", "<iframe", "<form", "<style", "javascript:", "onclick"):
        assert bad not in lowered
    for bad in ("vbscript:", "data:", "style=", "class=", "<!--", "evil.example"):
        assert bad not in lowered
    assert "alert(" not in article.text and "alert(" not in article.title
    assert "track.example" not in article.html


@pytest.mark.parametrize("hostile", HOSTILE_HTML)
def test_hostile_html_in_every_field(hostile: str) -> None:
    raw = raw_entry(
        title=f"Rain {hostile} in Lahore",
        summary_html=f"<p>Summary {hostile}</p>",
        content_html=f"<p>Content {hostile}</p>",
        guid=f"guid-{hostile}",
    )
    article = normalise(raw)
    _assert_clean_article(article)
    assert article.title.startswith("Rain") and article.title.endswith("in Lahore")
    assert "Content" in article.text
    # The summary is used when there is no content: it is cleaned the same way.
    _assert_clean_article(normalise(dataclasses.replace(raw, content_html="")))


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        "jav\tascript:alert(1)",
        "jav&#x09;ascript:alert(1)",
        " \njavascript:alert(1)",
        "vbscript:msgbox(1)",
        "data:text/html,<script>alert(1)</script>",
        "file:///etc/passwd",
        "mailto:desk@example.com",
    ],
)
def test_hostile_links_are_dropped(link: str) -> None:
    article = normalise(raw_entry(link=link))
    assert article.url is None and article.canonical_url is None
    assert "link not an absolute http(s) URL: dropped" in article.warnings


def test_title_is_one_clean_line() -> None:
    title = "Rain\r\nin\rLahore\u202e\u2066 <b>today</b>\x00 &amp; \x1b[2Jtomorrow\u2028"
    assert normalise(raw_entry(title=title)).title == "Rain in Lahore today & [2Jtomorrow"


def test_persian_joiners_survive() -> None:
    title = "باران در کابل می\u200cبارد"
    assert normalise(raw_entry(title=title), language="fa").title == title


def test_long_title_and_text_are_cut() -> None:
    article = normalise(
        raw_entry(title="word " * 1000, summary_html="<p>" + "x" * 5000 + "</p>"),
        max_text_chars=2000,
    )
    assert len(article.title) <= 1000
    assert len(article.text) == 2000
    assert "title cut to 1000 characters" in article.warnings
    assert "text cut to 2000 characters" in article.warnings


def test_huge_html_is_cut_before_parsing() -> None:
    article = normalise(raw_entry(summary_html="<p>a</p>" * 100_000), max_text_chars=1000)
    assert "html cut to 10000 characters" in article.warnings
    assert len(article.html) <= 10_000


@pytest.mark.parametrize(
    ("published", "parsed", "warning"),
    [
        (None, None, "date missing: used fetch time"),
        ("32 Foo 2025 25:61", None, "date unparseable: used fetch time"),
        ("x", dt.datetime(2031, 1, 1, tzinfo=UTC), "date in the future: used fetch time"),
        ("x", dt.datetime(1970, 1, 1, tzinfo=UTC), "date before 1990-01-01: used fetch time"),
    ],
)
def test_bad_dates_fall_back_with_a_warning(
    published: str | None, parsed: dt.datetime | None, warning: str
) -> None:
    article = normalise(raw_entry(published=published, published_parsed=parsed))
    assert article.published_at == FETCHED
    assert article.date_estimated is True
    assert warning in article.warnings


def test_offset_dates_become_utc() -> None:
    pkt = dt.timezone(dt.timedelta(hours=5))
    article = normalise(
        raw_entry(published_parsed=dt.datetime(2025, 3, 10, 9, 0, tzinfo=pkt)),
        fetched_at=dt.datetime(2025, 3, 10, 11, 0, tzinfo=pkt),
    )
    assert article.published_at == dt.datetime(2025, 3, 10, 4, 0, tzinfo=UTC)
    assert article.fetched_at == FETCHED
    assert article.published_at.tzinfo is UTC and article.fetched_at.tzinfo is UTC


MIXED = [
    ("Pakistan and Afghanistan agree to reopen the border crossing for trade", "en"),
    ("پاکستان اور افغانستان کے درمیان تجارتی راستہ دوبارہ کھولنے پر اتفاق", "ur"),
    ("پاکستان او افغانستان د سوداګرۍ لپاره د پولې لار بېرته پرانیزي", "ps"),
    ("پاکستان و افغانستان برای بازگشایی گذرگاه مرزی به توافق رسیدند", "fa"),
]


@pytest.mark.parametrize(("title", "lang"), MIXED)
def test_mixed_feeds_detect_each_entry(title: str, lang: str) -> None:
    raw = raw_entry(title=title, summary_html="")
    assert normalise(raw, language="mixed", detect=True).language == lang
    assert normalise(raw, language="ur", detect=False).language == "ur"


def test_undetectable_entry_falls_back_to_declared_then_feed_language() -> None:
    raw = raw_entry(title="TTP", summary_html="", language="ps-AF")
    article = normalise(raw, language="ur", detect=True)
    assert article.language == "ps"
    assert "language not detected: used the declared one" in article.warnings
    raw = dataclasses.replace(raw, language="de")
    assert normalise(raw, language="ur", detect=True).language == "ur"


# --- entry keys and content hashes ---------------------------------------------------------


def test_entry_key_prefers_guid_then_link_then_hash() -> None:
    digest = "0" * 64
    assert entry_key(raw_entry(), digest) == "urn:example:1"
    assert entry_key(raw_entry(guid=None), digest) == raw_entry().link
    assert entry_key(raw_entry(guid="  \t "), digest) == raw_entry().link
    assert entry_key(raw_entry(guid=None, link=None), digest) == digest
    assert entry_key(raw_entry(guid="", link=" "), digest) == digest


def test_entry_key_is_cleaned() -> None:
    assert entry_key(raw_entry(guid=" urn:x\x00:\u202e1\n"), "h") == "urn:x:1"


def test_huge_guid_becomes_a_short_stable_key() -> None:
    huge = "g" * 1_000_000
    key = entry_key(raw_entry(guid=huge), "h")
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", key)
    assert len(key) <= MAX_KEY_CHARS
    assert entry_key(raw_entry(guid=huge, title="other"), "h2") == key
    assert entry_key(raw_entry(guid=huge + "x"), "h") != key
    assert entry_key(raw_entry(guid="g" * MAX_KEY_CHARS), "h") == "g" * MAX_KEY_CHARS
    assert normalise(raw_entry(guid=huge)).entry_key == key


def test_duplicate_entries_get_the_same_key_and_hash() -> None:
    first = normalise(raw_entry())
    again = normalise(raw_entry(), fetched_at=FETCHED + dt.timedelta(hours=1))
    assert (first.entry_key, first.content_hash) == (again.entry_key, again.content_hash)
    no_ids = raw_entry(guid=None, link=None)
    assert (
        normalise(no_ids).entry_key
        == normalise(no_ids).entry_key
        == (normalise(no_ids).content_hash)
    )


def test_content_hash_ignores_spacing_and_case_only() -> None:
    base = content_hash("Rain in Lahore", "Rain in Lahore\nShowers likely.")
    assert content_hash("  rain  IN lahore ", "RAIN in Lahore  Showers\tlikely. ") == base
    assert re.fullmatch(r"[0-9a-f]{64}", base)
    assert content_hash("Rain in Lahore", "Rain in Karachi\nShowers likely.") != base
    assert content_hash("Rain in", "Lahore Rain in Lahore\nShowers likely.") != base
