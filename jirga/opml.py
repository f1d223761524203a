"""OPML 2.0 import and export of feed lists, and merging imported feeds into ``feeds.toml``.

Export writes one ``<outline type="rss">`` per feed with the OPML 2.0 attributes ``text``,
``title``, ``xmlUrl`` and ``language``. Country and tags go in ``category``, which OPML 2.0
defines as comma-separated RSS categories: ``/country/pk`` for the country and one slash-free
entry per tag (the spec's form for a tag). A disabled feed is written with ``isComment="true"``,
the OPML way to keep an outline without using it, and jirga's feed id in ``jirga:id`` (namespace
:data:`JIRGA_NS`), so a round trip keeps everything.

Import reads all of that back, and also plain OPML from any feed reader: folders (outlines without
``xmlUrl``) become tags of the feeds inside them, ids are made from titles, and the language comes
from the ``language`` attribute or the ``default_language`` argument.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Sequence
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element, SubElement, indent, tostring  # to write only

import tomlkit
import tomlkit.exceptions
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring
from tomlkit.items import AoT

from jirga.config import LANGUAGES, url_problem
from jirga.errors import ConfigError, ConfigProblem
from jirga.types import Feed

JIRGA_NS = "urn:jirga:opml:1"
"""XML namespace of jirga's own outline attribute, ``jirga:id``."""

_ID_ATTR = f"{{{JIRGA_NS}}}id"
_COUNTRY_PREFIX = "/country/"
_COUNTRY = re.compile(r"[a-z]{2}\Z|intl\Z")
# ISO 639-2/3 codes feeds put in their language tag, mapped onto jirga's four. Dari is "prs",
# Pashto "pus"/"pbt"/"pbu": all are the same language for matching purposes.
_LANGUAGE_ALIASES = {
    "eng": "en",
    "urd": "ur",
    "pus": "ps",
    "pbt": "ps",
    "pbu": "ps",
    "prs": "fa",
    "per": "fa",
    "fas": "fa",
}


def feeds_to_opml(feeds: Sequence[Feed], title: str = "jirga feeds") -> bytes:
    """The feeds as an OPML 2.0 document (UTF-8 bytes)."""
    root = Element("opml", {"version": "2.0", "xmlns:jirga": JIRGA_NS})
    SubElement(SubElement(root, "head"), "title").text = title
    body = SubElement(root, "body")
    for feed in feeds:
        attributes = {
            "type": "rss",
            "text": feed.name,
            "title": feed.name,
            "xmlUrl": feed.url,
            "language": feed.language,
            "category": ",".join([f"{_COUNTRY_PREFIX}{feed.country}", *feed.tags]),
            "jirga:id": feed.id,
        }
        if not feed.enabled:
            attributes["isComment"] = "true"
        SubElement(body, "outline", attributes)
    indent(root)
    document: bytes = tostring(root, encoding="utf-8", xml_declaration=True)
    return document


def feeds_from_opml(
    data: bytes,
    source: str = "<opml>",
    *,
    default_language: str | None = None,
    default_country: str = "intl",
) -> list[Feed]:
    """The feeds of an OPML document, in document order.

    ``source`` names the document in problems. ``default_language`` and ``default_country`` apply
    to outlines that do not say. Raises :class:`ConfigError` listing every problem: a document
    that is not well-formed OPML or declares a DTD or entities (refused outright, so entity bombs
    never expand), and each feed outline without an ``xmlUrl``, with a non-http(s) URL, or with
    no usable language.
    """
    try:
        # Parse with defusedxml, never the standard library. OPML never needs a DTD; refusing
        # any keeps entity expansion (billion laughs, external entities) out entirely.
        root = fromstring(data, forbid_dtd=True)
    except DefusedXmlException as exc:
        reason = "refused: DTDs and entity declarations are not allowed in OPML"
        raise ConfigError([ConfigProblem(source, "document", reason)]) from exc
    except ParseError as exc:
        place = f"line {exc.position[0]}"
        raise ConfigError([ConfigProblem(source, place, f"not well-formed XML: {exc}")]) from exc
    body = root.find("body")
    if root.tag != "opml" or body is None:
        reason = f"not an OPML document (root <{root.tag}>, expected <opml> with a <body>)"
        raise ConfigError([ConfigProblem(source, "document", reason)])
    reader = _Reader(source, default_language, default_country)
    reader.walk(body, (), commented=False)
    if reader.problems:
        raise ConfigError(reader.problems)
    return reader.feeds


class _Reader:
    """Collects the feeds and problems of one OPML body."""

    def __init__(self, source: str, language: str | None, country: str) -> None:
        self.source, self.language, self.country = source, language, country
        self.feeds: list[Feed] = []
        self.problems: list[ConfigProblem] = []
        self.ids: set[str] = set()
        self.count = 0

    def walk(self, node: Element, folders: tuple[str, ...], *, commented: bool) -> None:
        """Read the outlines under ``node``, inside the folders ``folders``."""
        for outline in node.findall("outline"):
            self.count += 1
            place = f"outline {self.count}"
            # OPML 2.0: everything under a commented outline is commented too.
            here_commented = commented or outline.get("isComment") == "true"
            label = (outline.get("title") or outline.get("text") or "").strip()
            url = (outline.get("xmlUrl") or "").strip()
            if not url and outline.find("outline") is not None:
                self.walk(outline, (*folders, label), commented=here_commented)
            elif not url:
                reason = f"outline {label!r} has no xmlUrl, so it is not a feed"
                self.problems.append(ConfigProblem(self.source, place, reason))
            elif bad_url := url_problem(url):
                self.problems.append(ConfigProblem(self.source, place, bad_url))
            elif (language := self._language(outline.get("language"))) is None:
                reason = (
                    f"feed {label or url!r}: language {outline.get('language')!r} is not one of "
                    f"{', '.join(LANGUAGES)}; pass default_language"
                )
                self.problems.append(ConfigProblem(self.source, place, reason))
            else:
                self._add(outline, label, url, language, folders, enabled=not here_commented)

    def _language(self, value: str | None) -> str | None:
        primary = re.split(r"[-_]", value.strip().lower())[0] if value else ""
        primary = _LANGUAGE_ALIASES.get(primary, primary)
        return primary if primary in LANGUAGES else self.language

    def _add(
        self,
        outline: Element,
        label: str,
        url: str,
        language: str,
        folders: tuple[str, ...],
        *,
        enabled: bool,
    ) -> None:
        country = self.country
        tags = [slug for folder in folders if (slug := slugify(folder))]
        for category in (outline.get("category") or "").split(","):
            category = category.strip().lower()
            if category.startswith(_COUNTRY_PREFIX) and _COUNTRY.match(
                category[len(_COUNTRY_PREFIX) :]
            ):
                country = category[len(_COUNTRY_PREFIX) :]
            elif category and "/" not in category and (slug := slugify(category)):
                tags.append(slug)
        wanted = outline.get(_ID_ATTR) or slugify(label) or _url_slug(url)
        feed_id = unique_id(slugify(wanted) or "feed", self.ids)
        self.ids.add(feed_id)
        name = label or urlsplit(url).hostname or url
        tags = list(dict.fromkeys(tags))  # folders and categories often repeat a tag
        self.feeds.append(Feed(feed_id, name, url, country, language, tuple(tags), enabled))


def slugify(text: str) -> str:
    """A config slug of the ASCII letters, digits and ``_`` of ``text``; empty if there are none."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9_]+", "-", ascii_text.lower()).strip("-_")


def _url_slug(url: str) -> str:
    # For titles in Urdu, Pashto or Dari, which leave no ASCII slug: the host and path will do.
    parts = urlsplit(url)
    return slugify(f"{(parts.hostname or '').removeprefix('www.')} {parts.path}")


def unique_id(wanted: str, taken: set[str]) -> str:
    """``wanted``, or ``wanted-2``, ``wanted-3``... whichever is not in ``taken``."""
    candidate, number = wanted, 1
    while candidate in taken:
        number += 1
        candidate = f"{wanted}-{number}"
    return candidate


def _url_key(url: str) -> str:
    # The same feed is often written with and without the trailing slash or in another case.
    return url.strip().rstrip("/").lower()


def merge_feeds_into_toml(toml_text: str, new_feeds: Sequence[Feed]) -> tuple[str, list[Feed]]:
    """Append to a ``feeds.toml`` text the feeds whose URL it does not list yet.

    The existing text, comments included, is kept as it is. Ids that are already taken get a
    ``-2``, ``-3``... suffix. Returns the new text and the feeds added (with their final ids).
    Raises :class:`ConfigError` when the text is not TOML or ``feed`` is not an array of tables.
    """
    try:
        document = tomlkit.parse(toml_text)
    except tomlkit.exceptions.ParseError as exc:
        problem = ConfigProblem("<feeds.toml>", f"line {exc.line}", f"TOML syntax error: {exc}")
        raise ConfigError([problem]) from exc
    if "feed" not in document:
        document.append("feed", tomlkit.aot())
    tables = document["feed"]
    if not isinstance(tables, AoT):
        reason = "'feed' must be an array of tables ([[feed]])"
        raise ConfigError([ConfigProblem("<feeds.toml>", "feed", reason)])
    ids = {str(table.get("id")) for table in tables}
    urls = {_url_key(str(table.get("url"))) for table in tables}
    added: list[Feed] = []
    for feed in new_feeds:
        if _url_key(feed.url) in urls:
            continue
        feed = dataclasses.replace(feed, id=unique_id(feed.id, ids))
        ids.add(feed.id)
        urls.add(_url_key(feed.url))
        table = tomlkit.table()
        table.add("id", feed.id)
        table.add("name", feed.name)
        table.add("url", feed.url)
        table.add("country", feed.country)
        table.add("language", feed.language)
        table.add("tags", list(feed.tags))
        table.add("enabled", feed.enabled)
        # What precedes a table's header is its indent to tomlkit: that is where this file keeps
        # each feed's confidence comment. Set last, or tomlkit indents the keys by it too.
        table.trivia.indent = "\n# confidence: unverified — imported, not checked yet\n"
        tables.append(table)
        added.append(feed)
    return tomlkit.dumps(document), added
