"""The watch-term matcher on both engines: rules, boundaries, spans, snippets, the context rule."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from jirga.config import load_terms
from jirga.errors import ConfigError
from jirga.match import Engine, Matcher, snippet
from jirga.types import Alias, AliasRule, Mention, Term

WATCHLIST = Path(__file__).resolve().parents[2] / "config" / "watchlist.toml"
ACRONYM, WORD, CONTEXT = AliasRule.ACRONYM, AliasRule.WORD, AliasRule.CONTEXT

TTP = Term(
    "ttp",
    "Tehrik-i-Taliban Pakistan",
    (
        Alias("TTP", ACRONYM),
        Alias("Tehrik-i-Taliban Pakistan", WORD),
        Alias("Tehrik-i-Taliban", WORD),
        Alias("Pakistani Taliban", WORD),
        Alias("فتنہ الخوارج", WORD),
        Alias("تحریک طالبان پاکستان", WORD),
        Alias("تحریکِ طالبان", WORD),
        Alias("تحریک طالبان", WORD),
        Alias("ټي ټي پي", WORD),
    ),
)
TALIBAN = Term(
    "taliban",
    "Taliban",
    (
        Alias("Taliban", WORD),
        Alias("Taleban", WORD),
        Alias("طالبان", CONTEXT),
        Alias("طالبانو", WORD),
        Alias("افغان طالبان", WORD),
        Alias("امارت اسلامی", WORD),
    ),
    context=("افغانستان", "کابل", "قندهار", "ترجمان", "سخنگوی", "گروه", "دوحه", "شدت پسند"),
)
KHALILZAD = Term(
    "khalilzad",
    "Zalmay Khalilzad",
    (
        Alias("Khalilzad", WORD),
        Alias("خلیلزاد", WORD),
        Alias("خلیل\u200cزاد", WORD),
        Alias("خلیل زاد", WORD),
    ),
)
TERMS = (TTP, TALIBAN, KHALILZAD)


@pytest.fixture(params=["aho", "regex"])
def engine(request: pytest.FixtureRequest) -> Engine:
    """Every behaviour test runs on both engines."""
    value: Engine = request.param
    return value


@pytest.fixture
def matcher(engine: Engine) -> Matcher:
    """A matcher over the three terms above."""
    return Matcher(TERMS, engine=engine)


def found(matcher: Matcher, text: str) -> list[tuple[str, str]]:
    """(term, original spelling) of each mention, checking that spans slice the text."""
    mentions = matcher.find(text)
    for m in mentions:
        assert 0 <= m.start < m.end <= len(text)
        assert m.snippet
    return [(m.term, text[m.start : m.end]) for m in mentions]


# --- acronyms ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["the TTP said", "TTP's chief", "TTP’s chief", "TTP-linked men", "(TTP)", "TTP.", "«TTP»"],
)
def test_acronym_matches_exact_case_as_a_whole_token(matcher: Matcher, text: str) -> None:
    assert found(matcher, text) == [("ttp", "TTP")]


@pytest.mark.parametrize(
    "text",
    ["see https://x.example/ttp", "ttp", "Ttp", "TTPs of attackers", "TTPS", "XTTP", "TTP2"],
)
def test_acronym_does_not_match_other_case_or_inside_a_token(matcher: Matcher, text: str) -> None:
    assert found(matcher, text) == []


def test_fullwidth_acronym_matches_by_nfkc(matcher: Matcher) -> None:
    assert found(matcher, "ＴＴＰ said") == [("ttp", "ＴＴＰ")]


# --- words -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "spelling"),
    [
        ("the Taliban said", "Taliban"),
        ("THE TALIBAN SAID", "TALIBAN"),
        ("pro-Taliban militants", "Taliban"),
        ("the Taliban's leader", "Taliban"),
        ("sixty Taleban fighters", "Taleban"),
        ("Taliban-led government", "Taliban"),
    ],
)
def test_word_alias_is_case_insensitive_and_whole_word(
    matcher: Matcher, text: str, spelling: str
) -> None:
    assert found(matcher, text) == [("taliban", spelling)]


@pytest.mark.parametrize("text", ["Talibanisation", "Khalilzadeh said", "taliban2", "antiTaliban"])
def test_word_alias_does_not_match_inside_a_word(matcher: Matcher, text: str) -> None:
    assert found(matcher, text) == []


@pytest.mark.parametrize(
    "spelling",
    ["Tehrik-i-Taliban", "Tehrik i Taliban", "Tehrik-i- Taliban", "tehrik\ni\n\nTaliban"],
)
def test_multi_word_alias_spans_any_run_of_spaces_and_hyphens(
    matcher: Matcher, spelling: str
) -> None:
    assert found(matcher, f"the {spelling} claimed it") == [("ttp", spelling)]


def test_multi_word_alias_needs_its_separators(matcher: Matcher) -> None:
    assert found(matcher, "TehrikiTaliban") == []


# --- Arabic script -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    ["خلیل‌زاد", "خلیلزاد", "خلیل زاد", "خليلزاد", "خلیل\u200dزاد", "خلیلـزاد", "خَلیلزاد"],
)
def test_khalilzad_in_every_arabic_script_spelling(matcher: Matcher, spelling: str) -> None:
    text = f"زلمی {spelling}، نماینده آمریکا، گفت."
    assert found(matcher, text) == [("khalilzad", spelling)]


def test_mention_reports_the_alias_spelled_as_the_text(matcher: Matcher) -> None:
    (mention,) = matcher.find("گفت خلیل‌زاد")
    assert mention.alias == "خلیل\u200cزاد"
    (mention,) = matcher.find("گفت خلیلزاد")
    assert mention.alias == "خلیلزاد"
    (mention,) = matcher.find("گفت خليلزاد")  # no alias has Arabic yeh: the first that folds so
    assert mention.alias == "خلیلزاد"


@pytest.mark.parametrize(
    "spelling", ["فتنہ الخوارج", "فتنه الخوارج", "فتنة الخوارج", "فتنۂ الخوارج", "فتنـہ الخوارج"]
)
def test_heh_variants_match_one_alias(matcher: Matcher, spelling: str) -> None:
    assert found(matcher, f"{spelling} کے دہشت گرد") == [("ttp", spelling)]


def test_tatweel_and_izafat_are_ignored_and_spans_keep_them(matcher: Matcher) -> None:
    assert found(matcher, "کابل میں طالبـــان نے کہا") == [("taliban", "طالبـــان")]
    assert found(matcher, "تحریکِ طالبان نے کہا") == [("ttp", "تحریکِ طالبان")]


@pytest.mark.parametrize(
    "text", ["کابل کے طالبان،", "کابل: «طالبان»", "کابل (طالبان)", "کابل، طالبان۔"]
)
def test_punctuation_is_a_word_boundary(matcher: Matcher, text: str) -> None:
    assert found(matcher, text) == [("taliban", "طالبان")]


def test_a_longer_word_is_not_the_bare_one(matcher: Matcher) -> None:
    # Pashto oblique plural is an alias of its own; "مطالبات" (demands) holds طالب but no alias.
    assert found(matcher, "په کابل کې د طالبانو حکومت") == [("taliban", "طالبانو")]
    assert found(matcher, "کابل کے طالبانوں نے") == []
    assert found(matcher, "کابل کے مطالبات") == []
    assert found(matcher, "کابل 2021طالبان") == []


def test_pashto_spelled_out_acronym(matcher: Matcher) -> None:
    assert found(matcher, "د ټي ټي پي وسله وال") == [("ttp", "ټي ټي پي")]
    assert found(matcher, "د ټی ټی پی وسله وال") == [("ttp", "ټی ټی پی")]  # Persian yeh typed


# --- overlaps ----------------------------------------------------------------------------------


def test_longest_alias_wins_over_those_inside_it(matcher: Matcher) -> None:
    assert found(matcher, "the Pakistani Taliban said") == [("ttp", "Pakistani Taliban")]
    assert found(matcher, "کالعدم تحریک طالبان پاکستان نے") == [("ttp", "تحریک طالبان پاکستان")]
    assert found(matcher, "افغان طالبان نے") == [("taliban", "افغان طالبان")]


def test_every_occurrence_is_a_mention(matcher: Matcher) -> None:
    text = "Tehrik-i-Taliban Pakistan (TTP) and the Taliban; TTP again."
    assert found(matcher, text) == [
        ("ttp", "Tehrik-i-Taliban Pakistan"),
        ("ttp", "TTP"),
        ("taliban", "Taliban"),
        ("ttp", "TTP"),
    ]


def test_one_alias_shared_by_two_terms_makes_a_mention_for_each(engine: Engine) -> None:
    first = Term("a", "A", (Alias("Doha talks", WORD),))
    second = Term("b", "B", (Alias("doha talks", WORD), Alias("talks", WORD)))
    mentions = Matcher([first, second], engine=engine).find("the Doha talks resumed")
    assert [(m.term, m.alias, m.start, m.end) for m in mentions] == [
        ("a", "Doha talks", 4, 14),
        ("b", "doha talks", 4, 14),
    ]


# --- the context rule --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "طالبان کے ترجمان نے کہا کہ مذاکرات جاری رہیں گے۔",
        "سخنگوی طالبان گفت.",
        "كابل میں طالبان نے کہا۔",  # a context word typed with Arabic kaf
        "قندھار میں طالبان کا اجلاس ہوا۔",  # Urdu do-chashmi heh; the context word has ه
        "شدت  پسند طالبان نے حملہ کیا۔",  # a two-word context word, spaced twice
    ],
)
def test_bare_taliban_counts_near_a_context_word(matcher: Matcher, text: str) -> None:
    assert [t for t, _ in found(matcher, text)] == ["taliban"]


@pytest.mark.parametrize(
    "text",
    [
        "یونیورسٹی کے طالبان و طالبات نے احتجاج کیا۔",
        "طالبان علم باید تلاش کنند.",
        # the context word is in the sentence before
        "کابل میں بارش ہوئی۔ یونیورسٹی کے طالبان نے احتجاج کیا۔",
        "کابل\nیونیورسٹی کے طالبان نے احتجاج کیا",
    ],
)
def test_bare_taliban_without_context_in_its_sentence_does_not_count(
    matcher: Matcher, text: str
) -> None:
    assert found(matcher, text) == []


def test_context_window_counts_words_either_side(engine: Engine) -> None:
    filler = " ".join(["لفظ"] * 5)
    before = f"کابل {filler} طالبان نے کہا۔"
    after = f"طالبان {filler} کابل میں کہا۔"
    for text in (before, after):
        assert Matcher(TERMS, engine=engine, context_window=6).find(text)
        assert not Matcher(TERMS, engine=engine, context_window=5).find(text)
        assert Matcher(TERMS, engine=engine, context_window=None).find(text)
        assert not Matcher(TERMS, engine=engine, context_window=0).find(text)


def test_a_zwnj_joins_so_a_spaced_context_word_needs_its_joined_spelling(engine: Engine) -> None:
    # The shipped watch list therefore lists both "شدت پسند" and "شدت‌پسند".
    text = "شدت‌پسند طالبان حمله کردند."
    assert Matcher(TERMS, engine=engine).find(text) == []
    joined = Term("t", "T", (Alias("طالبان", CONTEXT),), context=("شدت\u200cپسند",))
    assert len(Matcher([joined], engine=engine).find(text)) == 1
    assert len(Matcher([joined], engine=engine).find("شدتپسند طالبان")) == 1


def test_the_alias_itself_is_not_its_own_context(engine: Engine) -> None:
    term = Term("t", "T", (Alias("طالبان", CONTEXT),), context=("طالبان",))
    assert Matcher([term], engine=engine).find("صرف طالبان") == []
    assert len(Matcher([term], engine=engine).find("طالبان اور طالبان")) == 2


# --- snippets ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        ("Rain fell. The Taliban said so! Then?", "The Taliban said so!"),
        ("Who? Taliban? No.", "Taliban?"),
        ("Title line\nThe Taliban said\nmore", "The Taliban said"),
        ("بارش ہوئی۔ کابل میں طالبان نے کہا۔ پھر", "کابل میں طالبان نے کہا۔"),
        ("باران آمد؟ سخنگوی طالبان گفت. بعد", "سخنگوی طالبان گفت."),
        ("Mr. Khalilzad met the U.S. envoy. Later", "Mr. Khalilzad met the U.S. envoy."),
        ("It rose 3.5 percent as the Taliban won. Next", "It rose 3.5 percent as the Taliban won."),
    ],
)
def test_snippet_is_the_sentence_of_the_mention(matcher: Matcher, text: str, sentence: str) -> None:
    assert matcher.find(text)[0].snippet == sentence


def test_long_sentence_snippet_is_cut_around_the_mention(matcher: Matcher) -> None:
    words = [f"w{i}" for i in range(200)]
    text = " ".join([*words[:100], "Khalilzad", *words[100:]]) + "."
    (mention,) = matcher.find(text)
    assert 250 <= len(mention.snippet) <= 302
    assert mention.snippet.startswith("…")
    assert mention.snippet.endswith("…")
    assert "Khalilzad" in mention.snippet
    left, right = mention.snippet.split("Khalilzad")
    assert abs(len(left) - len(right)) < 20  # centred
    assert all(
        re.fullmatch(r"w\d+", w) for w in mention.snippet.strip("…").split() if w != "Khalilzad"
    )


def test_snippet_at_the_start_of_a_long_sentence_uses_the_room_after(matcher: Matcher) -> None:
    text = "Khalilzad " + " ".join(f"w{i}" for i in range(300))
    (mention,) = matcher.find(text)
    assert mention.snippet.startswith("Khalilzad w0")
    assert mention.snippet.endswith("…")
    assert len(mention.snippet) > 250


def test_snippet_function_collapses_whitespace() -> None:
    text = "The  Taliban\tsaid  so."
    assert snippet(text, 5, 12) == "The Taliban said so."


# --- negatives and edges -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Pakistan and Afghanistan agreed to reopen the Torkham border; Waziristan stayed calm.",
        "پاکستان اور افغانستان کے درمیان تجارت بحال ہو گئی۔",
        "پاکستان و افغانستان درباره تجارت گفتگو کردند.",
        "د پاکستان او افغانستان ترمنځ سوداګري بیا پیل شوه.",
        "",
        "   \n ",
    ],
)
def test_country_names_alone_are_not_mentions(engine: Engine, text: str) -> None:
    assert Matcher(load_terms(WATCHLIST), engine=engine).find(text) == []


def test_mentions_are_returned_in_text_order_with_spans_of_the_original(matcher: Matcher) -> None:
    text = "خلیل‌زاد\u200f گفت: طالبـان در دوحه. Later the TTP-linked Taleban…"
    mentions = matcher.find(text)
    assert [m.start for m in mentions] == sorted(m.start for m in mentions)
    assert [text[m.start : m.end] for m in mentions] == ["خلیل‌زاد", "طالبـان", "TTP", "Taleban"]
    assert all(isinstance(m, Mention) for m in mentions)


def test_a_matcher_with_no_terms_finds_nothing(engine: Engine) -> None:
    assert Matcher([], engine=engine).find("the Taliban") == []


def test_an_alias_that_folds_to_nothing_is_a_config_error() -> None:
    term = Term("t", "T", (Alias("\u0640\u200c", WORD), Alias("ok", WORD)))
    with pytest.raises(ConfigError, match="nothing is left"):
        Matcher([term])


def test_a_context_alias_without_context_words_is_a_config_error() -> None:
    term = Term("t", "T", (Alias("طالبان", CONTEXT),), context=("\u200c",))
    with pytest.raises(ConfigError, match="needs context words"):
        Matcher([term])


def test_an_unknown_engine_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown engine"):
        Matcher(TERMS, engine="grep")  # type: ignore[arg-type]


_PIECES = [
    "Taliban", "taliban", "Talibanisation", "TTP", "ttp", "TTPs", "TTP's", "Tehrik-i-Taliban",
    "Tehrik-i-Taliban Pakistan", "Pakistani Taliban", "Khalilzad", "Khalilzadeh", "خلیل‌زاد",
    "خليلزاد", "طالبان", "طالبـان", "طالبانو", "طالبانوں", "افغان طالبان", "تحریک طالبان",
    "تحریکِ طالبان پاکستان", "کابل", "ترجمان", "دوحہ", "علم", "ټي ټي پي", "پاکستان", "and", "کے",
    " ", " ", "  ", "-", "\n", "۔", ".", "،", "\u200c", "\u0640", "(", ")", "2021",
]  # fmt: skip


def test_both_engines_give_the_same_mentions_on_random_mixes() -> None:
    aho, regex = Matcher(TERMS, engine="aho"), Matcher(TERMS, engine="regex")
    rng = random.Random(7)
    for _ in range(500):
        text = "".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 25)))
        assert aho.find(text) == regex.find(text), repr(text)


# Characters that move offsets when folded (expansions, removals, runs of separators) or that
# sit at a text's edge, so a mistake in splitting the folded whole back shows.
_EDGES = ["…", "ﻻ", "ß", "ﷺ", "\u064b", "\u200c", "  ", " ", "-", "\n", "", "\x00", "TTP"]


def test_find_many_gives_what_find_gives_text_by_text(engine: Engine) -> None:
    matcher = Matcher(TERMS, engine=engine)
    rng = random.Random(11)
    pieces = _PIECES + _EDGES
    for _ in range(300):
        texts = [
            "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
            for _ in range(rng.randint(0, 8))
        ]
        assert matcher.find_many(texts) == [matcher.find(t) for t in texts], repr(texts)


def test_find_many_reports_spans_of_each_text() -> None:
    texts = ["…… the TTP said", "", "nothing here", "ﻻ خلیل‌زاد و طالبانو", "Taliban"]
    found = Matcher(TERMS).find_many(texts)
    assert [[text[m.start : m.end] for m in ms] for text, ms in zip(texts, found, strict=True)] == [
        ["TTP"],
        [],
        [],
        ["خلیل‌زاد", "طالبانو"],
        ["Taliban"],
    ]


_SPACES = [" ", "  ", "\n", "\t", "\u00a0", "\u3000", " \n "]


def test_may_mention_many_is_false_only_where_find_finds_nothing(engine: Engine) -> None:
    # Also for the same text with other whitespace: screening texts differ from the full texts
    # only there (jirga.normalise.screening_text).
    matcher = Matcher(TERMS, engine=engine)
    rng = random.Random(13)
    pieces = _PIECES + _EDGES
    skipped = kept = 0
    for _ in range(300):
        texts = [
            "".join(rng.choice(pieces) for _ in range(rng.randint(0, 10)))
            for _ in range(rng.randint(0, 8))
        ]
        respaced = [re.sub(r"\s+", lambda _: rng.choice(_SPACES), t) for t in texts]
        for text, maybe in zip(texts, matcher.may_mention_many(respaced), strict=True):
            if not maybe:
                assert matcher.find(text) == [], repr(text)
                skipped += 1
            elif matcher.find(text):
                kept += 1
    assert skipped > 100 and kept > 100  # both answers were given often enough to count


def test_may_mention_many_takes_none_as_maybe_and_finds_the_ones_that_mention() -> None:
    matcher = Matcher(TERMS)
    texts = [None, "nothing here", "the TTP said", "", "Talibanisation", "ttp in a url"]
    # A whole-word alias counts even where its rule would reject it (a wrong-case acronym).
    assert matcher.may_mention_many(texts) == [True, False, True, False, False, True]
    assert matcher.may_mention_many([]) == []
