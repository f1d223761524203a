"""OPML export and import round-trip, reader OPML with folders, hostile XML, and TOML merging."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from jirga.config import load_feeds
from jirga.errors import ConfigError
from jirga.opml import feeds_from_opml, feeds_to_opml, merge_feeds_into_toml
from jirga.types import Feed

CONFIG = Path(__file__).resolve().parents[2] / "config"

READER_OPML = """\
<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>My reader</title></head>
  <body>
    <outline text="Pakistan">
      <outline text="Urdu press">
        <outline type="rss" text="BBC Urdu" xmlUrl="https://feeds.bbci.co.uk/urdu/rss.xml"/>
        <outline type="rss" text="بی بی سی" xmlUrl="https://www.independenturdu.com/rss.xml"/>
      </outline>
      <outline type="rss" text="Dawn" title="Dawn" language="en-PK"
               xmlUrl="https://www.dawn.com/feeds/home" category="/country/pk,newspaper"/>
    </outline>
    <outline text="Old" isComment="true">
      <outline type="rss" text="Dawn" xmlUrl="https://www.dawn.com/feeds/pakistan"
               language="en"/>
    </outline>
    <outline type="rss" text="TOLOnews Dari" language="prs-AF"
             xmlUrl="https://tolonews.com/fa/rss.xml"/>
  </body>
</opml>
"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE opml [
  <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
  <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
  <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
  <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
]>
<opml version="2.0"><head/><body>
  <outline type="rss" text="&d;" xmlUrl="https://example.com/feed" language="en"/>
</body></opml>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<opml version="2.0"><head/><body>
  <outline type="rss" text="&secret;" xmlUrl="https://example.com/feed" language="en"/>
</body></opml>
"""


def test_export_then_import_keeps_every_field_of_the_shipped_feeds() -> None:
    feeds = load_feeds(CONFIG / "feeds.toml")
    back = feeds_from_opml(feeds_to_opml(feeds, title="jirga"))
    assert [(f.id, f.url, f.language) for f in back] == [(f.id, f.url, f.language) for f in feeds]
    assert back == list(feeds)  # names, countries, tags and enabled too


def test_export_writes_standard_opml_attributes() -> None:
    feed = Feed("bbc-urdu", "BBC Urdu", "https://feeds.bbci.co.uk/urdu/rss.xml", "intl", "ur")
    document = feeds_to_opml([feed], title="Mine").decode()
    assert document.startswith("<?xml")
    assert "<title>Mine</title>" in document
    assert 'type="rss"' in document
    assert 'xmlUrl="https://feeds.bbci.co.uk/urdu/rss.xml"' in document
    assert 'language="ur"' in document
    assert 'category="/country/intl"' in document
    assert "isComment" not in document


def test_import_turns_folders_into_tags_and_derives_ids_and_languages() -> None:
    feeds = feeds_from_opml(READER_OPML.encode(), default_language="ur")
    by_url = {feed.url: feed for feed in feeds}
    assert len(feeds) == 5

    bbc = by_url["https://feeds.bbci.co.uk/urdu/rss.xml"]
    assert (bbc.id, bbc.name, bbc.language, bbc.country) == ("bbc-urdu", "BBC Urdu", "ur", "intl")
    assert bbc.tags == ("pakistan", "urdu-press")
    assert bbc.enabled

    # A title with no ASCII letters gives its id from the URL.
    independent = by_url["https://www.independenturdu.com/rss.xml"]
    assert independent.id == "independenturdu-com-rss-xml"
    assert independent.name == "بی بی سی"

    dawn = by_url["https://www.dawn.com/feeds/home"]
    assert (dawn.id, dawn.language, dawn.country) == ("dawn", "en", "pk")
    assert dawn.tags == ("pakistan", "newspaper")

    # Inside a commented folder: imported, but disabled; the repeated title gets a new id.
    old = by_url["https://www.dawn.com/feeds/pakistan"]
    assert (old.id, old.enabled, old.tags) == ("dawn-2", False, ("old",))

    # Dari's ISO 639-3 code, with a region, is jirga's "fa".
    assert by_url["https://tolonews.com/fa/rss.xml"].language == "fa"


def test_import_without_a_language_asks_for_a_default() -> None:
    with pytest.raises(ConfigError) as caught:
        feeds_from_opml(READER_OPML.encode(), source="reader.opml")
    problems = caught.value.problems
    assert len(problems) == 2  # the two Urdu feeds without a language attribute
    assert all(p.file == "reader.opml" and "default_language" in p.reason for p in problems)


def test_outlines_without_a_usable_url_are_all_reported() -> None:
    opml = b"""<opml version="2.0"><head/><body>
      <outline type="rss" text="No URL"/>
      <outline type="rss" text="FTP" xmlUrl="ftp://example.com/feed" language="en"/>
      <outline type="rss" text="Fine" xmlUrl="https://example.com/feed" language="en"/>
    </body></opml>"""
    with pytest.raises(ConfigError) as caught:
        feeds_from_opml(opml, source="x.opml")
    problems = caught.value.problems
    assert [p.place for p in problems] == ["outline 1", "outline 2"]
    assert "xmlUrl" in problems[0].reason
    assert "http" in problems[1].reason


@pytest.mark.parametrize("document", [BILLION_LAUGHS, EXTERNAL_ENTITY])
def test_entity_declarations_are_refused(document: bytes) -> None:
    with pytest.raises(ConfigError) as caught:
        feeds_from_opml(document, source="evil.opml")
    (problem,) = caught.value.problems
    assert problem.file == "evil.opml"
    assert "refused" in problem.reason


def test_malformed_xml_and_non_opml_are_config_errors() -> None:
    with pytest.raises(ConfigError) as caught:
        feeds_from_opml(b"<opml>\n<body>\n</opml>")
    assert caught.value.problems[0].place == "line 3"
    with pytest.raises(ConfigError, match="not an OPML document"):
        feeds_from_opml(b"<rss><channel/></rss>")


def test_merge_appends_new_feeds_keeps_comments_and_skips_known_urls(tmp_path: Path) -> None:
    text = (CONFIG / "feeds.toml").read_text(encoding="utf-8")
    new = [
        Feed("dawn", "Dawn again", "https://www.dawn.com/feeds/home/", "pk", "en"),  # known URL
        Feed("dawn", "Dawn Pakistan", "https://www.dawn.com/feeds/pakistan", "pk", "en"),
        Feed("voa-deewa", "VOA Deewa", "https://www.pashtovoa.com/feed", "intl", "ps", ("voa",)),
        Feed("voa-deewa", "Twice", "https://www.pashtovoa.com/feed", "intl", "ps"),  # repeated
    ]
    merged, added = merge_feeds_into_toml(text, new)

    assert merged.startswith(text.rstrip("\n"))  # nothing before the new feeds changed
    assert [(f.id, f.url) for f in added] == [
        ("dawn-2", "https://www.dawn.com/feeds/pakistan"),
        ("voa-deewa", "https://www.pashtovoa.com/feed"),
    ]
    assert merged.count("# confidence: unverified") == 2
    path = tmp_path / "feeds.toml"
    path.write_text(merged, encoding="utf-8")
    feeds = load_feeds(path)  # still a valid feeds.toml
    assert feeds[-2:] == tuple(added)


def test_merge_into_an_empty_file_creates_the_feed_array() -> None:
    feed = Feed("dawn", "Dawn", "https://www.dawn.com/feeds/home", "pk", "en", ("pakistan",))
    merged, added = merge_feeds_into_toml("# my feeds\n", [feed])
    assert merged.startswith("# my feeds\n")
    assert added == [feed]
    assert tomllib.loads(merged)["feed"][0]["tags"] == ["pakistan"]


def test_merge_refuses_text_that_is_not_toml() -> None:
    with pytest.raises(ConfigError, match="line 1"):
        merge_feeds_into_toml('[[feed]\nid = "x"\n', [])
