"""Entries unchanged since a feed's last poll: told apart, hashed, left out, and only when safe."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from pathlib import Path

import pytest

from jirga import pipeline
from jirga.config import load_terms
from jirga.parse import entry_spans, entry_tags, parse_feed
from jirga.pipeline import Caps, Source, Stages
from jirga.types import Alias, AliasRule, Term
from jirga.unchanged import (
    DIGEST_SIZE,
    UnchangedEntries,
    code_fingerprint,
    pack,
    scope_key,
    unpack,
)
from tests.flows import hostile_docs
from tests.jirga.test_parse import rss

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 2, 20, 12, 0, tzinfo=dt.UTC)
SOURCE = Source("feed", "feed", "Outlet", "https://outlet.example/rss", "en", False)
KEY = scope_key("test")


def item(n: int, title: str = "Markets") -> str:
    return (
        f"<item><guid>g{n}</guid><link>https://outlet.example/{n}</link><title>{title} {n}"
        f"</title><description>&lt;p&gt;Text {n} about {title}.&lt;/p&gt;</description></item>"
    )


@pytest.fixture(scope="module")
def stages() -> Stages:
    return Stages(load_terms(ROOT / "config" / "watchlist.toml"))


# --- telling entries apart ---------------------------------------------------------------------


def test_spans_are_the_entries_elements() -> None:
    data = rss(item(1) + item(2))
    spans = entry_spans(data)
    assert spans is not None
    assert [data[a:b].decode() for a, b in spans] == [item(1), item(2)]


def test_prefixed_entries_cdata_and_comments() -> None:
    entry = "<a:entry><a:title>x</a:title><a:summary><![CDATA[<entry> </item>]]></a:summary>"
    entry += "</a:entry>"
    head = '<a:feed xmlns:a="http://www.w3.org/2005/Atom"><!-- <entry> -->'
    data = f"{head}{entry}</a:feed>".encode()
    spans = entry_spans(data)
    assert spans is not None and [data[a:b].decode() for a, b in spans] == [entry]


@pytest.mark.parametrize(
    "items",
    [
        "<item><item>nested</item></item>",
        "<item>unclosed",
        "</item><item>x</item>",
        "<item/><item>x</item>",  # self-closing looks like an unclosed start here
    ],
)
def test_entries_that_do_not_pair_up_give_no_spans(items: str) -> None:
    assert entry_spans(rss(items)) is None


def test_an_end_tag_cut_short_gives_no_spans() -> None:
    assert entry_spans(b"<rss><item>x</item ") is None


def test_items_element_of_rss10_is_not_an_entry() -> None:
    data = b"<rdf:RDF><channel><items><rdf:Seq/></items></channel><item>x</item></rdf:RDF>"
    spans = entry_spans(data)
    assert spans is not None and [data[a:b] for a, b in spans] == [b"<item>x</item>"]


def test_the_parser_hands_over_the_entry_tags_it_found_unless_the_cut_moved_them() -> None:
    handed: list[tuple[bytes, object]] = []

    def select(data: bytes, tags: object) -> bytes:
        handed.append((data, tags))
        return data

    parse_feed(rss(item(1) + item(2)), select=select)
    parse_feed(rss(item(1) + item(2) + item(3)), max_parsed_entries=2, select=select)
    (whole, tags), (cut, none) = handed
    assert tags == entry_tags(whole) and len(tags) == 4  # type: ignore[arg-type]
    assert none is None and len(entry_tags(cut)) == 4
    # Handed the tags or finding them itself, the tracker cuts and hashes the same.
    first, second = UnchangedEntries(b"", KEY, 200), UnchangedEntries(b"", KEY, 200)
    assert first(whole, entry_tags(whole)) == second(whole) and first.hashes == second.hashes


def test_pack_and_unpack() -> None:
    digests = [bytes([n]) * DIGEST_SIZE for n in (3, 1, 2, 1)]
    packed = pack(digests)
    assert len(packed) == 3 * DIGEST_SIZE and unpack(packed) == set(digests)
    assert unpack(None) == unpack(b"") == frozenset()


# --- leaving entries out -----------------------------------------------------------------------


def test_seen_entries_are_cut_and_every_digest_is_kept() -> None:
    first = UnchangedEntries(b"", KEY, 200)
    data = rss(item(1) + item(2))
    assert first(data) == data and first.unchanged == 0
    assert first.hashes is not None and len(first.hashes) == 2 * DIGEST_SIZE
    second = UnchangedEntries(first.hashes, KEY, 200)
    out = second(rss(item(3) + item(1) + item(2)))
    assert out == rss(item(3))
    assert second.unchanged == 2
    assert second.hashes is not None and len(second.hashes) == 3 * DIGEST_SIZE


def test_an_edited_entry_is_new() -> None:
    first = UnchangedEntries(b"", KEY, 200)
    first(rss(item(1)))
    second = UnchangedEntries(first.hashes, KEY, 200)
    edited = rss(item(1, "Markets rally"))
    assert second(edited) == edited and second.unchanged == 0


def test_another_key_sees_nothing_unchanged() -> None:
    first = UnchangedEntries(b"", KEY, 200)
    first(rss(item(1)))
    other = UnchangedEntries(first.hashes, scope_key("other"), 200)
    assert other(rss(item(1))) == rss(item(1)) and other.unchanged == 0


def test_more_entries_than_kept_means_no_digests() -> None:
    skip = UnchangedEntries(b"", KEY, 2)
    data = rss(item(1) + item(2) + item(3))
    assert skip(data) == data and skip.hashes is None


# --- in the pipeline ---------------------------------------------------------------------------


def mention(n: int) -> str:
    return item(n, "Talks with the TTP")


def test_second_poll_processes_only_new_entries(stages: Stages) -> None:
    first = stages.process_document(rss(mention(1) + item(2)), {}, SOURCE, NOW, b"")
    assert len(first.matched) == 1 and first.entries_seen == 2 and first.unchanged == 0
    body = rss(mention(3) + mention(1) + item(2))
    second = stages.process_document(body, {}, SOURCE, NOW, first.entry_hashes)
    assert [m.article.entry_key for m in second.matched] == ["g3"]
    assert second.entries_seen == 3 and second.unchanged == 2
    # Without the digests every entry is processed, as an import does.
    assert len(stages.process_document(body, {}, SOURCE, NOW).matched) == 2


def test_changed_watch_terms_make_every_entry_new(stages: Stages) -> None:
    first = stages.process_document(rss(item(1)), {}, SOURCE, NOW, b"")
    markets = Term("markets", "Markets", (Alias("Markets", AliasRule.WORD),))
    wider = Stages((*stages.terms, markets))
    again = wider.process_document(rss(item(1)), {}, SOURCE, NOW, first.entry_hashes)
    assert again.unchanged == 0 and len(again.matched) == 1


def test_other_caps_or_feed_settings_make_every_entry_new(stages: Stages) -> None:
    first = stages.process_document(rss(mention(1)), {}, SOURCE, NOW, b"")
    capped = Stages(stages.terms, caps=Caps(max_field_chars=50))
    assert capped.process_document(rss(mention(1)), {}, SOURCE, NOW, first.entry_hashes).matched
    urdu = dataclasses.replace(SOURCE, language="ur")
    assert stages.process_document(rss(mention(1)), {}, urdu, NOW, first.entry_hashes).matched


def test_other_code_makes_every_entry_new(stages: Stages, monkeypatch: pytest.MonkeyPatch) -> None:
    first = stages.process_document(rss(mention(1)), {}, SOURCE, NOW, b"")
    monkeypatch.setattr(pipeline, "code_fingerprint", lambda: "another checkout")
    upgraded = Stages(stages.terms)
    again = upgraded.process_document(rss(mention(1)), {}, SOURCE, NOW, first.entry_hashes)
    assert again.unchanged == 0 and len(again.matched) == 1


def test_the_code_fingerprint_follows_every_engine_source(tmp_path: Path) -> None:
    package = tmp_path / "jirga"
    shutil.copytree(ROOT / "jirga", package, ignore=shutil.ignore_patterns("__pycache__"))
    same = code_fingerprint(package)
    assert same == code_fingerprint(Path(shutil.copytree(package, tmp_path / "copy")))
    for source in sorted(package.glob("*.py")):
        code = source.read_bytes()
        source.write_bytes(code + b"\n# an edit\n")
        assert code_fingerprint.__wrapped__(package) != same, source.name
        source.write_bytes(code)
    assert code_fingerprint.__wrapped__(package) == same
    (package / "new_stage.py").write_text("x = 1\n")
    assert code_fingerprint.__wrapped__(package) != same


def test_a_broken_document_is_parsed_whole_and_keeps_no_digests(stages: Stages) -> None:
    first = stages.process_document(rss(mention(1) + mention(2)), {}, SOURCE, NOW, b"")
    broken = rss(mention(1) + mention(2) + "<item><title>a & b TTP</title></item>")
    again = stages.process_document(broken, {}, SOURCE, NOW, first.entry_hashes)
    assert again.unchanged == 0 and again.entry_hashes is None
    assert len(again.matched) == 3


# Every hostile document of the poll tests that fits in memory, once with digests and again.
HOSTILE = {
    "billion laughs": hostile_docs.billion_laughs(),
    "big entity": hostile_docs.big_entity(),
    "external entity": hostile_docs.external_entity("file:///etc/passwd", "title"),
    "windows-1256 labelled utf-8": hostile_docs.windows_1256_labelled_utf8(),
    "one bad byte": hostile_docs.one_bad_byte(),
    "control characters": hostile_docs.control_characters(),
    "scripts rss": hostile_docs.scripts_rss(),
    "scripts atom": hostile_docs.scripts_atom(),
    "double escaped script": hostile_docs.double_escaped_script(),
    "absurd dates": hostile_docs.absurd_dates(),
    "guid trouble": hostile_docs.guid_trouble(),
    "truncated": hostile_docs.truncated("t"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_documents_lose_nothing_to_tracking(stages: Stages, name: str) -> None:
    body = HOSTILE[name]
    plain = stages.process_document(body, {}, SOURCE, NOW)
    first = stages.process_document(body, {}, SOURCE, NOW, b"")
    assert first.matched == plain.matched and first.error == plain.error
    again = stages.process_document(body, {}, SOURCE, NOW, first.entry_hashes)
    if first.entry_hashes is None:  # broken or unsure: parsed whole every time
        assert again.matched == plain.matched and again.unchanged == 0
    else:  # every entry left out, so nothing is stored twice
        assert again.matched == () and again.unchanged == len(first.entry_hashes) // DIGEST_SIZE
