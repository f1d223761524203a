"""Benchmark of jirga.match: the two engines' throughput, and the precision of the context rule.

Run: ``uv run python bench/bench_match.py [--mb 4]``.

1. Throughput: a synthetic mix of English, Urdu, Dari/Persian and Pashto articles (paragraphs
   written for this bench, some with watch terms, some re-typed the way Arabic keyboards and
   careless editors do) is matched end to end with each engine; MB/s counts UTF-8 bytes.
   The share spent folding the text is printed on its own, since both engines pay it.
2. Context rule: every bare طالبان in ``tests/data/match/taliban_senses.json`` (hand-labelled
   written examples, plus real occurrences in ``../shared/corpus`` when that folder is there) is
   checked against the matcher, for a few context windows.
"""

from __future__ import annotations

import argparse
import html
import io
import json
import random
import re
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import feedparser

from jirga.arabic import fold, is_word, normalize
from jirga.config import load_terms
from jirga.match import CONTEXT_WINDOW, Matcher
from jirga.types import Term

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "corpus"
SENSES = ROOT / "tests" / "data" / "match" / "taliban_senses.json"

# (paragraph, mentions a watch term?)
PARAGRAPHS: dict[str, list[tuple[str, bool]]] = {
    "en": [
        (
            "Security officials said militants of the banned Tehreek-e-Taliban Pakistan attacked "
            "a checkpost in North Waziristan on Tuesday night, killing two soldiers. The TTP "
            "claimed responsibility in a statement sent to reporters.",
            True,
        ),
        (
            "Zalmay Khalilzad met officials of the Islamic Emirate in Doha to discuss the release "
            "of prisoners, a spokesman said, adding that the talks would resume next week.",
            True,
        ),
        (
            "The provincial cabinet approved a new budget for schools and hospitals, and the "
            "finance minister said revenue collection had improved by twelve percent over the "
            "previous year despite the floods.",
            False,
        ),
        (
            "Wheat prices rose in Karachi and Lahore after heavy rain damaged stocks held in "
            "government warehouses, traders said, and the flour mills association warned of "
            "shortages before the end of the month.",
            False,
        ),
        (
            "The cricket board announced the squad for the upcoming series against Sri Lanka, "
            "recalling two fast bowlers who had missed the last tour with injuries.",
            False,
        ),
        (
            "Analysts in Islamabad said talks between Pakistan and Afghanistan over border trade "
            "at Torkham had stalled again, with hundreds of lorries waiting on both sides.",
            False,
        ),
    ],
    "ur": [
        (
            "کالعدم تحریک طالبان پاکستان کے شدت پسندوں نے شمالی وزیرستان میں سکیورٹی چیک پوسٹ "
            "پر حملہ کیا جس میں دو اہلکار ہلاک ہو گئے۔",
            True,
        ),
        (
            "افغان طالبان کے ترجمان ذبیح اللہ مجاہد نے کہا ہے کہ دوحہ معاہدے پر عمل درآمد جاری "
            "رہے گا۔",
            True,
        ),
        (
            "امریکی نمائندہ خصوصی زلمے خلیل زاد نے اسلام آباد میں وزیر خارجہ سے ملاقات کی۔",
            True,
        ),
        (
            "وفاقی کابینہ نے نئے مالی سال کے بجٹ کی منظوری دے دی ہے اور وزیر خزانہ کے مطابق "
            "محصولات میں نمایاں اضافہ ہوا ہے۔",
            False,
        ),
        (
            "کراچی میں شدید بارش کے بعد کئی علاقوں میں بجلی کی فراہمی معطل رہی اور شہریوں کو "
            "سخت مشکلات کا سامنا کرنا پڑا۔",
            False,
        ),
        (
            "پنجاب یونیورسٹی کے طالبان و طالبات نے امتحانات کی تاریخوں میں تبدیلی کے خلاف "
            "احتجاج کیا۔",
            False,
        ),
    ],
    "fa": [
        (
            "زلمی خلیل‌زاد، نماینده ویژه آمریکا، گفت که گفتگوها با طالبان در دوحه ادامه دارد.",
            True,
        ),
        ("سخنگوی امارت اسلامی گفت که هیئتی به مسکو سفر کرده است.", True),
        (
            "وزارت معارف اعلام کرد که سال تحصیلی جدید در ولایت‌های سردسیر از هفته آینده آغاز می‌شود.",
            False,
        ),
        ("قیمت آرد و روغن در بازارهای کابل در هفته گذشته افزایش یافته است.", False),
        ("طالبان علم در این مدرسه هر روز پیش از طلوع آفتاب درس می‌خوانند.", False),
        ("بانک مرکزی گفت که ارزش پول ملی در برابر دلار ثابت مانده است.", False),
    ],
    "ps": [
        ("د طالبانو د حکومت ویاند وویل چې په کابل کې امنیتي وضعیت ښه دی.", True),
        ("د پاکستان طالبان یا ټي ټي پي په خیبر پښتونخوا کې خپل بریدونه زیات کړي دي.", True),
        ("د اسلامي امارت چارواکو د سوداګرۍ د پراختیا لپاره نوې پروژه اعلان کړه.", True),
        ("د ننګرهار په ولایت کې بزګرانو وویل چې سږ کال د غنمو حاصلات ښه دي.", False),
        ("د روغتیا وزارت وايي چې د شرې ناروغۍ ضد واکسین به ټولو ولسوالیو ته ورسیږي.", False),
        ("ښوونځي بیا پرانیستل شول او زده کوونکي ټولګیو ته ستانه شول.", False),
    ],
}
_ARABIC_KEYBOARD = str.maketrans({"ی": "ي", "ک": "ك", "ہ": "ه"})


def _retype(paragraph: str, rng: random.Random) -> str:
    """The paragraph as another site might print it: Arabic-keyboard letters, tatweel, spaces."""
    roll = rng.random()
    if roll < 0.2:
        return paragraph.translate(_ARABIC_KEYBOARD)
    if roll < 0.3:
        return paragraph.replace("ا", "ـا", 3).replace(" ", "  ", 5)
    return paragraph


def synthetic_articles(megabytes: float, hit_weight: float = 1 / 3, seed: int = 7) -> list[str]:
    """Articles of 3-8 paragraphs in one language each, about ``megabytes`` of UTF-8 in all.

    ``hit_weight`` is how likely a paragraph that names a watch term is drawn, relative to one
    that does not (0: no article mentions anything, as in most of a feed's entries).
    """
    rng = random.Random(seed)
    articles: list[str] = []
    size = 0
    while size < megabytes * 1_000_000:
        language = rng.choice(sorted(PARAGRAPHS))
        paragraphs = [p for p, _ in PARAGRAPHS[language]]
        weights = [hit_weight if hit else 1.0 for _, hit in PARAGRAPHS[language]]
        drawn = rng.choices(paragraphs, weights, k=rng.randint(3, 8))
        article = "\n\n".join(_retype(p, rng) for p in drawn)
        articles.append(article)
        size += len(article.encode())
    return articles


def _best_of(runs: int, job: Callable[[], int]) -> tuple[float, int]:
    best, result = float("inf"), 0
    for _ in range(runs):
        began = time.perf_counter()
        result = job()
        best = min(best, time.perf_counter() - began)
    return best, result


def throughput(terms: tuple[Term, ...], megabytes: float) -> None:
    """Print MB/s and matches/s of each engine over the synthetic mixes."""
    normalize("warm-up")  # build the folding tables outside the timing
    for name, weight in (("dense", 1 / 3), ("sparse", 0.0)):
        articles = synthetic_articles(megabytes, weight)
        size = sum(len(a.encode()) for a in articles) / 1e6
        print(
            f"throughput, {name} mix: {len(articles)} synthetic articles, {size:.1f} MB, "
            f"{size * 1e6 / len(articles):.0f} bytes each (best of 3 runs)"
        )
        seconds, _ = _best_of(3, lambda a=articles: sum(len(normalize(t).text) for t in a))
        print(f"  folding alone             {size / seconds:7.1f} MB/s")
        folded = [normalize(a).text for a in articles]
        results = {}
        for engine in ("aho", "regex"):
            matcher = Matcher(terms, engine=engine)
            scanner = matcher._scanner  # the engine alone, on text folded beforehand
            seconds, _ = _best_of(
                3, lambda s=scanner, f=folded: sum(1 for t in f for _ in s.scan(t))
            )
            print(f"  {engine:<6} candidates alone   {size / seconds:7.1f} MB/s")
            seconds, mentions = _best_of(
                3, lambda m=matcher, a=articles: sum(len(m.find(t)) for t in a)
            )
            results[engine] = mentions
            print(
                f"  {engine:<6} find()             {size / seconds:7.1f} MB/s"
                f"  {mentions / seconds:9,.0f} matches/s  ({mentions:,} mentions)"
            )
        if len(set(results.values())) != 1:
            print(f"  ENGINES DISAGREE: {results}")


# --- context rule --------------------------------------------------------------------------------

_BARE = fold("طالبان")


def bare_occurrences(text: str) -> list[tuple[int, int]]:
    """Original spans of every whole-word bare طالبان in ``text`` (after folding)."""
    norm = normalize(text)
    spans = []
    for m in re.finditer(re.escape(_BARE), norm.text):
        if not is_word(norm.text, m.start() - 1) and not is_word(norm.text, m.end()):
            spans.append(norm.span(m.start(), m.end()))
    return spans


def _feed_text(entry: feedparser.FeedParserDict) -> str:
    parts = [entry.get("title", ""), entry.get("summary", "")]
    parts += [c.get("value", "") for c in entry.get("content", [])]
    text = "\n".join(parts)
    for _ in range(2):  # escaped HTML inside the feed: decode, strip, twice
        text = re.sub(r"<[^>]+>", " ", html.unescape(text))
    return text


def _corpus_text(file: str, entry: str) -> str:
    path = SHARED / file
    if path.suffix == ".xml":
        parsed = feedparser.parse(io.BytesIO(path.read_bytes()))
        return next(_feed_text(e) for e in parsed.entries if e.get("id") == entry)
    record = json.loads(path.read_text(encoding="utf-8"))[int(entry)]
    return f"{record['title']}\n{record['content']}"


def labelled_texts() -> Iterable[tuple[str, str, list[str]]]:
    """(where, text, senses) of the labelled file; corpus items only when ../shared is there."""
    data = json.loads(SENSES.read_text(encoding="utf-8"))
    for item in data["written"]:
        yield "written", item["text"], item["senses"]
    if SHARED.is_dir():
        for item in data["corpus"]:
            yield "corpus", _corpus_text(item["file"], item["entry"]), item["senses"]


def judge(matcher: Matcher, text: str, senses: list[str]) -> list[tuple[str, bool, bool]]:
    """Per bare طالبان: (its sense, counted as a mention?, decided by the context rule?)."""
    spans = bare_occurrences(text)
    if len(spans) != len(senses):
        raise ValueError(f"{len(spans)} occurrences but {len(senses)} labels in {text[:40]!r}")
    mentions = [m for m in matcher.find(text) if m.term in ("taliban", "ttp")]
    verdicts = []
    for (start, end), sense in zip(spans, senses, strict=True):
        cover = next((m for m in mentions if m.start <= start and end <= m.end), None)
        by_context = cover is None or (cover.start, cover.end) == (start, end)
        verdicts.append((sense, cover is not None, by_context))
    return verdicts


def scores(verdicts: list[tuple[str, bool, bool]]) -> str:
    """Precision and recall of 'movement', with the confusion counts."""
    tp = sum(1 for sense, hit, _ in verdicts if hit and sense == "movement")
    fp = sum(1 for sense, hit, _ in verdicts if hit and sense != "movement")
    fn = sum(1 for sense, hit, _ in verdicts if not hit and sense == "movement")
    tn = len(verdicts) - tp - fp - fn
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = tp / (tp + fn) if tp + fn else float("nan")
    return f"P={precision:.2f} R={recall:.2f} (tp={tp} fp={fp} fn={fn} tn={tn})"


def context_rule(terms: tuple[Term, ...]) -> None:
    """Print precision/recall of the bare طالبان for several context windows."""
    items = list(labelled_texts())
    where = sorted({w for w, _, _ in items})
    count = sum(len(s) for _, _, s in items)
    print(f"context rule: {count} labelled bare طالبان ({', '.join(where)})")
    windows: list[int | None] = [4, 8, 12, 20, None]
    for window in windows:
        matcher = Matcher(terms, context_window=window)
        verdicts = {
            w: [v for ww, t, s in items if ww == w for v in judge(matcher, t, s)] for w in where
        }
        label = "sentence" if window is None else f"±{window} words"
        default = "  (default)" if window == CONTEXT_WINDOW else ""
        print(f"  window {label}{default}")
        for w in where:
            every = verdicts[w]
            decided = [v for v in every if v[2]]
            print(f"    {w:<8} every occurrence   {scores(every)}")
            print(f"    {w:<8} context rule only  {scores(decided)}")


def main(argv: list[str] | None = None) -> int:
    """Run both parts and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=4.0, help="size of the synthetic mix")
    args = parser.parse_args(argv)
    terms = load_terms(ROOT / "config" / "watchlist.toml")
    throughput(terms, args.mb)
    context_rule(terms)
    return 0


if __name__ == "__main__":
    sys.exit(main())
