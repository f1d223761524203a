"""Hostile feed documents for the flow tests, written here (nothing copied from a publisher).

Each function returns the bytes (or a chunk generator) one hostile server would send. Big bodies
are generated as they are sent, never held whole in memory.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Callable, Iterator

from tests.flows.feeds import Item, rss

DAY = dt.datetime(2026, 2, 20, 8, 0, tzinfo=dt.UTC)
MIB = 1 << 20
#: Words that must never reach the database from a hostile document.
FORBIDDEN = ("<script", "javascript:", "onerror", "onload", "vbscript:", "\x00", "\x1b")


def good_items(feed_id: str, n: int = 2, *, start: int = 0) -> list[Item]:
    """``n`` English entries that mention the TTP, unique to ``feed_id``."""
    return [
        Item(
            f"TTP statement {i} reported by {feed_id}",
            f"Tehrik-i-Taliban Pakistan issued statement number {i} on {feed_id} about talks.",
            f"https://{feed_id}.example/news/{i}",
            guid=f"{feed_id}-{i}",
            published=DAY - dt.timedelta(hours=i),
        )
        for i in range(start, start + n)
    ]


def good_feed(feed_id: str, n: int = 2, *, start: int = 0) -> bytes:
    """A plain, valid RSS document of :func:`good_items`."""
    return rss(good_items(feed_id, n, start=start), title=f"Feed {feed_id}")


# (title, body) of one matching and one non-matching entry per language; {i} numbers them.
LANGUAGE_TEXTS = {
    "en": (
        ("Khalilzad meets Taliban envoys, round {i}", "Zalmay Khalilzad met the Taliban in Doha."),
        ("Cricket series, match {i}", "Pakistan and Afghanistan played a close match."),
    ),
    "ur": (
        ("کالعدم تحریک طالبان پاکستان سے مذاکرات، دور {i}", "حکومت نے ٹی ٹی پی سے بات چیت کی۔"),
        ("جامعہ کے طالبان کا امتحان {i}", "طالبان اور طالبات نے سالانہ امتحان دیا۔"),
    ),
    "ps": (
        ("د پاکستان طالبان وايي، {i}", "ټي ټي پي په خپله وينا کې د خبرو يادونه وکړه."),
        ("د پوهنتون ازموينه {i}", "زده کوونکو نن خپله ازموينه ورکړه."),
    ),
    "fa": (
        ("سخنگوی امارت اسلامی گفت، {i}", "حکومت طالبان در کابل نشستی برگزار کرد."),
        ("مسابقه فوتبال {i}", "تیم ملی امروز در ورزشگاه بازی کرد."),
    ),
}


def language_items(feed_id: str, language: str, rounds: range) -> list[Item]:
    """For each round, one entry that mentions a watch term and one that does not."""
    (hit_title, hit_body), (miss_title, miss_body) = LANGUAGE_TEXTS[language]
    items = []
    for i in rounds:
        for kind, title, body in (("hit", hit_title, hit_body), ("miss", miss_title, miss_body)):
            items.append(
                Item(
                    title.format(i=i),
                    body,
                    f"https://{feed_id}.example/{kind}/{i}",
                    guid=f"{feed_id}-{kind}-{i}",
                    published=DAY - dt.timedelta(hours=i),
                )
            )
    return items


def _rss_raw(items_xml: str, *, prolog: str = "", encoding: str = "utf-8") -> str:
    """An RSS document around hand-written item XML (for what the Item builder cannot say)."""
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>\n{prolog}'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        "<channel><title>Hostile</title><link>https://hostile.example/</link>\n"
        f"{items_xml}\n</channel></rss>\n"
    )


def _item(guid: str, title: str, body: str, *, link: str | None = None, extra: str = "") -> str:
    link = link if link is not None else f"https://hostile.example/{guid}"
    return (
        f"<item><title>{title}</title><link>{link}</link>"
        f'<guid isPermaLink="false">{guid}</guid>'
        "<pubDate>Fri, 20 Feb 2026 08:00:00 +0000</pubDate>"
        f"<description>{body}</description>{extra}</item>"
    )


# --- entities -------------------------------------------------------------------------------


def billion_laughs() -> bytes:
    """Nested entities: ten levels of ten, a billion "lol"s if anything expanded them."""
    decls = ['<!ENTITY lol "lol">']
    for level in range(1, 10):
        ref = f"&lol{level - 1};" if level > 1 else "&lol;"
        decls.append(f'<!ENTITY lol{level} "{ref * 10}">')
    prolog = "<!DOCTYPE rss [\n" + "\n".join(decls) + "\n]>\n"
    item = _item("laughs-1", "TTP laughs &lol9;", "Tehrik-i-Taliban Pakistan &lol9; &lol9;")
    return _rss_raw(item, prolog=prolog).encode()


def big_entity(refs: int = 5000) -> bytes:
    """One 100 KB entity referenced ``refs`` times (half a gigabyte if expanded)."""
    prolog = f'<!DOCTYPE rss [<!ENTITY big "{"B" * 100_000}">]>\n'
    item = _item("big-1", "TTP big entity", "TTP " + "&big;" * refs)
    return _rss_raw(item, prolog=prolog).encode()


def external_entity(system_id: str, tag: str) -> bytes:
    """An external entity whose replacement text would be the file or URL ``system_id``; the
    entry's GUID and link are ``xxe-<tag>``."""
    prolog = (
        f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "{system_id}">'
        f'<!ENTITY % pe SYSTEM "{system_id}"> %pe;]>\n'
    )
    item = _item(f"xxe-{tag}", "TTP external &xxe;", "Tehrik-i-Taliban Pakistan said &xxe; today")
    return _rss_raw(item, prolog=prolog).encode()


# --- sizes ----------------------------------------------------------------------------------


def endless_body(total: int = 200 * MIB, chunk: int = MIB) -> Callable[[], Iterator[bytes]]:
    """A generator factory of a ``total``-byte feed body, produced chunk by chunk."""
    head = _rss_raw("").split("</channel>")[0].encode() + b"<item><title>TTP huge</title>"
    filler = b"<description>" + b"A" * (chunk - 64) + b"</description>"

    def chunks() -> Iterator[bytes]:
        yield head
        sent = len(head)
        while sent < total:
            yield filler
            sent += len(filler)

    return chunks


def gzip_bomb(decoded: int = 256 * MIB) -> bytes:
    """A gzip body of about 256 KiB that inflates to ``decoded`` bytes of a feed."""
    z = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    head = _rss_raw("").split("</channel>")[0].encode() + b"<item><title>TTP bomb</title><p>"
    parts = [z.compress(head)]
    block = b" " * MIB
    for _ in range(decoded // MIB):
        parts.append(z.compress(block))
    parts.append(z.compress(b"</p></item></channel></rss>"))
    parts.append(z.flush())
    return b"".join(parts)


def trickle(body: bytes, pieces: int = 40) -> Callable[[], Iterator[bytes]]:
    """A generator factory sending ``body`` in ``pieces`` parts (the Route adds the delay)."""
    step = max(1, len(body) // pieces)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), step):
            yield body[start : start + step]

    return chunks


# --- encodings and characters -----------------------------------------------------------------

URDU_TITLE = "کالعدم تحريک طالبان پاکستان سے مذاکرات"  # Arabic yeh: cp1256 has no Farsi yeh
URDU_BODY = "حکومت نے کالعدم تحريک طالبان پاکستان سے بات چيت کے ليے جرگہ بنايا"


def windows_1256_labelled_utf8() -> bytes:
    """An Urdu feed encoded in windows-1256 whose declaration says UTF-8."""
    items = [Item(URDU_TITLE, URDU_BODY, "https://ur1256.example/1", guid="ur1256-1")]
    return rss(items).decode("utf-8").encode("cp1256")


def one_bad_byte() -> bytes:
    """A valid UTF-8 Urdu feed with one byte (0xFF) that no UTF-8 text can hold."""
    items = [
        Item(URDU_TITLE, URDU_BODY + " BADBYTE", "https://badbyte.example/1", guid="badbyte-1"),
        Item("TTP clean entry", "Tehrik-i-Taliban Pakistan", "https://badbyte.example/2"),
    ]
    return rss(items).replace(b"BADBYTE", b"\xff", 1)


def control_characters() -> bytes:
    """NUL and ESC raw in text and links, and as character references."""
    items = "\n".join(
        [
            _item(
                "ctrl-1",
                "TTP\x00 raw\x1b[31m NUL and ESC",
                "Tehrik-i-Taliban\x00 Pakistan\x1b[2J cleared the screen",
                link="https://ctrl.example/\x00one\x1b",
            ),
            _item(
                "ctrl-2",
                "TTP &#27;[31m referenced ESC &#x1b;",
                "Tehrik-i-Taliban Pakistan &#0; &#x0; &#27;]0;title&#7;",
            ),
            _item(
                "ctrl-3",
                "<![CDATA[TTP in CDATA \x1b[5m blink]]>",
                "<![CDATA[<p>Tehrik-i-Taliban Pakistan &#27; \x00 cdata</p>]]>",
            ),
        ]
    )
    return _rss_raw(items).encode()


# --- markup -----------------------------------------------------------------------------------

SCRIPT_HTML = (
    '<p onclick="alert(1)">Tehrik-i-Taliban Pakistan statement</p>'
    "<script>alert('s1')</script><img src=x onerror=alert(2)>"
    '<a href="javascript:alert(3)">j1</a><a href=" jav&#x09;ascript:alert(4)">j2</a>'
    '<a href="JaVaScRiPt:alert(5)">j3</a><a href="vbscript:msgbox(6)">v</a>'
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCg3KTwvc2NyaXB0Pg==">d</a>'
    '<svg onload=alert(8)><circle/></svg><iframe src="javascript:alert(9)"></iframe>'
    "<style>body{background:url(javascript:alert(10))}</style>"
    '<div style="background:url(javascript:alert(11))" onmouseover="alert(12)">div</div>'
    '<a href="https://safe.example/ok" onfocus="alert(13)">safe link</a>'
    '<object data="javascript:alert(14)"></object><form action="javascript:alert(15)">'
    '<button formaction="javascript:alert(16)">b</button></form>'
    "<math><mtext><script>alert(17)</script></mtext></math>"
)


def _cdata(html: str) -> str:
    return f"<![CDATA[{html}]]>"


def _escaped(html: str) -> str:
    return html.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def scripts_rss() -> bytes:
    """Scripts, event handlers and ``javascript:`` in every HTML field and in the links."""
    title = "TTP <script>alert('t')</script><img src=x onerror=alert('t')> title"
    items = "\n".join(
        [
            _item(
                "script-1",
                _escaped(title),
                _cdata(SCRIPT_HTML),
                link="javascript:alert('link')",
                extra=f"<content:encoded>{_cdata(SCRIPT_HTML)}</content:encoded>"
                "<author>x@example.org (<script>alert('a')</script>)</author>",
            ),
            _item(
                "script-2",
                _cdata(title),
                _escaped(SCRIPT_HTML),
                link=" JAVASCRIPT:alert('link2')",
            ),
            _item(
                "script-3",
                "TTP data link",
                "Tehrik-i-Taliban Pakistan",
                link=_escaped("data:text/html,<script>alert(1)</script>"),
            ),
            _item(
                "script-4",
                "TTP relative link",
                "Tehrik-i-Taliban Pakistan",
                link="/news/relative?x=1",
            ),
        ]
    )
    return _rss_raw(items).encode()


def double_escaped_script() -> bytes:
    """A script and an SVG handler escaped twice, as sloppy feeds escape text, with no other tag
    beside them."""
    item = _item(
        "script-2x",
        _escaped(_escaped("TTP double <script>alert(1)</script><svg onload=alert(2)> escaped")),
        _escaped(_escaped("<script>alert(3)</script>Tehrik-i-Taliban Pakistan")),
    )
    return _rss_raw(item).encode()


def scripts_atom() -> bytes:
    """The same hostility in Atom: html and xhtml content, a javascript: link."""
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>Hostile atom</title>'
        "<id>urn:hostile</id><updated>2026-02-20T08:00:00Z</updated>"
        "<entry><id>urn:atom-1</id><updated>2026-02-20T08:00:00Z</updated>"
        f'<title type="html">{_escaped(SCRIPT_HTML)}</title>'
        '<link rel="alternate" href="javascript:alert(\'atom\')"/>'
        f'<summary type="html">{_escaped(SCRIPT_HTML)}</summary>'
        '<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">'
        '<p onclick="alert(1)">TTP xhtml</p><script>alert(2)</script>'
        '<a href="javascript:alert(3)">x</a><img src="x" onerror="alert(4)"/></div></content>'
        "</entry></feed>\n"
    ).encode()


# --- dates and identities ---------------------------------------------------------------------

ABSURD_DATES = {
    "date-year1": "Mon, 01 Jan 0001 00:00:00 +0000",
    "date-9999": "Fri, 31 Dec 9999 23:59:59 +0000",
    "date-future": "Tue, 01 Jan 2999 00:00:00 +0000",
    "date-1900": "Mon, 01 Jan 1900 00:00:00 +0000",
    "date-garbage": "the day after the talks, 25:61",
    "date-overflow": "Sun, 99 Foo 99999999999 99:99:99 +9999",
}


def absurd_dates() -> bytes:
    """Entries whose pubDate is year 1, 9999, far future, 1900 or garbage."""
    items = []
    for guid, date in ABSURD_DATES.items():
        items.append(
            f"<item><title>TTP {guid}</title><link>https://dates.example/{guid}</link>"
            f'<guid isPermaLink="false">{guid}</guid><pubDate>{date}</pubDate>'
            f"<description>Tehrik-i-Taliban Pakistan {guid}</description></item>"
        )
    items.append(
        "<item><title>TTP atom-style date</title><guid>date-iso</guid>"
        "<link>https://dates.example/iso</link>"
        "<dc:date xmlns:dc='http://purl.org/dc/elements/1.1/'>0000-00-00T00:00:00Z</dc:date>"
        "<description>Tehrik-i-Taliban Pakistan iso</description></item>"
    )
    return _rss_raw("\n".join(items)).encode()


def guid_trouble(big: int = MIB) -> bytes:
    """Two entries sharing a GUID, two without one, and one whose GUID is ``big`` characters."""
    items = [
        _item("dup-guid", "TTP first with the shared guid", "Tehrik-i-Taliban Pakistan one"),
        _item("dup-guid", "TTP second with the shared guid", "Tehrik-i-Taliban Pakistan two"),
        "<item><title>TTP no guid A</title><link>https://guids.example/a</link>"
        "<description>Tehrik-i-Taliban Pakistan A</description></item>",
        "<item><title>TTP no guid and no link</title>"
        "<description>Tehrik-i-Taliban Pakistan without identity</description></item>",
        _item("G" * big, "TTP enormous guid", "Tehrik-i-Taliban Pakistan big guid"),
    ]
    return _rss_raw("\n".join(items)).encode()


# --- not feeds --------------------------------------------------------------------------------

HTML_ERROR_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>503 Service Unavailable</title></head>"
    b"<body><h1>Service Unavailable</h1><p>TTP maintenance window</p>"
    b"<script>alert(1)</script></body></html>\n"
)


def truncated(feed_id: str) -> bytes:
    """A valid feed of three entries cut off in the middle of the third."""
    body = good_feed(feed_id, 3, start=10)
    cut = body.index(b"<item>", body.index(b"<item>", body.index(b"<item>") + 1) + 1)
    return body[: cut + 40]
