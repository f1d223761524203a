"""The normalise stage: one untrusted feed entry in, one :class:`~jirga.types.Article` out.

Titles become plain text, bodies plain text (for matching) and sanitised HTML (for display),
links absolute and canonical, dates UTC (or the fetch time, flagged), and the language is the
feed's or, for mixed feeds, detected per entry. Whatever had to be guessed is in the warnings.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import unicodedata
from dataclasses import dataclass

from jirga import sanitize
from jirga.dates import DEFAULT_EARLIEST, DEFAULT_MAX_FUTURE, as_utc, judge_date
from jirga.language import LANGUAGES, detect_language
from jirga.sanitize import clean_text, html_to_text, sanitize_html
from jirga.types import Article, RawEntry
from jirga.urls import absolute_link, canonical_url

MAX_KEY_CHARS = 255
DEFAULT_MAX_TEXT_CHARS = 100_000
DEFAULT_MAX_TITLE_CHARS = 1_000
# HTML is cut before parsing at this multiple of the text limit: markup is mostly tags, and a
# body many times the text limit is not an article anyone will read.
_HTML_FACTOR = 10


def content_hash(title: str, text: str) -> str:
    """SHA-256 hex of the title and text, so a copy that differs only in spacing or case matches.

    The form hashed is NFKC-normalised, case-folded, with every run of whitespace made one space.
    """

    def norm(s: str) -> str:
        return " ".join(unicodedata.normalize("NFKC", s).casefold().split())

    return hashlib.sha256(f"{norm(title)}\x1f{norm(text)}".encode()).hexdigest()


def bounded_key(key: str) -> str:
    """``key`` itself when it fits in :data:`MAX_KEY_CHARS`, else ``"sha256:"`` + its hex digest."""
    if len(key) <= MAX_KEY_CHARS:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def entry_key(raw: RawEntry, content_hash: str) -> str:
    """The entry's identity within its feed: its GUID, else its link, else its content hash.

    Control characters are removed and surrounding space stripped first (a GUID that is only
    whitespace counts as missing); a key longer than 255 characters is replaced by a short,
    stable digest of it (see :func:`bounded_key`).
    """
    for candidate in (raw.guid, raw.link):
        key = clean_text(candidate or "").strip()
        if key:
            return bounded_key(key)
    return content_hash


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _primary_subtag(tag: str | None) -> str | None:
    """ "ur-PK" is "ur"; None for anything not one of jirga's languages."""
    if not tag:
        return None
    primary = tag.strip().lower().replace("_", "-").split("-")[0]
    return primary if primary in LANGUAGES else None


@dataclass(frozen=True)
class PreparedText:
    """The plain text of an entry, made first so that entries mentioning no watch term can be
    dropped before the costlier rest of normalisation (sanitising, URLs, language)."""

    title: str
    body_html: str
    text: str
    warnings: tuple[str, ...]


def _body_html(raw: RawEntry, max_text_chars: int) -> tuple[str, bool]:
    """The HTML the entry's body text is made from, and whether it had to be cut."""
    body_html = raw.content_html if raw.content_html.strip() else raw.summary_html
    max_html_chars = max_text_chars * _HTML_FACTOR
    if len(body_html) > max_html_chars:
        return body_html[:max_html_chars], True
    return body_html, False


def screening_text(
    raw: RawEntry,
    *,
    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS,
    max_title_chars: int = DEFAULT_MAX_TITLE_CHARS,
) -> str | None:
    """The words of the entry's :func:`prepare_text` text, in order, whitespace aside, or None
    when only prepare_text can tell (see :func:`jirga.sanitize.screening_text`); much cheaper
    to make. A matcher that finds no alias in it finds none in the full text either.

    Whitespace is never shorter in this text, so while it fits the length caps, the full text
    was not cut: a cut could end it inside a word, where an alias might then match.
    """
    title = sanitize.screening_text(raw.title)
    body = sanitize.screening_text(_body_html(raw, max_text_chars)[0])
    if title is None or body is None or len(title) > max_title_chars:
        return None
    if len(title) + 1 + len(body) > max_text_chars:
        return None
    return f"{title}\n{body}"


def prepare_text(
    raw: RawEntry,
    *,
    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS,
    max_title_chars: int = DEFAULT_MAX_TITLE_CHARS,
) -> PreparedText:
    """An entry's title and plain text exactly as :func:`normalise_entry` stores them."""
    warnings: list[str] = []
    title = _one_line(html_to_text(raw.title))
    if not title:
        warnings.append("title missing")
    elif len(title) > max_title_chars:
        title = title[:max_title_chars].rstrip()
        warnings.append(f"title cut to {max_title_chars} characters")
    body_html, cut = _body_html(raw, max_text_chars)
    if cut:
        warnings.append(f"html cut to {max_text_chars * _HTML_FACTOR} characters")
    body_text = html_to_text(body_html)
    text = f"{title}\n{body_text}" if title and body_text else title or body_text
    if len(text) > max_text_chars:
        text = text[:max_text_chars]
        warnings.append(f"text cut to {max_text_chars} characters")
    return PreparedText(title=title, body_html=body_html, text=text, warnings=tuple(warnings))


def normalise_entry(
    raw: RawEntry,
    *,
    source: str,
    feed_id: str | None,
    outlet: str,
    feed_url: str | None,
    language: str,
    detect: bool,
    fetched_at: dt.datetime,
    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS,
    max_title_chars: int = DEFAULT_MAX_TITLE_CHARS,
    max_future: dt.timedelta = DEFAULT_MAX_FUTURE,
    earliest: dt.datetime = DEFAULT_EARLIEST,
    prepared: PreparedText | None = None,
) -> Article:
    """Normalise one entry of a feed (or one imported record) into an article.

    ``language`` is the feed's; with ``detect`` (a mixed feed) each entry's language is detected
    from its text instead, falling back to the entry's declared language and then the feed's
    when the text is too short to tell. The body is the entry's content when it has any, else its
    summary. ``text`` is the title, a newline and the body's plain text, cut at
    ``max_text_chars``; the title is cut at ``max_title_chars``. Dates outside
    [``earliest``, fetch time + ``max_future``] are replaced by the fetch time.
    """
    fetched = as_utc(fetched_at)
    if prepared is None:
        prepared = prepare_text(raw, max_text_chars=max_text_chars, max_title_chars=max_title_chars)
    title, body_html, text = prepared.title, prepared.body_html, prepared.text
    warnings = list(prepared.warnings)

    url = absolute_link(raw.link, feed_url)
    if raw.link and raw.link.strip() and url is None:
        warnings.append("link not an absolute http(s) URL: dropped")

    published_at, date_problem = judge_date(
        raw.published_parsed,
        fetched,
        max_future=max_future,
        earliest=earliest,
        published=raw.published,
    )
    if date_problem:
        warnings.append(date_problem)

    entry_language = language
    if detect:
        fallback = _primary_subtag(raw.language) or language
        detected = detect_language(text)
        if detected is None:
            warnings.append("language not detected: used the declared one")
        entry_language = detected or fallback

    digest = content_hash(title, text)
    return Article(
        source=source,
        feed_id=feed_id,
        outlet=outlet,
        entry_key=entry_key(raw, digest),
        url=url,
        canonical_url=canonical_url(url) if url else None,
        title=title,
        text=text,
        html=sanitize_html(body_html, base_url=url or feed_url),
        language=entry_language,
        published_at=published_at,
        date_estimated=date_problem is not None,
        fetched_at=fetched,
        content_hash=digest,
        warnings=tuple(warnings),
    )
