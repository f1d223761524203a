"""Search words, snippets and local-day pieces: the pure parts of search and stats."""

from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

import pytest

from jirga.localdays import offset_spans
from jirga.searchtext import (
    MAX_WORD_CHARS,
    body_of,
    date_tokens,
    period_cover,
    tsvector_literal,
    words,
)
from jirga.snippets import snippet


def test_words_fold_scripts_case_and_accents() -> None:
    assert words("Tehrik-i-Taliban, TTP's «statement»") == [
        "tehrik",
        "i",
        "taliban",
        "ttp",
        "s",
        "statement",
    ]
    assert words("Kābul Peshāwar ÉLITE") == ["kabul", "peshawar", "elite"]
    # Arabic kaf/yeh, heh goal, ZWNJ, tatweel, harakat and Arabic-Indic digits.
    assert words("كابل، خليل‌زاد طالبــان مُذاکرات ۲۰۲۶ دوحہ") == [
        "کابل",
        "خلیلزاد",
        "طالبان",
        "مذاکرات",
        "2026",
        "دوحه",
    ]
    assert words("x" * (MAX_WORD_CHARS + 1) + " ok") == ["ok"]
    assert words("snake_case") == ["snake", "case"]


def test_every_indexed_word_can_be_highlighted() -> None:
    # The snippet finds words in the folded text the way the index cut them.
    rng = random.Random(7)
    alphabet = "aé\u0301 -ـكيہ\u200cZÅ1۳_.,\u064e\n"
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40)))
        for word in words(text):
            out = snippet(text, [(word,)])
            assert "**" in out, (text, word)
            marked = out.split("**")[1]
            assert words(marked) == [word], (text, word, out)


def test_body_of_drops_the_title_line() -> None:
    assert body_of("Title", "Title\nBody text") == "Body text"
    assert body_of("Title", "Title") == ""
    assert body_of("Title", "Titles are\nother") == "Titles are\nother"
    assert body_of("", "Only body") == "Only body"


def test_tsvector_literal_positions_and_weights() -> None:
    literal = tsvector_literal(["peace", "talks"], ["talks", "it's", "a\\b"])
    assert literal == "'peace':1A 'talks':2A,4 'it''s':5 'a\\\\b':6"
    # Positions stop at PostgreSQL's limit and at 256 per word, but every word stays.
    many = tsvector_literal([], ["w"] * 20_000 + ["last"])
    assert many.count(",") == 255
    assert many.endswith("'last':16383")


def test_snippet_marks_the_original_spelling() -> None:
    text = "Officials said. كابل میں مذاکرات جاری، Kabul talks continue."
    out = snippet(text, [("کابل",), ("talks",)])
    assert "**كابل**" in out and "**talks**" in out


def test_snippet_marks_whole_phrases_only() -> None:
    text = "Peace is near. The peace talks resumed; talks of peace went on."
    out = snippet(text, [("peace", "talks")])
    assert out.count("**") == 2
    assert "The **peace talks** resumed" in out


def test_snippet_window_goes_to_the_hits() -> None:
    text = " ".join(["filler"] * 200) + " the jirga met " + " ".join(["more"] * 200)
    out = snippet(text, [("jirga",)], width=60)
    assert out.startswith("… ") and out.endswith(" …")
    assert "**jirga**" in out
    assert len(out) <= 60 + 20


def test_snippet_without_hits_is_the_start() -> None:
    assert snippet("First words\n\nof   the text.", [("absent",)]) == "First words of the text."
    assert snippet("", [("x",)]) == ""
    assert snippet("!!!", [("x",)]) == "!!!"


@pytest.mark.parametrize(
    ("zone", "pieces"),
    [
        ("Asia/Karachi", [("2026-01-01T00:00", "2027-01-01T00:00", 5 * 3600)]),
        (
            "Europe/Berlin",
            [
                ("2026-01-01T00:00", "2026-03-29T01:00", 3600),
                ("2026-03-29T01:00", "2026-10-25T01:00", 7200),
                ("2026-10-25T01:00", "2027-01-01T00:00", 3600),
            ],
        ),
        (
            "Asia/Tehran",  # no daylight saving time since 2022, at +3:30
            [("2026-01-01T00:00", "2027-01-01T00:00", 12600)],
        ),
    ],
)
def test_offset_spans(zone: str, pieces: list[tuple[str, str, int]]) -> None:
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    end = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    got = [
        (a.strftime("%Y-%m-%dT%H:%M"), b.strftime("%Y-%m-%dT%H:%M"), int(o.total_seconds()))
        for a, b, o in offset_spans(ZoneInfo(zone), start, end)
    ]
    assert got == pieces


def test_offset_spans_of_an_empty_or_odd_range() -> None:
    tz = ZoneInfo("Europe/Berlin")
    start = dt.datetime(2026, 3, 29, 0, 59, 59, 500_000, tzinfo=dt.UTC)
    end = dt.datetime(2026, 3, 29, 1, 0, 0, 250_000, tzinfo=dt.UTC)
    (first, second) = offset_spans(tz, start, end)
    assert first[1] == second[0] == dt.datetime(2026, 3, 29, 1, tzinfo=dt.UTC)
    assert offset_spans(tz, end, start) == []


def _utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def test_period_words_cover_a_range_exactly() -> None:
    assert date_tokens(dt.datetime(2026, 3, 1, 23, 30, tzinfo=ZoneInfo("Europe/Berlin"))) == (
        "d20260301 m202603 y2026"
    )
    assert period_cover(_utc(2026, 11, 1), _utc(2026, 12, 1)) == ["m202611"]
    assert period_cover(_utc(2024, 12, 30, 5), _utc(2026, 3, 2)) == [
        "d20241230",
        "d20241231",
        "y2025",
        "m202601",
        "m202602",
        "d20260301",
    ]
    assert period_cover(_utc(2026, 2, 27), _utc(2026, 2, 27, 0, 0, 1)) == ["d20260227"]
    assert period_cover(_utc(2026, 2, 27), _utc(2026, 2, 27)) == []
    # Every day of a long range is covered by exactly one word, and no day outside it.
    start, end = _utc(2023, 5, 17, 13), _utc(2026, 8, 3, 1)
    cover = period_cover(start, end)
    assert len(cover) < 90
    day = dt.date(2023, 5, 1)
    while day <= dt.date(2026, 8, 31):
        hits = [w for w in date_tokens(_utc(day.year, day.month, day.day)).split() if w in cover]
        inside = start.date() <= day <= end.date()
        assert len(hits) == (1 if inside else 0), day
        day += dt.timedelta(days=1)
