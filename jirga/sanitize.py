"""Feed HTML made safe: an allow-listed copy for display, and plain text for matching.

Both go through nh3 (ammonia, an HTML5 parser), never through regular expressions over raw
markup; the only pattern used on markup is on nh3's own output, which has no attributes left.
:func:`clean_text` removes the characters that have no business in stored text.
"""

from __future__ import annotations

import re
import unicodedata
from html import unescape
from typing import Literal

import nh3

from jirga.urls import canonical_url

# What an article may keep for the digest. No img: the digest never loads remote images, which
# are how tracking pixels work; no tables, forms, media, SVG or MathML.
ALLOWED_TAGS = frozenset(
    {
        "p", "br", "a", "b", "strong", "i", "em", "ul", "ol", "li", "blockquote", "q",
        "h2", "h3", "h4", "h5", "h6", "code", "pre", "figure", "figcaption",
    }
)  # fmt: skip
ALLOWED_URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer nofollow"

# Dropped with everything inside them: their content is code, widgets or fallbacks, not prose.
_DROP_WITH_CONTENT = frozenset(
    {
        "script", "style", "template", "noscript", "noembed", "noframes", "iframe", "frame",
        "frameset", "object", "embed", "applet", "svg", "math", "form", "select", "textarea",
        "button", "option", "datalist", "canvas", "audio", "video", "head", "title", "xmp",
    }
)  # fmt: skip

# Right-to-left articles need their direction, and dir takes only these three values.
_DIR_VALUES = frozenset({"rtl", "ltr", "auto"})

# Elements whose boundaries separate text, so "<p>a</p><p>b</p>" reads "a\nb" and not "ab".
_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "caption", "dd", "details", "div",
        "dl", "dt", "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6",
        "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table",
        "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
    }
)  # fmt: skip
_NH3_TAG = re.compile(r"<[^>]*>")

# What text still looks like after one decoding pass when the feed escaped it twice: character
# references, or tags. Only common tag names count, so "x <y and z>" in prose is left alone.
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_ESCAPED_TAG = re.compile(
    r"</?(?:p|br|div|span|a|b|i|em|strong|img|ul|ol|li|h[1-6]|blockquote|font|table|tr|td|"
    + "|".join(sorted(_DROP_WITH_CONTENT))
    + r")\b[^<>]{0,500}>",
    re.IGNORECASE,
)
_MAX_DECODE_PASSES = 3

# C0 controls but tab and newline, DEL, C1 controls, the bidi embeddings/overrides/isolates that
# can reorder what a reader sees (Trojan-Source), the BOM, and surrogates. ZWNJ/ZWJ (U+200C/D)
# stay: Persian and Urdu spelling needs them.
_UNWANTED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_LINE_BREAKS = re.compile("\r\n?|[\u2028\u2029]")
# Anything clean_text would change but the composition: one search tells that most texts are
# already clean.
_NEEDS_CLEANING = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]"
)


def clean_text(s: str) -> str:
    """Text without control characters, bidi overrides or lone surrogates, in Unicode NFC.

    Removed: C0 controls except ``\\t`` and ``\\n`` (so NUL, which PostgreSQL rejects), DEL, C1
    controls, U+202A-U+202E and U+2066-U+2069, U+FEFF, and surrogates that do not pair up (a
    pair left by ``surrogatepass`` decoding is joined into its character). CR, CRLF and the
    Unicode line/paragraph separators become ``\\n``. ZWNJ and ZWJ are kept. NFC makes the same
    letter compare equal however the feed composed it (e.g. Urdu ۓ as one or two code points).
    """
    if s.isascii():
        # Most titles and many bodies: only the ASCII controls can be there, and NFC has
        # nothing to compose.
        return _UNWANTED.sub("", _LINE_BREAKS.sub("\n", s)) if not s.isprintable() else s
    if _NEEDS_CLEANING.search(s) is None:
        return s if unicodedata.is_normalized("NFC", s) else unicodedata.normalize("NFC", s)
    if _SURROGATE.search(s):
        s = s.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "ignore")
    s = _LINE_BREAKS.sub("\n", s)
    return unicodedata.normalize("NFC", _UNWANTED.sub("", s))


def _display_cleaner(
    url_relative: Literal["pass_through", "deny"] | tuple[Literal["rewrite_with_base"], str],
) -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(_DROP_WITH_CONTENT),
        attributes={"a": {"href"}},
        tag_attribute_values={key: {"dir": set(_DIR_VALUES)} for key in ALLOWED_TAGS},
        url_schemes=set(ALLOWED_URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
        url_relative=url_relative,
    )


# Building nh3's allow-list costs more than cleaning an ordinary article, and every matched
# article is cleaned: one cleaner, built once, keeps relative links as they are. Relative links
# are the only thing that cleaner treats differently from one resolving against the article's
# own address, and few articles have any: only an output holding one is cleaned again, with a
# cleaner built for that address. An absolute link's value starts with its scheme, which nh3's
# attribute escaping leaves alone; whatever else follows href=" is taken as relative, so text
# that merely looks like it costs a second cleaning, never a different result
# (tests/jirga/test_sanitize.py compares the two on random soup).
_DISPLAY_CLEANER = _display_cleaner("pass_through")
_RELATIVE_HREF = re.compile(r'href="(?![A-Za-z][A-Za-z0-9+.\-]*:)')


def sanitize_html(html: str, *, base_url: str | None = None) -> str:
    """An allow-listed copy of feed HTML, safe to put in an email.

    Kept: :data:`ALLOWED_TAGS`, ``href`` on links (http, https and mailto only, with
    ``rel="noopener noreferrer nofollow"``), and ``dir`` with rtl/ltr/auto. Everything else goes:
    other tags (their text stays, except in scripts, styles, frames, forms, SVG, MathML and the
    like, which go whole), every other attribute (style, class, id, on*), comments (so IE
    conditional comments). Relative links are resolved against ``base_url`` when given and
    dropped otherwise (or when ``base_url`` is no http(s) URL), since a digest has no base to
    resolve them against.
    """
    text = clean_text(html)
    cleaned: str = _DISPLAY_CLEANER.clean(text)
    if _RELATIVE_HREF.search(cleaned):
        cleaned = _sanitize_resolving(text, base_url)
    return clean_text(cleaned)


def _sanitize_resolving(html: str, base_url: str | None) -> str:
    """nh3's cleaning with relative links resolved against ``base_url``, or dropped."""
    # A base that is not itself a web address would make nh3 refuse the call, or resolve
    # relative links into javascript:.
    base = canonical_url(base_url) if base_url else None
    cleaned: str = _display_cleaner(("rewrite_with_base", base) if base else "deny").clean(html)
    return cleaned


# What :func:`_decode_once` parses with, built once: building nh3's allow-list costs about twice
# what cleaning an ordinary article does, and every entry of every feed comes through here.
_TEXT_CLEANER = nh3.Cleaner(
    tags=set(_BLOCK_TAGS),
    clean_content_tags=set(_DROP_WITH_CONTENT),
    attributes={},
    link_rel=None,
    strip_comments=True,
)


def _decode_once(markup: str) -> str:
    """One pass: drop tags (and dropped elements' content), turn blocks into newlines, unescape."""
    if "<" not in markup and "&" not in markup:
        # No markup and no references (most titles): what nh3 would give back, without the
        # cost of an HTML parse (tests/jirga/test_sanitize.py checks the two agree).
        return _squeeze(markup)
    stripped = _TEXT_CLEANER.clean(markup)
    # A newline in HTML source is a space; only block boundaries break lines. nh3 escapes every
    # "<" in text, so each "<...>" left is one of the block tags.
    return unescape(_NH3_TAG.sub("\n", _squeeze(stripped)))


def _squeeze(text: str) -> str:
    r"""Every run of whitespace made one space (``re.sub(r"\s+", " ", text)``), by str.split,
    which is several times faster than a regex whose class is all of Unicode's spaces. Both
    split on exactly the characters str.isspace accepts (tests/jirga/test_sanitize.py)."""
    inner = " ".join(text.split())
    if not inner:
        return " " if text else ""
    return (" " if text[0].isspace() else "") + inner + (" " if text[-1].isspace() else "")


def html_to_text(html: str) -> str:
    """Plain text of feed HTML, for matching and clustering.

    Tags are removed and entities decoded; scripts, styles and the like lose their content;
    block elements become line breaks. Runs of spaces collapse to one, lines are stripped and
    empty lines dropped. Feeds often escape twice (``&amp;#1591;`` for ``ط``, ``&lt;p&gt;``
    inside an already-escaped description): while the text still holds character references
    (decoded again) or common tags (parsed again) after a pass, it gets another, at most three
    in all. The result is passed through :func:`clean_text`.
    """
    text = _decode_once(clean_text(html))
    for _ in range(_MAX_DECODE_PASSES - 1):
        # The substring tests skip the regex scans on the many texts without "<" or "&".
        if "<" in text and _ESCAPED_TAG.search(text):
            # Parse again, keeping the line breaks the first pass found as <br>.
            text = _decode_once(text.replace("\n", "<br>"))
        elif "&" in text and _ENTITY.search(text):
            # References alone: decode them without reparsing, so a decoded "a<b" stays text.
            text = unescape(text)
        else:
            break
    # Each line stripped, its runs of spaces made one (str.split: see _squeeze).
    lines = (" ".join(line.split()) for line in clean_text(text).split("\n"))
    return "\n".join(line for line in lines if line)


def screening_text(html: str) -> str | None:
    """What :func:`html_to_text` would give but for its whitespace, or None when only that
    function can tell.

    It is html_to_text's first pass without the whitespace work (tags become spaces instead of
    line breaks; spaces are not squeezed, lines not stripped), for the common case where that
    pass is the only one: when its result holds no "<" and no character reference,
    html_to_text stops there. So the two texts hold the same characters in the same order once
    every run of whitespace is taken as one separator, which is all the matcher sees of
    whitespace (tests/jirga/test_sanitize.py checks that on random soup). A poll screens every
    entry with it and makes the full text only of those that may mention a watch term; most
    mention none.
    """
    markup = clean_text(html)
    if "<" in markup or "&" in markup:
        markup = unescape(_NH3_TAG.sub(" ", _TEXT_CLEANER.clean(markup)))
        # html_to_text would take another pass (the same tests, but for "<": its tag pattern
        # counts characters, and whitespace is not squeezed here).
        if "<" in markup or ("&" in markup and _ENTITY.search(markup)):
            return None
    return clean_text(markup)
