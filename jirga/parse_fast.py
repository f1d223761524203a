"""A fast reading of the plain, well-formed feed: RSS 2.0, RSS 1.0 and Atom 1.0 through lxml.

feedparser costs about 75 times the CPU of an lxml tree of the same bytes, and most feeds are
ordinary RSS 2.0 or Atom 1.0. This module reads those with lxml and hands :mod:`jirga.parse` the
same mapping feedparser would have produced for the fields jirga keeps (id, link, title,
summary, content, dates, author, language). Whatever it is not sure to read exactly as
feedparser would — malformed XML, another format or version, ``xml:base``, XHTML content, a
date in an unusual form — makes it return None, and the caller parses the document with
feedparser instead. ``tests/jirga/test_parse_fast.py`` compares the two on every feed in the
test data and the real-feed corpus.

The input has already been through :func:`jirga.parse.clean_prolog`: no DOCTYPE, so no entity
can be declared, and the parser below neither loads a DTD nor touches the network.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Mapping
from typing import Any

from lxml import etree

ATOM = "http://www.w3.org/2005/Atom"
RSS10 = "http://purl.org/rss/1.0/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
DC = "http://purl.org/dc/elements/1.1/"
DCTERMS = "http://purl.org/dc/terms/"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

# The entry fields this reader understands, by (namespace, local name); an entry holding any
# other element from these namespaces, or an element feedparser gives a meaning jirga could
# see (a second title, an Atom element inside RSS...), is left to feedparser.
_RSS_ITEM = {
    ("", "title"),
    ("", "link"),
    ("", "guid"),
    ("", "description"),
    ("", "pubDate"),
    ("", "author"),
    ("", "category"),
    ("", "comments"),
    ("", "enclosure"),
    ("", "source"),
    (CONTENT, "encoded"),
    (DC, "creator"),
    (DC, "date"),
    (DC, "subject"),
}
_RSS10_ITEM = {(RSS10, n) for n in ("title", "link", "description")} | {
    (CONTENT, "encoded"),
    (DC, "creator"),
    (DC, "date"),
    (DC, "subject"),
}
_ATOM_ENTRY = {
    (ATOM, n)
    for n in ("id", "title", "link", "summary", "content", "published", "updated", "author")
} | {(ATOM, "category")}
_HTML_TYPES = {"text/html", "application/xhtml+xml"}
# Namespaces whose every element feedparser reads into some field: an element of theirs this
# reader does not handle sends the document to feedparser.
_TOUCHY = {"", ATOM, RSS10, CONTENT, DC, DCTERMS, RDF}
# Elements that feedparser, for some namespace or other, reads into a field jirga keeps. In an
# extension namespace they are left to feedparser too: Media RSS's title and description become
# the entry's, iTunes' summary and author likewise, and a known prefix on an unknown namespace
# URI is matched by its prefix.
_FIELD_NAMES = {"title", "description", "summary", "content", "author", "creator", "date"}
_FIELD_NAMES |= {"link", "id", "guid", "published", "updated", "pubdate", "name", "encoded"}
_FIELD_NAMES |= {"issued", "modified", "created", "language", "text", "abstract"}

_local = threading.local()


def _parser() -> etree.XMLParser:
    # lxml parsers are not safe to share between threads; one per thread, built once.
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
            collect_ids=False,
        )
        _local.parser = parser
    return parser


class _Unsure(Exception):
    """The document holds something only feedparser reads correctly."""


# --- dates -----------------------------------------------------------------------------------

_RFC822 = re.compile(
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),\s*)?(\d{1,2})\s+"
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\s+(\d{4})\s+"
    r"(\d{2}):(\d{2})(?::(\d{2}))?\s+([+-]\d{4}|GMT|UTC|UT|Z)"
)
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2})")


_MONTHS = {
    m: i
    for i, m in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1
    )
}


_DAY_MINUTES = 24 * 60


def _date(text: str) -> tuple[int, ...] | None:
    """The UTC time of a date in one of the two forms feeds use (``Sat, 21 Feb 2026 06:00:00
    +0500``, ``2026-02-21T06:00:00Z``) as feedparser's 9-tuple; :class:`_Unsure` for any other
    form, ValueError for an impossible date (the caller falls back on both)."""
    value = text.strip()
    if not value:
        return None
    if match := _RFC822.fullmatch(value):
        day, month, year, hour, minute, second, zone = match.groups()
        # UTC by subtracting the offset from the naive time: what astimezone of an aware one
        # gives, without building a timezone per entry. Its limits are kept (under a day).
        ahead = 0
        if zone[0] in "+-":
            ahead = int(zone[1:3]) * 60 + int(zone[3:5])
            if ahead >= _DAY_MINUTES:
                raise ValueError(f"UTC offset {zone} is a day or more")
            if zone[0] == "-":
                ahead = -ahead
        local = dt.datetime(
            int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second or 0)
        )
        utc = local - dt.timedelta(minutes=ahead) if ahead else local
        # An aware UTC time's tuple, whose tm_isdst is -1 (UTC has no dst() to consult).
        return (*utc.timetuple()[:8], -1)
    if not _ISO.fullmatch(value):
        raise _Unsure
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.astimezone(dt.UTC).timetuple()[:9]


# --- text -------------------------------------------------------------------------------------


def _text(element: Any) -> str:
    """The element's text as feedparser keeps it: all character data inside, stripped."""
    if len(element):
        raise _Unsure  # markup inside a text field (XHTML, a stray tag): feedparser's business
    return (element.text or "").strip()


def _qname(element: Any) -> tuple[str, str]:
    tag = element.tag
    if not isinstance(tag, str):
        raise _Unsure
    if tag[0] == "{":
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def _check_extension(element: Any) -> None:
    """Raise :class:`_Unsure` when an extension element (or one inside it) could become one of
    the entry's fields in feedparser; media:content, feedburner:origLink and the like cannot."""
    for inner in element.iter():
        if _qname(inner)[1].lower() in _FIELD_NAMES:
            raise _Unsure


def _lang(element: Any, default: str | None) -> str | None:
    found = element.get(XML_LANG)
    while found is None and (element := element.getparent()) is not None:
        found = element.get(XML_LANG)
    return found if found is not None else default


# --- formats ---------------------------------------------------------------------------------


def _rss_entry(item: Any, known: set[tuple[str, str]], lang: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    seen: set[tuple[str, str]] = set()
    guid_is_link = False
    about = item.get(f"{{{RDF}}}about")
    if about is not None:
        entry["id"] = about.strip()  # feedparser takes an RSS 1.0 item's rdf:about as its id
    for child in item:
        name = _qname(child)
        if name not in known:
            if name[0] in _TOUCHY:
                raise _Unsure
            _check_extension(child)
            continue
        if name in seen and name[1] not in ("category", "subject", "enclosure"):
            raise _Unsure  # feedparser's rules for a repeated field are its own
        seen.add(name)
        local = name[1]
        if local == "enclosure":
            entry.setdefault("links", []).append({"href": (child.get("url") or "").strip()})
            continue
        if local in ("category", "subject", "comments", "source"):
            continue
        value = _text(child)
        if local == "title":
            entry["title"] = value
        elif local == "link":
            entry["link"] = value
            entry["links"] = [{"href": value}]
        elif local == "guid":
            entry["id"] = value
            guid_is_link = child.get("isPermaLink", "true") == "true"
        elif local == "description":
            entry["summary"] = value
        elif local == "encoded":
            entry["content"] = [{"type": "text/html", "value": value}]
        elif local == "pubDate":
            entry["published"], entry["published_parsed"] = value, _date(value)
        elif local == "date":
            entry["updated"], entry["updated_parsed"] = value, _date(value)
        elif local in ("author", "creator"):
            if "author" in entry:
                raise _Unsure
            entry["author"] = value
    if guid_is_link and "link" not in entry and entry.get("id"):
        entry["link"] = entry["id"]
    if "summary" not in entry and "content" in entry:
        entry["summary"] = entry["content"][0]["value"]  # feedparser copies content to summary
    if "title" in entry or "summary" in entry:
        entry["title_detail"] = {"language": _lang(item, lang)}
    return entry


def _atom_text(element: Any) -> tuple[str, str]:
    kind = element.get("type", "text")
    if kind not in ("text", "html") or element.get("src") is not None:
        raise _Unsure  # XHTML and out-of-line content
    return _text(element), "text/plain" if kind == "text" else "text/html"


def _atom_entry(item: Any, lang: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    seen: set[str] = set()
    for child in item:
        ns, local = _qname(child)
        if ns != ATOM:
            if ns in _TOUCHY:
                raise _Unsure
            _check_extension(child)
            continue
        if (ns, local) not in _ATOM_ENTRY:
            raise _Unsure  # source, rights, contributor...: feedparser's business
        if local in seen and local not in ("link", "category"):
            raise _Unsure
        seen.add(local)
        if local == "category":
            continue
        if local == "link":
            if child.get("href") is None or len(child):
                raise _Unsure
            rel = child.get("rel", "alternate")
            kind = child.get("type", "application/atom+xml" if rel == "self" else "text/html")
            href = child.get("href").strip()
            entry.setdefault("links", []).append({"href": href})
            if rel == "alternate" and kind in _HTML_TYPES:
                entry["link"] = href
        elif local == "id":
            entry["id"] = _text(child)
        elif local in ("title", "summary", "content"):
            value, kind = _atom_text(child)
            if local == "content":
                entry["content"] = [{"type": kind, "value": value}]
            else:
                entry[local] = value
            entry.setdefault("title_detail", {"language": _lang(child, lang)})
        elif local in ("published", "updated"):
            value = _text(child)
            entry[local], entry[f"{local}_parsed"] = value, _date(value)
        elif local == "author":
            names = [c for c in child if _qname(c) == (ATOM, "name")]
            if len(names) != 1 or len(child) != 1:
                raise _Unsure  # an email or uri: feedparser formats "name (email)"
            entry["author"] = _text(names[0])
    if "summary" not in entry and "content" in entry:
        entry["summary"] = entry["content"][0]["value"]
    return entry


def read_feed(data: bytes, headers: Mapping[str, str]) -> dict[str, Any] | None:
    """feedparser's result for ``data`` (only the parts jirga reads), or None when this reader
    is not sure to give exactly that; never raises on bad input."""
    if b"xml:base" in data:
        return None  # relative links resolve against it: feedparser's business
    try:
        root = etree.fromstring(data, _parser())
    except (etree.XMLSyntaxError, ValueError):
        return None
    header_lang = next((v for k, v in headers.items() if k.lower() == "content-language"), None)
    try:
        return _read(root, header_lang)
    except _Unsure:
        return None
    except (ValueError, OverflowError):  # a date the datetime module cannot hold
        return None


def _read(root: Any, header_lang: str | None) -> dict[str, Any] | None:
    name = _qname(root)
    root_lang = root.get(XML_LANG)
    if name == ("", "rss") and root.get("version") == "2.0":
        channels = [c for c in root if _qname(c) == ("", "channel")]
        if len(channels) != 1:
            return None
        channel = channels[0]
        lang = root_lang or header_lang
        feed: dict[str, Any] = {"language": lang} if lang else {}
        entries = []
        for child in channel:
            cname = _qname(child)
            if cname == ("", "item"):
                entries.append(_rss_entry(child, _RSS_ITEM, lang))
            elif cname == ("", "title") and "title" not in feed:
                feed["title"] = _text(child)
            elif cname in (("", "language"), (DC, "language")):
                # feedparser takes the channel's language as the default of what follows it
                lang = feed["language"] = _text(child)
        return {"version": "rss20", "feed": feed, "entries": entries}
    if name == (RDF, "RDF"):
        channels = [c for c in root if _qname(c) == (RSS10, "channel")]
        if len(channels) != 1:
            return None
        feed = {}
        for child in channels[0]:
            if _qname(child) == (RSS10, "title"):
                feed["title"] = _text(child)
            elif _qname(child) == (DC, "language"):
                feed["language"] = _text(child)
        lang = feed.get("language") or root_lang or header_lang
        items = [c for c in root if _qname(c) == (RSS10, "item")]
        entries = [_rss_entry(item, _RSS10_ITEM, lang) for item in items]
        return {"version": "rss10", "feed": feed, "entries": entries}
    if name == (ATOM, "feed"):
        lang = root_lang or header_lang
        feed = {"language": lang} if lang else {}
        entries = []
        for child in root:
            cname = _qname(child)
            if cname == (ATOM, "entry"):
                entries.append(_atom_entry(child, header_lang))
            elif cname == (ATOM, "title") and "title" not in feed:
                feed["title"] = _atom_text(child)[0]
        return {"version": "atom10", "feed": feed, "entries": entries}
    return None
