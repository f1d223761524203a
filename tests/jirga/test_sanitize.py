"""sanitize_html keeps only the allow-list, html_to_text gives clean plain text, clean_text drops
control characters: on hostile markup written for these tests, and on random soup."""

from __future__ import annotations

import html
import random
import re

import pytest

from jirga import sanitize
from jirga.sanitize import clean_text, html_to_text, sanitize_html

HOSTILE = {
    "script": "<p>hi</p><script>alert('x')</script>",
    "script upper case": "<SCRIPT SRC=//evil.example/x.js></SCRIPT>ok",
    "event handler": '<p onclick="alert(1)" ONMOUSEOVER=alert(2)>hi</p>',
    "event on link": '<a href="https://ok.example/" onfocus="alert(1)" autofocus>x</a>',
    "javascript link": '<a href="javascript:alert(1)">x</a>',
    "javascript mixed case": '<a href="JaVaScRiPt:alert(1)">x</a>',
    "javascript tab entity": '<a href="jav&#x09;ascript:alert(1)">x</a>',
    "javascript newline entity": '<a href="jav&#10;ascript:alert(1)">x</a>',
    "javascript leading space": '<a href="  javascript:alert(1)">x</a>',
    "javascript entities": '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;:alert(1)">x</a>',  # noqa: E501
    "vbscript link": '<a href="vbscript:msgbox(1)">x</a>',
    "data link": '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    "svg onload": '<svg onload="alert(1)"><circle r="4"/></svg>after',
    "svg script": "<svg><script>alert(1)</script></svg>",
    "math": '<math><mtext><a href="javascript:alert(1)">x</a></mtext></math>',
    "form": '<form action="https://evil.example/"><input name="q"><button>Go</button></form>',
    "iframe": '<iframe src="https://evil.example/"></iframe>text',
    "object embed": '<object data="x.swf"></object><embed src="x.swf">',
    "style element": "<style>body{background:url(javascript:alert(1))}</style>ok",
    "style expression": '<p style="width: expression(alert(1))">x</p>',
    "class and id": '<p class="evil" id="x">x</p>',
    "conditional comment": "<!--[if IE]><script>alert(1)</script><![endif]-->ok",
    "downlevel revealed": "<![if !IE]><script>alert(1)</script><![endif]>ok",
    "plain comment": "<!-- secret -->ok",
    "tracking pixel": '<img src="https://track.example/p.gif?id=1" width="1" height="1">x',
    "img onerror": '<img src=x onerror="alert(1)">',
    "meta refresh": '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    "base tag": '<base href="javascript:alert(1)//">',
    "link stylesheet": '<link rel="stylesheet" href="https://evil.example/x.css">',
    "unclosed attribute": '<a href="https://ok.example/ onmouseover=alert(1) x="',
    "textarea breakout": "<textarea></textarea><script>alert(1)</script></textarea>",
    "noscript breakout": '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "nul and esc": "<p>a\x00b\x1bc</p>",
    "bidi override": "<p>abc\u202edcba\u2066x\u2069</p>",
}
ATTACK_WORDS = ("alert", "evil.example", "track.example", "msgbox")


def _tags(markup: str) -> list[str]:
    return re.findall(r"<[^>]*>", markup)


def assert_safe(out: str) -> None:
    """No dangerous element, attribute or URL survives in ``out``."""
    lowered = out.lower()
    for element in ("<script", "<svg", "<math", "<form", "<input", "<iframe", "<img", "<style"):
        assert element not in lowered
    assert "<!--" not in out
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", out)
    for tag in _tags(out):
        decoded = re.sub(r"\s", "", html.unescape(tag)).lower()
        assert not re.search(r"\son[a-z]*\s*=", tag, re.IGNORECASE), tag
        for bad in ("javascript:", "vbscript:", "data:", "style=", "class=", "expression("):
            assert bad not in decoded, tag


@pytest.mark.parametrize("markup", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_html_is_neutralised(markup: str) -> None:
    out = sanitize_html(markup)
    assert_safe(out)
    for word in ATTACK_WORDS:
        # Attack payloads live in attributes or dropped elements; none may reach the output.
        assert word not in out
    text = html_to_text(markup)
    assert "<script" not in text.lower()
    assert "alert(" not in text


def test_broken_nesting_leaves_only_text() -> None:
    # HTML5 reads "<scr<script>" as one unknown tag: what follows is harmless, escaped text.
    out = sanitize_html("<scr<script>ipt>alert(1)</script>")
    assert_safe(out)
    assert out == "ipt&gt;alert(1)"


def test_allowed_markup_is_kept() -> None:
    markup = (
        '<h2>Head</h2><p dir="rtl">پاکستان <b>bold</b> <strong>s</strong> <i>i</i> <em>e</em></p>'
        "<ul><li>one</li></ul><ol><li>two</li></ol><blockquote>quote</blockquote><q>q</q>"
        "<pre><code>x = 1</code></pre><figure><figcaption>cap</figcaption></figure><br>"
    )
    out = sanitize_html(markup)
    for tag in ("h2", "p", "b", "strong", "i", "em", "ul", "ol", "li", "blockquote", "q", "pre"):
        assert f"<{tag}" in out
    assert '<p dir="rtl">' in out
    assert "<figcaption>cap</figcaption>" in out


def test_links_get_rel_and_only_web_schemes() -> None:
    out = sanitize_html(
        '<a href="https://ok.example/a">a</a><a href="mailto:desk@ok.example">m</a>'
        '<a href="ftp://ok.example/f">f</a>'
    )
    assert '<a href="https://ok.example/a" rel="noopener noreferrer nofollow">a</a>' in out
    assert 'href="mailto:desk@ok.example"' in out
    assert "ftp:" not in out


def test_relative_links_resolve_against_base_or_go() -> None:
    markup = '<a href="/news/1">r</a>'
    assert 'href="https://feed.example/news/1"' in sanitize_html(
        markup, base_url="https://feed.example/rss.xml"
    )
    assert "href" not in sanitize_html(markup)
    assert "href" not in sanitize_html(markup, base_url="javascript:alert(1)")
    assert "href" not in sanitize_html(markup, base_url="not a url")


def test_unknown_tags_keep_text_and_bad_dir_goes() -> None:
    out = sanitize_html('<h1>Title</h1><div dir="evil"><span>kept</span></div><table><td>c</td>')
    assert "<h1" not in out and "Title" in out
    assert "dir=" not in out and "kept" in out and "c" in out


def test_html_to_text_blocks_entities_and_whitespace() -> None:
    markup = "<p>One&nbsp;&amp; two</p><p>  three\n\t four </p><div>five<br>six</div><b>x</b>y"
    assert html_to_text(markup) == "One & two\nthree four\nfive\nsix\nxy"


def test_html_to_text_drops_script_style_and_comments() -> None:
    markup = "<style>p{}</style><script>var x=1</script>keep<!-- no --><noscript>ns</noscript>"
    assert html_to_text(markup) == "keep"


def test_html_to_text_decodes_double_escaped_entities() -> None:
    # &amp;#1591; is "&#1591;" after one pass; it still looks encoded, so it is decoded again.
    assert html_to_text("&amp;#1591;&amp;#1575;&amp;#1604;&amp;#1576;&amp;#1575;&amp;#1606;") == (
        "طالبان"
    )
    assert html_to_text("&amp;amp;#1591;") == "ط"  # three passes
    assert html_to_text("&lt;p&gt;Hello &lt;b&gt;world&lt;/b&gt;&lt;/p&gt;") == "Hello world"
    assert html_to_text("AT&amp;amp;T") == "AT&T"


def test_html_to_text_second_pass_keeps_first_pass_lines() -> None:
    assert html_to_text("<p>x</p><p>&amp;lt;b&amp;gt;y&amp;lt;/b&amp;gt;</p>") == "x\ny"


def test_html_to_text_keeps_decoded_angle_brackets_as_text() -> None:
    assert html_to_text("5 &lt; 6 and a&amp;lt;b") == "5 < 6 and a<b"
    assert html_to_text("x &lt;y and z&gt; w") == "x <y and z> w"


def test_html_to_text_keeps_zwnj_and_rtl_text() -> None:
    persian = "می\u200cشود"
    assert html_to_text(f"<p>{persian}</p>") == persian


def test_clean_text_removes_controls_and_keeps_joiners() -> None:
    dirty = "a\x00b\x1bc\x7fd\x85e\x9ff\u202eg\u202ah\u2066i\u2069j\ufeffk\u200cl\u200dm\tn\no"
    assert clean_text(dirty) == "abcdefghijk\u200cl\u200dm\tn\no"


def test_clean_text_line_breaks_surrogates_and_nfc() -> None:
    assert clean_text("a\r\nb\rc\u2028d") == "a\nb\nc\nd"
    assert clean_text("x\ud83d\ude00y") == "x😀y"  # a pair left by surrogatepass decoding
    assert clean_text("x\ud800y\udfffz") == "xyz"
    assert clean_text("\u06d2\u0654") == "\u06d3"  # Urdu ۓ composed
    assert clean_text("e\u0301") == "é"


SOUP = [
    "<script>", "</script>", "<SCRIPT ", "javascript:", "JAVASCRIPT:", "jav&#x09;ascript:",
    "java\tscript:", "vbscript:", "data:text/html,", "<a href=\"", "<a href='", "<a href=", '"',
    "'", ">", "<", "/>", " onload=", " onerror=", " OnClick =", "<img src=x", "<svg", "<math",
    "<iframe", "<form", "<!--", "-->", "<![if IE]>", "<![endif]>", "<style>", "</style>",
    "expression(", "&#", "&amp;", "&lt;", "x", " ", "\n", "\x00", "\x1b", "\u202e", "\u200c",
    "ی", "ټ", "<p>", "</p>", "<b>", "=", "alert(1)", "<noscript>", "<textarea>", "<template>",
]  # fmt: skip


def _random_markup(rng: random.Random) -> str:
    parts = [rng.choice(SOUP) for _ in range(rng.randint(1, 40))]
    if rng.random() < 0.3:
        parts.append("".join(chr(rng.randint(0, 0x3000)) for _ in range(rng.randint(1, 20))))
    return "".join(parts)


def test_random_soup_never_yields_active_content() -> None:
    rng = random.Random(20240517)
    for _ in range(1500):
        markup = _random_markup(rng)
        out = sanitize_html(markup)
        assert "<script" not in out.lower(), markup
        for tag in _tags(out):
            decoded = re.sub(r"\s", "", html.unescape(tag)).lower()
            assert "javascript:" not in decoded and "vbscript:" not in decoded, markup
            assert not re.search(r"\son[a-z]*\s*=", tag, re.IGNORECASE), markup
        assert sanitize_html(out) == out, markup  # the digest may sanitise again: a fixed point


def test_random_strings_leave_no_control_characters() -> None:
    rng = random.Random(7)
    forbidden = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
    for _ in range(2000):
        s = "".join(
            chr(rng.choice((rng.randint(0, 0xFF), rng.randint(0, 0x10FFFF)))) for _ in range(30)
        )
        out = clean_text(s)
        assert not forbidden.search(out), repr(s)
        out.encode("utf-8")  # no lone surrogate is left to make this fail
        assert not forbidden.search(html_to_text(s)), repr(s)


@pytest.mark.parametrize(
    "plain",
    ["Taliban talks", "a > b", 'say "no"', "line\r\nbreak\ttab", "پاکستان\u200cی", "\u202eabc", ""],
)
def test_plain_text_skips_the_html_parser_with_the_same_result(plain: str) -> None:
    # The shortcut in _decode_once for text without "<" or "&" must give what nh3 gives.
    via_nh3 = sanitize._decode_once(plain + "<br>")
    assert sanitize._decode_once(plain) + "\n" == via_nh3


_SPACE_CHARS = [chr(cp) for cp in range(0x3001) if chr(cp).isspace()]


def test_squeeze_is_the_regex_it_replaces() -> None:
    rng = random.Random(5)
    alphabet = [*_SPACE_CHARS, "a", "ط", "\u200b", "\u200c", "_", "-"]
    for _ in range(2000):
        s = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert sanitize._squeeze(s) == re.sub(r"\s+", " ", s), repr(s)


def test_every_unicode_space_separates_words_in_plain_text() -> None:
    # (the control characters among them, such as U+000B, are removed before, by clean_text)
    for space in (c for c in _SPACE_CHARS if clean_text(c)):
        assert html_to_text(f"<p>a{space}{space}b</p>") in ("a b", "a\nb"), hex(ord(space))


# Links as feeds write them: absolute, relative in every form, and not links at all.
_HREFS = [
    "https://ok.example/a?b=1&c=2#f", "HTTP://OK.example", "mailto:desk@ok.example", "/news/1",
    "news/2", "../up", "//cdn.example/x", "?q=1", "#top", "", " https://ok.example/sp ",
    "\thttps://ok.example/tab", "ftp://ok.example/f", "javascript:alert(1)", "c:\\file",
    "http://[::1", "https://ok.example/ü", "نوی/خبر", "foo:bar", "a b",
]  # fmt: skip
_BASES = [None, "https://feed.example/dir/rss.xml", "javascript:alert(1)", "not a url"]


def _one_pass_sanitize(markup: str, base_url: str | None) -> str:
    """sanitize_html as it was before its shared cleaner: one nh3 call with every option."""
    base = sanitize.canonical_url(base_url) if base_url else None
    cleaned: str = sanitize.nh3.clean(
        clean_text(markup),
        tags=set(sanitize.ALLOWED_TAGS),
        clean_content_tags=set(sanitize._DROP_WITH_CONTENT),
        attributes={"a": {"href"}},
        tag_attribute_values={
            tag: {"dir": {"rtl", "ltr", "auto"}} for tag in sanitize.ALLOWED_TAGS
        },
        url_schemes={"http", "https", "mailto"},
        link_rel=sanitize.LINK_REL,
        strip_comments=True,
        url_relative=("rewrite_with_base", base) if base else "deny",
    )
    return clean_text(cleaned)


def test_the_shared_cleaner_gives_what_one_cleaner_per_address_gives() -> None:
    # sanitize_html cleans with one cleaner that keeps relative links, and cleans again for the
    # article's address only when a relative link is left: the result must be the same.
    rng = random.Random(20261203)
    resolved = 0
    for _ in range(1500):
        parts = [rng.choice(SOUP) for _ in range(rng.randint(0, 12))]
        for _ in range(rng.randint(0, 3)):
            quote = rng.choice(['"', "'", ""])
            href = rng.choice(_HREFS)
            parts.append(f"<a href={quote}{href}{quote}>{rng.choice(SOUP)}</a>")
        markup = "".join(rng.sample(parts, len(parts)))
        base = rng.choice(_BASES)
        expected = _one_pass_sanitize(markup, base)
        assert sanitize_html(markup, base_url=base) == expected, (markup, base)
        resolved += 'href="https://feed.example/' in expected
    assert resolved > 100  # relative links were resolved often enough to count


# Text-like pieces for the screening test: words in three scripts, every kind of space, and
# references that decode to letters, spaces, markup or a second level of escaping.
_WORDY = [
    "Taliban", "TTP", "طالبان", "ټي ټي پي", "Khalil", "zad", " ", "\t", "\n", "\u00a0", "\u3000",
    "&nbsp;", "&#10;", "&#x20;", "&#84;", "&#1591;", "&amp;", "&amp;#84;", "&lt;b&gt;", "&lt;",
    "&gt;", "&quot;", "AT&T", "Q & A", "&copy", "a<3", "<br>", "<p>", "</p>", "<li>", "<div>",
    "<b>", "</b>", "<i>", "<span class=x>", "<a href='/x'>", "</a>", "<img alt='Taliban'>",
    "\u200c", "\u0640", "\u064b", "-", ".", "e\u0301",
]  # fmt: skip


def _words(text: str) -> list[str]:
    return text.split()


def test_screening_text_has_the_words_of_the_plain_text() -> None:
    # Whitespace aside, screening_text is html_to_text whenever it answers at all.
    rng = random.Random(20261204)
    answered = 0
    for _ in range(3000):
        pool = SOUP if rng.random() < 0.3 else _WORDY
        markup = "".join(rng.choice(pool) for _ in range(rng.randint(0, 30)))
        screened = sanitize.screening_text(markup)
        if screened is None:
            continue
        answered += 1
        assert _words(screened) == _words(html_to_text(markup)), repr(markup)
    assert answered > 1000  # most markup is screened, not handed back


@pytest.mark.parametrize(
    ("markup", "words"),
    [
        ("<p>Tal<b>iban</b>  said</p>", ["Taliban", "said"]),
        ("<p>Zalmay</p><p>Khalilzad</p>", ["Zalmay", "Khalilzad"]),
        ("<li>AT&amp;T</li>", ["AT&T"]),
        ("a&nbsp;b&#10;c", ["a", "b", "c"]),
        ("<script>TTP</script>x", ["x"]),
    ],
)
def test_screening_text_of_common_markup(markup: str, words: list[str]) -> None:
    screened = sanitize.screening_text(markup)
    assert screened is not None
    assert _words(screened) == words == _words(html_to_text(markup))


@pytest.mark.parametrize("markup", ["&amp;lt;p&amp;gt;TTP", "x &lt; y", "&amp;amp;", "a &lt;b&gt;"])
def test_screening_text_hands_back_what_a_second_pass_would_change(markup: str) -> None:
    assert sanitize.screening_text(markup) is None
