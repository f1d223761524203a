"""Folding of Arabic-script and Latin text for matching, and the map back to the original text."""

from __future__ import annotations

import random
import unicodedata

import numpy as np
import pytest

from jirga import arabic
from jirga.arabic import _fold_char, fold, folded_text, is_word, normalize


@pytest.mark.parametrize(
    ("variant", "canonical"),
    [
        ("خليلزاد", "خلیلزاد"),  # Arabic yeh -> Persian yeh
        ("مصطفى", "مصطفی"),  # alef maksura -> Persian yeh
        ("كابل", "کابل"),  # Arabic kaf -> keheh
        ("دوحہ", "دوحه"),  # Urdu heh goal -> heh
        ("دوحە", "دوحه"),  # ae -> heh
        ("فتنة", "فتنه"),  # teh marbuta -> heh
        ("فتنۃ", "فتنه"),  # Urdu teh marbuta goal -> heh
        ("پھر", "پهر"),  # do-chashmi heh -> heh
        ("خانۀ", "خانه"),  # heh with yeh above (Persian ezafe) -> heh
        ("آمریکا", "امریکا"),  # alef madda -> alef
        ("أفغان", "افغان"),  # hamza above -> alef
        ("إسلام", "اسلام"),  # hamza below -> alef
        ("ٱلله", "الله"),  # alef wasla -> alef
        ("مسئول", "مسیول"),  # yeh with hamza -> yeh
        ("مؤمن", "مومن"),  # waw with hamza -> waw
        ("گئۓ", "گیے"),  # bari ye with hamza -> bari ye
    ],
)
def test_letter_variants_fold_together(variant: str, canonical: str) -> None:
    assert fold(variant) == fold(canonical)


def test_separately_typed_hamza_and_madda_fold_like_the_precomposed_letters() -> None:
    assert fold("ا\u0653مریکا") == fold("آمریکا")  # alef + combining madda
    assert fold("ی\u0654") == fold("ئ")  # yeh + combining hamza above


@pytest.mark.parametrize(
    "distinct",
    [("ې", "ی"), ("ۍ", "ی"), ("ے", "ی"), ("ټ", "ٹ"), ("ء", "ا"), ("گ", "ک")],
)
def test_letters_of_their_own_stay_distinct(distinct: tuple[str, str]) -> None:
    # Pashto ې and ۍ, Urdu bari ye, the two retroflex t's, the lone hamza: not spelling variants.
    first, second = distinct
    assert fold(first) != fold(second)


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("خلیل\u200cزاد", "خلیلزاد"),  # ZWNJ
        ("خلیل\u200dزاد", "خلیلزاد"),  # ZWJ
        ("طالبـــان", "طالبان"),  # tatweel
        ("طَالِبَانْ", "طالبان"),  # harakat
        ("تحریکِ طالبان", "تحریک طالبان"),  # izafat zer
        ("رحمٰن", "رحمن"),  # superscript alef
        ("محمد\u0610", "محمد"),  # Urdu honorific sign
        ("\u200fطالبان\u200e", "طالبان"),  # bidi marks
        ("Tali\u00adban", "taliban"),  # soft hyphen
    ],
)
def test_invisible_characters_and_diacritics_are_removed(text: str, folded: str) -> None:
    assert normalize(text).text == folded


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Tehrik-i-Taliban", "tehrik i taliban"),
        ("Tehrik  i\n\tTaliban", "tehrik i taliban"),
        ("Tehrik\u2010i\u2011Taliban", "tehrik i taliban"),  # Unicode hyphens
        ("Tehrik -\u200c i", "tehrik i"),  # a run with a ZWNJ inside is still one space
        ("a\u00a0b\u3000c", "a b c"),  # no-break and ideographic spaces
    ],
)
def test_runs_of_spaces_and_hyphens_become_one_space(text: str, folded: str) -> None:
    assert normalize(text).text == folded


def test_latin_is_nfkc_casefolded() -> None:
    assert normalize("ＴＴＰ Straße İ").text == "ttp strasse i\u0307"
    assert normalize("ＴＴＰ", casefold=False).text == "TTP"


def test_presentation_forms_become_letters() -> None:
    assert normalize("ﻃﺎﻟﺒﺎﻥ").text == "طالبان"
    assert normalize("ﻻ").text == "لا"


def test_digits_are_folded_only_when_asked() -> None:
    assert normalize("۲۰۲۱ ٢٠٢١").text == "2021 2021"
    assert normalize("۲۰۲۱ ٢٠٢١", digits=False).text == "۲۰۲۱ ٢٠٢١"


def test_fold_strips_outer_spaces() -> None:
    assert fold("  - Taliban -  ") == "taliban"
    assert fold("\u200c\u0640") == ""


@pytest.mark.parametrize(
    ("text", "needle", "original"),
    [
        ("گفت خلیل‌زاد آمد", "خلیلزاد", "خلیل‌زاد"),
        ("گفت طالبـــان آمدند", "طالبان", "طالبـــان"),
        ("the Tehrik-i-\n  Taliban said", "tehrik i taliban", "Tehrik-i-\n  Taliban"),
        ("a ﻻ b", "لا", "ﻻ"),
        ("Straße zu", "strasse", "Straße"),
        ("\u200f\u200fطالبان", "طالبان", "طالبان"),
    ],
)
def test_spans_map_back_to_the_original_spelling(text: str, needle: str, original: str) -> None:
    norm = normalize(text)
    start = norm.text.index(needle)
    first, last = norm.span(start, start + len(needle))
    assert text[first:last] == original


def test_index_finds_the_folded_position_of_an_original_offset() -> None:
    text = "خلیل‌زاد و طالبـــان"
    norm = normalize(text)
    at = norm.index(text.index("و"))
    assert norm.text[at] == "و"
    assert norm.index(len(text)) == len(norm.text)
    assert normalize("plain").index(3) == 3


def _reference(text: str) -> str:
    """Character by character, then runs of spaces squeezed: what normalize must give."""
    out = []
    for ch in text:
        folded = _fold_char(ch, True, True)
        out.append(ch if " " in folded and folded != " " else folded)
    joined = "".join(out)
    while "  " in joined:
        joined = joined.replace("  ", " ")
    return joined


_ALPHABET = (
    "aBİßﬁ…½ -\n\u00a0"  # Latin, expansions, separators
    "طالبنکیيكہھةۀآأئ"  # Arabic-script letters and their variants
    "\u064e\u0650\u0670\u0640\u200c\u200d\u200f"  # marks, tatweel, format characters
    "ﻻﻃﷺ۲٢،۔"  # presentation forms (one of eighteen letters), digits, punctuation
    "\U0001d400\ud800"  # an astral letter and a lone surrogate
)


def test_normalize_agrees_with_a_per_character_reference_on_random_text() -> None:
    rng = random.Random(20260301)
    for _ in range(400):
        text = "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(0, 30)))
        norm = normalize(text)
        assert norm.text == _reference(text), repr(text)
        offsets = [norm.span(i, i + 1) for i in range(len(norm.text))]
        starts = [first for first, _ in offsets]
        assert starts == sorted(starts)
        for i, (first, last) in enumerate(offsets):
            assert 0 <= first < last <= len(text)
            # every folded character comes from the original characters it maps to
            assert norm.text[i] in _reference(text[first:last]) or norm.text[i] == " "


@pytest.mark.parametrize(("casefold", "digits"), [(True, True), (False, True), (True, False)])
def test_folded_text_is_the_normalized_text(casefold: bool, digits: bool) -> None:
    rng = random.Random(20261204)
    # Random text, long runs of spaces and hyphens, expansions and removals side by side.
    alphabet = _ALPHABET + "   --\u2026\ufdfa\u00df\u200c\u0640"
    texts = ["", " ", "  ", "\u2026", "a  \u2026  b", "\u200c\u200c"]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60))) for _ in range(600)]
    for text in texts:
        expected = normalize(text, casefold=casefold, digits=digits).text
        assert folded_text(text, casefold=casefold, digits=digits) == expected, repr(text)


@pytest.mark.parametrize(
    ("char", "word"),
    [
        ("a", True),
        ("ط", True),
        ("ې", True),
        ("۲", True),
        ("7", True),
        ("\u0301", True),  # a combining mark belongs to its letter
        ("\u0902", True),  # Devanagari anusvara (Mn)
        (" ", False),
        ("،", False),
        ("۔", False),
        ("؟", False),
        ("'", False),
        ("-", False),
        ("_", False),
        ("«", False),
    ],
)
def test_word_characters_are_letters_marks_and_numbers(char: str, word: bool) -> None:
    assert is_word(char, 0) is word
    assert (unicodedata.category(char)[0] in "LMN") is word


def test_is_word_outside_the_text_is_false() -> None:
    assert not is_word("ab", -1)
    assert not is_word("ab", 2)


def _tables_one_by_one(casefold: bool, digits: bool) -> arabic._Tables:
    """The folding tables as defined: every scanned character through _fold_char."""
    single = np.arange(0x110000, dtype=np.uint32)
    length = np.ones(0x110000, dtype=np.uint8)
    expand = {}
    for block in arabic._SCANNED:
        for cp in block:
            if 0xD800 <= cp <= 0xDFFF:
                continue
            out = arabic._fold_char(chr(cp), casefold, digits)
            if out == chr(cp) or (" " in out and out != " "):
                continue
            length[cp] = len(out)
            single[cp] = ord(out) if len(out) == 1 else arabic._SPECIAL
            if len(out) > 1:
                expand[cp] = [ord(c) for c in out]
    return arabic._Tables(single, length, expand)


@pytest.mark.parametrize("casefold", [True, False])
@pytest.mark.parametrize("digits", [True, False])
def test_folding_tables_are_those_of_folding_each_character(casefold: bool, digits: bool) -> None:
    # The tables are built from the few characters that NFKC and case folding of the whole
    # range, in one call each, show to change: they must be what folding each one gives.
    built, expected = arabic._tables(casefold, digits), _tables_one_by_one(casefold, digits)
    assert np.array_equal(built.single, expected.single)
    assert np.array_equal(built.length, expected.length)
    assert {cp: list(map(int, v)) for cp, v in built.expand.items()} == expected.expand
    assert len(expected.expand) > 100 and int((expected.length == 0).sum()) > 100
