"""Parse one feed document (bytes) into a :class:`ParsedFeed`: charset, entities and caps done here.

feedparser does the RSS/Atom work, but only after this module has decoded the bytes with the
declared charset (never a silent re-guess), removed every DOCTYPE/ENTITY declaration and cut a
document with absurdly many entries down to size. Nothing here raises on hostile input: what went
wrong is in ``ParsedFeed.error`` or ``ParsedFeed.warnings``.
"""

from __future__ import annotations

import codecs
import datetime as dt
import io
import re
import threading
import xml.sax
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import feedparser

from jirga.parse_fast import read_feed
from jirga.types import ParsedFeed, RawEntry

_UTF8_DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>'

# --- charset ----------------------------------------------------------------------------------

# Longest first: the UTF-32-LE mark begins with the UTF-16-LE one.
_BOMS = {b"\xff\xfe\0\0": "utf-32-le", b"\0\0\xfe\xff": "utf-32-be", b"\xef\xbb\xbf": "utf-8"}
_BOMS |= {b"\xff\xfe": "utf-16-le", b"\xfe\xff": "utf-16-be"}
# "<?" without a BOM (XML 1.0 appendix F), to read the declaration of a UTF-16/32 document.
_SNIFF = {b"<\0?\0": "utf-16-le", b"\0<\0?": "utf-16-be", b"<\0\0\0": "utf-32-le"}
_SNIFF[b"\0\0\0<"] = "utf-32-be"
_DECLARED_ENCODING = re.compile(
    r"\A\s*<\?xml\s[^>]{0,200}?\bencoding\s*=\s*[\"']([A-Za-z][\w.:-]{0,40})[\"']"
)
# Python codecs no publisher can mean (UTF-7 is also an XSS vector).
_REFUSED_CODECS = {"utf-7", "unicode-escape", "raw-unicode-escape", "idna", "punycode", "undefined"}
# Labels read as every browser reads them (WHATWG Encoding): supersets of the label, not guesses.
_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "euc_kr": "cp949", "shift_jis": "cp932"}
_SUPERSETS["iso8859-9"] = "cp1254"
_WINDOWS_1252_LABELS = frozenset({"ascii", "iso8859-1", "cp1252"})
# WHATWG windows-1252: cp1252, with its five undefined bytes kept as the C1 controls.
_WINDOWS_1252 = "".join(bytes([b]).decode("cp1252", "ignore") or chr(b) for b in range(256))
_bad_bytes = threading.local()


def _replace_and_count(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    _bad_bytes.count += exc.end - exc.start
    return "\ufffd", exc.end


codecs.register_error("jirga-replace", _replace_and_count)


def _charset_of(content_type: str) -> str | None:
    for param in content_type.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip("\"'") or None
    return None


def _codec(label: str, source: str, wide: bool, warnings: list[str]) -> str | None:
    """Python's name for a charset label, or None (with a warning) when it is not usable."""
    try:
        info = codecs.lookup(label)
    except LookupError:
        warnings.append(f"unknown charset {label!r} in the {source} was ignored")
        return None
    if not info._is_text_encoding or info.name in _REFUSED_CODECS:
        warnings.append(f"charset {label!r} in the {source} is not allowed and was ignored")
        return None
    if info.name.startswith(("utf-16", "utf-32")) and not wide:
        warnings.append(f"the {source} says {label} but the bytes are 8-bit; ignored")
        return None
    return info.name


def decode_document(body: bytes, content_type: str = "") -> tuple[str, list[str]]:
    """Decode ``body`` with its declared charset; broken bytes become U+FFFD and are counted.

    Order (RFC 7303): a byte-order mark (it cannot lie), the HTTP charset, the XML declaration,
    then UTF-8. A label that is not a usable charset is skipped with a warning. When most
    non-ASCII bytes of a UTF-8-labelled document are invalid the label is wrong (a windows-1256
    feed calling itself UTF-8), so the few byte runs that decode by chance are dropped too.
    """
    warnings: list[str] = []
    bom = next(((mark, name) for mark, name in _BOMS.items() if body.startswith(mark)), None)
    sniffed = _SNIFF.get(body[:4])
    body = body[len(bom[0]) :] if bom else body
    declared = _DECLARED_ENCODING.match(body[:1024].decode(sniffed or "latin-1", "ignore"))
    header = _charset_of(content_type)
    candidates = [(bom[1], "byte-order mark")] if bom else []
    candidates += [(header, "HTTP header")] if header else []
    candidates += [(declared.group(1), "XML declaration")] if declared else []
    candidates.append((sniffed or "utf-8", "default"))
    wide = bool(bom or sniffed)
    label, source, name = next(
        (lbl, src, nm) for lbl, src in candidates if (nm := _codec(lbl, src, wide, warnings))
    )
    if bom and header and (other := _codec(header, "HTTP header", True, [])) and name != other:
        warnings.append(f"the HTTP header says {header} but a {name} byte-order mark wins")
    if name in _WINDOWS_1252_LABELS:
        return codecs.charmap_decode(body, "strict", _WINDOWS_1252)[0], warnings
    _bad_bytes.count = 0
    text = body.decode(_SUPERSETS.get(name, name), "jirga-replace")
    if bad := _bad_bytes.count:
        warnings.append(f"{bad} bytes not valid {label} ({source}) were replaced by U+FFFD")
        replaced = text.count("\ufffd")
        valid = len(text) - len(text.encode("ascii", "ignore")) - replaced
        if name == "utf-8" and 0 < valid < replaced:
            text = re.sub("[^\x00-\x7f]+", "\ufffd", text)
            warnings.append(f"most non-ASCII text is not {label}: all of it became U+FFFD")
    return text, warnings


# --- prolog: XML declaration, DOCTYPE, ENTITY -------------------------------------------------

# XML 1.0 forbids these; removing them lets the strict parser keep going.
_FORBIDDEN_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_DECLARATION_TOKEN = re.compile(rb"[\[\]\"'>]|<!--|<\?")
_ENTITY_DECLARATION = re.compile(rb"<!\s*entity", re.IGNORECASE)
_CLOSERS = {b'"': b'"', b"'": b"'", b"<!--": b"-->", b"<?": b"?>"}


def _skip(data: bytes, pos: int, closer: bytes) -> int:
    close = data.find(closer, pos)
    return close + len(closer) if close >= 0 else len(data)


def _declaration_end(data: bytes, pos: int) -> int:
    """End of the ``<!...>`` declaration whose body starts at ``pos``, skipping quotes, comments,
    PIs and nested ``[...]`` subsets. Linear: each step moves forward with ``find``."""
    depth = 0
    while (match := _DECLARATION_TOKEN.search(data, pos)) is not None:
        token, pos = match.group(), match.end()
        if token in _CLOSERS:
            pos = _skip(data, pos, _CLOSERS[token])
        elif token == b"[":
            depth += 1
        elif token == b"]":
            depth = max(depth - 1, 0)
        elif depth == 0:
            return pos
    return len(data)


def _root_start(data: bytes, pos: int) -> int:
    """Offset of the document element's ``<``, skipping PIs, comments and declarations."""
    while (lt := data.find(b"<", pos)) >= 0:
        after = data[lt + 1 : lt + 2]
        if after == b"?":
            pos = _skip(data, lt + 2, b"?>")
        elif data.startswith(b"<!--", lt):
            pos = _skip(data, lt + 4, b"-->")
        elif after == b"!":
            pos = _declaration_end(data, lt + 2)
        elif after and (after.isalpha() or after in b"_:" or after[0] >= 0x80):
            return lt
        else:
            pos = lt + 1
    return len(data)


def clean_prolog(data: bytes) -> tuple[bytes, int, bytes]:
    """Replace everything between the XML declaration and the root element by its newlines:
    DOCTYPE (with any internal subset), ENTITY declarations, PIs and comments, so no entity can
    be declared and parser error lines stay true. Returns the bytes, the number of ENTITY
    declarations removed and the removed prolog."""
    start = len(_UTF8_DECLARATION) if data.startswith(_UTF8_DECLARATION) else 0
    root = _root_start(data, start)
    prolog = data[start:root]
    if not prolog.strip():
        return data, 0, b""
    entities = len(_ENTITY_DECLARATION.findall(prolog))
    return data[:start] + b"\n" * prolog.count(b"\n") + data[root:], entities, prolog


def _utf8_document(text: str) -> bytes:
    """The text as UTF-8 behind a declaration saying so, at the very start; lines preserved."""
    stripped = text.lstrip(" \t\r\n\ufeff")
    newlines = text.count("\n", 0, len(text) - len(stripped))
    if re.match(r"<\?xml[\s?]", stripped) and (end := stripped.find("?>", 0, 1024)) >= 0:
        newlines += stripped.count("\n", 0, end)
        stripped = stripped[end + 2 :]
    return _UTF8_DECLARATION + b"\n" * newlines + stripped.encode("utf-8", "replace")


# --- entry count cut --------------------------------------------------------------------------

_ENTRY_MARKUP = re.compile(
    rb"<(?:!\[CDATA\[|!--|(/?)(?:[A-Za-z_][\w.-]*:)?(?:item|entry)(?=[\s/>]))"
)


#: Where a document's entry tags are: see :func:`entry_tags`.
EntryTags = Sequence[tuple[bool, int, int]]


def entry_tags(data: bytes) -> EntryTags:
    """Each entry start or end tag of a document, in order, as (is it an end tag, where it
    starts, where it ends): an end tag runs to its ``>``, a start tag is only its name here.
    CDATA sections and comments are skipped, since their text is not markup. Found once, they
    serve both :func:`cut_entries` and :func:`entry_spans`."""
    return list(_entry_tags(data))


def _entry_tags(data: bytes) -> Iterator[tuple[bool, int, int]]:
    pos = 0
    while (match := _ENTRY_MARKUP.search(data, pos)) is not None:
        token, pos = match.group(), match.end()
        if token in (b"<![CDATA[", b"<!--"):
            pos = _skip(data, pos, b"]]>" if token == b"<![CDATA[" else b"-->")
        elif match.group(1):
            pos = _skip(data, pos, b">")
            yield True, match.start(), pos
        else:
            yield False, match.start(), pos


def cut_entries(data: bytes, keep: int, tags: EntryTags | None = None) -> tuple[bytes, int]:
    """Drop the entries after the first ``keep`` (document order) before parsing: splice out
    from the start of entry ``keep + 1`` to the end of the last entry, so what follows still
    closes the document; CDATA and comments are skipped. Returns the bytes and the number of
    entry start tags seen. ``tags``: the document's :func:`entry_tags`, if already found."""
    seen, cut_at, last_close = 0, -1, -1
    for is_end, start, end in _entry_tags(data) if tags is None else tags:
        if is_end:
            last_close = end
        else:
            seen += 1
            cut_at = start if seen == keep + 1 else cut_at
    if cut_at < 0 or last_close <= cut_at:
        return data, seen
    return data[:cut_at] + data[last_close:], seen


def entry_spans(data: bytes, tags: EntryTags | None = None) -> list[tuple[int, int]] | None:
    """Where each entry element of a document starts and ends, or None when they do not pair
    up one after the other (one inside another, an end tag without its start or its ``>``, or
    a start tag without its end, as a self-closing entry looks here). ``tags``: the document's
    :func:`entry_tags`, if already found."""
    spans: list[tuple[int, int]] = []
    open_at = -1
    for is_end, start, end in _entry_tags(data) if tags is None else tags:
        if not is_end:
            if open_at >= 0:  # a start tag inside an open entry
                return None
            open_at = start
        elif open_at < 0 or data[end - 1 : end] != b">":
            return None
        else:
            spans.append((open_at, end))
            open_at = -1
    return None if open_at >= 0 else spans


# --- feedparser and the entries ---------------------------------------------------------------


def _utc(struct: Any) -> dt.datetime | None:
    """feedparser's UTC ``struct_time`` as an aware datetime; absurd or broken values are None."""
    try:  # datetime refuses years past 9999; a leap second (60) is real but cannot be held
        year, month, day, hour, minute, second = (int(v) for v in struct[:6])
        when = dt.datetime(year, month, day, hour, minute, min(second, 59), tzinfo=dt.UTC)
    except (TypeError, ValueError, OverflowError):
        return None
    return when if when.year >= 1970 else None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _link(entry: Mapping[str, Any]) -> str | None:
    """The entry's own link; feedparser's fallback to a guid that is no URL (``urn:..``) is not."""
    link = _text(entry.get("link")) or None
    hrefs = {_text(item.get("href")) for item in entry.get("links") or ()}
    if link and link not in hrefs and not link.startswith(("http://", "https://")):
        return None
    return link


def _content(entry: Mapping[str, Any]) -> str:
    parts = list(entry.get("content") or ())
    html = [p for p in parts if "html" in _text(p.get("type"))]
    return _text((html or parts or [{}])[0].get("value"))


def _language(entry: Mapping[str, Any], feed_language: str | None) -> str | None:
    details = [entry.get("title_detail"), entry.get("summary_detail")]
    found = (_text(d.get("language")) for d in details + list(entry.get("content") or ()) if d)
    return next((lang for lang in found if lang), feed_language)


def _capped(values: list[str], per_field: int, per_entry: int) -> tuple[list[str], bool]:
    """Each value cut to ``per_field`` characters and all of them to ``per_entry``; was any cut?"""
    lengths = [len(value) for value in values]
    if max(lengths) <= per_field and sum(lengths) <= per_entry:
        return values, False  # the usual case: nothing to cut
    left, out = per_entry, []
    for value in values:
        out.append(value[: max(min(per_field, left), 0)])
        left -= len(out[-1])
    return out, sum(map(len, out)) < sum(map(len, values))


def _entry(
    entry: Mapping[str, Any], per_field: int, per_entry: int, feed_language: str | None
) -> tuple[RawEntry | None, bool]:
    """One RawEntry (None if empty) and whether it was cut; short fields are capped first so
    the entry cap trims the long HTML."""
    if type(entry) is not dict:  # plain lookups: FeedParserDict maps "updated" to "published"
        entry = dict(entry)
    parsed, published = _utc(entry.get("published_parsed")), _text(entry.get("published"))
    if parsed is None and (updated := _utc(entry.get("updated_parsed"))) is not None:
        parsed, published = updated, _text(entry.get("updated"))
    fields = [entry.get("id"), _link(entry), entry.get("author"), published or entry.get("updated")]
    fields += [entry.get("title"), entry.get("summary"), _content(entry)]
    capped, cut = _capped([_text(f) for f in fields], per_field, per_entry)
    guid, link, author, published, title, summary, content = capped
    if not (guid or link or title or summary or content):
        return None, cut
    values = (guid or None, link or None, title, summary, content, published or None, parsed)
    return RawEntry(*values, author or None, _language(entry, feed_language)), cut


def _newest(entries: list[RawEntry], keep: int) -> list[RawEntry]:
    """Dated entries newest first (ties in document order), then the undated in document order.

    Feeds are conventionally newest-first, so undated entries keep their order among themselves;
    they go after the dated ones because nothing says they are newer.
    """
    floor = dt.datetime.min.replace(tzinfo=dt.UTC)
    return sorted(entries, key=lambda e: e.published_parsed or floor, reverse=True)[:keep]


#: Ends the warning of a document that is not well-formed XML, which feedparser read anyway.
LENIENT = "read with the lenient parser"


def read_leniently(feed: ParsedFeed) -> bool:
    """Whether the document was not well-formed XML (and feedparser made what it could of it)."""
    return any(w.endswith(LENIENT) for w in feed.warnings)


def _problem(exc: BaseException, media_type: str) -> tuple[str | None, str]:
    """(the XML error, if it is one; the warning) for feedparser's ``bozo_exception``."""
    if isinstance(exc, xml.sax.SAXParseException):
        error = f"XML error at line {exc.getLineNumber()}: {exc.getMessage()}"
        return error, f"{error}; {LENIENT}"
    if isinstance(exc, feedparser.NonXMLContentType):
        return None, f"served as {media_type or 'no Content-Type'}, not an XML media type"
    return None, f"{type(exc).__name__}: {exc}"


def _not_a_feed(text: str, xml_error: str | None) -> str:
    head = text[:2048].lstrip().lower()
    if "<html" in head or head.startswith("<!doctype html"):
        return "not a feed: looks like an HTML page"
    if head.startswith(("{", "[")):
        return "not a feed: looks like JSON"
    return xml_error or "not a feed: no RSS or Atom document element"


_XML_MEDIA_TYPES = {"application/xml", "text/xml", "application/xml-external-parsed-entity"}
_XML_MEDIA_TYPES |= {"application/xml-dtd", "text/xml-external-parsed-entity"}


def _xml_media_type(media_type: str) -> bool:
    """Whether feedparser takes this media type for XML (RFC 3023), so raises no warning."""
    return media_type in _XML_MEDIA_TYPES or (
        media_type.startswith(("application/", "text/")) and media_type.endswith("+xml")
    )


def _headers_for_feedparser(headers: Mapping[str, str]) -> dict[str, str]:
    """Lower-cased headers with the charset made utf-8 (the bytes are re-encoded to UTF-8).

    Content-Location is left out: feedparser would resolve a bare guid against it and so change
    the entry's identity; links are made absolute downstream against the fetch's final URL.
    """
    result = {k.lower(): v for k, v in headers.items() if k.lower() != "content-location"}
    if "content-type" in result:
        media = result["content-type"].split(";")[0].strip() or "application/xml"
        result["content-type"] = f"{media}; charset=utf-8"
    return result


def parse_feed(
    body: bytes,
    headers: Mapping[str, str] | None = None,
    *,
    max_entries: int = 200,
    max_field_chars: int = 100_000,
    max_entry_chars: int = 400_000,
    max_parsed_entries: int | None = None,
    fast: bool = True,
    select: Callable[[bytes, EntryTags | None], bytes] | None = None,
) -> ParsedFeed:
    """Parse a feed document's bytes (and its HTTP response headers) into a ParsedFeed.

    Keeps the newest ``max_entries`` entries (see :func:`_newest`), cuts each field to
    ``max_field_chars`` and each entry's text to ``max_entry_chars``. Only the first
    ``max_parsed_entries`` entries in document order (default: five times ``max_entries``) are
    parsed; the rest are cut out before parsing, so a huge document stays cheap. Never raises on
    bad input: a document that yields nothing usable has ``error`` set and no entries.
    ``fast=False`` always parses with feedparser (see :mod:`jirga.parse_fast`). ``select``, if
    given, is handed the document's bytes just before they are parsed (UTF-8, prolog cleaned,
    entries past the parsing limit cut) and their :func:`entry_tags` (None when the cut moved
    them), and returns the bytes to parse instead: see :class:`jirga.unchanged.UnchangedEntries`.
    """
    if not body.strip():
        return ParsedFeed(entries=(), error="empty body")
    headers = headers or {}
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    text, warnings = decode_document(body, content_type)
    text, removed = _FORBIDDEN_CHARS.subn("", text)
    if removed:
        warnings.append(f"{removed} control characters not allowed in XML were removed")
    data, entity_count, prolog = clean_prolog(_utf8_document(text))
    if entity_count:
        warnings.append(f"{entity_count} ENTITY declarations were removed, not expanded")
    limit = 5 * max_entries if max_parsed_entries is None else max_parsed_entries
    tags: EntryTags | None = entry_tags(data)
    uncut = data
    data, seen = cut_entries(data, limit, tags)
    if seen > limit:
        warnings.append(f"the document has {seen} entries; only the first {limit} were parsed")
    if select is not None:
        data = select(data, tags if data is uncut else None)
    result: Mapping[str, Any] | None = read_feed(data, headers) if fast else None
    media_type = content_type.split(";")[0].strip().lower()
    if result is not None and headers and not _xml_media_type(media_type):
        warnings.append(f"served as {media_type or 'no Content-Type'}, not an XML media type")
    if result is None:
        try:
            result = feedparser.parse(
                io.BytesIO(data),
                response_headers=_headers_for_feedparser(headers),
                sanitize_html=False,
                resolve_relative_uris=False,
            )
        except MemoryError:
            raise
        except Exception as exc:  # feedparser's date and markup handlers can raise anything
            failed = f"parser failed: {exc!r}"
            return ParsedFeed(entries=(), warnings=tuple(warnings), error=failed)
    feed = result.get("feed") or {}
    version = _text(result.get("version")) or None
    if version == "rss091u" and b"netscape" in prolog.lower():
        version = "rss091n"  # feedparser tells the two apart by the DOCTYPE removed above
    xml_error = None
    if result.get("bozo") and (problem := result.get("bozo_exception")) is not None:
        xml_error, warning = _problem(problem, content_type.split(";")[0].strip())
        warnings.append(warning)
    language = _text(feed.get("language"))[:max_field_chars] or None
    title = _text(feed.get("title"))[:max_field_chars] or None
    raws = result.get("entries") or ()
    found = [_entry(raw, max_field_chars, max_entry_chars, language) for raw in raws]
    entries = [e for e, _ in found if e is not None]
    if len(entries) < len(found):
        warnings.append(f"{len(found) - len(entries)} empty entries were skipped")
    if cut := sum(c for _, c in found):
        warnings.append(f"{cut} entries were cut to fit the text caps")
    guids = [e.guid for e in entries if e.guid]
    if len(set(guids)) < len(guids):
        warnings.append(f"{len(guids) - len(set(guids))} entries repeat an earlier guid")
    if not entries and (version is None or (xml_error and title is None)):
        error = _not_a_feed(text, xml_error) if version is None else xml_error
        return ParsedFeed(entries=(), version=version, warnings=tuple(warnings), error=error)
    if len(entries) > max_entries:
        warnings.append(f"{len(entries)} entries; kept the newest {max_entries}")
    entries = _newest(entries, max_entries)
    return ParsedFeed(tuple(entries), title, version, language, tuple(warnings))
