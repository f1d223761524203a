"""Benchmark of jirga.tracked: precision, recall and F1 of the tracked-narrative scorer, the
threshold sweep that chose ``jirga.tracked.THRESHOLD``, and its speed.

Run: ``uv run python bench/bench_tracked.py [--errors]``.

The examples below were written for this bench. The tuning set has, for each narrative of
``config/narratives.toml``, 12-13 articles that tell it and 10 hard negatives — same vocabulary
and watch terms, another framing (an operation announced, talks ruled out, the takeover as plain
news, the Doha agreement as plain news) — in English, Urdu, Pashto and Dari. The scorer and its
lexicon were tuned while these were written, so its figures are optimistic. The held-out set (5
positives and 4-5 hard negatives per narrative) was written after the lexicon was frozen; no word
was added for it, but it did reveal one lookup bug (fixed) and was consulted once, for a choice
between two similarity weightings.

The watch terms of each example are found by the real matcher (``jirga.match``) and an example is
scored only against the narratives its terms make it eligible for, as the narratives stage does;
every eligible (example, narrative) pair counts, so the positives of one narrative are also
negatives of the others. The threshold is the best macro F1 on the tuning set (the lowest on a
tie).
"""

from __future__ import annotations

import argparse
import random
import time
from dataclasses import dataclass
from pathlib import Path

from jirga.config import load_narratives, load_terms
from jirga.match import Matcher
from jirga.tracked import THRESHOLD, TrackedScorer

ROOT = Path(__file__).resolve().parent.parent
DIALOGUE, PRECEDENT, US = "dialogue-with-ttp", "afghan-precedent", "us-indirect-influence"


@dataclass(frozen=True)
class Example:
    """One written article: its language, the narratives it tells, and its text."""

    lang: str
    tells: tuple[str, ...]
    text: str


def ex(lang: str, tells: str, text: str) -> Example:
    return Example(lang, tuple(tells.split()), " ".join(text.split()))


D, P, U, NONE = DIALOGUE, PRECEDENT, US, ""

EXAMPLES = [
    # --- Talks with the TTP instead of military action: tells it ---------------------------
    ex("en", D, """Opposition leaders on Tuesday urged the government to open talks with the TTP,
        arguing that two decades of military operations in the tribal districts had failed to bring
        peace. "Force has not worked; a political solution is the only way," a senator said."""),
    ex("en", D, """A grand jirga of elders from Khyber and Bajaur offered to mediate between
        Islamabad and the banned Tehreek-e-Taliban Pakistan. The elders said dialogue, not another
        offensive, would end the bloodshed."""),
    ex("en", D, """A former interior minister said Pakistan must negotiate with the TTP through the
        Afghan Taliban, who have influence over the group's leaders in Kunar and Paktika. Military
        action alone, he said, only makes things worse."""),
    ex("en", D, """The state should give peace a chance. Every operation against the TTP has
        displaced thousands and produced new recruits; talks with the militants, however difficult,
        are the only realistic option."""),
    ex("en", D, """The Afghan Taliban have offered to host fresh talks between Pakistani officials
        and the TTP in Kabul, a spokesman said, adding that negotiation was better than war."""),
    ex("en", D, """Tribal elders in Waziristan said a negotiated settlement with the TTP was the
        only way to stop the killing, since years of army operations had solved nothing."""),
    ex("ur", D, """اپوزیشن رہنماؤں نے مطالبہ کیا ہے کہ حکومت کالعدم ٹی ٹی پی سے مذاکرات کرے کیونکہ
        فوجی آپریشن مسئلے کا حل نہیں۔ ان کا کہنا تھا کہ طاقت کا استعمال ناکام ہو چکا ہے۔"""),
    ex("ur", D, """قبائلی عمائدین کا جرگہ کالعدم تحریک طالبان سے بات چیت کے لیے کابل روانہ ہو گیا۔
        جرگے کے سربراہ نے کہا کہ امن کا واحد راستہ مذاکرات ہیں۔"""),
    ex("ur", D, """وزیر اعلیٰ خیبر پختونخوا نے کہا کہ افغان طالبان کی ثالثی سے ٹی ٹی پی کے ساتھ
        مذاکرات دوبارہ شروع کیے جائیں، آپریشن سے مسئلہ مزید بگڑے گا۔"""),
    ex("ps", D, """قومي مشرانو وویل چې له ټي ټي پي سره خبرې اترې باید بیا پیل شي، ځکه پوځي عملیاتو
        سوله نه ده راوستې."""),
    ex("ps", D, """د قبایلي مشرانو یوه جرګه کابل ته ولاړه ترڅو له پاکستاني طالبانو سره د سولې خبرې
        اترې وکړي."""),
    ex("fa", D, """یک مقام پیشین پاکستانی گفت که اسلام آباد باید مذاکره با تحریک طالبان پاکستان را
        از سر بگیرد، زیرا عملیات نظامی راه حل نیست."""),
    ex("fa", D, """امارت اسلامی آمادگی خود را برای میانجیگری میان پاکستان و تحریک طالبان پاکستان
        اعلام کرد و گفت گفتگو بهتر از جنگ است."""),
    # --- hard negatives: the same words, another framing ---------------------------------------
    ex("en", NONE, """The army chief vowed to continue operations against the TTP until the last
        terrorist is eliminated, and ruled out any talks with the khawarij."""),
    ex("en", NONE, """Security forces killed twelve TTP militants in an intelligence-based
        operation in North Waziristan, the military's media wing said."""),
    ex("en", NONE, """The TTP claimed responsibility for a suicide attack on a police station in
        Bannu that killed six officers."""),
    ex("en", NONE, """Analysts say the 2021 talks with the TTP allowed the militants to regroup,
        and the government now insists that a military operation is the only answer."""),
    ex("en", NONE, """A TTP commander was arrested in Peshawar; police said he had planned attacks
        on Muharram processions and had links with an extortion network."""),
    ex("ur", NONE, """آرمی چیف نے کہا کہ کالعدم ٹی ٹی پی سے کوئی مذاکرات نہیں ہوں گے اور آخری دہشت
        گرد کے خاتمے تک آپریشن جاری رہے گا۔"""),
    ex("ur", NONE, """شمالی وزیرستان میں سکیورٹی فورسز کے آپریشن میں کالعدم تحریک طالبان کے دس دہشت
        گرد مارے گئے۔"""),
    ex("ps", NONE, """پوځ ویلي چې د ټي ټي پي پر ضد عملیات به تر هغه دوام ولري چې وروستی ترهګر له
        منځه ولاړ شي."""),
    ex("fa", NONE, """ارتش پاکستان اعلام کرد که عملیات علیه تحریک طالبان پاکستان در وزیرستان شمالی
        ادامه دارد."""),
    ex("fa", NONE, """تحریک طالبان پاکستان مسئولیت حمله انتحاری بر یک پاسگاه پولیس در بنو را بر
        عهده گرفت."""),
    # --- The Afghan precedent repeating in Pakistan: tells it ----------------------------------
    ex("en", P, """Kabul today, Islamabad tomorrow? Columnists warn that the Taliban takeover of
        Afghanistan has become a model the TTP hopes to copy in Pakistan's tribal belt."""),
    ex("en", P, """The TTP has been emboldened by the Taliban victory in Kabul, officials admit,
        with attacks in Khyber Pakhtunkhwa rising sharply since August 2021."""),
    ex("en", P, """What happened in Kabul can happen in Pakistan, a retired general wrote, warning
        that the TTP sees the fall of Kabul as a blueprint for its own war."""),
    ex("en", P, """Residents of Swat fear the Talibanisation of their valley as TTP fighters
        return, and say the militants openly speak of Taliban-style rule in Khyber Pakhtunkhwa."""),
    ex("en", P, """The Taliban's triumph has given Pakistani militants a playbook: wait out the
        army, bargain from strength and then take over, a security analyst argued."""),
    ex("ur", P, """تجزیہ کاروں کا کہنا ہے کہ افغان طالبان کی فتح سے ٹی ٹی پی کو حوصلہ ملا ہے اور وہ
        پاکستان میں بھی وہی ماڈل دہرانا چاہتی ہے۔"""),
    ex("ur", P, """آج کابل، کل اسلام آباد: کالعدم تحریک طالبان کے حامی سوشل میڈیا پر یہی نعرہ لگا
        رہے ہیں۔"""),
    ex("ur", P, """خیبر پختونخوا کے عوام کو خدشہ ہے کہ افغانستان پر طالبان کے قبضے کے بعد ٹی ٹی پی
        صوبے میں وہی ماڈل دہرانا چاہتی ہے۔"""),
    ex("ps", P, """شنونکي وايي چې د کابل سقوط ټي ټي پي ته زړورتیا ورکړې او هغوی غواړي دا بېلګه په
        پاکستان کې تکرار کړي. نن کابل، سبا اسلام آباد."""),
    ex("ps", P, """د طالبانو بریا پاکستاني طالبانو ته روحیه ورکړې ده او په خیبر پښتونخوا کې یې
        بریدونه زیات شوي دي."""),
    ex("fa", P, """کارشناسان هشدار می‌دهند که سقوط کابل الگویی برای پاکستان شده و تحریک طالبان
        پاکستان با روحیه‌ای تازه به دنبال تکرار همان تجربه است."""),
    ex("fa", P, """پیروزی طالبان در افغانستان به تحریک طالبان پاکستان جسارت داده است؛ برخی می‌گویند
        امروز کابل، فردا اسلام آباد."""),
    # --- hard negatives ---------------------------------------------------------------------------
    ex("en", NONE, """Two years after the fall of Kabul, the Taliban government is struggling to
        pay salaries as foreign aid dries up, the UN said."""),
    ex("en", NONE, """Pakistan's foreign office said the Taliban takeover was an internal Afghan
        matter and that Islamabad would work with the new authorities in Kabul on trade."""),
    ex("en", NONE, """The Taliban rejected claims that they support the TTP, saying the Islamic
        Emirate will not allow Afghan soil to be used against Pakistan."""),
    ex("en", NONE, """Flights resumed at Kabul airport as the Taliban government announced a new
        cabinet, with no women in any post."""),
    ex("en", NONE, """The Taliban victory was celebrated in Kandahar with a parade of captured
        American vehicles, while banks in Kabul stayed shut for a third week."""),
    ex("ur", NONE, """افغان طالبان کی حکومت نے کابل میں خواتین کی تعلیم پر پابندی برقرار رکھی،
        اقوام متحدہ نے فیصلے پر تنقید کی۔"""),
    ex("ur", NONE, """دفتر خارجہ نے کہا کہ کابل پر طالبان کا کنٹرول افغانستان کا اندرونی معاملہ ہے
        اور پاکستان نئی حکومت کے ساتھ تجارت جاری رکھے گا۔"""),
    ex("ps", NONE, """د طالبانو حکومت وايي چې د کابل له سقوط څخه دوه کاله وروسته هم بهرنۍ مرستې کمې
        شوې دي."""),
    ex("fa", NONE, """حکومت طالبان اعلام کرد که اجازه نمی‌دهد خاک افغانستان علیه پاکستان استفاده
        شود."""),
    ex("fa", NONE, """پس از سقوط کابل، هزاران افغان از طریق فرودگاه کابل کشور را ترک کردند و طالبان
        کنترل شهر را به دست گرفتند."""),
    # --- US strategic interest pursued through armed groups: tells it --------------------------
    ex("en", U, """Khalilzad's back-channel diplomacy with the Taliban was never about peace, a
        former diplomat said; Washington wanted a friendly force on the ground to keep watch on
        China and Iran."""),
    ex("en", U, """The Doha deal handed Afghanistan to the Taliban on a plate, and its secret
        annexes still let the US shape events in the region, an editorial argued."""),
    ex("en", U, """Some Pakistani officials privately suspect an American hand behind the TTP's
        resurgence, saying Washington wants to pressure Islamabad over China."""),
    ex("en", U, """Washington is playing a new great game in the region, using the Taliban as a
        proxy to keep Pakistan, China and Russia off balance, a columnist wrote."""),
    ex("en", U, """Zalmay Khalilzad's visits to Kabul show that the US wants bases in the region
        again and will work through the Taliban to get them, an analyst told a talk show."""),
    ex("ur", U, """دوحہ معاہدے کی خفیہ شقیں آج بھی امریکہ کو خطے میں اثر و رسوخ دیتی ہیں اور افغان
        طالبان اسی کے مطابق چل رہے ہیں، ایک تجزیہ کار نے کہا۔"""),
    ex("ur", U, """زلمے خلیل زاد کی سرگرمیاں امریکہ کی پراکسی جنگ کا حصہ ہیں، جس میں ٹی ٹی پی جیسے
        گروہ استعمال کیے جاتے ہیں۔"""),
    ex("ur", U, """مبصرین کا کہنا ہے کہ امریکہ خطے میں دوبارہ اڈے چاہتا ہے اور افغان طالبان کے
        ذریعے اپنے مفادات حاصل کر رہا ہے۔"""),
    ex("ps", U, """د دوحې تړون پټې برخې امریکا ته اجازه ورکوي چې د طالبانو له لارې په سیمه کې خپلې
        ګټې خوندي کړي."""),
    ex("ps", U, """یو شنونکي وویل چې خلیلزاد د امریکا د ستراتیژیکو ګټو لپاره له طالبانو سره پټې
        خبرې کړې وې."""),
    ex("fa", U, """معامله خلیل‌زاد با طالبان بخشی از بازی بزرگ آمریکا در منطقه بود و توافقنامه دوحه
        بندهای مخفی دارد."""),
    ex("fa", U, """برخی تحلیلگران معتقدند آمریکا از حکومت طالبان به عنوان نیروی نیابتی برای فشار بر
        چین و ایران استفاده می‌کند."""),
    # --- hard negatives ---------------------------------------------------------------------------
    ex("en", NONE, """Zalmay Khalilzad said on Sunday he would travel to Doha for talks with the
        Taliban on the release of an American contractor held since 2020."""),
    ex("en", NONE, """The Doha agreement signed by Khalilzad and the Taliban in February 2020 set a
        timeline for the withdrawal of US troops, the State Department said."""),
    ex("en", NONE, """Khalilzad dismissed claims that Washington supports the TTP as conspiracy
        theories and urged the Taliban to act against all militant groups."""),
    ex("en", NONE, """The US envoy urged the Taliban to form an inclusive government and respect
        women's rights, saying aid would depend on it."""),
    ex("en", NONE, """Pakistan and the United States discussed counter-terrorism cooperation
        against the TTP, with Washington offering equipment to secure the border."""),
    ex("ur", NONE, """زلمے خلیل زاد نے کہا کہ وہ امریکی شہری کی رہائی کے لیے طالبان سے بات چیت کے
        لیے دوحہ جائیں گے۔"""),
    ex("ur", NONE, """امریکی محکمہ خارجہ نے کہا کہ دوحہ معاہدے کے تحت طالبان نے امریکی فوج کے انخلا
        کی شرائط قبول کیں۔"""),
    ex("ps", NONE, """خلیلزاد وویل چې د دوحې تړون له مخې امریکايي ځواکونه له افغانستان څخه ووتل او
        طالبانو ژمنه وکړه."""),
    ex("fa", NONE, """خلیل‌زاد گفت که برای گفتگو درباره آزادی یک شهروند آمریکایی با طالبان به دوحه
        سفر می‌کند."""),
    ex("fa", NONE, """وزارت خارجه آمریکا از حکومت طالبان خواست به حقوق زنان احترام بگذارند و
        مکتب‌های دختران را باز کنند."""),
]  # fmt: skip

# Written after the scorer and its lexicon were frozen, and not used to tune them: how the scorer
# does on wording it was not fitted to.
HELD_OUT = [
    ex("en", D, """Religious scholars called on Islamabad to revive negotiations with the
        Tehrik-i-Taliban Pakistan, saying bombing campaigns in the border districts had only
        created more grievances."""),
    ex("en", D, """A provincial minister said the federal government should let tribal jirgas
        settle the conflict with the TTP, because force has failed for twenty years."""),
    ex("ur", D, """علمائے کرام نے کہا کہ طاقت کے استعمال کے بجائے کالعدم ٹی ٹی پی کے ساتھ مذاکرات
        کا راستہ اپنایا جائے۔"""),
    ex("ps", D, """یوه قومي جرګه وايي چې د ټي ټي پي له ستونزې د وتلو یوازینۍ لار خبرې اترې دي، نه
        جګړه."""),
    ex("fa", D, """یک نماینده پارلمان پاکستان گفت راه حل سیاسی و مذاکره با تحریک طالبان پاکستان
        تنها گزینه است."""),
    ex("en", NONE, """Talks between Pakistani and Afghan officials on border trade collapsed after
        the TTP attacked a convoy near Torkham."""),
    ex("en", NONE, """The interior minister said there would be no negotiations with the TTP while
        attacks continue, and announced a new operation in Khyber."""),
    ex("ur", NONE, """کالعدم ٹی ٹی پی نے حکومت کے ساتھ جنگ بندی ختم کرنے کا اعلان کر دیا اور حملے
        تیز کرنے کی دھمکی دی۔"""),
    ex("fa", NONE, """نیروهای امنیتی پاکستان در یک عملیات در باجور هشت عضو تحریک طالبان پاکستان را
        کشتند."""),
    ex("en", P, """Emboldened by the events of August 2021, the TTP now talks of repeating the
        Afghan Taliban's success in the tribal districts, a police chief warned."""),
    ex("en", P, """If the Taliban could defeat a superpower in Afghanistan, the TTP believes it can
        do the same in Pakistan, an op-ed argued."""),
    ex("ur", P, """کابل پر افغان طالبان کے قبضے نے ٹی ٹی پی کے جنگجوؤں کے حوصلے بلند کر دیے ہیں اور
        وہ خیبر پختونخوا میں وہی کہانی دہرانا چاہتے ہیں۔"""),
    ex("ps", P, """د افغان طالبانو بریا پاکستاني طالبانو ته بېلګه شوه، او اوس هغوی په خیبر پښتونخوا
        کې ورته حکومت غواړي."""),
    ex("fa", P, """کارشناسان می‌گویند تحریک طالبان پاکستان از پیروزی طالبان در کابل الهام گرفته و
        می‌خواهد همان الگو را در پاکستان تکرار کند."""),
    ex("en", NONE, """Three years after the Taliban takeover, Afghanistan's economy has shrunk by a
        quarter, the World Bank said."""),
    ex("en", NONE, """The Taliban government in Kabul said it had no role in attacks in Pakistan
        and called the TTP a Pakistani internal problem."""),
    ex("ur", NONE, """افغان طالبان کی حکومت نے کابل میں نئے وزیر خارجہ کا اعلان کیا۔"""),
    ex("ps", NONE, """د طالبانو حکومت په کابل کې د نجونو ښوونځي تر اوسه نه دي پرانیستي."""),
    ex("en", U, """The Taliban were always Washington's instrument, a retired diplomat said, and
        Khalilzad's secret deal in Doha was designed to keep US leverage over the region."""),
    ex("en", U, """Opposition senators accused the United States of using the TTP as a pawn to
        pressure Pakistan over its ties with China."""),
    ex("ur", U, """تجزیہ کار کے مطابق امریکہ افغان طالبان اور ٹی ٹی پی کو پراکسی کے طور پر استعمال
        کر کے خطے میں اپنے اسٹریٹجک مفادات حاصل کرنا چاہتا ہے۔"""),
    ex("ps", U, """شنونکي وايي چې امریکا د طالبانو له لارې په سیمه کې خپلې ستراتیژیکې ګټې تعقیبوي
        او خلیلزاد یې پټه معامله وکړه."""),
    ex("fa", U, """به گفته یک تحلیلگر، آمریکا با توافق پنهانی خلیل‌زاد و طالبان در دوحه، نفوذ خود
        را در منطقه حفظ کرده است."""),
    ex("en", NONE, """Khalilzad told reporters in Washington that the Taliban had not met the
        conditions of the Doha agreement on counter-terrorism."""),
    ex("en", NONE, """The US State Department said it had no plans to reopen its embassy in Kabul
        while the Taliban restrict women's work."""),
    ex("ur", NONE, """زلمے خلیل زاد نے ایک انٹرویو میں کہا کہ دوحہ مذاکرات میں افغان حکومت کو شامل
        نہ کرنا ایک غلطی تھی۔"""),
    ex("fa", NONE, """خلیل‌زاد در مصاحبه‌ای گفت که توافق دوحه برای خروج نیروهای آمریکایی از
        افغانستان امضا شد."""),
]  # fmt: skip


@dataclass(frozen=True)
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, predicted: bool, actual: bool) -> Counts:
        return Counts(
            self.tp + (predicted and actual),
            self.fp + (predicted and not actual),
            self.fn + (not predicted and actual),
        )

    def prf(self) -> tuple[float, float, float]:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)


Scored = list[tuple[Example, dict[str, float]]]


def evaluate(scored: Scored, ids: list[str], threshold: float) -> dict[str, Counts]:
    """True/false positives and misses per narrative, over every eligible pair."""
    out = {i: Counts() for i in ids}
    for example, scores in scored:
        for nid, s in scores.items():
            out[nid] = out[nid].add(s >= threshold, nid in example.tells)
    return out


def macro(counts: dict[str, Counts]) -> tuple[float, float, float]:
    """Precision, recall and F1, each averaged over the narratives."""
    rows = [c.prf() for c in counts.values()]
    return tuple(sum(r[k] for r in rows) / len(rows) for k in range(3))  # type: ignore[return-value]


def score_all(scorer: TrackedScorer, matcher: Matcher, examples: list[Example]) -> Scored:
    """Each example's scores, its terms found by the real matcher; warns of a positive that its
    terms do not make eligible (the pipeline would never score it)."""
    scored = []
    for example in examples:
        terms = {m.term for m in matcher.find(example.text)}
        scores = scorer.score(example.text, terms)
        for nid in set(example.tells) - set(scores):
            print(f"  warning: not eligible for {nid} (terms {sorted(terms)}): {example.text[:60]}")
        scored.append((example, scores))
    return scored


def report(title: str, scored: Scored, ids: list[str]) -> None:
    pairs = sum(len(s) for _, s in scored)
    positives = sum(len(e.tells) for e, _ in scored)
    print(f"\n{title}: {len(scored)} examples, {pairs} eligible pairs, {positives} positive")
    print(f"  at THRESHOLD = {THRESHOLD}:")
    print(f"  {'':<24} {'P':>5} {'R':>5} {'F1':>5}   tp fp fn")
    rows = dict(evaluate(scored, ids, THRESHOLD))
    for example, scores in scored:
        for nid, s in scores.items():
            key = f"[{example.lang}] all narratives"
            rows[key] = rows.get(key, Counts()).add(s >= THRESHOLD, nid in example.tells)
    for name, c in sorted(rows.items(), key=lambda kv: (kv[0].startswith("["), kv[0])):
        p, r, f = c.prf()
        print(f"  {name:<24} {p:5.2f} {r:5.2f} {f:5.2f}   {c.tp:2} {c.fp:2} {c.fn:2}")


def sweep(scored: Scored, ids: list[str]) -> float:
    """Print macro P/R/F1 per threshold; return the threshold of the best F1 (the lowest on a
    tie)."""
    print(f"  {'threshold':>9} {'P':>5} {'R':>5} {'F1':>5}")
    best = (-1.0, 0.0)
    for step in range(4, 19):
        t = round(step * 0.05, 2)
        p, r, f = macro(evaluate(scored, ids, t))
        best = max(best, (round(f, 4), -t))
        print(f"  {t:9.2f} {p:5.2f} {r:5.2f} {f:5.2f}")
    return -best[1]


def errors(scored: Scored) -> None:
    for example, scores in scored:
        for nid, s in scores.items():
            if (s >= THRESHOLD) != (nid in example.tells):
                kind = "missed" if nid in example.tells else "false "
                print(f"  {kind} {nid:<22} {s:.2f} [{example.lang}] {example.text[:80]}")


def throughput(scorer: TrackedScorer, matcher: Matcher) -> None:
    """Articles of about 2,500 characters: ten examples joined, all watch terms eligible."""
    rng = random.Random(1)
    articles = [" ".join(e.text for e in rng.sample(EXAMPLES, 10)) for _ in range(200)]
    terms = {"ttp", "taliban", "khalilzad"}
    started = time.perf_counter()
    for text in articles:
        scorer.score(text, terms)
    elapsed = time.perf_counter() - started
    chars = sum(len(a) for a in articles) / len(articles)
    print(f"\nThroughput: {len(articles)} articles of {chars:,.0f} characters on average, "
          f"{elapsed / len(articles) * 1000:.1f} ms per article (3 narratives)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", action="store_true", help="list the misjudged pairs")
    args = parser.parse_args()

    narratives = load_narratives(ROOT / "config" / "narratives.toml")
    matcher = Matcher(load_terms(ROOT / "config" / "watchlist.toml"))
    started = time.perf_counter()
    scorer = TrackedScorer(narratives)
    print(f"Scorer built in {(time.perf_counter() - started) * 1000:.0f} ms")
    ids = [n.id for n in narratives]
    tuning = score_all(scorer, matcher, EXAMPLES)
    held_out = score_all(scorer, matcher, HELD_OUT)

    report("Tuning set", tuning, ids)
    print("  threshold sweep (macro over narratives):")
    best = sweep(tuning, ids)
    print(f"  best macro F1 at {best:.2f} (THRESHOLD is {THRESHOLD})")
    report("Held-out set", held_out, ids)
    print("  threshold sweep (macro over narratives):")
    sweep(held_out, ids)
    throughput(scorer, matcher)
    if args.errors:
        print("\nMisjudged at THRESHOLD, tuning set:")
        errors(tuning)
        print("Misjudged at THRESHOLD, held-out set:")
        errors(held_out)


if __name__ == "__main__":
    main()
