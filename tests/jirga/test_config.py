"""The shipped config loads cleanly, and each kind of broken config is reported where it is."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from jirga.config import (
    LANGUAGES,
    check_config,
    load_feeds,
    load_narratives,
    load_terms,
    load_watchlist,
)
from jirga.errors import ConfigError, ConfigProblem
from jirga.types import AliasRule

CONFIG = Path(__file__).resolve().parents[2] / "config"
ARABIC = re.compile(r"[\u0600-\u06ff]")
LATIN = re.compile(r"[A-Za-z]")

FEED = """\
[[feed]]
id = "dawn"
name = "Dawn"
url = "https://www.dawn.com/feeds/home"
country = "pk"
language = "en"
tags = ["pakistan"]
enabled = true
"""
OTHER_FEED = FEED.replace('"dawn"', '"tribune"').replace("www.dawn.com", "tribune.com.pk")

TERM = """\
[[term]]
id = "ttp"
name = "TTP"
context = []

[[term.alias]]
text = "TTP"
rule = "acronym"
"""

NARRATIVE = """\
[[narrative]]
id = "talks"
name = "Talks"
description = "Talk to them, not fight them."
phrases = ["talks with the TTP"]
terms = ["ttp"]
"""


def problems_of(loader: Callable[[Path], object], path: Path, text: str) -> list[ConfigProblem]:
    """The problems ``loader`` reports for ``text`` written to ``path``."""
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        loader(path)
    assert all(problem.file == str(path) for problem in caught.value.problems)
    return caught.value.problems


def assert_one(problems: list[ConfigProblem], place: str, word: str) -> None:
    """Exactly one problem, at ``place``, whose reason contains ``word``."""
    assert len(problems) == 1, problems
    assert problems[0].place == place, problems
    assert word.lower() in problems[0].reason.lower(), problems


# --- the shipped config --------------------------------------------------------------------------


def test_shipped_config_has_no_problems() -> None:
    assert check_config(CONFIG) == []


def test_shipped_feeds_cover_the_region_in_all_four_languages() -> None:
    feeds = load_feeds(CONFIG / "feeds.toml")
    assert len(feeds) >= 25
    enabled = [feed for feed in feeds if feed.enabled]
    assert {feed.language for feed in enabled} == set(LANGUAGES)
    assert {"pk", "af", "intl"} <= {feed.country for feed in enabled}


def test_every_feed_has_a_confidence_comment() -> None:
    text = (CONFIG / "feeds.toml").read_text(encoding="utf-8")
    headers = re.findall(r"^\[\[feed\]\]$", text, re.MULTILINE)
    commented = re.findall(r"# confidence: (?:high|medium|low) — .+\n(?:#.*\n)*\[\[feed\]\]", text)
    assert len(commented) == len(headers)


def test_every_term_has_latin_and_arabic_script_aliases() -> None:
    terms = load_terms(CONFIG / "watchlist.toml")
    assert {term.id for term in terms} == {"ttp", "taliban", "khalilzad"}
    for term in terms:
        assert any(LATIN.search(alias.text) for alias in term.aliases), term.id
        assert any(ARABIC.search(alias.text) for alias in term.aliases), term.id


def test_bare_taliban_in_arabic_script_needs_context() -> None:
    taliban = next(t for t in load_terms(CONFIG / "watchlist.toml") if t.id == "taliban")
    rules = {alias.text: alias.rule for alias in taliban.aliases}
    assert rules["طالبان"] is AliasRule.CONTEXT
    assert rules["طالبانو"] is AliasRule.WORD  # Pashto only: always the movement
    assert taliban.context
    assert all(ARABIC.search(word) for word in taliban.context)


def test_khalilzad_spellings_include_the_zwnj_form() -> None:
    khalilzad = next(t for t in load_terms(CONFIG / "watchlist.toml") if t.id == "khalilzad")
    texts = {alias.text for alias in khalilzad.aliases}
    assert {"خلیل\u200cزاد", "خلیلزاد", "خلیل زاد"} <= texts


def test_no_alias_is_a_country_name() -> None:
    countries = {"pakistan", "afghanistan", "پاکستان", "افغانستان"}
    for term in load_terms(CONFIG / "watchlist.toml"):
        assert not {alias.text.casefold() for alias in term.aliases} & countries


def test_shipped_narratives_reference_known_terms_and_speak_several_languages() -> None:
    watchlist = load_watchlist(CONFIG)
    term_ids = {term.id for term in watchlist.terms}
    assert len(watchlist.narratives) == 3
    for narrative in watchlist.narratives:
        assert 6 <= len(narrative.phrases) <= 12, narrative.id
        assert set(narrative.terms) <= term_ids
        assert any(ARABIC.search(phrase) for phrase in narrative.phrases), narrative.id


# --- feeds.toml ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "line", "word"),
    [
        ('name = "Dawn"', 'name = "Dawn', 3, "syntax"),
        ("https://www.dawn.com/feeds/home", "ftp://www.dawn.com/feeds", 4, "http"),
        ("https://www.dawn.com/feeds/home", "www.dawn.com/feeds/home", 4, "absolute"),
        ("https://www.dawn.com/feeds/home", "https:///feeds/home", 4, "host"),
        ("https://www.dawn.com/feeds/home", "https://www.dawn.com/feeds home", 4, "whitespace"),
        ("https://www.dawn.com/feeds/home", "https://www.dawn.com:99999/", 4, "malformed"),
        ('language = "en"', 'language = "de"', 6, "en, ur, ps, fa"),
        ('language = "en"', 'language = "prs"', 6, "unknown language"),
        ('country = "pk"', 'country = "Pakistan"', 5, "country"),
        ('id = "dawn"', 'id = "Dawn News"', 2, "slug"),
        ('name = "Dawn"', 'name = " "', 3, "empty"),
        ("enabled = true", 'enabled = "yes"', 8, "boolean"),
        ('tags = ["pakistan"]', 'tags = "pakistan"', 7, "array"),
        ('tags = ["pakistan"]', 'tags = ["pakistan", 3]', 7, "string"),
        ("enabled = true", "enabled = true\nenabeld = true", 9, "did you mean 'enabled'"),
        ('url = "https://www.dawn.com/feeds/home"\n', "", 1, "missing required key 'url'"),
        ("[[feed]]", "[feed]", 1, "array"),
    ],
)
def test_a_broken_feed_is_reported_at_its_line(
    tmp_path: Path, old: str, new: str, line: int, word: str
) -> None:
    assert old in FEED
    problems = problems_of(load_feeds, tmp_path / "feeds.toml", FEED.replace(old, new))
    assert_one(problems, f"line {line}", word)


def test_duplicate_feed_ids_and_urls_name_both_lines(tmp_path: Path) -> None:
    same_id = FEED + "\n" + OTHER_FEED.replace('"tribune"', '"dawn"')
    problems = problems_of(load_feeds, tmp_path / "feeds.toml", same_id)
    assert_one(problems, "line 11", "duplicate feed id 'dawn' (first at line 2)")

    # The same URL with a trailing slash is the same feed.
    same_url = FEED + "\n" + FEED.replace('"dawn"', '"dawn-2"').replace("/home", "/home/")
    problems = problems_of(load_feeds, tmp_path / "feeds.toml", same_url)
    assert_one(problems, "line 13", "duplicate feed URL")


def test_every_problem_of_a_file_is_reported_not_just_the_first(tmp_path: Path) -> None:
    text = (FEED + "\n" + FEED).replace('language = "en"', 'language = "xx"', 1)
    text = text.replace("enabled = true", 'enabled = "no"', 1)
    problems = problems_of(load_feeds, tmp_path / "feeds.toml", text)
    places = sorted(problem.place for problem in problems)
    # line 6: language; line 8: enabled; lines 11 and 13: duplicate id and URL
    assert places == ["line 11", "line 13", "line 6", "line 8"]


def test_a_file_without_feeds_is_a_problem(tmp_path: Path) -> None:
    problems = problems_of(load_feeds, tmp_path / "feeds.toml", "# nothing yet\n")
    assert_one(problems, "feed", "no [[feed]] tables")


def test_a_missing_file_is_a_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_feeds(tmp_path / "absent.toml")
    assert_one(caught.value.problems, "file", "not found")


def test_syntax_errors_give_the_line_from_tomllib(tmp_path: Path) -> None:
    text = FEED + "\n[[feed]\n"
    problems = problems_of(load_feeds, tmp_path / "feeds.toml", text)
    assert_one(problems, "line 10", "TOML syntax error")


# --- watchlist.toml ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "line", "word"),
    [
        ('text = "TTP"', 'text = ""', 7, "empty alias"),
        ('text = "TTP"', 'text = "   "', 7, "empty alias"),
        ('text = "TTP"', 'text = " TTP"', 7, "whitespace"),
        ('rule = "acronym"', 'rule = "fuzzy"', 8, "unknown rule 'fuzzy'"),
        ('text = "TTP"', 'text = "Ttp"', 7, "lowercase"),
        ('text = "TTP"\nrule = "acronym"', 'text = "طالبان"\nrule = "context"', 8, "context"),
        ("context = []", 'context = "Kabul"', 4, "array"),
        ('rule = "acronym"', 'rule = "acronym"\nrules = "word"', 9, "unknown key 'rules'"),
        ('\n[[term.alias]]\ntext = "TTP"\nrule = "acronym"\n', "", 1, "[[term.alias]]"),
    ],
)
def test_a_broken_term_is_reported_at_its_line(
    tmp_path: Path, old: str, new: str, line: int, word: str
) -> None:
    assert old in TERM
    problems = problems_of(load_terms, tmp_path / "watchlist.toml", TERM.replace(old, new))
    assert_one(problems, f"line {line}", word)


def test_duplicate_aliases_within_a_term_ignore_case(tmp_path: Path) -> None:
    text = TERM + '\n[[term.alias]]\ntext = "ttp"\nrule = "word"\n'
    problems = problems_of(load_terms, tmp_path / "watchlist.toml", text)
    assert_one(problems, "line 11", "duplicate alias 'ttp' (first at line 7)")


def test_the_same_alias_in_two_terms_is_not_a_duplicate_but_the_same_id_is(
    tmp_path: Path,
) -> None:
    problems = problems_of(load_terms, tmp_path / "watchlist.toml", TERM + "\n" + TERM)
    assert_one(problems, "line 11", "duplicate term id 'ttp'")


def test_lines_are_found_in_the_right_term(tmp_path: Path) -> None:
    second = TERM.replace('"ttp"', '"taliban"').replace('text = "TTP"', 'text = "Taliban"')
    text = TERM + "\n" + second.replace('rule = "acronym"', 'rule = "wordy"')
    problems = problems_of(load_terms, tmp_path / "watchlist.toml", text)
    assert_one(problems, "line 17", "unknown rule")


# --- narratives.toml -----------------------------------------------------------------------------


def test_an_unknown_term_in_a_narrative_is_a_problem(tmp_path: Path) -> None:
    text = NARRATIVE.replace('terms = ["ttp"]', 'terms = ["ttp", "tpp"]')
    path = tmp_path / "narratives.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_narratives(path, term_ids={"ttp", "taliban"})
    assert_one(caught.value.problems, "line 6", "unknown term 'tpp'")
    assert "taliban, ttp" in caught.value.problems[0].reason  # says which terms exist
    assert load_narratives(path) != ()  # without term ids, references are not checked


def test_load_watchlist_checks_narrative_terms_against_the_watchlist(tmp_path: Path) -> None:
    for name in ("feeds.toml", "watchlist.toml"):
        shutil.copy(CONFIG / name, tmp_path / name)
    text = NARRATIVE.replace('"ttp"', '"khalilzaad"')
    (tmp_path / "narratives.toml").write_text(text, encoding="utf-8")
    problems = check_config(tmp_path)
    assert_one(problems, "line 6", "unknown term 'khalilzaad'")
    assert problems[0].file == str(tmp_path / "narratives.toml")


@pytest.mark.parametrize(
    ("text", "line", "word"),
    [
        (NARRATIVE + "\n" + NARRATIVE, 9, "duplicate narrative id"),
        (NARRATIVE.replace('["talks with the TTP"]', '"talks"'), 5, "array"),
        (NARRATIVE.replace('description = "Talk to them, not fight them."\n', ""), 1, "missing"),
        (NARRATIVE.replace("[[narrative]]", "[[narratives]]"), 1, "unknown key 'narratives'"),
    ],
)
def test_a_broken_narrative_is_reported_at_its_line(
    tmp_path: Path, text: str, line: int, word: str
) -> None:
    problems = problems_of(load_narratives, tmp_path / "narratives.toml", text)
    assert_one(problems, f"line {line}", word)


def test_check_config_reports_all_three_files(tmp_path: Path) -> None:
    (tmp_path / "feeds.toml").write_text(FEED.replace('"en"', '"xx"'), encoding="utf-8")
    (tmp_path / "watchlist.toml").write_text(TERM.replace('"acronym"', '"x"'), encoding="utf-8")
    problems = check_config(tmp_path)
    assert [(Path(p.file).name, p.place) for p in problems] == [
        ("feeds.toml", "line 6"),
        ("watchlist.toml", "line 8"),
        ("narratives.toml", "file"),
    ]
    message = str(ConfigError(problems))
    assert f"{tmp_path / 'feeds.toml'}:line 6: unknown language 'xx'" in message
