"""Feed documents written for the flow tests (not copied from any publisher)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape


@dataclass(frozen=True)
class Item:
    title: str
    body: str
    link: str
    guid: str | None = None
    published: dt.datetime | None = None


def rss(items: Sequence[Item], *, title: str = "Test feed", encoding: str = "utf-8") -> bytes:
    """An RSS 2.0 document with the items, in the given encoding."""
    parts = [
        f'<?xml version="1.0" encoding="{encoding}"?>',
        '<rss version="2.0"><channel>',
        f"<title>{escape(title)}</title><link>https://example.org/</link>",
    ]
    for it in items:
        parts.append("<item>")
        parts.append(f"<title>{escape(it.title)}</title>")
        parts.append(f"<link>{escape(it.link)}</link>")
        if it.guid is not None:
            parts.append(f'<guid isPermaLink="false">{escape(it.guid)}</guid>')
        if it.published is not None:
            parts.append(
                f"<pubDate>{it.published.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate>"
            )
        parts.append(f"<description>{escape(it.body)}</description>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "\n".join(parts).encode(encoding)


def feeds_toml(feeds: Sequence[tuple[str, str, str]]) -> str:
    """A feeds.toml with (id, url, language) feeds."""
    out = []
    for fid, url, lang in feeds:
        out.append(
            f'[[feed]]\nid = "{fid}"\nname = "Outlet {fid}"\nurl = "{url}"\ncountry = "pk"\n'
            f'language = "{lang}"\ntags = ["test"]\nenabled = true\n'
        )
    return "\n".join(out)


def dawn_items(now: dt.datetime, *, second_age: dt.timedelta) -> list[Item]:
    """Two matching Dawn stories: one two hours old, the other ``second_age`` old."""
    return [
        Item(
            "Islamabad weighs fresh talks with the TTP",
            "Officials said a jirga of tribal elders could open talks with Tehrik-i-Taliban"
            " Pakistan.",
            "https://dawn.example/news/1",
            guid="dawn-1",
            published=now - dt.timedelta(hours=2),
        ),
        Item(
            "Khalilzad says Doha process must continue",
            "Zalmay Khalilzad told reporters the process with the Taliban must go on.",
            "https://dawn.example/news/3",
            guid="dawn-3",
            published=now - second_age,
        ),
    ]
