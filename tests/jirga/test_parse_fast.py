"""The lxml fast path against feedparser: on every document both can read, the same ParsedFeed.

The fast path (jirga.parse_fast) exists for speed only; feedparser is the reference. Each
document is parsed twice, once with the fast path allowed and once with feedparser alone, and
the two results must be identical, field by field. The fixtures that are plain RSS 2.0, RSS 1.0
and Atom 1.0 must actually take the fast path, so the comparison cannot pass by falling back.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from pathlib import Path

import pytest

from bench.feedgen import FeedSpec, feed_body, feed_specs
from jirga.parse import clean_prolog, parse_feed
from jirga.parse_fast import _date, read_feed
from tests.jirga.test_parse import as_json, rss

DATA = Path(__file__).resolve().parent.parent / "data" / "feeds"
HEADERS = {"Content-Type": "application/xml"}


def same_either_way(body: bytes, headers: dict[str, str]) -> bool:
    """Assert both paths agree; return whether the fast path read the document itself."""
    fast, slow = parse_feed(body, headers), parse_feed(body, headers, fast=False)
    assert as_json(fast) == as_json(slow)
    return read_feed(clean_prolog(body)[0], headers) is not None


@pytest.mark.parametrize("name", ["rss091", "rss10", "rss20", "atom03", "atom10"])
def test_fixtures(name: str) -> None:
    took_fast = same_either_way((DATA / f"{name}.xml").read_bytes(), HEADERS)
    # The Atom 1.0 fixture sets xml:base, which is left to feedparser (the generated feeds
    # below cover the Atom fast path).
    assert took_fast == (name in ("rss10", "rss20"))


def real_feeds(shared: Path) -> list[Path]:
    return sorted((shared / "corpus" / "real-feeds").glob("*.xml"))


def test_real_feeds(shared_dir: Path) -> None:
    files = real_feeds(shared_dir)
    fast = [f.name for f in files if same_either_way(f.read_bytes(), HEADERS)]
    assert fast, "no real feed took the fast path"


SPECS = feed_specs(12)


def test_generated_feeds_cover_both_formats() -> None:
    assert {s.atom for s in SPECS} == {True, False}


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.id)
def test_generated_feeds(spec: FeedSpec) -> None:
    assert same_either_way(feed_body(spec, 20), HEADERS)


EDGE_CASES = {
    "guid is the link": "<item><title>T</title><guid>https://a.example/1</guid></item>",
    "guid not a permalink": '<item><title>T</title><guid isPermaLink="false">x1</guid></item>',
    "urn guid": "<item><title>T</title><guid>urn:uuid:1</guid></item>",
    "content only": (
        "<item><title>T</title><content:encoded><![CDATA[<p>a</p>]]></content:encoded></item>"
    ),
    "content before description": (
        "<item><content:encoded>c</content:encoded><description>d</description></item>"
    ),
    "entities": "<item><title>A &amp; B &lt;i&gt;x&lt;/i&gt; &#1601;</title></item>",
    "whitespace": "<item><title>\n  T  \n</title><link>\n https://a.example/ </link></item>",
    "markup in title": "<item><title>a <b>b</b></title></item>",
    "two titles": "<item><title>a</title><title>b</title></item>",
    "odd date": "<item><title>T</title><pubDate>21/02/2026</pubDate></item>",
    "zone name": "<item><title>T</title><pubDate>Sat, 21 Feb 2026 06:00 PKT</pubDate></item>",
    "offset date": "<item><title>T</title><pubDate>Sat, 21 Feb 2026 06:00 +0500</pubDate></item>",
    "no seconds": "<item><title>T</title><pubDate>21 Feb 2026 06:00 GMT</pubDate></item>",
    "dc date": "<item><title>T</title><dc:date>2026-02-21T06:00:00+05:00</dc:date></item>",
    "year 9999": "<item><title>T</title><pubDate>Fri, 31 Dec 9999 23:59:59 -0500</pubDate></item>",
    "author": "<item><title>T</title><author>a@b.example (A B)</author></item>",
    "creator": "<item><title>T</title><dc:creator>A B</dc:creator></item>",
    "lang": '<item xml:lang="ur"><title>T</title></item>',
    "media": '<item><title>T</title><media:content url="https://a.example/i.jpg"/></item>',
    "empty item": "<item></item>",
    "comment in title": "<item><title>a<!-- x -->b</title></item>",
}
NAMESPACES = (
    b' xmlns:content="http://purl.org/rss/1.0/modules/content/"'
    b' xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:media="http://search.yahoo.com/mrss/"'
)


@pytest.mark.parametrize("case", sorted(EDGE_CASES))
def test_rss_edge_cases(case: str) -> None:
    body = rss(EDGE_CASES[case]).replace(b'<rss version="2.0"', b'<rss version="2.0"' + NAMESPACES)
    same_either_way(body, HEADERS)
    same_either_way(body, {"Content-Type": "text/html", "Content-Language": "ps"})
    same_either_way(body, {})


ATOM_CASES = {
    "html title": '<entry><id>x</id><title type="html">a &lt;b&gt;b&lt;/b&gt;</title></entry>',
    "text title": '<entry><id>x</id><title type="text">a &lt; b</title></entry>',
    "xhtml": '<entry><id>x</id><content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">'
    "<p>a</p></div></content></entry>",
    "links": '<entry><id>x</id><link rel="self" href="https://a.example/s"/>'
    '<link href="https://a.example/1"/><link rel="enclosure" href="https://a.example/e"/></entry>',
    "two alternates": '<entry><id>x</id><link href="https://a.example/1"/>'
    '<link href="https://a.example/2" type="text/html"/></entry>',
    "author email": "<entry><id>x</id><author><name>A</name><email>a@b.example</email></author>"
    "</entry>",
    "dates": "<entry><id>x</id><updated>2026-02-21T06:00:00Z</updated>"
    "<published>2026-02-20T06:00:00.5+05:00</published></entry>",
    "lang": '<entry xml:lang="fa"><id>x</id><title>T</title><summary>S</summary></entry>',
    "summary and content": '<entry><id>x</id><summary>s</summary><content type="html">c</content>'
    "</entry>",
}


@pytest.mark.parametrize("case", sorted(ATOM_CASES))
def test_atom_edge_cases(case: str) -> None:
    body = (
        b'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
        b'xml:lang="en"><title>F</title>' + ATOM_CASES[case].encode() + b"</feed>"
    )
    same_either_way(body, HEADERS)
    same_either_way(body.replace(b' xml:lang="en"', b""), {"Content-Language": "ur"})


_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _date_by_aware_datetimes(value: str) -> tuple[int, ...]:
    """An RFC 822 date's UTC 9-tuple the plain way: an aware datetime, moved to UTC."""
    day, month, year, hour, minute, second, zone = re.fullmatch(
        r"(?:\w{3},\s*)?(\d{1,2})\s+(\w{3})\s+(\d{4})\s+(\d{2}):(\d{2})(?::(\d{2}))?\s+(\S+)", value
    ).groups()  # type: ignore[union-attr]
    offset = dt.timedelta()
    if zone[0] in "+-":
        sign = -1 if zone[0] == "-" else 1
        offset = sign * dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5]))
    local = dt.datetime(int(year), _MONTHS.index(month) + 1, int(day), int(hour), int(minute))
    aware = local.replace(second=int(second or 0), tzinfo=dt.timezone(offset))
    return aware.astimezone(dt.UTC).timetuple()[:9]


def test_rfc822_dates_come_out_as_aware_datetimes_moved_to_utc_would() -> None:
    rng = random.Random(20261204)
    values = [
        "Sat, 21 Feb 2026 06:00:00 +0500",
        "29 Feb 2024 23:59 -0000",
        "01 Jan 0001 00:00:00 +0000",
        "31 Dec 9999 23:59:59 GMT",
        "31 Dec 2025 23:30:00 -0130",  # into the next year
        "01 Jan 2026 00:15:00 +0545",  # into the last one
        "15 Jun 2026 12:00:00 +2359",
        "15 Jun 2026 12:00:00 +0099",  # minutes past 59 count as minutes
    ]
    for _ in range(2000):
        zone = rng.choice(
            ["GMT", "UTC", "UT", "Z", f"{rng.choice('+-')}{rng.randint(0, 2359):04d}"]
        )
        values.append(
            f"{rng.randint(1, 28):02d} {rng.choice(_MONTHS)} {rng.randint(1900, 2100)}"
            f" {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d} {zone}"
        )
    for value in values:
        assert _date(value) == _date_by_aware_datetimes(value), value
    # What the datetime module cannot hold is an error either way (the caller falls back).
    for impossible in (
        "15 Jun 2026 12:00:00 +2400",
        "30 Feb 2026 12:00:00 GMT",
        "15 Jun 2026 12:00:60 GMT",
        "01 Jan 0001 00:00:00 +0100",
        "31 Dec 9999 23:00:00 -0100",
    ):
        with pytest.raises((ValueError, OverflowError)):
            _date_by_aware_datetimes(impossible)
        with pytest.raises((ValueError, OverflowError)):
            _date(impossible)
