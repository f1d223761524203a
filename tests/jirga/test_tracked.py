"""Tracked-narrative scoring: the shipped narratives against hand-written articles in four
languages (positives above the threshold, hard negatives below), the ``terms`` restriction, and
determinism."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from jirga.config import load_narratives, load_terms
from jirga.match import Matcher
from jirga.tracked import THRESHOLD, TrackedScorer, units
from jirga.types import TrackedNarrative

ROOT = Path(__file__).resolve().parents[2]
DIALOGUE, PRECEDENT, US = "dialogue-with-ttp", "afghan-precedent", "us-indirect-influence"
ALL_TERMS = {"ttp", "taliban", "khalilzad"}

# (narrative, text) — written for these tests; each tells its narrative.
POSITIVES = [
    (
        DIALOGUE,
        "Lawmakers from the tribal districts demanded fresh talks with the TTP, saying years of "
        "military operations had failed and only a political solution could end the violence.",
    ),
    (
        DIALOGUE,
        "صوبائی حکومت نے کہا کہ کالعدم ٹی ٹی پی سے مذاکرات کیے جائیں کیونکہ فوجی آپریشن مسئلے کا "
        "حل نہیں۔",
    ),
    (
        DIALOGUE,
        "قومي مشرانو غوښتنه وکړه چې له ټي ټي پي سره د سولې خبرې اترې د یوې جرګې له لارې پیل شي.",
    ),
    (
        PRECEDENT,
        "Kabul today, Islamabad tomorrow: the slogan spread by TTP supporters shows how the "
        "Taliban takeover has become a model for militants in Pakistan.",
    ),
    (
        PRECEDENT,
        "کارشناسان می‌گویند سقوط کابل الگویی برای پاکستان است و تحریک طالبان پاکستان با روحیه "
        "تازه می‌خواهد همان تجربه را تکرار کند.",
    ),
    (
        US,
        "Critics say the secret annexes of the Doha agreement let Washington use the Taliban as a "
        "proxy to pursue US interests in the region.",
    ),
    (
        US,
        "تجزیہ کاروں کے مطابق دوحہ معاہدے کی خفیہ شقیں امریکہ کو افغان طالبان کے ذریعے خطے میں "
        "اپنے مفادات حاصل کرنے دیتی ہیں۔",
    ),
]

# Same vocabulary, another framing.
HARD_NEGATIVES = [
    (
        DIALOGUE,
        "Security forces said twelve TTP militants were killed in an operation in Bajaur, and the "
        "military vowed to continue until the area is cleared.",
    ),
    (
        PRECEDENT,
        "Two years after the fall of Kabul, the Taliban government announced a new budget and "
        "said customs revenue had risen.",
    ),
    (
        US,
        "Khalilzad said the Doha agreement set a timeline for the withdrawal of US troops and "
        "that the Taliban had agreed to talks with other Afghans.",
    ),
    (
        US,
        "خلیلزاد وویل چې د دوحې تړون له مخې امریکايي ځواکونه له افغانستان څخه ووتل.",
    ),
]


@pytest.fixture(scope="module")
def scorer() -> TrackedScorer:
    return TrackedScorer(load_narratives(ROOT / "config" / "narratives.toml"))


@pytest.mark.parametrize(("narrative", "text"), POSITIVES)
def test_positives_score_above_the_threshold(
    scorer: TrackedScorer, narrative: str, text: str
) -> None:
    scores = scorer.score(text, ALL_TERMS)
    assert scores[narrative] >= THRESHOLD, scores
    assert narrative in scorer.matches(text, ALL_TERMS)


@pytest.mark.parametrize(("narrative", "text"), HARD_NEGATIVES)
def test_hard_negatives_score_below_the_threshold(
    scorer: TrackedScorer, narrative: str, text: str
) -> None:
    scores = scorer.score(text, ALL_TERMS)
    assert scores[narrative] < THRESHOLD, scores
    assert narrative not in scorer.matches(text, ALL_TERMS)


def test_each_positive_matches_only_its_own_narrative(scorer: TrackedScorer) -> None:
    for narrative, text in POSITIVES:
        assert set(scorer.matches(text, ALL_TERMS)) == {narrative}, text


def test_scores_are_in_the_unit_interval(scorer: TrackedScorer) -> None:
    for _, text in POSITIVES + HARD_NEGATIVES:
        for value in scorer.score(text, ALL_TERMS).values():
            assert 0.0 <= value < 1.0
    assert scorer.score("", ALL_TERMS) == dict.fromkeys([DIALOGUE, PRECEDENT, US], 0.0)


def test_terms_restrict_which_narratives_are_scored(scorer: TrackedScorer) -> None:
    text = POSITIVES[0][1]
    assert set(scorer.score(text, {"ttp"})) == {DIALOGUE, PRECEDENT, US}
    assert set(scorer.score(text, {"taliban"})) == {PRECEDENT, US}
    assert set(scorer.score(text, {"khalilzad"})) == {US}
    assert scorer.score(text, set()) == {}
    assert scorer.matches(text, {"khalilzad"}) == {}


def test_a_narrative_without_terms_scores_every_article() -> None:
    narratives = [
        TrackedNarrative("open", "Open", "Grain prices soar.", ("wheat prices soar",)),
        TrackedNarrative("ttp-only", "TTP", "Talks.", ("talks with the TTP",), terms=("ttp",)),
    ]
    scorer = TrackedScorer(narratives)
    assert set(scorer.score("Wheat prices soared again.", [])) == {"open"}
    assert set(scorer.score("Wheat prices soared again.", ["ttp"])) == {"open", "ttp-only"}


def test_phrases_outside_the_lexicon_match_in_their_own_language() -> None:
    scorer = TrackedScorer(
        [TrackedNarrative("grain", "Grain", "Bread costs more.", ("wheat prices soar in Quetta",))]
    )
    assert scorer.matches("In Quetta, wheat prices soared for a third week.", []) != {}
    assert scorer.matches("Quetta police arrested two smugglers.", []) == {}


def test_narrative_ids_must_be_unique() -> None:
    twice = [TrackedNarrative("a", "A", "One.", ("x y",)), TrackedNarrative("a", "B", "Two.")]
    with pytest.raises(ValueError, match="unique"):
        TrackedScorer(twice)


def test_scoring_is_deterministic(scorer: TrackedScorer) -> None:
    again = TrackedScorer(load_narratives(ROOT / "config" / "narratives.toml"))
    for _, text in POSITIVES + HARD_NEGATIVES:
        assert scorer.score(text, ALL_TERMS) == again.score(text, ALL_TERMS)
        assert scorer.score(text, ALL_TERMS) == scorer.score(text, ALL_TERMS)


def test_the_threshold_can_be_set() -> None:
    narratives = load_narratives(ROOT / "config" / "narratives.toml")
    strict = TrackedScorer(narratives, threshold=0.99)
    assert strict.matches(POSITIVES[0][1], ALL_TERMS) == {}
    assert strict == TrackedScorer(list(narratives), threshold=0.99)


def test_units_share_concepts_across_languages() -> None:
    english = set(units("talks with the TTP"))
    assert english == {"TALK", "TTP"}
    assert english == set(units("ٹی ٹی پی سے مذاکرات"))
    assert english == set(units("له ټي ټي پي سره خبرې اترې"))
    assert english == set(units("مذاکره با تحریک طالبان پاکستان"))
    assert units("Kabul today, Islamabad tomorrow") == ["KABUL", "TODAY", "ISLAMABAD", "TOMORROW"]
    # Stop words go, negations stay, other words are stemmed.
    assert units("the operations have not worked") == ["OPERATION", "NOT", "work"]


def test_real_news_rarely_matches(shared_dir: Path, scorer: TrackedScorer) -> None:
    """Real BBC, CNN, VOA and Azadi items of August 2021 and 2025 that mention a watch term are
    news of the takeover and its aftermath, not these framings: few may match (measured: 1 of
    196, a long multi-story VOA Pashto digest)."""
    matcher = Matcher(load_terms(ROOT / "config" / "watchlist.toml"))
    scored = matched = 0
    for path in sorted((shared_dir / "corpus" / "articles").glob("*/*.json")):
        for record in json.loads(path.read_text(encoding="utf-8")):
            body = record.get("description") or record.get("content") or ""
            text = f"{record.get('title') or ''}. {re.sub(r'<[^>]+>', ' ', body)}"
            terms = {m.term for m in matcher.find(text)}
            if terms:
                scored += 1
                matched += bool(scorer.matches(text, terms))
    assert scored > 150
    assert matched <= 0.03 * scored, (matched, scored)
