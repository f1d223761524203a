"""The demo's sample outlets and the documents they serve, day by day, as plain data."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from jirga.config import load_feeds, load_terms
from jirga.demo.corpus import DAYS, Corpus, Outlet, SampleItem, load_corpus
from jirga.demo.feeds import MAX_ITEMS, DemoWeek, answer, document, feeds_toml, visible
from jirga.errors import ConfigError
from jirga.match import Matcher
from jirga.parse import parse_feed
from jirga.settings import default_config_dir

TZ = ZoneInfo("Asia/Karachi")
WEEK = DemoWeek.ending(dt.date(2026, 3, 9), TZ)


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return load_corpus()


def _first_fetch(outlet: Outlet, item: SampleItem) -> int:
    """The first demo day whose poll stores ``item`` (its feed answers, readably, with it)."""
    for day in range(DAYS):
        if day in outlet.fail_days or day in outlet.wrong_charset_days:
            continue
        if item in visible(outlet, day, WEEK):
            return day
    raise AssertionError(f"{item.ref} is never fetched")


def test_eight_outlets_in_four_languages_with_a_week_of_items(corpus: Corpus) -> None:
    assert len(corpus.outlets) == 8
    assert {o.language for o in corpus.outlets} == {"en", "ur", "ps", "fa"}
    assert {o.format for o in corpus.outlets} == {"rss", "atom"}
    days = {i.day for i in corpus.items()}
    assert days == set(range(DAYS))
    for outlet in corpus.outlets:
        assert outlet.site.endswith(".example")  # invented, and can never resolve
        assert [(i.day, i.time) for i in outlet.items] == sorted(
            (i.day, i.time) for i in outlet.items
        )


def test_every_language_has_items_that_mention_a_watch_term_and_some_that_do_not(
    corpus: Corpus,
) -> None:
    matcher = Matcher(load_terms(default_config_dir() / "watchlist.toml"))
    by_language: dict[str, list[bool]] = {}
    for outlet in corpus.outlets:
        for item in outlet.items:
            hit = bool(matcher.find(f"{item.title}\n{item.body}"))
            by_language.setdefault(outlet.language, []).append(hit)
    for language, hits in by_language.items():
        assert sum(hits) >= 4, language
    assert not all(h for hits in by_language.values() for h in hits)  # some items are off-topic
    terms = {m.term for item in corpus.items() for m in matcher.find(f"{item.title}\n{item.body}")}
    assert terms == {"ttp", "taliban", "khalilzad"}


def test_copies_take_their_originals_text_and_are_stored_in_a_later_poll(corpus: Corpus) -> None:
    outlets = {o.id: o for o in corpus.outlets}
    copies = corpus.copies()
    assert len(copies) >= 6
    assert {outlets[c.outlet].language for c, _o in copies} >= {"en", "ur"}
    for copy, original in copies:
        assert copy.outlet != original.outlet
        assert original.body in copy.body and copy.body != original.body  # a dateline in front
        # The first-stored article is the original, so a copy must arrive in a later poll than
        # the one that stored its original.
        assert _first_fetch(outlets[copy.outlet], copy) > _first_fetch(
            outlets[original.outlet], original
        ), copy.ref


def test_each_day_document_parses_and_lists_the_newest_items(corpus: Corpus) -> None:
    for outlet in corpus.outlets:
        for day in range(DAYS):
            shown = visible(outlet, day, WEEK)
            assert len(shown) <= MAX_ITEMS
            assert all(WEEK.published(i) <= WEEK.poll_at(day) for i in shown)
            parsed = parse_feed(document(outlet, day, WEEK).encode("utf-8"))
            assert parsed.error is None and parsed.warnings == ()
            assert parsed.version == ("atom10" if outlet.format == "atom" else "rss20")
            assert [e.title for e in parsed.entries] == [i.title for i in shown]
            for entry, item in zip(parsed.entries, shown, strict=True):
                assert entry.published_parsed == WEEK.published(item)
                assert entry.link is not None and entry.link.endswith("/" + item.slug)


def test_a_day_without_new_items_serves_the_same_bytes(corpus: Corpus) -> None:
    courier = next(o for o in corpus.outlets if o.id == "hindukush-courier")
    quiet = [d for d in range(1, DAYS) if not any(i.day == d for i in courier.items)]
    assert quiet  # the outlet the demo's 304s come from
    for day in quiet:
        assert answer(courier, day, WEEK).body == answer(courier, day - 1, WEEK).body
    busy = next(d for d in range(1, DAYS) if any(i.day == d for i in courier.items))
    assert answer(courier, busy, WEEK).body != answer(courier, busy - 1, WEEK).body


def test_faults_a_server_error_and_windows_1256_labelled_utf8(corpus: Corpus) -> None:
    failing = [o for o in corpus.outlets if o.fail_days]
    assert failing and all(answer(o, d, WEEK).status == 500 for o in failing for d in o.fail_days)
    garbled = next(o for o in corpus.outlets if o.wrong_charset_days)
    day = min(garbled.wrong_charset_days)
    got = answer(garbled, day, WEEK)
    assert got.status == 200 and "charset=utf-8" in got.content_type
    assert got.body.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    with pytest.raises(UnicodeDecodeError):
        got.body.decode("utf-8")
    text = got.body.decode("cp1256")
    assert visible(garbled, day, WEEK)[0].title.replace("ی", "ي") in text
    parsed = parse_feed(got.body, {"Content-Type": got.content_type})
    assert parsed.warnings  # reported, and the article text is lost for that day…
    assert answer(garbled, day + 1, WEEK).body.decode("utf-8")  # …and back the next day


def test_feeds_toml_lists_every_outlet_on_the_server(corpus: Corpus, tmp_path: Path) -> None:
    path = tmp_path / "feeds.toml"
    path.write_text(feeds_toml(corpus, "http://127.0.0.1:8123/"), encoding="utf-8")
    feeds = load_feeds(path)
    assert [f.id for f in feeds] == [o.id for o in corpus.outlets]
    assert {f.url for f in feeds} == {f"http://127.0.0.1:8123{o.path}" for o in corpus.outlets}
    assert {f.name for f in feeds} == {o.name for o in corpus.outlets}


def test_the_week_ends_on_its_last_day_and_polls_in_the_evening() -> None:
    week = DemoWeek.ending(dt.date(2026, 3, 9), TZ)
    assert week.days[0] == dt.date(2026, 3, 3) and week.last_day == dt.date(2026, 3, 9)
    assert week.poll_at(0) == dt.datetime(2026, 3, 3, 15, 0, tzinfo=dt.UTC)  # 20:00 in Karachi


def _outlet(body: str) -> str:
    return (
        'id = "x"\nname = "X"\ncountry = "pk"\nlanguage = "en"\nformat = "rss"\n'
        'site = "https://x.example"\n' + body
    )


def test_bad_files_are_reported_with_file_place_and_reason(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(
        _outlet(
            '[[item]]\nday = 9\ntime = "25:00"\nslug = "a"\ntitle = "t"\nbody = "b"\n'
            '[[item]]\nday = 1\ntime = "10:00"\nslug = "b"\ntitle = "t"\n'
            '[[item]]\nday = 0\ntime = "10:00"\nslug = "c"\ncopy_of = "x/missing"\n'
        ),
        encoding="utf-8",
    )
    (tmp_path / "b.toml").write_text("id = [", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_corpus(tmp_path)
    text = str(caught.value)
    assert "a.toml:item[1].day" in text and "a.toml:item[1].time" in text
    assert "a.toml:item[2]: needs a title and a body" in text
    assert "copy_of 'x/missing' is not an original item" in text
    assert "b.toml:file: cannot read" in text


def test_a_copy_must_follow_an_original_of_another_outlet(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(
        _outlet(
            '[[item]]\nday = 2\ntime = "10:00"\nslug = "orig"\ntitle = "t"\nbody = "b"\n'
            '[[item]]\nday = 3\ntime = "10:00"\nslug = "own"\ncopy_of = "x/orig"\n'
        ),
        encoding="utf-8",
    )
    (tmp_path / "b.toml").write_text(
        _outlet('[[item]]\nday = 1\ntime = "10:00"\nslug = "early"\ncopy_of = "x/orig"\n').replace(
            'id = "x"', 'id = "y"'
        ),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_corpus(tmp_path)
    problems = [p.reason for p in caught.value.problems]
    assert len(problems) == 2
    assert all(re.search(r"must follow 'x/orig' in another outlet", p) for p in problems)


def test_no_sample_sentence_is_copied_from_the_shared_corpus(
    corpus: Corpus, shared_dir: Path
) -> None:
    """The samples are written for the project: no sentence of them is in the reference texts."""
    texts = [
        p.read_text(encoding="utf-8", errors="replace")
        for p in (shared_dir / "corpus").rglob("*")
        if p.is_file() and p.suffix in {".json", ".jsonl", ".md", ".txt", ".xml"}
    ]
    reference = " ".join(" ".join(t.split()) for t in texts)
    assert len(reference) > 100_000
    sentences = {
        " ".join(s.split())
        for item in corpus.items()
        for s in re.split(r"(?<=[.!?۔؟])\s+", item.body)
        if len(s.split()) >= 8
    }
    assert len(sentences) > 100
    assert [s for s in sentences if s in reference] == []
