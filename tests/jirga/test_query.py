"""The search query language: words, phrases, OR, exclusions, field filters and their errors."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from jirga.query import ArticleFilters, Phrase, QueryError, parse_query, parse_when, unknown_terms

TZ = ZoneInfo("Asia/Karachi")
NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)


def parse(text: str):  # type: ignore[no-untyped-def]
    return parse_query(text, now=NOW, tz=TZ)


def words(phrases: tuple[Phrase, ...]) -> list[tuple[str, ...]]:
    return [p.words for p in phrases]


def test_words_phrases_or_and_exclusions() -> None:
    q = parse('TTP "peace talks" talks OR negotiations OR جرگہ -cricket -"press release"')
    assert words(q.must) == [("ttp",), ("peace", "talks")]
    assert [words(g) for g in q.any_of] == [[("talks",), ("negotiations",), ("جرگه",)]]
    assert words(q.must_not) == [("cricket",), ("press", "release")]
    assert q.has_text and q.filters == ArticleFilters()


def test_words_are_folded_like_the_matcher() -> None:
    # Arabic yeh and kaf, a ZWNJ, tatweel and a diacritic fold away; Latin case and accents too.
    q = parse("خليل‌زاد كابل طالبــان مُذاکرات Kābul TEHRIK-I-TALIBAN")
    assert words(q.must) == [
        ("خلیلزاد",),
        ("کابل",),
        ("طالبان",),
        ("مذاکرات",),
        ("kabul",),
        ("tehrik", "i", "taliban"),  # a hyphenated word is a phrase of its parts
    ]


def test_uppercase_or_is_an_operator_lowercase_a_word() -> None:
    assert words(parse("war or peace").must) == [("war",), ("or",), ("peace",)]
    assert len(parse("war OR peace").any_of) == 1
    assert parse("war AND peace").must == parse("war peace").must


def test_curly_quotes_make_phrases() -> None:
    assert words(parse("“peace talks” ttp").must) == [("peace", "talks"), ("ttp",)]


def test_field_filters() -> None:
    q = parse(
        'term:TTP term:khalilzad outlet:"Express Tribune" -outlet:dawn lang:ur,ps '
        "-lang:en narrative:12 -narrative:3 language:fa"
    )
    f = q.filters
    assert f.terms == ("ttp", "khalilzad")
    assert f.outlets == ("Express Tribune",) and f.exclude_outlets == ("dawn",)
    assert f.languages == ("ur", "ps", "fa") and f.exclude_languages == ("en",)
    assert f.narratives == (12,) and f.exclude_narratives == (3,)
    assert not q.has_text


def test_dates_are_local_days_or_ages() -> None:
    f = parse("since:2026-03-01 until:2026-03-05").filters
    # Karachi is UTC+5: 1 March starts at 19:00 UTC the day before; until includes 5 March.
    assert f.since == dt.datetime(2026, 2, 28, 19, 0, tzinfo=dt.UTC)
    assert f.until == dt.datetime(2026, 3, 5, 19, 0, tzinfo=dt.UTC)
    assert parse("since:7d").filters.since == NOW - dt.timedelta(days=7)
    assert parse("since:12h").filters.since == NOW - dt.timedelta(hours=12)
    assert parse("until:2w").filters.until == NOW - dt.timedelta(weeks=2)
    assert parse("since:2026-03-01T09:30").filters.since == dt.datetime(
        2026, 3, 1, 4, 30, tzinfo=dt.UTC
    )
    assert parse("since:2026-03-01T09:30+00:00").filters.since == dt.datetime(
        2026, 3, 1, 9, 30, tzinfo=dt.UTC
    )
    assert parse_when("2026-03-01", TZ, NOW, end_of_day=True) == dt.datetime(
        2026, 3, 1, 19, 0, tzinfo=dt.UTC
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('"peace talks', 'unbalanced quote: the " at character 1 is never closed'),
        ('ttp "a" "b', "character 9"),
        ("langauge:ur ttp", 'did you mean "lang:"?'),
        ("outlets:dawn", 'did you mean "outlet:"?'),
        ("xyzzy:1", 'unknown field "xyzzy:"'),
        ("https://example.org", 'unknown field "https:"'),
        ("since:yesterday", "'yesterday' is not a date"),
        ("since:2026-02-30", "is not a date"),
        ("until:99999999d", "is not a date"),
        ("narrative:abc", "takes a narrative id"),
        ("narrative:-1", "takes a narrative id"),
        ("since:7d since:2d", "given twice"),
        ("-since:7d", "cannot be excluded"),
        ("since:2026-03-05 until:2026-03-01", "is not before"),
        ("lang:", "needs a value"),
        ("OR ttp", "needs a word or phrase on both sides"),
        ("ttp OR", "needs a word or phrase on both sides"),
        ("ttp OR OR taliban", "needs a word or phrase on both sides"),
        ("ttp OR -taliban", "excluded word"),
        ("ttp OR lang:ur", "field filter"),
        ("", "nothing to search for"),
        ("* ^ ()", "nothing to search for"),
        ("x" * 3000, "at most"),
        (" ".join(f"w{i}" for i in range(100)), "more than 64"),
    ],
)
def test_bad_queries_say_why(text: str, message: str) -> None:
    with pytest.raises(QueryError) as err:
        parse(text)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_syntax_characters_are_only_text() -> None:
    # Whatever FTS5 or tsquery would read as syntax is cut away as punctuation or is a word.
    q = parse('NEAR(a b) * ^x OR\'; DROP TABLE articles; -- ") OR 1=1 --"')
    assert q.must or q.any_of
    for phrase in (*q.must, *(p for g in q.any_of for p in g), *q.must_not):
        for w in phrase.words:
            assert w.isalnum(), w


def test_title_colon_is_an_unknown_field() -> None:
    with pytest.raises(QueryError, match='unknown field "title:"'):
        parse("title:x")


def test_unknown_terms_are_warned_with_the_closest() -> None:
    f = ArticleFilters(terms=("ttp", "talibn"), exclude_terms=("nothing",))
    warnings = unknown_terms(f, {"ttp", "taliban", "khalilzad"})
    assert len(warnings) == 2
    assert 'did you mean "taliban"' in warnings[0]
    assert "'nothing' is not a watch term" in warnings[1]
