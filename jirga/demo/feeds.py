"""The documents the demo's outlets serve on each day of the demo week, and their feeds.toml.

An outlet's feed on day ``k`` holds its newest items published by that day's poll (RSS 2.0 or
Atom 1.0, as real feeds do, capped at ``MAX_ITEMS``), so a day without a new item serves the very
same bytes as the day before (and the server can answer 304), and an item missed on a bad day is
still there the next. The faults an outlet declares are applied here: HTTP 500 on its
``fail_days``; on its ``wrong_charset_days``, the document's bytes are Windows-1256 while the
header and the XML declaration say UTF-8, as a misconfigured CMS sends them.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
from collections.abc import Iterable
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from jirga.demo.corpus import DAYS, Corpus, Outlet, SampleItem

__all__ = ["MAX_ITEMS", "DemoWeek", "FeedAnswer", "answer", "document", "feeds_toml", "visible"]

MAX_ITEMS = 12
"""Items in one feed document, newest first."""

# Windows-1256 has Arabic yeh but not the Persian yeh that Urdu and Dari print; a CMS that
# converts to it writes the Arabic letter.
_TO_1256 = str.maketrans({"ی": "ي", "ۓ": "ئ"})


@dataclass(frozen=True)
class DemoWeek:
    """The demo week's calendar: its first local day, the time zone its days are in, and the
    local time of each day's poll (after every item of the day is out)."""

    first_day: dt.date
    tz: dt.tzinfo
    poll_time: dt.time = dt.time(20, 0)

    @classmethod
    def ending(cls, last_day: dt.date, tz: dt.tzinfo) -> DemoWeek:
        """The week whose last day is ``last_day``."""
        return cls(last_day - dt.timedelta(days=DAYS - 1), tz)

    @property
    def days(self) -> tuple[dt.date, ...]:
        """Its local days, first to last."""
        return tuple(self.first_day + dt.timedelta(days=i) for i in range(DAYS))

    @property
    def last_day(self) -> dt.date:
        return self.days[-1]

    def poll_at(self, day: int) -> dt.datetime:
        """When the demo polls on day ``day`` (aware, UTC)."""
        return dt.datetime.combine(self.days[day], self.poll_time, self.tz).astimezone(dt.UTC)

    def published(self, item: SampleItem) -> dt.datetime:
        """When ``item`` is published this week (aware, UTC)."""
        return item.published(self.first_day, self.tz)


@dataclass(frozen=True)
class FeedAnswer:
    """What the demo server sends for one feed on one day."""

    status: int
    body: bytes
    content_type: str
    last_modified: dt.datetime | None = None


def visible(outlet: Outlet, day: int, week: DemoWeek) -> tuple[SampleItem, ...]:
    """The items in the outlet's feed at the poll of ``day``, newest first."""
    cutoff = week.poll_at(day)
    out = [i for i in outlet.items if week.published(i) <= cutoff]
    out.sort(key=week.published, reverse=True)
    return tuple(out[:MAX_ITEMS])


def item_url(outlet: Outlet, item: SampleItem, week: DemoWeek) -> str:
    """The item's permalink on the outlet's (invented) site."""
    local = week.published(item).astimezone(week.tz)
    return f"{outlet.site}/{local:%Y/%m/%d}/{item.slug}"


def _html(body: str) -> str:
    paragraphs = [p.strip() for p in body.split("\n\n") if p.strip()]
    return "".join(f"<p>{escape(' '.join(p.split()))}</p>" for p in paragraphs)


def _rss(outlet: Outlet, items: Iterable[SampleItem], week: DemoWeek) -> str:
    items = list(items)
    local = [week.published(i).astimezone(week.tz) for i in items]
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0">',
        "<channel>",
        f"<title>{escape(outlet.name)}</title>",
        f"<link>{escape(outlet.site)}/</link>",
        f"<description>{escape(outlet.name)}</description>",
        f"<language>{outlet.language}</language>",
    ]
    if local:
        parts.append(f"<lastBuildDate>{email.utils.format_datetime(local[0])}</lastBuildDate>")
    for item, when in zip(items, local, strict=True):
        link = escape(item_url(outlet, item, week))
        parts += [
            "<item>",
            f"<title>{escape(item.title)}</title>",
            f"<link>{link}</link>",
            f'<guid isPermaLink="true">{link}</guid>',
            f"<pubDate>{email.utils.format_datetime(when)}</pubDate>",
            f"<description>{escape(_html(item.body))}</description>",
            "</item>",
        ]
    parts += ["</channel>", "</rss>", ""]
    return "\n".join(parts)


def _atom(outlet: Outlet, items: Iterable[SampleItem], week: DemoWeek) -> str:
    items = list(items)
    local = [week.published(i).astimezone(week.tz) for i in items]
    updated = local[0] if local else dt.datetime.combine(week.first_day, dt.time(), week.tz)
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{outlet.language}">',
        f"<title>{escape(outlet.name)}</title>",
        f"<id>{escape(outlet.site)}/</id>",
        f"<link href={quoteattr(outlet.site + '/')}/>",
        f"<updated>{updated.isoformat()}</updated>",
    ]
    for item, when in zip(items, local, strict=True):
        link = item_url(outlet, item, week)
        parts += [
            "<entry>",
            f"<title>{escape(item.title)}</title>",
            f"<id>{escape(link)}</id>",
            f'<link rel="alternate" href={quoteattr(link)}/>',
            f"<published>{when.isoformat()}</published>",
            f"<updated>{when.isoformat()}</updated>",
            f'<content type="html">{escape(_html(item.body))}</content>',
            "</entry>",
        ]
    parts += ["</feed>", ""]
    return "\n".join(parts)


def document(outlet: Outlet, day: int, week: DemoWeek) -> str:
    """The outlet's feed document at the poll of ``day``, as text."""
    items = visible(outlet, day, week)
    return _atom(outlet, items, week) if outlet.format == "atom" else _rss(outlet, items, week)


def answer(outlet: Outlet, day: int, week: DemoWeek) -> FeedAnswer:
    """What the outlet's server answers at the poll of ``day``, faults included."""
    if day in outlet.fail_days:
        return FeedAnswer(500, b"Internal Server Error\n", "text/plain; charset=utf-8")
    kind = "atom" if outlet.format == "atom" else "rss"
    content_type = f"application/{kind}+xml; charset=utf-8"
    items = visible(outlet, day, week)
    text = document(outlet, day, week)
    if day in outlet.wrong_charset_days:
        body = text.translate(_TO_1256).encode("cp1256", errors="replace")
    else:
        body = text.encode("utf-8")
    return FeedAnswer(200, body, content_type, week.published(items[0]) if items else None)


def _toml(value: str) -> str:
    # A JSON string is a valid TOML basic string (same escapes).
    return json.dumps(value, ensure_ascii=False)


def feeds_toml(corpus: Corpus, base_url: str) -> str:
    """A feeds.toml listing every sample outlet's feed on the demo server at ``base_url``."""
    lines = [
        "# The demo's sample feeds: invented outlets served by `jirga demo` on a loopback server",
        "# that runs only while the demo does. Written by `jirga demo`; it is rewritten each run.",
        "",
    ]
    for o in corpus.outlets:
        lines += [
            "[[feed]]",
            f"id = {_toml(o.id)}",
            f"name = {_toml(o.name)}",
            f"url = {_toml(base_url.rstrip('/') + o.path)}",
            f"country = {_toml(o.country)}",
            f"language = {_toml(o.language)}",
            'tags = ["demo"]',
            "enabled = true",
            "",
        ]
    return "\n".join(lines)
