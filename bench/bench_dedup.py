# ruff: noqa: E501
"""Benchmark of jirga.dedup: Jaccard per edit class, LSH candidates and recall, signing speed.

Run: ``uv run python bench/bench_dedup.py [char_below_words]``. Positives are edits of articles
written for this bench (English and Urdu); negatives are other same-crisis articles (including an
independent report of the same attack and a follow-up reusing a background paragraph) and every
pair of distinct real BBC/CNN items of August 2021 in ``../shared/corpus/articles/rumca-js-2021-08``
(skipped when absent). The optional argument tries another word/character boundary.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from datasketch import MinHash

from jirga.dedup import (
    DEFAULT_CONFIG,
    DedupConfig,
    band_keys,
    candidate_probability,
    normalize,
    shingles,
    signature,
    similarity,
)

REAL = Path(__file__).resolve().parents[1].parent / "shared/corpus/articles/rumca-js-2021-08"
WATCH = ("taliban", "afghan", "kabul", "pakistan", "khalilzad", "ttp")

# A headline, then one paragraph a line (long lines: this is prose, not code).
EN = [
    """
Pakistan and Afghan Taliban agree to reopen Torkham crossing after week-long closure
ISLAMABAD: Pakistan and the Taliban administration in Kabul agreed on Tuesday to reopen the Torkham border crossing, a week after clashes between border guards stranded thousands of trucks on both sides of the frontier, officials said.
The agreement was reached at a meeting of a joint border committee in Landi Kotal, attended by customs officials, security commanders and representatives of traders from Peshawar and Jalalabad.
A spokesman for the Taliban-run provincial government in Nangarhar said pedestrians would be allowed to cross from Wednesday morning and cargo traffic would resume gradually over the following days.
Traders on the Pakistani side said the closure had cost them millions of rupees, with perishable goods such as fruit and vegetables rotting in containers parked along the highway to Khyber.
Relations between Islamabad and Kabul have been strained over Pakistani accusations that the Taliban shelter fighters of the banned Tehreek-e-Taliban Pakistan, a charge the Afghan authorities deny.
""",
    """
Seven soldiers killed in militant attack on checkpost in North Waziristan
PESHAWAR: Seven Pakistani soldiers were killed when militants attacked a security checkpost in North Waziristan before dawn on Saturday, the military's media wing said, in the latest of a series of raids claimed by the banned TTP.
The attackers used rocket-propelled grenades and heavy machine guns and tried to breach the post's perimeter wall, according to a statement, which said four of them were killed in an exchange of fire lasting several hours.
A spokesman for the Tehreek-e-Taliban Pakistan claimed responsibility in a message to journalists, saying the attack avenged the killing of one of its commanders in an intelligence-based operation last month.
Provincial officials in Khyber Pakhtunkhwa said reinforcements had been sent to the area and a curfew imposed on nearby villages while a search operation continued in the mountains along the Afghan border.
Violence in the former tribal districts has risen sharply since the Taliban returned to power in Afghanistan, and Islamabad has repeatedly urged Kabul to stop the group from using Afghan soil.
""",
    """
Khalilzad meets Taliban leaders in Doha to revive stalled talks
DOHA: US special envoy Zalmay Khalilzad met members of the Taliban's political office in the Qatari capital on Thursday in an effort to restart negotiations that have stalled over prisoner releases and a reduction in violence.
Khalilzad, who negotiated the February agreement under which foreign troops are to leave Afghanistan, told reporters that both sides had to show flexibility if a political settlement was to be reached before the withdrawal deadline.
A Taliban spokesman said the meeting had discussed the implementation of the agreement and the release of the remaining prisoners held by the government in Kabul, which the movement regards as a condition for intra-Afghan talks.
Diplomats in Doha said Pakistan, which has long been accused of supporting the insurgents, had encouraged the Taliban delegation to return to the negotiating table and would host a follow-up meeting in Islamabad.
The Afghan government's negotiating team said it was ready to resume talks at any time but accused the Taliban of using the pause to gain ground on the battlefield.
""",
    """
Pakistan steps up deportation of Afghan refugees as deadline passes
KARACHI: Pakistani authorities have detained hundreds of Afghans across the country since a government deadline for undocumented foreigners to leave expired, rights groups said on Friday, as long queues of families formed at the border.
Police in Karachi, Quetta and Peshawar conducted raids in neighbourhoods where Afghan families have lived for decades, and officials said those without valid documents would be held in holding centres before being sent back.
The United Nations refugee agency urged Islamabad to halt the expulsions, warning that women, journalists and former officials faced serious risks under the Taliban administration, which has restricted education and work for women.
Pakistan's interior ministry said the campaign was not aimed at Afghans in particular and was needed for security, citing what it said was the involvement of Afghan nationals in suicide attacks by the TTP.
Taliban officials in Kabul called the deportations cruel and said camps were being set up near Torkham and Spin Boldak to receive returnees, though aid groups said supplies of food and shelter were inadequate.
""",
]
UR = [
    """
پاکستان اور افغان طالبان کا طورخم سرحد دوبارہ کھولنے پر اتفاق
اسلام آباد: پاکستان اور کابل میں طالبان انتظامیہ نے منگل کے روز طورخم سرحدی گزرگاہ دوبارہ کھولنے پر اتفاق کر لیا ہے، جو ایک ہفتہ قبل سرحدی محافظوں کے درمیان جھڑپوں کے بعد بند کر دی گئی تھی۔
حکام کے مطابق یہ فیصلہ لنڈی کوتل میں مشترکہ سرحدی کمیٹی کے اجلاس میں کیا گیا جس میں کسٹم حکام، سکیورٹی کمانڈروں اور پشاور اور جلال آباد کے تاجروں کے نمائندوں نے شرکت کی۔
ننگرہار کی صوبائی حکومت کے ترجمان نے بتایا کہ بدھ کی صبح سے پیدل آمد و رفت کی اجازت ہو گی جبکہ مال بردار گاڑیاں آئندہ چند دنوں میں مرحلہ وار بحال ہوں گی۔
تاجروں کا کہنا ہے کہ بندش سے انہیں کروڑوں روپے کا نقصان ہوا اور پھل اور سبزیاں شاہراہ پر کھڑے کنٹینروں میں خراب ہو گئیں۔
""",
    """
شمالی وزیرستان میں چیک پوسٹ پر حملہ، سات فوجی جاں بحق
پشاور: شمالی وزیرستان میں ہفتے کی صبح شدت پسندوں نے ایک سکیورٹی چیک پوسٹ پر حملہ کیا جس میں سات پاکستانی فوجی جاں بحق ہو گئے، فوج کے شعبہ تعلقات عامہ نے بتایا۔
بیان کے مطابق حملہ آوروں نے راکٹ اور بھاری مشین گنوں کا استعمال کیا اور چوکی کی بیرونی دیوار توڑنے کی کوشش کی، جبکہ کئی گھنٹے جاری رہنے والی فائرنگ میں چار حملہ آور مارے گئے۔
کالعدم تحریک طالبان پاکستان کے ترجمان نے صحافیوں کو بھیجے گئے پیغام میں حملے کی ذمہ داری قبول کرتے ہوئے کہا کہ یہ گزشتہ ماہ ایک کمانڈر کی ہلاکت کا بدلہ ہے۔
خیبر پختونخوا کے حکام نے بتایا کہ علاقے میں اضافی نفری بھیج دی گئی ہے اور قریبی دیہات میں کرفیو نافذ کر دیا گیا ہے جبکہ افغان سرحد کے ساتھ پہاڑوں میں سرچ آپریشن جاری ہے۔
""",
    """
زلمے خلیل زاد کی دوحہ میں طالبان رہنماؤں سے ملاقات
دوحہ: امریکہ کے خصوصی ایلچی زلمے خلیل زاد نے جمعرات کو قطر کے دارالحکومت میں طالبان کے سیاسی دفتر کے ارکان سے ملاقات کی تاکہ قیدیوں کی رہائی اور تشدد میں کمی کے معاملے پر تعطل کا شکار مذاکرات دوبارہ شروع کیے جا سکیں۔
خلیل زاد نے صحافیوں سے گفتگو میں کہا کہ اگر غیر ملکی افواج کے انخلا کی آخری تاریخ سے پہلے سیاسی تصفیہ درکار ہے تو دونوں فریقوں کو لچک دکھانی ہو گی۔
طالبان کے ترجمان نے کہا کہ ملاقات میں معاہدے پر عمل درآمد اور کابل حکومت کی تحویل میں باقی قیدیوں کی رہائی پر بات ہوئی، جسے تحریک بین الافغان مذاکرات کی شرط سمجھتی ہے۔
سفارت کاروں کے مطابق پاکستان نے طالبان وفد کو مذاکرات کی میز پر واپس آنے کی ترغیب دی ہے اور وہ اسلام آباد میں اگلے اجلاس کی میزبانی کرے گا۔
""",
]
EN_EXTRA = [
    "Analysts said the episode showed how little leverage Islamabad now has over the Taliban, whose leaders in Kandahar have resisted pressure from neighbours on security, trade and the rights of women and girls.",
    "Separately, the United Nations mission in Afghanistan said it was concerned about reports of arbitrary detentions in several provinces and called on the de facto authorities to allow independent monitors access to prisons.",
    "The foreign office in Islamabad said it would continue to engage with the interim government in Kabul through diplomatic channels and expected concrete action against militant sanctuaries on the other side of the border.",
]
UR_EXTRA = [
    "تجزیہ کاروں کا کہنا ہے کہ اس واقعے سے ظاہر ہوتا ہے کہ اسلام آباد کا طالبان پر اثر و رسوخ اب بہت کم رہ گیا ہے اور قندھار میں ان کی قیادت ہمسایہ ممالک کے دباؤ کو خاطر میں نہیں لاتی۔",
    "دفتر خارجہ نے کہا کہ پاکستان سفارتی ذرائع سے کابل کی عبوری حکومت کے ساتھ رابطے جاری رکھے گا اور سرحد پار شدت پسندوں کی پناہ گاہوں کے خلاف ٹھوس کارروائی کی توقع رکھتا ہے۔",
]
# Other outlets' own reports of UR[1]/EN[1], and a next-day story reusing EN[0]'s background.
EN_SAME_EVENT = """
Militants storm army post in North Waziristan, seven troops martyred
MIRAN SHAH: Seven security personnel embraced martyrdom early on Saturday when a large group of terrorists stormed a checkpost in the Dosali area of North Waziristan, according to the Inter- Services Public Relations.
The ISPR said troops responded effectively and four terrorists were killed during the intense exchange of fire, which continued for several hours before the attackers retreated towards the mountains.
Local residents told this correspondent that explosions and gunfire were heard from midnight, and that mobile phone services in Miran Shah and Mir Ali were suspended as the operation went on.
The outlawed Tehreek-e-Taliban Pakistan claimed the raid, saying it was revenge for the death of a commander last month. Security analysts in Peshawar said the group had grown bolder since the fall of Kabul in 2021.
The prime minister condemned the attack and said the nation salutes its martyrs, adding that Pakistan expected the interim Afghan government to act against militants operating from its territory.
"""
UR_SAME_EVENT = """
میران شاہ میں دہشت گردوں کا سکیورٹی فورسز کی چوکی پر حملہ
میران شاہ: آئی ایس پی آر کے مطابق شمالی وزیرستان کے علاقے دوسلی میں رات گئے دہشت گردوں کے ایک بڑے گروہ نے سکیورٹی فورسز کی چوکی پر دھاوا بول دیا جس کے نتیجے میں سات جوان شہید ہو گئے۔
فوجی ترجمان نے بتایا کہ جوانوں نے بھرپور جوابی کارروائی کی اور کئی گھنٹے تک جاری رہنے والے مقابلے میں چار دہشت گرد ہلاک ہوئے جبکہ باقی پہاڑوں کی طرف فرار ہو گئے۔
مقامی لوگوں کا کہنا ہے کہ آدھی رات سے دھماکوں اور فائرنگ کی آوازیں آتی رہیں اور میران شاہ اور میر علی میں موبائل فون سروس معطل کر دی گئی۔
وزیر اعظم نے حملے کی مذمت کرتے ہوئے کہا کہ قوم اپنے شہداء کو سلام پیش کرتی ہے اور افغان عبوری حکومت سے توقع ہے کہ وہ اپنی سرزمین سے سرگرم شدت پسندوں کے خلاف کارروائی کرے گی۔
"""
EN_FOLLOW_UP = """
Trucks cross Torkham as border reopens after week-long closure
LANDI KOTAL: Hundreds of trucks loaded with fruit, coal and cement crossed the Torkham border on Wednesday as Pakistan and Afghanistan reopened the crossing, ending a closure that had left drivers stranded for a week.
Customs officials said clearance was slow because of the backlog and that additional staff had been deployed to process documents, while pedestrians queued from early morning at the gate.
Drivers complained of losses and said they had spent their savings on food and fuel while waiting on the highway, with no facilities provided by either government.
Relations between Islamabad and Kabul have been strained over Pakistani accusations that the Taliban shelter fighters of the banned Tehreek-e-Taliban Pakistan, a charge the Afghan authorities deny.
"""
# Two press releases of one template about different operations: the hardest negative.
TEMPLATE_A = """
Four terrorists killed in IBO in North Waziristan: ISPR
RAWALPINDI: Security forces conducted an intelligence-based operation in the general area of Datta Khel, North Waziristan district, on the reported presence of terrorists, the Inter- Services Public Relations said on Monday.
During the conduct of the operation, own troops effectively engaged the terrorists' location and, as a result, four terrorists were killed, while two were apprehended.
Weapons, ammunition and explosives were also recovered from the killed terrorists, who remained actively involved in terrorist activities against the security forces as well as the killing of innocent civilians.
A sanitisation operation is being carried out to eliminate any other terrorist found in the area, as security forces of Pakistan are determined to wipe out the menace of terrorism from the country, the ISPR added.
"""
TEMPLATE_B = """
Four terrorists killed in IBO in South Waziristan: ISPR
RAWALPINDI: Security forces conducted an intelligence-based operation in the general area of Wana, South Waziristan district, on the reported presence of terrorists, the Inter-Services Public Relations said on Thursday.
During the conduct of the operation, own troops effectively engaged the terrorists' location and, as a result, four terrorists, including ringleader Hafiz Gul, were killed, while a soldier embraced martyrdom.
Weapons and ammunition were also recovered from the killed terrorists, who remained actively involved in numerous terrorist activities against the security forces and extortion from traders.
A sanitisation operation is being carried out to eliminate any other terrorist found in the area, as security forces of Pakistan are determined to wipe out the menace of terrorism from the country, the ISPR added.
"""
HEADLINE = {
    "en": "Border row: traders count losses as officials strike a deal at last",
    "ur": "سرحدی تنازع: حکام کے معاہدے کے بعد تاجروں کی مشکلات میں کمی کی امید",
}


EN, UR = [t.strip() for t in EN], [t.strip() for t in UR]
EN_SAME_EVENT, UR_SAME_EVENT = EN_SAME_EVENT.strip(), UR_SAME_EVENT.strip()
EN_FOLLOW_UP, TEMPLATE_A, TEMPLATE_B = EN_FOLLOW_UP.strip(), TEMPLATE_A.strip(), TEMPLATE_B.strip()
Pairs = list[tuple[str, str]]


def retype_urdu(text: str) -> str:
    """The same Urdu as typed on an Arabic keyboard: ي/ك, ZWNJ, tatweel, harakat, Latin stops."""
    out = text.replace("ی", "ي").replace("ک", "ك").replace("۔", ".").replace("،", ",")
    out = out.replace("ہو ", "ہو\u200c ").replace("کے ", "كـے ").replace("پاکستان", "پاكِستان")
    return out.replace("ہیں", "ہَیں").replace("طالبان", "طالبان\u200c")


def retype_english(text: str) -> str:
    """The same English from another desk: agency dateline, curly quotes, capitals, spacing."""
    title, body = text.split("\n", 1)
    body = body.replace(": ", " (AFP) — ", 1).replace(", ", " , ").replace("'", "’")
    return title.upper() + "\n\n" + body.replace("\n", "\n\n")


def change_words(text: str, share: float, rng: random.Random, vocab: list[str]) -> str:
    """``text`` with ``share`` of its words, scattered, replaced by random same-language words."""
    words = text.split()
    for i in rng.sample(range(len(words)), round(share * len(words))):
        words[i] = rng.choice(vocab)
    return " ".join(words)


def add_paragraph(text: str, extra: str, rng: random.Random) -> str:
    paras = text.split("\n")
    paras.insert(rng.randint(2, len(paras)), extra)
    return "\n".join(paras)


def new_headline(text: str, headline: str) -> str:
    return headline + "\n" + text.split("\n", 1)[1]


def edited(lang: str, rng: random.Random) -> dict[str, Pairs]:
    """Each of one language's own articles paired with five random edits of each kind."""
    texts, extras = (EN, EN_EXTRA) if lang == "en" else (UR, UR_EXTRA)
    retype = retype_english if lang == "en" else retype_urdu
    vocab, head = [w for t in texts for w in t.split()], HEADLINE[lang]
    edits: dict[str, Callable[[str], str]] = {
        "retyped": retype,
        "paragraph added": lambda t: add_paragraph(t, rng.choice(extras), rng),
        "headline changed": lambda t: new_headline(t, head),
        "headline+paragraph": lambda t: add_paragraph(
            new_headline(t, head), rng.choice(extras), rng
        ),
        "10% words changed": lambda t: change_words(t, 0.1, rng, vocab),
        "30% words changed": lambda t: change_words(t, 0.3, rng, vocab),
    }
    classes = {
        f"{lang} long: {k}": [(t, e(t)) for t in texts for _ in range(5)] for k, e in edits.items()
    }
    classes[f"{lang} long: other article"] = list(itertools.combinations(texts, 2))
    return classes


def own_pairs(rng: random.Random) -> dict[str, Pairs]:
    """Pairs of the bench's own articles, by class."""
    classes = edited("en", rng) | edited("ur", rng)
    classes["en long: same event, own words"] = [(EN[1], EN_SAME_EVENT)]
    classes["ur long: same event, own words"] = [(UR[1], UR_SAME_EVENT)]
    classes["en long: follow-up, same bkgd"] = [(EN[0], EN_FOLLOW_UP)]
    classes["en long: template, other event"] = [(TEMPLATE_A, TEMPLATE_B)]
    first = [t.split("\n", 2)[:2] for t in (TEMPLATE_A, TEMPLATE_B)]
    classes["en short: template, other ev."] = [("\n".join(first[0]), "\n".join(first[1]))]
    return classes


def real_items() -> list[str]:
    """Distinct real BBC/CNN items (title + description, one per link) naming a watch term."""
    seen: dict[str, str] = {}
    for path in sorted(REAL.glob("*.json")):
        for rec in json.loads(path.read_text(encoding="utf-8")):
            text = f"{rec['title']}\n{rec.get('description') or ''}"
            if any(w in text.lower() for w in WATCH):
                seen.setdefault(rec["link"], text)
    return list(seen.values())


def real_pairs(items: list[str], rng: random.Random) -> dict[str, Pairs]:
    """Edits of real short items, and every pair of distinct real items."""
    titles = [t.split("\n", 1)[0] for t in items]
    vocab = [w for t in items for w in t.split()]
    sample = rng.sample(items, min(60, len(items)))
    sentence = EN_EXTRA[0].split(",")[0] + "."
    return {
        "real short: retyped": [(t, retype_english(t)) for t in sample],
        "real short: sentence added": [(t, f"{t} {sentence}") for t in sample],
        "real short: headline changed": [(t, new_headline(t, rng.choice(titles))) for t in sample],
        "real short: 10% words changed": [(t, change_words(t, 0.1, rng, vocab)) for t in sample],
        "real: distinct items": list(itertools.combinations(items, 2)),
    }


def jaccards(pairs: Pairs, config: DedupConfig) -> list[float]:
    """Exact Jaccard of each pair as :func:`similarity` has it (with cached shingles)."""
    cache: dict[str, tuple[int, np.ndarray | None]] = {}
    for text in {t for pair in pairs for t in pair}:
        cache[text] = (len(normalize(text).split()), shingles(text, config))
    out = []
    for a, b in pairs:
        (na, sa), (nb, sb) = cache[a], cache[b]
        if sa is None or sb is None:
            out.append(0.0)
        elif (na < config.char_below_words) != (nb < config.char_below_words):
            out.append(similarity(a, b, config))  # straddles the word/character boundary
        else:
            common = np.intersect1d(sa, sb, assume_unique=True).size
            out.append(common / (sa.size + sb.size - common))
    return out


def candidates(pairs: Pairs, config: DedupConfig) -> list[bool]:
    """Whether each pair shares a band key (whether storage would return it as a candidate)."""
    keys: dict[str, set[tuple[int, int]]] = {}
    for text in {t for pair in pairs for t in pair}:
        sig = signature(text, config)
        keys[text] = set() if sig is None else set(band_keys(sig, config))
    return [bool(keys[a] & keys[b]) for a, b in pairs]


def report(classes: dict[str, Pairs], config: DedupConfig) -> None:
    """Per class: Jaccard quantiles, share at or above each cut, candidates, LSH recall."""
    cuts = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
    head = f"{'class':31} {'pairs':>5} {'min':>4} {'p5':>4} {'p50':>4} {'p95':>4} {'max':>4} "
    print("\n" + head + " ".join(f"≥{c:.1f}" for c in cuts) + " cand recall")
    for name, pairs in classes.items():
        js, cand = jaccards(pairs, config), candidates(pairs, config)
        q = statistics.quantiles(js, n=20, method="inclusive") if len(js) > 1 else js * 19
        shares = " ".join(f"{sum(j >= c for j in js) / len(js):4.2f}" for c in cuts)
        hits = [c for j, c in zip(js, cand, strict=True) if j >= config.threshold]
        recall = f"{sum(hits) / len(hits):6.3f}" if hits else "     -"
        print(
            f"{name:31} {len(js):>5} {min(js):4.2f} {q[0]:4.2f} {q[9]:4.2f} {q[18]:4.2f} "
            f"{max(js):4.2f} {shares} {sum(cand) / len(cand):4.2f} {recall}"
        )


def top_real(items: list[str], config: DedupConfig, n: int = 8) -> None:
    pairs = list(itertools.combinations(items, 2))
    scored = sorted(zip(jaccards(pairs, config), pairs, strict=True), reverse=True)
    same = sum(a == b for _, (a, b) in scored)
    print(f"\ndistinct real items: {same} pairs are the same text under two links; the others:")
    for j, (a, b) in [s for s in scored if s[1][0] != s[1][1]][:n]:
        print(f"  {j:.2f}  {a.splitlines()[0][:55]!r} ~ {b.splitlines()[0][:55]!r}")


def datasketch_signature(text: str, config: DedupConfig = DEFAULT_CONFIG) -> MinHash | None:
    """datasketch's MinHash over the same shingles (as strings), for comparison."""
    words = normalize(text).split()
    if len(words) < config.min_words:
        return None
    if len(words) < config.char_below_words:
        s, n = " ".join(words), config.char_size
        grams = {s[i : i + n].encode() for i in range(max(1, len(s) - n + 1))}
    else:
        n = config.shingle_size
        grams = {" ".join(words[i : i + n]).encode() for i in range(len(words) - n + 1)}
    minhash = MinHash(num_perm=config.num_perm, seed=config.seed)
    minhash.update_batch(list(grams))
    return minhash


def estimator_error(pairs: Pairs, config: DedupConfig) -> None:
    """Mean |estimated - exact| Jaccard of both MinHash implementations over the same shingles."""
    ours, theirs = [], []
    for (a, b), exact in zip(pairs, jaccards(pairs, config), strict=True):
        sa, sb = signature(a, config), signature(b, config)
        da, db = datasketch_signature(a, config), datasketch_signature(b, config)
        if sa is not None and sb is not None and da is not None and db is not None:
            ours.append(abs(float(np.mean(sa == sb)) - exact))
            theirs.append(abs(da.jaccard(db) - exact))
    print(f"\nMinHash estimate |error| over {len(ours)} pairs: ", end="")
    print(f"jirga.dedup {statistics.mean(ours):.4f}, datasketch {statistics.mean(theirs):.4f}")


def rate(label: str, fn: Callable[[Any], object], items: list[Any]) -> None:
    """Calls per second, the best of five rounds of about 0.3 s (the machine is shared)."""
    best = 0.0
    for _ in range(5):
        done, start = 0, time.perf_counter()
        while time.perf_counter() - start < 0.3:
            for item in items:
                fn(item)
            done += len(items)
        best = max(best, done / (time.perf_counter() - start))
    print(f"  {label:46} {best:8.0f} /s")


def main() -> int:
    config = DEFAULT_CONFIG
    if len(sys.argv) > 1:
        config = dataclasses.replace(config, char_below_words=int(sys.argv[1]))
    rng = random.Random(20210815)
    print(f"{config}\nP(candidate) = 1-(1-s^{config.rows})^{config.bands}: ", end="")
    print(", ".join(f"{s:.1f}:{candidate_probability(s, config):.3f}" for s in (0.2, 0.4, 0.6)))
    classes, items = own_pairs(rng), real_items() if REAL.is_dir() else []
    if items:
        classes.update(real_pairs(items, rng))
    else:
        print(f"({REAL} is absent: the real-item classes are skipped)")
    report(classes, config)
    if items:
        top_real(items, config)
    estimator_error([p for k, v in classes.items() if "distinct" not in k for p in v], config)

    longs = EN + UR
    words = statistics.mean(len(t.split()) for t in longs)
    print(f"\nthroughput ({len(longs)} own articles of {words:.0f} words; {len(items)} real items)")
    rate("jirga.dedup signature, articles", lambda t: signature(t, config), longs)
    rate("datasketch MinHash, same shingles, articles", datasketch_signature, longs)
    sigs = [s for s in (signature(t, config) for t in longs) if s is not None]
    rate("jirga.dedup band_keys", lambda s: band_keys(s, config), sigs)
    if items:
        rate("jirga.dedup signature, real items", lambda t: signature(t, config), items)
        rate("datasketch MinHash, same shingles, real items", datasketch_signature, items)
    return 0


if __name__ == "__main__":
    sys.exit(main())
