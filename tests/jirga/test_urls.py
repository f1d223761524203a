"""canonical_url and absolute_link, table-driven."""

from __future__ import annotations

import pytest

from jirga.urls import MAX_URL_CHARS, TRACKING_PARAMS, absolute_link, canonical_url

CANONICAL = [
    # (input, canonical)
    ("https://www.dawn.example/news/1", "https://www.dawn.example/news/1"),
    ("HTTPS://WWW.Dawn.Example/News/1", "https://www.dawn.example/News/1"),  # path keeps case
    ("http://example.com", "http://example.com/"),
    ("http://example.com:80/a", "http://example.com/a"),
    ("https://example.com:443/a", "https://example.com/a"),
    ("https://example.com:8443/a", "https://example.com:8443/a"),
    ("http://example.com:443/a", "http://example.com:443/a"),  # not http's default
    ("https://example.com/a#comments", "https://example.com/a"),
    ("https://example.com/a?#", "https://example.com/a"),
    ("https://example.com./a", "https://example.com/a"),
    ("https://user:secret@example.com/a", "https://example.com/a"),
    ("https://example.com/a/./b/../c", "https://example.com/a/c"),
    ("https://example.com/a/%2E%2E/c", "https://example.com/c"),
    ("https://example.com/%7euser/%41%62", "https://example.com/~user/Ab"),
    ("https://example.com/a%2fb%3A", "https://example.com/a%2Fb%3A"),  # reserved stay encoded
    ("https://example.com/100%", "https://example.com/100%25"),
    ("https://example.com/a b", "https://example.com/a%20b"),
    (
        "https://example.com/پاکستان",
        "https://example.com/%D9%BE%D8%A7%DA%A9%D8%B3%D8%AA%D8%A7%D9%86",
    ),
    ("https://bücher.example/", "https://xn--bcher-kva.example/"),
    ("https://XN--BCHER-KVA.example/", "https://xn--bcher-kva.example/"),
    ("https://طلوع.example/x", "https://xn--2gbe6aq.example/x"),
    ("http://[2001:DB8::1]:8080/x", "http://[2001:db8::1]:8080/x"),
    ("http://127.0.0.1/x", "http://127.0.0.1/x"),
    # tracking parameters go, the rest keep their order
    (
        "https://example.com/a?utm_source=rss&id=7&utm_medium=feed&page=2&fbclid=abc",
        "https://example.com/a?id=7&page=2",
    ),
    ("https://example.com/a?z=1&a=2", "https://example.com/a?z=1&a=2"),
    (
        "https://example.com/a?UTM_Campaign=x&gclid=1&dclid=2&gbraid=3&wbraid=4",
        "https://example.com/a",
    ),
    ("https://example.com/a?msclkid=1&mc_cid=2&mc_eid=3&igshid=4&yclid=5", "https://example.com/a"),
    ("https://example.com/a?_ga=1&ref_src=twsrc&cmpid=3&ocid=4", "https://example.com/a"),
    (
        "https://www.bbc.example/urdu/1?at_medium=RSS&at_campaign=KARANGA",
        "https://www.bbc.example/urdu/1",
    ),
    (
        "https://www.bbc.example/2?ns_mchannel=rss&ns_source=PublicRSS20-sa",
        "https://www.bbc.example/2",
    ),
    ("https://example.com/a?utm%5Fsource=x&q=1", "https://example.com/a?q=1"),
    ("https://example.com/a?mtm_campaign=x&pk_kwd=y&_hsenc=z&mkt_tok=t", "https://example.com/a"),
    ("https://example.com/a?ref=home&source=rss", "https://example.com/a?ref=home&source=rss"),
    ("https://example.com/a?a=1&&b=2&", "https://example.com/a?a=1&b=2"),
    ("https://example.com/a?q=a+b&x=%e2%82%ac", "https://example.com/a?q=a+b&x=%E2%82%AC"),
    ("https://example.com/a?q=ü", "https://example.com/a?q=%C3%BC"),
    ("https://example.com/a?x=1&amp;y=2", "https://example.com/a?x=1&y=2"),  # sloppy feed
    ("  https://example.com/a\n", "https://example.com/a"),
]

NOT_CANONICAL = [
    "",
    "example.com/a",
    "/relative/path",
    "//example.com/a",
    "ftp://example.com/a",
    "file:///etc/passwd",
    "javascript:alert(1)",
    "data:text/html,hi",
    "mailto:desk@example.com",
    "http://",
    "http:///a",
    "http://exa mple.com/",
    "http://a..b/",
    "http://-bad-.example/",
    "http://example.com:99999/",
    "http://example.com:port/",
    "http://[::1/",
    "https://" + "a" * 64 + ".example/",  # a DNS label is at most 63 characters
    "https://example.com/" + "a" * MAX_URL_CHARS,
]


@pytest.mark.parametrize(("url", "expected"), CANONICAL)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


@pytest.mark.parametrize("url", NOT_CANONICAL)
def test_not_a_web_url_has_no_canonical_form(url: str) -> None:
    assert canonical_url(url) is None


@pytest.mark.parametrize(("url", "expected"), CANONICAL)
def test_canonical_url_is_a_fixed_point(url: str, expected: str) -> None:
    assert canonical_url(expected) == expected


def test_tracking_list_covers_the_usual_names() -> None:
    required = {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "mc_cid", "mc_eid", "igshid",
        "yclid", "_ga", "ref_src", "cmpid", "ocid", "at_medium", "at_campaign",
    }  # fmt: skip
    assert required <= TRACKING_PARAMS


FEED = "https://feeds.example.com/news/rss.xml"
ABSOLUTE = [
    # (link, base, expected)
    ("https://www.example.com/a", FEED, "https://www.example.com/a"),
    ("https://www.example.com/a", None, "https://www.example.com/a"),
    ("/story/1", FEED, "https://feeds.example.com/story/1"),
    ("story/2", FEED, "https://feeds.example.com/news/story/2"),
    ("../up", FEED, "https://feeds.example.com/up"),
    ("//cdn.example.com/x", FEED, "https://cdn.example.com/x"),
    ("?page=2", FEED, "https://feeds.example.com/news/rss.xml?page=2"),
    ("  https://www.example.com/a  ", None, "https://www.example.com/a"),
    ("https://www.exa\tmple.com/a\n", None, "https://www.example.com/a"),
    ("\x00https://www.example.com/a\x1b", None, "https://www.example.com/a"),
    ("https://www.example.com/a b", None, "https://www.example.com/a%20b"),
    ("https://www.example.com/a?x=1&amp;y=2", None, "https://www.example.com/a?x=1&y=2"),
    ("HTTPS://www.example.com/a", None, "HTTPS://www.example.com/a"),  # kept as given
]
REFUSED = [
    ("javascript:alert(1)", FEED),
    ("JaVaScRiPt:alert(1)", FEED),
    ("jav\tascript:alert(1)", FEED),
    ("jav&#x09;ascript:alert(1)", FEED),
    ("jav&#9;ascript:alert(1)", FEED),
    ("\njavascript:alert(1)", FEED),
    (" javascript:alert(1)", None),
    ("vbscript:msgbox(1)", FEED),
    ("data:text/html;base64,PHNjcmlwdD4=", FEED),
    ("file:///etc/passwd", FEED),
    ("mailto:desk@example.com", FEED),
    ("ftp://example.com/a", FEED),
    ("/story/1", None),
    ("/story/1", "not a url"),
    ("/story/1", "javascript:alert(1)//"),
    ("", FEED),
    ("   ", FEED),
    (None, FEED),
    ("https://example.com/" + "a" * MAX_URL_CHARS, None),
]


@pytest.mark.parametrize(("link", "base", "expected"), ABSOLUTE)
def test_absolute_link(link: str, base: str | None, expected: str) -> None:
    assert absolute_link(link, base) == expected


@pytest.mark.parametrize(("link", "base"), REFUSED)
def test_absolute_link_refuses_what_is_not_a_web_page(link: str | None, base: str | None) -> None:
    assert absolute_link(link, base) is None
