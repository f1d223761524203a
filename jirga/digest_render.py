"""A digest rendered three ways: an HTML email body, its plain-text twin, and Markdown.

Jinja2 templates (``jirga/templates/digest.*.j2``), each format escaped by its environment rather
than by each template line: HTML is autoescaped, Markdown values are escaped by ``finalize`` (and
HTML-escaped on top, so no raw HTML reaches a Markdown viewer), plain-text values lose their
control characters. The HTML is then re-sanitised as a whole with an nh3 allow-list (the tags
and attributes the template uses, a list of CSS properties, http/https links and ``cid:``
images only, comments stripped), so no template slip can let feed content become markup.

Trend charts are PNG parts referenced by Content-ID; :func:`self_contained` swaps those
references for ``data:`` URIs (for the stored copy and the outbox file a browser opens) and
:func:`split_images` turns such a copy back into HTML and parts, byte for byte.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import nh3
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from jirga.charts import SPARK, sparkline_png
from jirga.digest_content import FEATURED_STATES, ArticleLine, Average, Digest
from jirga.digest_model import AVERAGE_DAYS, text_direction
from jirga.sanitize import clean_text

__all__ = [
    "InlineImage",
    "RenderedDigest",
    "render_digest",
    "self_contained",
    "split_images",
]

STATE_TITLES = {
    "new": "New narratives",
    "growing": "Growing narratives",
    "recurring": "Recurring narratives (back after a gap)",
}
_STATE_COLOURS = {
    "new": "#1a7f37",
    "growing": "#bf5700",
    "recurring": "#6639ba",
    "steady": "#57606a",
    "fading": "#8c959f",
}
_PROBLEM_COLOURS = {
    "gone": "#b42318",
    "failing": "#b42318",
    "backing off": "#bf5700",
    "silent": "#6e7781",
}

# What the email body may contain after rendering: the template's own vocabulary and nothing
# else. No forms, media, SVG, scripts or styles; no event handlers, classes or ids.
_BODY_TAGS = {
    "table", "tbody", "tr", "td", "th", "div", "span", "p", "h2", "a", "img", "br",
    "strong", "ul", "li",
}  # fmt: skip
_BODY_ATTRIBUTES = {
    "*": {"style", "dir", "lang"},
    "table": {"role", "width", "cellpadding", "cellspacing", "border", "bgcolor"},
    "td": {"align", "width", "bgcolor", "colspan"},
    "a": {"href"},
    "img": {"src", "width", "height", "alt"},
}
_CSS_PROPERTIES = {
    "background-color", "border", "border-bottom", "border-collapse", "border-left",
    "border-right", "color", "display", "font-family", "font-size", "font-weight", "line-height",
    "letter-spacing", "margin", "max-width", "padding", "text-align", "text-decoration",
    "text-transform", "vertical-align", "white-space", "width",
}  # fmt: skip
_URL_SCHEMES = {"http", "https", "cid"}
LINK_REL = "noopener noreferrer nofollow"

CID_DOMAIN = "jirga.digest"
_CID_SRC = re.compile(r'src="cid:([0-9a-f]{20}@' + re.escape(CID_DOMAIN) + r')"')
_DATA_SRC = re.compile(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"')
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~#!&{}])")


@dataclass(frozen=True)
class InlineImage:
    """A PNG shown inside the email, referenced from the HTML as ``cid:<cid>``."""

    cid: str
    data: bytes

    @property
    def filename(self) -> str:
        return f"trend-{self.cid.split('@', 1)[0]}.png"


@dataclass(frozen=True)
class RenderedDigest:
    """One digest as it goes out: subject, HTML (with ``cid:`` images), text, Markdown, images."""

    day: dt.date
    subject: str
    html: str
    text: str
    markdown: str
    images: tuple[InlineImage, ...]


def image_cid(data: bytes) -> str:
    """The Content-ID of an image: its own hash, so that equal charts share one part and a
    rendering from the same counts names its images the same way."""
    return f"{hashlib.sha256(data).hexdigest()[:20]}@{CID_DOMAIN}"


def self_contained(rendered: RenderedDigest) -> str:
    """The HTML with each ``cid:`` image replaced by a ``data:`` URI, for a browser or storage."""
    by_cid = {img.cid: img.data for img in rendered.images}

    def inline(match: re.Match[str]) -> str:
        data = by_cid[match.group(1)]
        return f'src="data:image/png;base64,{base64.b64encode(data).decode("ascii")}"'

    return _CID_SRC.sub(inline, rendered.html)


def split_images(document: str) -> tuple[str, tuple[InlineImage, ...]]:
    """The inverse of :func:`self_contained`: ``cid:`` HTML and its image parts.

    Only ``src="data:image/png;base64,…"`` attributes are turned into parts; the sanitiser lets
    no ``data:`` URI through from feed content, so every one of them is a chart of ours.
    """
    images: dict[str, InlineImage] = {}

    def part(match: re.Match[str]) -> str:
        data = base64.b64decode(match.group(1), validate=True)
        cid = image_cid(data)
        images.setdefault(cid, InlineImage(cid, data))
        return f'src="cid:{cid}"'

    html_cid = _DATA_SRC.sub(part, document)
    return html_cid, tuple(images.values())


# --- filters -----------------------------------------------------------------------------------


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else plural or word + 's'}"


def _avg(average: Average | None) -> str:
    if average is None:
        return "no history yet"
    return f"{average.mean:.1f} over {average.days} days"


def md_escape(value: object) -> str:
    """Markdown punctuation backslash-escaped (the caller HTML-escapes on top)."""
    return _MD_SPECIAL.sub(r"\\\1", str(value))


def _md_finalize(value: object) -> object:
    if isinstance(value, Markup):
        return value
    return md_escape("" if value is None else value)


def _md_link(a: ArticleLine) -> Markup:
    title = md_escape(a.title)
    if not a.url:
        return escape(title)
    # Parentheses, spaces and angle brackets would end or break a Markdown link target.
    target = quote(a.url, safe=":/?#@!$&'*+,;=%~-._")
    return Markup("[{}]({})").format(title, target)


def _md_filter(value: object) -> Markup:
    return escape(md_escape(value))


def _text_finalize(value: object) -> str:
    return clean_text("" if value is None else str(value))


def _environment(kind: str, tz: ZoneInfo) -> Environment:
    if kind == "html":
        env = Environment(
            loader=PackageLoader("jirga", "templates"),
            autoescape=select_autoescape(enabled_extensions=("html.j2",), default=True),
            undefined=StrictUndefined,
        )
    elif kind == "md":
        env = Environment(
            loader=PackageLoader("jirga", "templates"),
            autoescape=True,
            finalize=_md_finalize,
            undefined=StrictUndefined,
            keep_trailing_newline=True,
        )
        env.filters["link"] = _md_link
        env.filters["md"] = _md_filter
    else:
        env = Environment(
            loader=PackageLoader("jirga", "templates"),
            autoescape=False,  # noqa: S701 - plain text: nothing to escape, finalize cleans
            finalize=_text_finalize,
            undefined=StrictUndefined,
            keep_trailing_newline=True,
        )
    env.filters.update(
        plural=_plural,
        avg=_avg,
        day=lambda d: f"{d:%d %b %Y}",
        long_day=lambda d: f"{d:%A %d %B %Y}",
        hm=lambda t: f"{t:%H:%M}",
        stamp=lambda t: f"{t:%Y-%m-%d %H:%M %Z}",
        local=lambda t: t.astimezone(tz),
        direction=text_direction,
        state_colour=lambda s: _STATE_COLOURS.get(s, "#57606a"),
        problem_colour=lambda k: _PROBLEM_COLOURS.get(k, "#57606a"),
    )
    return env


# --- rendering ---------------------------------------------------------------------------------


def _charts(digest: Digest) -> tuple[dict[str, dict[Any, str]], tuple[InlineImage, ...]]:
    images: dict[str, InlineImage] = {}
    refs: dict[str, dict[Any, str]] = {"narratives": {}, "tracked": {}}

    def add(group: str, key: Any, counts: tuple[int, ...], average: Average | None) -> None:
        data = sparkline_png(counts, average.mean if average else None)
        cid = image_cid(data)
        images.setdefault(cid, InlineImage(cid, data))
        refs[group][key] = cid

    for n in digest.narratives:
        if n.featured:
            add("narratives", n.id, n.trend.counts, n.average)
    if not digest.empty:
        for t in digest.tracked:
            add("tracked", t.id, t.trend.counts, t.average)
    return refs, tuple(images.values())


def sanitize_body(body: str) -> str:
    """The rendered email body through nh3 with the digest's allow-list (see the module
    docstring); anything else, whoever put it there, is gone."""
    cleaned: str = nh3.clean(
        body,
        tags=_BODY_TAGS,
        clean_content_tags={"script", "style", "svg", "math", "form", "template", "iframe"},
        attributes=_BODY_ATTRIBUTES,
        url_schemes=_URL_SCHEMES,
        filter_style_properties=_CSS_PROPERTIES,
        strip_comments=True,
        link_rel=LINK_REL,
        url_relative="deny",
    )
    return cleaned


def _document(subject: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="color-scheme" content="light">\n'
        f"<title>{html.escape(subject)}</title>\n</head>\n"
        '<body style="margin:0;padding:0;background-color:#eef1f4;">\n'
        f"{body}\n</body>\n</html>\n"
    )


def render_digest(digest: Digest) -> RenderedDigest:
    """The digest as HTML (``cid:`` charts), plain text and Markdown, with its subject."""
    tz = ZoneInfo(digest.timezone)
    refs, images = _charts(digest)
    context = {
        "d": digest,
        "g": digest.glance,
        "day": digest.day,
        "states": FEATURED_STATES,
        "state_titles": STATE_TITLES,
        "average_days": AVERAGE_DAYS,
        "charts": refs,
        "chart_width": SPARK.width,
        "chart_height": SPARK.height,
    }
    body = _environment("html", tz).get_template("digest.html.j2").render(context)
    text = _environment("text", tz).get_template("digest.txt.j2").render(context)
    markdown = _environment("md", tz).get_template("digest.md.j2").render(context)
    subject = digest.subject
    return RenderedDigest(
        day=digest.day,
        subject=subject,
        html=_document(subject, sanitize_body(body)),
        text=_tidy(text),
        markdown=_tidy(markdown),
        images=images,
    )


_BLANK_RUNS = re.compile(r"\n{4,}")


def _tidy(text: str) -> str:
    """Trailing spaces off every line and at most two blank lines in a row."""
    lines = "\n".join(line.rstrip() for line in text.splitlines())
    return _BLANK_RUNS.sub("\n\n\n", lines).strip("\n") + "\n"
