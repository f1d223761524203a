"""Tests of jirga.dedup: stable band keys, copies found through them, other articles left alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from jirga.dedup import (
    DEFAULT_CONFIG,
    DedupConfig,
    band_keys,
    best_match,
    candidate_probability,
    normalize,
    shingles,
    signature,
    similarity,
)

# Articles written for these tests: a headline, then one paragraph a line.
ARTICLE_EN = """Pakistan and Taliban officials meet in Kabul over trade corridor
KABUL: Senior officials from Pakistan and the Taliban government met in Kabul on Sunday to discuss \
a trade corridor linking Peshawar with Central Asia, the Afghan ministry of commerce said.
The two sides agreed to set up working groups on customs, transit fees and the movement of trucks \
through Torkham and Ghulam Khan, the statement said, adding that the next round would be held in \
Islamabad.
Pakistani officials said the talks had also touched on security, and that Islamabad had again \
raised the presence of TTP fighters in the eastern provinces of Kunar and Nangarhar.
Traders in Peshawar welcomed the meeting but said frequent closures of the border had made \
long-term contracts with Afghan buyers almost impossible."""

OTHER_EN = """Khalilzad urges Taliban and Pakistan to resolve border dispute through dialogue
WASHINGTON: Former US envoy Zalmay Khalilzad said on Monday that the Taliban and Pakistan should \
settle their dispute over the Durand Line through talks, warning that repeated clashes in Kurram \
and Chaman risked a wider conflict.
In a series of posts, Khalilzad said both governments had an interest in stopping the TTP, whose \
attacks in Khyber Pakhtunkhwa have killed hundreds of soldiers and police this year.
Officials in Kabul rejected the criticism and said Afghanistan would not allow its territory to \
be used against any neighbour, while Islamabad did not comment."""

ARTICLE_UR = """کابل میں پاکستان اور طالبان حکام کے درمیان تجارتی راہداری پر مذاکرات
کابل: پاکستان اور افغان طالبان حکومت کے اعلیٰ حکام نے اتوار کو کابل میں ملاقات کی جس میں پشاور کو \
وسطی ایشیا سے ملانے والی تجارتی راہداری پر بات چیت ہوئی۔
افغان وزارت تجارت کے بیان کے مطابق دونوں فریقوں نے کسٹم، ٹرانزٹ فیس اور طورخم کے راستے ٹرکوں کی \
آمد و رفت پر ورکنگ گروپ بنانے پر اتفاق کیا۔
پاکستانی حکام نے بتایا کہ ملاقات میں سکیورٹی پر بھی بات ہوئی اور اسلام آباد نے کنڑ اور ننگرہار میں \
ٹی ٹی پی کے جنگجوؤں کی موجودگی کا معاملہ ایک بار پھر اٹھایا۔
پشاور کے تاجروں نے ملاقات کا خیر مقدم کیا لیکن کہا کہ سرحد کی بار بار بندش سے افغان خریداروں کے \
ساتھ طویل مدتی معاہدے تقریباً ناممکن ہو گئے ہیں۔"""

OTHER_UR = """طالبان حکومت کا لڑکیوں کے سکول بند رکھنے کا فیصلہ برقرار
کابل: افغانستان میں طالبان حکومت نے چھٹی جماعت سے آگے لڑکیوں کی تعلیم پر پابندی برقرار رکھنے کا \
اعلان کیا ہے جس پر اقوام متحدہ اور انسانی حقوق کی تنظیموں نے شدید تشویش ظاہر کی ہے۔
وزارت تعلیم کے ترجمان نے کہا کہ سکول کھولنے کا فیصلہ قیادت کی منظوری سے مشروط ہے اور اس کے لیے \
کوئی تاریخ مقرر نہیں کی گئی۔
پاکستان کے دفتر خارجہ نے کہا کہ وہ کابل کی عبوری حکومت پر زور دیتا ہے کہ خواتین کو تعلیم اور \
روزگار کے حقوق دیے جائیں۔"""

EXTRA_EN = (
    "Analysts said the corridor would depend on whether the two governments could keep the "
    "crossings open through the winter, when trade usually slows."
)
EXTRA_UR = (
    "تجزیہ کاروں کے مطابق راہداری کی کامیابی کا انحصار اس بات پر ہے کہ سردیوں میں بھی سرحدی "
    "گزرگاہیں کھلی رہیں۔"
)
ORIGINALS = {"en": ARTICLE_EN, "en-other": OTHER_EN, "ur": ARTICLE_UR, "ur-other": OTHER_UR}


def arabic_keyboard(text: str) -> str:
    """The same Urdu as typed with Arabic letters, ZWNJ, tatweel, harakat and Latin stops."""
    out = text.replace("ی", "ي").replace("ک", "ك").replace("ہ", "ه").replace("۔", ".")
    out = out.replace("ہو ", "ہو\u200c ").replace("کے ", "كـے ").replace("طالبان", "طالِبان\u200c")
    return out.replace("،", ",")


def another_desk(text: str) -> str:
    """The same English as another paper runs it: capitals, agency dateline, curly quotes."""
    title, body = text.split("\n", 1)
    body = body.replace("KABUL:", "KABUL (Reuters) —", 1).replace("'", "’")
    return title.upper() + "\n\n" + body.replace(", ", " , ")


def add_paragraph(text: str, extra: str) -> str:
    paras = text.split("\n")
    return "\n".join([*paras[:3], extra, *paras[3:]])


def new_headline(text: str, headline: str) -> str:
    return headline + "\n" + text.split("\n", 1)[1]


EDITS: dict[str, tuple[str, Callable[[str], str]]] = {
    "en retyped": ("en", another_desk),
    "en headline changed": ("en", lambda t: new_headline(t, "Kabul talks: trade first")),
    "en paragraph added": ("en", lambda t: add_paragraph(t, EXTRA_EN)),
    "ur arabic keyboard": ("ur", arabic_keyboard),
    "ur paragraph added": ("ur", lambda t: add_paragraph(t, EXTRA_UR)),
    "ur headline changed": ("ur", lambda t: new_headline(t, "طورخم کے راستے تجارت کی نئی امید")),
}


@pytest.fixture
def index() -> dict[tuple[int, int], list[str]]:
    """What storage keeps: the articles sharing each (band, key), here the four originals."""
    found: dict[tuple[int, int], list[str]] = defaultdict(list)
    for article_id, text in ORIGINALS.items():
        sig = signature(text)
        assert sig is not None
        for band_key in band_keys(sig):
            found[band_key].append(article_id)
    return found


def candidates_of(text: str, index: dict[tuple[int, int], list[str]]) -> list[str]:
    sig = signature(text)
    assert sig is not None
    return sorted({a for band_key in band_keys(sig) for a in index.get(band_key, [])})


def test_signature_and_keys_are_fixed_values() -> None:
    sig = signature(ARTICLE_EN)
    assert sig is not None
    assert sig.dtype == np.uint32
    assert sig.shape == (128,)
    assert sig[:4].tolist() == [13748817, 694604, 104368789, 38673091]
    assert band_keys(sig)[:3] == [
        (0, 3913286851157767270),
        (1, 7456447662252647039),
        (2, -7939363846966028459),
    ]


@pytest.mark.parametrize("size", [1, 2, 255, 256, 257, 300, 512, 513, 1000, 3000])
def test_signing_in_blocks_is_the_minimum_over_every_shingle(size: int) -> None:
    from jirga import dedup

    rng = np.random.default_rng(size)
    values = np.unique(rng.integers(0, 2**64 - 1, size + 10, dtype=np.uint64))[:size]
    mul, add = dedup._permutations(DEFAULT_CONFIG.num_perm, DEFAULT_CONFIG.seed)
    # Every product at once, in Python integers (mod 2^64 by hand): no buffer, no block.
    expected = [
        min(((a * int(v) + b) & (2**64 - 1)) >> 32 for v in values.tolist())
        for a, b in zip(mul[:, 0].tolist(), add[:, 0].tolist(), strict=True)
    ]
    assert dedup._minhash(values, DEFAULT_CONFIG).tolist() == expected
    assert dedup._minhash(values, DEFAULT_CONFIG).tolist() == expected  # the buffer reused


def test_keys_are_the_same_in_another_process() -> None:
    code = (
        "import json, sys; from jirga.dedup import band_keys, signature; "
        "print(json.dumps(band_keys(signature(sys.stdin.read()))))"
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        input=ARTICLE_UR,
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=root,
        env=env,
        timeout=60,
        check=True,
    )
    sig = signature(ARTICLE_UR)
    assert sig is not None
    assert [tuple(k) for k in json.loads(result.stdout)] == band_keys(sig)


def test_keys_fit_a_signed_bigint_and_differ_across_bands() -> None:
    for text in ORIGINALS.values():
        sig = signature(text)
        assert sig is not None
        keys = band_keys(sig)
        assert [band for band, _ in keys] == list(range(DEFAULT_CONFIG.bands))
        assert all(-(2**63) <= key < 2**63 for _, key in keys)
        assert len({key for _, key in keys}) == len(keys)


@pytest.mark.parametrize("edit", EDITS)
def test_lightly_edited_copies_are_found_through_band_keys(
    edit: str, index: dict[tuple[int, int], list[str]]
) -> None:
    original, change = EDITS[edit]
    copy = change(ORIGINALS[original])
    assert copy != ORIGINALS[original]
    found = candidates_of(copy, index)
    assert original in found
    match = best_match(copy, [(a, ORIGINALS[a]) for a in found])
    assert match is not None
    assert match[0] == original
    assert match[1] == pytest.approx(similarity(copy, ORIGINALS[original]))
    assert match[1] >= DEFAULT_CONFIG.threshold


def test_other_articles_on_the_same_crisis_are_not_linked(
    index: dict[tuple[int, int], list[str]],
) -> None:
    for article_id, text in ORIGINALS.items():
        assert candidates_of(text, index) == [article_id]
        others = [(a, t) for a, t in ORIGINALS.items() if a != article_id]
        assert best_match(text, others) is None
        assert all(similarity(text, t) < 0.1 for _, t in others)


def test_a_rewrite_is_another_article() -> None:
    words = ARTICLE_EN.split(" ")
    rewritten = " ".join(w if i % 3 else "and" for i, w in enumerate(words))
    assert similarity(ARTICLE_EN, rewritten) < DEFAULT_CONFIG.threshold
    assert best_match(rewritten, [("en", ARTICLE_EN)]) is None


@pytest.mark.parametrize(
    "text",
    ["Taliban take Kabul", "", "   ", "!!! ۔۔۔", "Pakistan closes Torkham border after clashes"],
)
def test_short_texts_are_not_eligible(text: str) -> None:
    assert signature(text) is None
    assert shingles(text) is None
    assert similarity(text, text) == 0.0
    assert best_match(text, [("same", text)]) is None
    assert best_match(ARTICLE_EN, [("short", text)]) is None


def test_the_word_minimum_is_counted_after_normalising() -> None:
    seven = "Taliban, Pakistan agree — to reopen Torkham crossing."
    assert len(normalize(seven).split()) == 7
    assert signature(seven) is None
    assert signature(seven + " today") is not None


def test_arabic_script_variants_are_the_same_text() -> None:
    variant = arabic_keyboard(ARTICLE_UR)
    assert variant != ARTICLE_UR
    assert normalize(variant) == normalize(ARTICLE_UR)
    sig_a, sig_b = signature(variant), signature(ARTICLE_UR)
    assert sig_a is not None
    assert sig_b is not None
    assert np.array_equal(sig_a, sig_b)
    assert similarity(variant, ARTICLE_UR) == 1.0


@pytest.mark.parametrize(
    ("variant", "plain"),
    [
        ("پاكستان ميں", "پاکستان میں"),  # Arabic kaf and yeh
        ("مذاکرات\u200cکا", "مذاکراتکا"),  # ZWNJ
        ("طالـــبان", "طالبان"),  # tatweel
        ("حُکُومَت", "حکومت"),  # harakat
        ("اعلیٰ", "اعلی"),  # superscript alef
        ("ہوئے", "ہویے"),  # yeh with hamza: its hamza is a mark after NFKD
        ("کہ", "كه"),  # heh and heh goal
        ("۲۰۲۱ ٢٠٢١", "2021 2021"),  # Persian and Arabic-Indic digits
        ("TTP’s «fighters», Kabul.", "ttps fighters kabul"),
    ],
)
def test_normalize_folds_spelling_variants(variant: str, plain: str) -> None:
    assert normalize(variant) == normalize(plain)


def test_short_texts_are_compared_by_character_grams() -> None:
    short = (
        "Taliban and Pakistani officials agree to reopen the Torkham crossing for trade on Monday"
    )
    edited = short.replace("officials", "negotiators")
    assert len(normalize(short).split()) < DEFAULT_CONFIG.char_below_words
    assert similarity(short, edited) >= DEFAULT_CONFIG.threshold
    words_only = DedupConfig(char_below_words=DEFAULT_CONFIG.min_words)
    assert similarity(short, edited, words_only) < DEFAULT_CONFIG.threshold


def test_best_match_prefers_the_most_similar_then_the_first() -> None:
    closer = new_headline(ARTICLE_EN, "Kabul talks: trade first")
    farther = add_paragraph(closer, EXTRA_EN)
    match = best_match(ARTICLE_EN, [("farther", farther), ("closer", closer), ("other", OTHER_EN)])
    assert match is not None
    assert match[0] == "closer"
    tie = best_match(ARTICLE_EN, [("first", closer), ("second", closer)])
    assert tie is not None
    assert tie[0] == "first"
    assert best_match(ARTICLE_EN, iter([])) is None
    strict = DedupConfig(threshold=0.99)
    assert best_match(ARTICLE_EN, [("closer", closer)], strict) is None


def test_similarity_is_symmetric_and_bounded() -> None:
    copy = add_paragraph(ARTICLE_UR, EXTRA_UR)
    forward, backward = similarity(ARTICLE_UR, copy), similarity(copy, ARTICLE_UR)
    assert forward == backward
    assert 0.0 < forward < 1.0
    assert similarity(ARTICLE_UR, ARTICLE_UR) == 1.0


@pytest.mark.parametrize(
    "changes",
    [{"bands": 30}, {"rows": 3}, {"threshold": 0.0}, {"threshold": 1.5}, {"min_words": 2}],
)
def test_inconsistent_configs_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="invalid DedupConfig"):
        DedupConfig(**changes)


def test_other_configs_sign_with_their_own_shape() -> None:
    config = DedupConfig(num_perm=64, bands=16, rows=4)
    sig = signature(ARTICLE_EN, config)
    assert sig is not None
    assert sig.shape == (64,)
    assert len(band_keys(sig, config)) == 16
    with pytest.raises(ValueError, match="shape"):
        band_keys(sig)


def test_candidate_probability_follows_the_banding_curve() -> None:
    assert candidate_probability(0.7) > 0.998
    assert candidate_probability(0.75) > 0.9999
    assert candidate_probability(0.4) < 0.25
    assert candidate_probability(0.2) < 0.01
    one_band = DedupConfig(min_shared_bands=1)
    assert candidate_probability(0.7, one_band) > 0.9998
    assert candidate_probability(0.4, one_band) == pytest.approx(1 - (1 - 0.4**4) ** 32)
    assert candidate_probability(0.0) == 0.0
    assert candidate_probability(1.0) == 1.0


def test_real_articles_weeks_apart_are_not_linked(shared_dir: Path) -> None:
    folder = shared_dir / "corpus" / "articles" / "rumca-js-2021-08"
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent")

    def items(days: range) -> list[str]:
        found: dict[str, str] = {}
        for day in days:
            for path in sorted(folder.glob(f"2021-08-{day:02d}_*.json")):
                for rec in json.loads(path.read_text(encoding="utf-8")):
                    text = f"{rec['title']}\n{rec.get('description') or ''}"
                    if any(w in text.lower() for w in ("taliban", "afghan", "kabul")):
                        found.setdefault(rec["link"], text)
        return list(found.values())

    early, late = items(range(1, 11)), items(range(22, 32))
    assert len(early) >= 10
    assert len(late) >= 50
    early_keys: dict[tuple[int, int], int] = {}
    for i, text in enumerate(early):
        sig = signature(text)
        if sig is not None:
            early_keys.update(dict.fromkeys(band_keys(sig), i))
    for text in late:
        sig = signature(text)
        if sig is None:
            continue
        assert not any(k in early_keys for k in band_keys(sig))
        assert best_match(text, enumerate(early)) is None
        # a re-typed copy of the same item is still found among them
        copy = text.upper().replace("'", "’")
        assert best_match(copy, [*enumerate(early), (-1, text)]) == (-1, 1.0)
