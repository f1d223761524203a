"""Synthetic news feeds for the benchmarks, and a loopback server for them.

The feeds hold plausible English, Urdu, Pashto and Dari/Persian entries built from word lists
written for this bench, about one in ten mentioning a watch term. Everything is deterministic
(one seeded generator per feed), so the same ``(feed, entries)`` always gives the same bytes: the
server, the lxml baseline and a second run all see one corpus. No text here is copied from any
publisher.

The server (:func:`serve`) is asyncio in a process of its own, so it never competes with the
client under test for that client's GIL; it answers conditional GETs with 304 and can add a
latency to every response.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import json
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from xml.sax.saxutils import escape, quoteattr

LANGUAGES = ("en", "ur", "ps", "fa")
MENTION_SHARE = 0.10  # share of entries that mention a watch term
# Feed traits, drawn per feed from its own seed so that they do not line up with the languages.
ATOM_SHARE = 0.25  # Atom 1.0; the others are RSS 2.0
NO_VALIDATORS_SHARE = 0.10  # no ETag/Last-Modified: the warm poll must hash the body to see it
MIXED_SHARE = 0.05  # tagged "multilingual": the language is detected entry by entry
BASE_DATE = dt.datetime(2026, 2, 20, 6, 0, tzinfo=dt.UTC)


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Ordinary news vocabulary. None of these words is, or combines into, a watch-term alias, so an
# entry matches only where a mention sentence was put on purpose.
WORDS: dict[str, tuple[str, ...]] = {
    "en": _words(
        """the a of in on to and for with from by after before over under near said says
        officials minister government province city district council court police market prices
        water electricity road school hospital report match team players win budget tax farmers
        crop rain weather flood relief residents incident inquiry statement spokesman parliament
        election party leader meeting talks agreement border trade exports imports wheat flour
        fuel petrol gas bank loan rupee dollar inflation students teachers exam university
        traffic bridge railway airport flights visa passport health vaccine doctors nurses
        protest strike traders shops cricket series stadium festival heritage museum river dam
        canal irrigation mountain valley village elders community jirga tribal provincial
        federal national local new old major minor first second week month year morning evening
        announced approved rejected delayed opened closed raised cut expected warned promised
        visited reviewed launched completed rebuilt repaired hundreds thousands several many"""
    ),
    "ur": _words(
        """میں کے کی کا نے کو سے پر اور ہے ہیں تھا تھی گیا گئی کیا ہو بھی یہ وہ ایک نئے بڑے
        حکومت وزیر اعلان اجلاس شہر صوبہ عوام بازار قیمت پانی بجلی سڑک اسکول ہسپتال عدالت
        فیصلہ رپورٹ کھلاڑی میچ ٹیم کامیابی منصوبہ ترقی معیشت بجٹ ٹیکس کسان فصل بارش موسم
        سیلاب امداد شہری پولیس اہلکار واقعہ تحقیقات بیان ترجمان پارلیمان انتخابات جماعت رہنما
        ملاقات مذاکرات معاہدہ سرحد تجارت برآمدات درآمدات گندم آٹا پیٹرول گیس بینک قرض روپیہ
        مہنگائی طلبہ اساتذہ امتحان جامعہ ٹریفک پل ریلوے ہوائی اڈہ پروازیں ویزا صحت ویکسین
        ڈاکٹر احتجاج ہڑتال تاجر دکانیں کرکٹ سیریز میلہ دریا ڈیم نہر پہاڑ وادی گاؤں بزرگ
        کراچی لاہور پشاور کوئٹہ ملتان فیصل آباد سوات ہفتے مہینے سال صبح شام منظور مسترد
        تاخیر کھولا بند اضافہ کمی توقع خبردار وعدہ دورہ جائزہ مکمل مرمت سینکڑوں ہزاروں"""
    ),
    "ps": _words(
        """د په او کې ته له چې دا هغه یو نوي لوی وویل ویلي شوی شوې کړی حکومت وزیر اعلان غونډه
        ښار ولایت خلک بازار بیه اوبه برېښنا سړک ښوونځی روغتون محکمه پرېکړه راپور لوبغاړی لوبه
        ټیم بریا پروژه پرمختګ اقتصاد بودیجه مالیه بزګر فصل باران موسم سیلاب مرسته اوسېدونکي
        پولیس پېښه څېړنه وینا ویاند پارلمان ټاکنې ګوند مشر لیدنه خبرې تړون پوله سوداګري
        صادرات واردات غنم اوړه تېل ګاز بانک پور افغانۍ بیې زده کوونکي ښوونکي ازموینه پوهنتون
        ترافیک پل اورګاډی هوايي ډګر الوتنې ویزه روغتیا واکسین ډاکټران لاریون اعتصاب سوداګر
        دوکانونه کرکټ لړۍ میله سیند بند ویاله غر دره کلی سپین ږیري ننګرهار هرات مزار
        خوست پکتیا کونړ لغمان اونۍ میاشت کال سهار ماښام منظور رد ځنډ پرانیستل تړل زیاتوالی
        کمښت تمه خبرداری ژمنه سفر کتنه بشپړ ترمیم سلګونه زرګونه"""
    ),
    "fa": _words(
        """و در به از که این آن با را برای است شد کرد یک تازه بزرگ گفت گفته دولت وزیر اعلام
        نشست شهر ولایت مردم بازار قیمت آب برق جاده مکتب شفاخانه دادگاه تصمیم گزارش بازیکن
        مسابقه تیم پیروزی پروژه توسعه اقتصاد بودجه مالیات دهقان محصول باران هوا سیلاب کمک
        شهروندان پولیس رویداد بررسی سخنان نماینده پارلمان انتخابات حزب رهبر دیدار گفتگو
        توافق مرز تجارت صادرات واردات گندم آرد تیل گاز بانک وام افغانی تورم دانشجویان استادان
        امتحان دانشگاه ترافیک پل راه‌آهن میدان هوایی پروازها ویزا صحت واکسین داکتران اعتراض
        اعتصاب بازرگانان دکان‌ها کریکت جشنواره رودخانه بند کانال کوه دره روستا بزرگان هرات
        بلخ بدخشان غزنی بامیان پنجشیر هفته ماه سال صبح شام تصویب رد تأخیر گشایش بسته افزایش
        کاهش انتظار هشدار وعده سفر بازدید تکمیل ترمیم صدها هزاران"""
    ),
}

# Sentences that mention a watch term, one list per language; each names the term the way that
# press prints it (the bare طالبان always stands near a context word, as the matcher requires).
MENTIONS: dict[str, tuple[str, ...]] = {
    "en": (
        "Officials in Peshawar said the TTP had claimed the attack on the checkpost.",
        "A Taliban delegation arrived in Doha for another round of talks on Monday.",
        "Zalmay Khalilzad told reporters that the peace process needed patience.",
        "Elders said Tehrik-i-Taliban Pakistan fighters had crossed the border at night.",
        "The Islamic Emirate announced a new governor for the northern province.",
    ),
    "ur": (
        "حکام نے بتایا کہ کالعدم تحریک طالبان پاکستان نے حملے کی ذمہ داری قبول کر لی۔",
        "ٹی ٹی پی کے ساتھ مذاکرات کا نیا دور اگلے ہفتے شروع ہوگا۔",
        "زلمے خلیل زاد نے کہا کہ امن عمل کو جاری رہنا چاہیے۔",
        "افغان طالبان کے وفد نے کابل میں پاکستانی حکام سے ملاقات کی۔",
    ),
    "ps": (
        "چارواکو وویل چې د طالبانو یو پلاوی دوحې ته ورسېد۔",
        "ټي ټي پي د پولې پر سر د برید مسؤلیت ومانه۔",
        "زلمی خلیلزاد وویل چې د سولې بهیر باید دوام ومومي۔",
    ),
    "fa": (
        "سخنگوی گروه طالبان گفت که نشست بعدی در دوحه برگزار می‌شود.",
        "زلمی خلیل‌زاد گفت روند صلح به صبر و حوصله نیاز دارد.",
        "امارت اسلامی والی تازه‌ای برای ولایت شمالی معرفی کرد.",
    ),
}
_STOP = {"en": ".", "ur": "۔", "ps": "۔", "fa": "."}


@dataclass(frozen=True)
class FeedSpec:
    """One synthetic feed: where it is served and how it behaves."""

    index: int
    language: str
    atom: bool
    validators: bool  # sends ETag and Last-Modified
    mixed: bool  # tagged as a multilingual feed

    @property
    def id(self) -> str:
        """The feed's id in feeds.toml."""
        return f"f{self.index:04d}"

    @property
    def path(self) -> str:
        """The path the server answers on."""
        return f"/feed/{self.index}.xml"

    @property
    def etag(self) -> str:
        """The feed's ETag (only sent when ``validators``)."""
        return self.etag_of(0)

    def etag_of(self, new: int) -> str:
        """The ETag of the feed once it has gained ``new`` entries (see :func:`feed_body`)."""
        return f'"bench-{self.index}-{new + 1}"'


def feed_specs(count: int) -> list[FeedSpec]:
    """The first ``count`` feeds, languages in turn."""
    specs = []
    for i in range(count):
        rng = random.Random(f"jirga-bench-spec:{i}")
        specs.append(
            FeedSpec(
                index=i,
                language=LANGUAGES[i % len(LANGUAGES)],
                atom=rng.random() < ATOM_SHARE,
                validators=rng.random() >= NO_VALIDATORS_SHARE,
                mixed=rng.random() < MIXED_SHARE,
            )
        )
    return specs


def _sentence(rng: random.Random, language: str, low: int, high: int) -> str:
    words = rng.choices(WORDS[language], k=rng.randint(low, high))
    if language == "en":
        words[0] = words[0].capitalize()
    return " ".join(words) + _STOP[language]


def _entry(rng: random.Random, spec: FeedSpec, n: int) -> tuple[str, str, str, str, dt.datetime]:
    """(title, body HTML, link, guid, published) of entry ``n``."""
    lang = spec.language
    title = _sentence(rng, lang, 6, 12).rstrip(_STOP[lang])
    paragraphs = [[_sentence(rng, lang, 8, 18) for _ in range(2)] for _ in range(rng.randint(2, 3))]
    if rng.random() < MENTION_SHARE:
        where = rng.randrange(len(paragraphs))
        paragraphs[where].insert(rng.randint(0, 2), rng.choice(MENTIONS[lang]))
    link = f"https://outlet{spec.index}.example/{lang}/news/{spec.index}-{n}"
    html = "".join(
        f"<p>{' '.join(p)}</p>"
        if i
        else f'<p><b>{p[0]}</b> {" ".join(p[1:])} <a href="{link}">…</a></p>'
        for i, p in enumerate(paragraphs)
    )
    published = BASE_DATE - dt.timedelta(minutes=spec.index * 3 + n * 47)
    return title, html, link, f"bench-{spec.index}-{n}", published


def _rss(spec: FeedSpec, entries: Sequence[tuple[str, str, str, str, dt.datetime]]) -> str:
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>',
        f"<title>Outlet {spec.index}</title><link>https://outlet{spec.index}.example/</link>",
        f"<description>Bench feed {spec.index}</description><language>{spec.language}</language>",
    ]
    for title, html, link, guid, published in entries:
        parts.append(
            f"<item><title>{escape(title)}</title><link>{escape(link)}</link>"
            f'<guid isPermaLink="false">{guid}</guid>'
            f"<pubDate>{published.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate>"
            f"<description>{escape(html)}</description></item>"
        )
    parts.append("</channel></rss>\n")
    return "\n".join(parts)


def _atom(spec: FeedSpec, entries: Sequence[tuple[str, str, str, str, dt.datetime]]) -> str:
    updated = entries[0][4] if entries else BASE_DATE
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{spec.language}">',
        f"<title>Outlet {spec.index}</title><id>urn:bench:{spec.index}</id>",
        f"<updated>{updated.isoformat()}</updated>",
        f"<link href={quoteattr(f'https://outlet{spec.index}.example/')}/>",
    ]
    for title, html, link, guid, published in entries:
        parts.append(
            f"<entry><title>{escape(title)}</title><link href={quoteattr(link)}/>"
            f"<id>urn:{guid}</id><updated>{published.isoformat()}</updated>"
            f'<content type="html">{escape(html)}</content></entry>'
        )
    parts.append("</feed>\n")
    return "\n".join(parts)


def feed_body(spec: FeedSpec, entries: int, new: int = 0) -> bytes:
    """The UTF-8 document of one feed with ``entries`` entries, newest first; ``new``: the feed
    as it is after gaining that many newer entries (the oldest as many fell off), every other
    entry written byte for byte as before, as a news site's feed changes."""
    items = [
        _entry(random.Random(f"jirga-bench:{spec.index}:{n}"), spec, n)
        for n in range(-new, entries - new)
    ]
    return (_atom if spec.atom else _rss)(spec, items).encode()


def feeds_toml(specs: Sequence[FeedSpec], base_url: str) -> str:
    """A feeds.toml listing ``specs`` as served under ``base_url``."""
    out = []
    for spec in specs:
        tags = '["bench", "multilingual"]' if spec.mixed else '["bench"]'
        country = "af" if spec.language in ("ps", "fa") else "pk"
        out.append(
            f'[[feed]]\nid = "{spec.id}"\nname = "Outlet {spec.index}"\n'
            f'url = "{base_url}{spec.path}"\ncountry = "{country}"\n'
            f'language = "{spec.language}"\ntags = {tags}\n'
        )
    return "\n".join(out)


# --- the server ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """What the server sends for one path."""

    body: bytes
    etag: str | None = None
    last_modified: str | None = None


def routes(specs: Sequence[FeedSpec], bodies: Sequence[bytes], new: int = 0) -> dict[str, Route]:
    """The server's table: each feed's body with its validators (when it sends any); ``new``:
    the bodies are those of :func:`feed_body` with ``new`` (their validators change with it)."""
    modified = email.utils.format_datetime(BASE_DATE + dt.timedelta(minutes=new), usegmt=True)
    return {
        spec.path: Route(body, spec.etag_of(new), modified) if spec.validators else Route(body)
        for spec, body in zip(specs, bodies, strict=True)
    }


def _head(status: int, length: int, extra: Mapping[str, str]) -> bytes:
    reason = {200: "OK", 304: "Not Modified", 404: "Not Found"}[status]
    lines = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {length}"]
    lines += [f"{k}: {v}" for k, v in extra.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _answer(table: Mapping[str, Route], path: str, headers: Mapping[str, str]) -> tuple[int, bytes]:
    route = table.get(path)
    if route is None:
        return 404, _head(404, 9, {}) + b"not found"
    validators = {"Content-Type": "application/xml; charset=utf-8"}
    if route.etag:
        validators["ETag"] = route.etag
    if route.last_modified:
        validators["Last-Modified"] = route.last_modified
    inm, ims = headers.get("if-none-match"), headers.get("if-modified-since")
    # RFC 9110: If-None-Match, when sent, decides alone.
    if inm is not None:
        fresh = route.etag is not None and inm == route.etag
    else:
        fresh = ims is not None and ims == route.last_modified
    if fresh:
        return 304, _head(304, 0, validators)
    return 200, _head(200, len(route.body), validators) + route.body


def serve(
    conn: Connection,
    table: Mapping[str, Route],
    latency: float,
    editions: Sequence[Mapping[str, Route]] = (),
) -> None:
    """Serve ``table`` on 127.0.0.1 (HTTP/1.1, keep-alive) until killed; the port goes out on
    ``conn``. ``GET /_stats`` answers the status counts so far as JSON, ``/_stats?reset`` also
    zeroes them. ``GET /_edition?N`` serves ``editions[N - 1]`` from then on (``N = 0``: ``table``
    again), for polls of feeds that changed."""
    counts: Counter[str] = Counter()
    tables = [table, *editions]
    current = [table]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                first, *lines = head.decode("latin-1").split("\r\n")
                target = first.split(" ")[1] if first.count(" ") >= 2 else ""
                headers = {}
                for line in lines:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                path, _, query = target.partition("?")
                if path == "/_stats":
                    body = json.dumps(counts).encode()
                    if query == "reset":
                        counts.clear()
                    writer.write(_head(200, len(body), {}) + body)
                elif path == "/_edition":
                    current[0] = tables[int(query)]
                    writer.write(_head(200, 2, {}) + b"ok")
                else:
                    if latency:
                        await asyncio.sleep(latency)
                    status, data = _answer(current[0], path, headers)
                    counts[str(status)] += 1
                    counts["bytes"] += len(data)
                    writer.write(data)
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
        conn.send(server.sockets[0].getsockname()[1])
        async with server:
            await server.serve_forever()

    asyncio.run(main())
