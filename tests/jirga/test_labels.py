"""Key phrases, medoids and cited passages of small hand-written narratives in four languages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from jirga.config import load_terms
from jirga.labels import STOP_WORDS, cited_passages, key_phrases, medoid, tokens, words

ROOT = Path(__file__).resolve().parents[2]

# Two narratives, each told in four languages (written for these tests).
TALKS = {
    "en": [
        "The government formed a tribal jirga to hold peace talks with the TTP in Kabul. "
        "Elders said the peace talks would resume after Eid.",
        "A jirga of tribal elders travelled to Kabul for peace talks with the banned TTP, "
        "officials said on Sunday.",
        "Peace talks between the jirga and the TTP ended without a ceasefire, but the tribal "
        "elders plan another round of talks.",
    ],
    "ur": [
        "قبائلی جرگہ نے کالعدم ٹی ٹی پی سے امن مذاکرات کا نیا دور شروع کیا۔ جرگہ کے ارکان نے "
        "کہا کہ امن مذاکرات جاری رہیں گے۔",
        "حکومت نے ٹی ٹی پی سے امن مذاکرات کے لیے قبائلی جرگہ کابل بھیجا۔",
        "جرگہ اور ٹی ٹی پی کے درمیان امن مذاکرات بغیر جنگ بندی کے ختم ہوئے۔",
    ],
    "ps": [
        "قومي جرګې د ټي ټي پي سره د سولې خبرې اترې پیل کړې. د جرګې غړو وویل چې د سولې خبرې "
        "اترې به دوام ومومي.",
        "حکومت د ټي ټي پي سره د سولې خبرو اترو لپاره قومي جرګه کابل ته ولېږله.",
        "د قومي جرګې او ټي ټي پي ترمنځ د سولې خبرې اترې پرته له اوربند پای ته ورسېدې.",
    ],
    "fa": [
        "جرگه قبایلی مذاکرات صلح با تحریک طالبان پاکستان را در کابل آغاز کرد. اعضای جرگه گفتند "
        "مذاکرات صلح ادامه دارد.",
        "دولت پاکستان یک جرگه قبایلی را برای مذاکرات صلح با تحریک طالبان پاکستان به کابل فرستاد.",
        "مذاکرات صلح میان جرگه قبایلی و تحریک طالبان پاکستان بدون آتش بس پایان یافت.",
    ],
}
AIRPORT = {
    "en": [
        "Thousands of Afghans crowded Kabul airport as evacuation flights continued after the "
        "Taliban takeover.",
        "The evacuation from Kabul airport was halted after a blast near the airport gate, the "
        "Pentagon said.",
        "Evacuation flights from Kabul airport carried thousands out of Afghanistan as the "
        "Taliban stood guard outside.",
    ],
    "ur": [
        "طالبان کے قبضے کے بعد کابل ایئرپورٹ سے انخلا کی پروازیں جاری رہیں۔ ایئرپورٹ کے باہر "
        "ہزاروں افغان جمع تھے۔",
        "کابل ایئرپورٹ کے دروازے کے قریب دھماکے کے بعد انخلا روک دیا گیا۔",
        "کابل ایئرپورٹ سے انخلا کی پروازوں میں ہزاروں افغان ملک سے نکلے۔",
    ],
    "ps": [
        "د کابل هوايي ډګر څخه د وتلو الوتنې دوام لري. طالبانو د کابل هوايي ډګر شاوخوا ساتنه کوله.",
        "د کابل هوايي ډګر دروازې ته نږدې له چاودنې وروسته د وتلو الوتنې ودرول شوې.",
        "زرګونه افغانان د کابل هوايي ډګر له لارې له هېواده ووتل.",
    ],
    "fa": [
        "پروازهای تخلیه از فرودگاه کابل ادامه دارد. هزاران افغان در بیرون فرودگاه کابل جمع "
        "شده اند.",
        "پس از انفجار در نزدیکی دروازه فرودگاه کابل، تخلیه متوقف شد.",
        "پروازهای تخلیه از فرودگاه کابل هزاران افغان را از کشور بیرون برد.",
    ],
}
EXPECTED = {
    # (a word the talks cluster must show, a word the airport cluster must show)
    "en": ({"talks", "jirga"}, {"airport", "evacuation"}),
    "ur": ({"مذاکرات", "جرگہ"}, {"ایئرپورٹ", "انخلا"}),
    "ps": ({"خبرې", "جرګې", "سولې"}, {"هوايي", "ډګر"}),
    "fa": ({"مذاکرات", "جرگه", "صلح"}, {"فرودگاه", "تخلیه"}),
}


@pytest.fixture(scope="module")
def aliases() -> list[str]:
    """Every alias of the shipped watch terms: what the narratives stage passes as stop words."""
    terms = load_terms(ROOT / "config" / "watchlist.toml")
    return [a.text for t in terms for a in t.aliases]


def words_of(phrases: list[str]) -> set[str]:
    return {w for p in phrases for w in p.casefold().split()}


@pytest.mark.parametrize("lang", ["en", "ur", "ps", "fa"])
def test_key_phrases_tell_the_two_narratives_apart(lang: str, aliases: list[str]) -> None:
    labels = key_phrases({"talks": TALKS[lang], "airport": AIRPORT[lang]}, stop_words=aliases)
    talks, airport = words_of(labels["talks"]), words_of(labels["airport"])
    want_talks, want_airport = EXPECTED[lang]
    assert talks & want_talks, labels
    assert airport & want_airport, labels
    assert not talks & want_airport and not airport & want_talks, labels
    assert not set(labels["talks"]) & set(labels["airport"])


def test_key_phrases_across_languages_and_watch_terms_excluded(aliases: list[str]) -> None:
    docs = {
        "talks": [d for lang in TALKS for d in TALKS[lang]],
        "airport": [d for lang in AIRPORT for d in AIRPORT[lang]],
    }
    labels = key_phrases(docs, top_n=12, stop_words=aliases)
    everything = words_of(labels["talks"] + labels["airport"])
    for watch in ("ttp", "taliban", "طالبان", "ٹی", "پاکستان"):
        assert watch not in everything, labels
    assert "peace talks" in [p.casefold() for p in labels["talks"]]
    assert "kabul airport" in [p.casefold() for p in labels["airport"]]


def test_a_pair_replaces_the_word_it_stands_for() -> None:
    labels = key_phrases({"a": TALKS["en"], "b": AIRPORT["en"]}, top_n=20)
    # "peace" is only ever in "peace talks"; "airport" mostly in "Kabul airport".
    assert "peace" not in [p.casefold() for p in labels["a"]]
    assert "Peace talks" in labels["a"] or "peace talks" in labels["a"]
    assert "airport" not in [p.casefold() for p in labels["b"]]


def test_key_phrases_are_printed_forms_and_deterministic() -> None:
    docs = {"x": ["The TTP and the Tehreek-e-Taliban met Khalilzad in Doha. Khalilzad left."]}
    first = key_phrases(docs, stop_words=["TTP"])
    assert first == key_phrases(docs, stop_words=["TTP"])
    assert "Khalilzad" in first["x"]  # printed case, not the folded "khalilzad"
    assert "ttp" not in words_of(first["x"])


def test_key_phrases_keep_the_callers_keys_and_handle_empty_clusters() -> None:
    labels = key_phrases({7: ["the and of"], 3: []})
    assert labels == {7: [], 3: []}
    assert key_phrases({}) == {}


def test_tokens_fold_arabic_script_variants() -> None:
    # Arabic yeh and kaf, and a ZWNJ, fold onto the Persian spelling.
    assert [t.key for t in tokens("خلیل\u200cزاد")] == [t.key for t in tokens("خليلزاد")]
    assert tokens("كابل")[0].key == tokens("کابل")[0].key
    assert [t.key for t in tokens("US envoy told us")] == ["usa", "envoy", "told", "us"]
    assert "us" in STOP_WORDS["en"] and "usa" not in STOP_WORDS["en"]


@pytest.mark.parametrize(
    "text",
    [
        "The US-led coalition, the USA and us: Khalilzad's back-channel (ＵＳ) talks.",
        "د ټي ټي پي سره خبرې اترې؛ خلیل‌زاد و طالبان‌ها در دوحه. ٹی ٹی پی سے مذاکرات۔",
    ],
)
def test_words_are_the_keys_of_tokens(text: str) -> None:
    assert words(text) == [t.key for t in tokens(text)]


def test_medoid_is_the_central_member_dense_and_sparse() -> None:
    vectors = np.array(
        [
            [1.0, 0.0, 0.0],
            [1.0, 1.0, 0.0],  # between the other two: the medoid
            [0.0, 1.0, 0.0],
            [0.0, 0.0, 0.0],  # empty rows are similar to nothing
        ]
    )
    assert medoid(vectors) == 1
    assert medoid(sp.csr_matrix(vectors)) == 1
    assert medoid(sp.coo_matrix(vectors)) == 1
    assert medoid(np.array([[3.0, 4.0]])) == 0


def test_medoid_ties_go_to_the_first_and_empty_input_is_an_error() -> None:
    assert medoid(np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])) == 0
    with pytest.raises(ValueError, match="no vectors"):
        medoid(np.zeros((0, 3)))


def test_medoid_picks_the_representative_headline() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    headlines = [
        "Jirga opens peace talks with TTP in Kabul",
        "Tribal jirga and TTP hold peace talks in Kabul, ceasefire extended",
        "Ceasefire extended as talks continue",
        "Jirga members reach Kabul",
    ]
    vectors = TfidfVectorizer().fit_transform(headlines)
    assert medoid(vectors) == 1


def test_cited_passages_come_from_different_articles() -> None:
    texts = TALKS["en"] + [TALKS["en"][0]]  # a copy of the first article
    meta = ["dawn", "tribune", "geo", "copy-of-dawn"]
    passages = cited_passages(texts, meta, n=3)
    outlets = [m for _, m in passages]
    assert len(passages) == 3
    assert len(set(outlets)) == 3
    assert len({s for s, _ in passages}) == 3  # the copy's sentence is not quoted twice
    for sentence, outlet in passages:
        assert sentence in " ".join(texts[meta.index(outlet)].split())
        assert len(sentence) >= 40


@pytest.mark.parametrize("lang", ["ur", "ps", "fa"])
def test_cited_passages_split_arabic_script_sentences(lang: str) -> None:
    texts = TALKS[lang]
    passages = cited_passages(texts, list(range(len(texts))), n=2, min_chars=20)
    assert len(passages) == 2
    assert len({i for _, i in passages}) == 2
    for sentence, i in passages:
        assert "۔" not in sentence.rstrip("۔")  # one sentence, not two
        assert sentence.rstrip("۔.") in texts[i]


def test_cited_passages_skip_short_sentences_and_cut_long_ones() -> None:
    long = "Elders of the tribal jirga " + "met again and talked " * 30 + "at last."
    texts = ["Short one. Too short!", long]
    passages = cited_passages(texts, ["a", "b"], n=3, max_chars=100)
    assert [m for _, m in passages] == ["b"]
    [(sentence, _)] = passages
    assert len(sentence) <= 100 and sentence.endswith("…")
    assert cited_passages(["Tiny."], ["a"]) == []


def test_cited_passages_are_deterministic_and_checked() -> None:
    texts = AIRPORT["en"] + TALKS["en"]
    meta = list(range(len(texts)))
    assert cited_passages(texts, meta) == cited_passages(texts, meta)
    with pytest.raises(ValueError, match="one meta per text"):
        cited_passages(texts, meta[:-1])
