"""Benchmark of full-text search: jirga's search layer next to the same query as raw SQL.

    uv run python bench/bench_search.py                      # 1,000,000 articles, both databases
    uv run python bench/bench_search.py --articles 50000     # a quick run
    uv run python bench/bench_search.py --skip-postgres --keep

Generates articles in the four languages with their mentions and narrative memberships and
loads them with bulk Core inserts (not the poll path), into a fresh SQLite file and into a
schema of its own on PostgreSQL (127.0.0.1:5432, database ``test``; dropped at the end). The
search index is then built once by the storage layer (``Storage.reindex``: timed, and its size
measured). Each typical query is run ``--runs`` times through jirga's layer
(``parse_query`` + ``Storage.search``: ranking, filters, records, terms and snippets) and, in
turn, as one hand-written SQL statement on the same database returning the same rows (ids,
fields, terms, text; no snippet): the limit jirga is measured against. On SQLite that statement
carries the same period words that jirga adds to the MATCH for a date filter (a short range of
a big archive); the goal query is also timed without them, to show what they save.

**The corpus.** Each language draws words from ``feedgen.WORDS`` (the frequent head, in order)
followed by 20,000 generated words (the long tail), by a Zipf law over the ranks, so a few words
are everywhere and most are rare, as in news text. A title has 6-12 words and a body 60-140;
three in a hundred English and Urdu bodies carry a set phrase ("peace talks", "امن مذاکرات")
so that phrase queries have hits. Every body starts with a sentence naming a watch term
(``feedgen.MENTIONS``) and the article has that mention; a fifth of the articles belong to one
of 5,000 narratives. Publication times cover two years, mostly in id order, one in twenty
imported late. Generation is seeded: every run sees the same corpus.

Times are wall-clock on a shared machine; compare them within one run. Goals are printed as
PASS/MISS, never asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import sqlalchemy as sa
from feedgen import MENTIONS, WORDS

from jirga.config import load_feeds
from jirga.query import parse_query
from jirga.searchtext import period_cover
from storage.facade import Storage
from storage.models import ArticleRow, MentionRow, NarrativeArticleRow, NarrativeRow

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_URL = os.environ.get(
    "JIRGA_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
TZ = ZoneInfo("Asia/Karachi")
END = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)  # the newest article; "since:30d" counts back
SPAN = dt.timedelta(days=730)
TAIL_WORDS = 20_000
CHUNK = 20_000
NARRATIVES = 5_000
LIMIT = 20
PHRASES = {"en": "peace talks", "ur": "امن مذاکرات"}
TERMS = (("khalilzad", ("khalilzad", "خلیل")), ("ttp", ("ttp", "tehrik", "ٹی ٹی پی", "ټي ټي پي")))
GOAL_P50_MS = 50.0
GOAL_RATIO = 1.3


# --- the corpus --------------------------------------------------------------------------------


def _tail(rng: random.Random, language: str, n: int) -> list[str]:
    if language == "en":
        syllables = [c + v for c in "bdfghjklmnprstvz" for v in "aeiou"]
    else:
        syllables = list("ابپتجچحخدرزسشغفقکگلمنوهی")
    seen: set[str] = set(WORDS[language])
    out: list[str] = []
    while len(out) < n:
        word = "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            out.append(word)
    return out


@dataclass
class Vocabulary:
    words: np.ndarray  # of str, by rank
    cumulative: np.ndarray

    def draw(self, rng: np.random.Generator, n: int) -> list[str]:
        return list(self.words[np.searchsorted(self.cumulative, rng.random(n))])


def vocabularies(seed: int) -> dict[str, Vocabulary]:
    rng = random.Random(seed)
    out = {}
    for language in ("en", "ur", "ps", "fa"):
        words = [*WORDS[language], *_tail(rng, language, TAIL_WORDS)]
        weights = 1.0 / np.arange(1, len(words) + 1)
        out[language] = Vocabulary(
            np.array(words, dtype=object), np.cumsum(weights / weights.sum())
        )
    return out


def _term_of(sentence: str) -> str:
    low = sentence.lower()
    for term, marks in TERMS:
        if any(m in low for m in marks):
            return term
    return "taliban"


@dataclass(frozen=True)
class Chunk:
    articles: list[dict[str, Any]]
    mentions: list[dict[str, Any]]
    members: list[dict[str, Any]]


def chunk_of(
    index: int, size: int, total: int, vocab: dict[str, Vocabulary], feeds: list[Any], seed: int
) -> Chunk:
    """Articles ``index * CHUNK + 1`` onward: the same rows for the same arguments."""
    rng = np.random.default_rng([seed, index])
    pick = random.Random(seed * 1_000_003 + index)
    articles, mentions, members = [], [], []
    first = index * CHUNK + 1
    for article_id in range(first, first + size):
        feed = feeds[pick.randrange(len(feeds))]
        language = feed.language
        words = vocab[language]
        title = " ".join(words.draw(rng, pick.randint(6, 12))).capitalize()
        body = words.draw(rng, pick.randint(60, 140))
        if language in PHRASES and pick.random() < 0.03:
            at = pick.randrange(len(body))
            body[at:at] = PHRASES[language].split()
        sentence = pick.choice(MENTIONS[language])
        text = f"{title}\n{sentence} {' '.join(body)}"
        share = (article_id - 1) / total
        if pick.random() < 0.05:  # imported late: any date
            share = pick.random()
        published = END - SPAN + SPAN * share + dt.timedelta(seconds=pick.randrange(3600))
        url = f"https://{feed.id}.example/{article_id}"
        articles.append(
            {
                "id": article_id,
                "source": feed.id,
                "feed_id": feed.id,
                "outlet": feed.name,
                "entry_key": str(article_id),
                "url": url,
                "canonical_url": url,
                "title": title,
                "text": text,
                "html": "",
                "language": language,
                "published_at": min(published, END),
                "date_estimated": False,
                "fetched_at": min(published, END),
                "content_hash": hashlib.sha256(text.encode()).hexdigest(),
            }
        )
        start = len(title) + 1
        mentions.append(
            {
                "article_id": article_id,
                "term": _term_of(sentence),
                "alias": sentence.split()[0],
                "start": start,
                "end": start + len(sentence.split()[0]),
                "snippet": sentence,
            }
        )
        if pick.random() < 0.2:
            members.append(
                {
                    "narrative_id": pick.randrange(1, NARRATIVES + 1),
                    "article_id": article_id,
                    "similarity": 0.5,
                    "joined_at": END,
                }
            )
    return Chunk(articles, mentions, members)


def load(store: Storage, total: int, seed: int) -> float:
    """Generate and insert the corpus; the seconds inserting took (generation not counted)."""
    feeds = list(load_feeds(ROOT / "config" / "feeds.toml"))
    store.sync_feeds(feeds, END)
    vocab = vocabularies(seed)
    with store.engine.begin() as conn:
        conn.execute(
            sa.insert(NarrativeRow),
            [
                {"id": i, "first_seen": END, "last_seen": END, "created_at": END, "updated_at": END}
                for i in range(1, NARRATIVES + 1)
            ],
        )
    spent = 0.0
    for index in range((total + CHUNK - 1) // CHUNK):
        size = min(CHUNK, total - index * CHUNK)
        chunk = chunk_of(index, size, total, vocab, feeds, seed)
        started = time.perf_counter()
        with store.engine.begin() as conn:
            conn.execute(sa.insert(ArticleRow), chunk.articles)
            conn.execute(sa.insert(MentionRow), chunk.mentions)
            if chunk.members:
                conn.execute(sa.insert(NarrativeArticleRow), chunk.members)
        spent += time.perf_counter() - started
        done = index * CHUNK + size
        if done % 200_000 == 0 or done == total:
            print(f"    {done:>9,} articles loaded ({spent:.0f} s inserting)", flush=True)
    if store.dialect == "postgresql":
        with store.engine.begin() as conn:
            # Rows inserted with explicit ids leave the sequence behind; and what autovacuum would
            # do after a load this size, done now so the planner has statistics.
            conn.execute(
                sa.text("SELECT setval('articles_id_seq', (SELECT max(id) FROM articles))")
            )
            conn.execute(sa.text("ANALYZE"))
    return spent


# --- the queries -------------------------------------------------------------------------------


def _since(days: int) -> dt.datetime:
    return END - dt.timedelta(days=days)


@dataclass(frozen=True)
class Case:
    name: str
    query: str  # as a user types it to `jirga search`
    match: str  # the FTS5 MATCH expression of the words, as a user would write it by hand
    tsquery: str  # the tsquery a user would write by hand
    where: str  # extra SQL conditions on `x` (the article), with :since, :lang, :outlet, :term
    params: dict[str, Any]
    goal: bool = False  # the query the p50 goal is about


CASES = [
    Case(
        "2 words, last 30 days",
        "border trade since:30d",
        '"border" AND "trade"',
        "'border' & 'trade'",
        "x.published_at >= :since",
        {"since": _since(30)},
        goal=True,
    ),
    Case(
        "phrase, last 90 days",
        '"peace talks" since:90d',
        '"peace talks"',
        "'peace' <-> 'talks'",
        "x.published_at >= :since",
        {"since": _since(90)},
    ),
    Case(
        "Urdu 2 words + lang",
        "مذاکرات حکومت lang:ur",
        '"مذاکرات" AND "حکومت"',
        "'مذاکرات' & 'حکومت'",
        "x.language = :lang",
        {"lang": "ur"},
    ),
    Case(
        "OR, exclusion, outlet",
        "talks OR agreement -cricket outlet:dawn",
        '("talks" OR "agreement") NOT "cricket"',
        "('talks' | 'agreement') & !'cricket'",
        "(lower(x.outlet) = :outlet OR lower(x.source) = :outlet)",
        {"outlet": "dawn"},
    ),
    Case(
        "word + term, last 7 days",
        "border term:ttp since:7d",
        '"border"',
        "'border'",
        "x.published_at >= :since AND EXISTS (SELECT 1 FROM mentions AS m "
        "WHERE m.article_id = x.id AND m.term = :term)",
        {"since": _since(7), "term": "ttp"},
    ),
    Case(
        "Persian phrase, no filter",
        '"بازار قیمت"',
        '"بازار قیمت"',
        "'بازار' <-> 'قیمت'",
        "1 = 1",
        {},
    ),
]


def raw_sql(case: Case, dialect: str) -> str:
    """The same search as one statement: rank, filter and limit, then the rows' fields."""
    if dialect == "sqlite":
        ranked = (
            "SELECT article_search.rowid AS id, -bm25(article_search, 4.0, 1.0, 0.0) AS score "
            "FROM article_search JOIN articles AS x ON x.id = article_search.rowid "
            f"WHERE article_search MATCH :match AND {case.where} "
            f"ORDER BY bm25(article_search, 4.0, 1.0, 0.0) LIMIT {LIMIT}"
        )
        terms = (
            "(SELECT group_concat(DISTINCT m.term) FROM mentions AS m WHERE m.article_id = a.id)"
        )
    else:
        ranked = (
            "SELECT s.article_id AS id, ts_rank('{0.25, 0.4, 0.6, 1.0}', s.document, "
            "CAST(:rank AS tsquery), 1) AS score "
            "FROM article_search AS s JOIN articles AS x ON x.id = s.article_id "
            f"WHERE s.document @@ CAST(:match AS tsquery) AND {case.where} "
            f"ORDER BY score DESC LIMIT {LIMIT}"
        )
        terms = (
            "(SELECT string_agg(DISTINCT m.term, ',') FROM mentions AS m WHERE m.article_id = a.id)"
        )
    return (
        "SELECT a.id, a.published_at, a.outlet, a.source, a.feed_id, a.language, a.title, a.url, "
        f"a.duplicate_of, a.date_estimated, a.text, h.score, na.narrative_id, {terms} AS terms "
        f"FROM ({ranked}) AS h JOIN articles AS a ON a.id = h.id "
        "LEFT JOIN narrative_articles AS na ON na.article_id = a.id ORDER BY h.score DESC"
    )


def fts5_match(case: Case, periods: bool = True) -> str:
    """The MATCH expression on the title and body, with the period words of the date filter
    (``period_cover``, up to the newest article) that jirga adds, unless ``periods`` is off."""
    match = "{title body} : (" + case.match + ")"
    if periods and "since" in case.params:
        words = period_cover(case.params["since"], END + dt.timedelta(seconds=1))
        match += " AND period : (" + " OR ".join(words) + ")"
    return match


def raw_params(case: Case, dialect: str, periods: bool = True) -> dict[str, Any]:
    params = dict(
        case.params, match=fts5_match(case, periods) if dialect == "sqlite" else case.tsquery
    )
    if dialect == "postgresql":
        params["rank"] = case.tsquery.split(" & !")[0]  # ranked on what is looked for
    if dialect == "sqlite" and "since" in params:
        # SQLite holds UTC times as text in this form.
        params["since"] = params["since"].strftime("%Y-%m-%d %H:%M:%S.%f")
    return params


def count_hits(store: Storage, case: Case) -> int:
    if store.dialect == "sqlite":
        sql = (
            "SELECT count(*) FROM article_search JOIN articles AS x ON x.id = article_search.rowid "
            f"WHERE article_search MATCH :match AND {case.where}"
        )
    else:
        sql = (
            "SELECT count(*) FROM article_search AS s JOIN articles AS x ON x.id = s.article_id "
            f"WHERE s.document @@ CAST(:match AS tsquery) AND {case.where}"
        )
    with store.engine.connect() as conn:
        return int(conn.execute(sa.text(sql), raw_params(case, store.dialect)).scalar_one())


def _quantiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


@dataclass(frozen=True)
class Measured:
    case: Case
    hits: int
    jirga: tuple[float, float]
    raw: tuple[float, float]
    returned: tuple[int, int]
    naive: tuple[float, float] | None = None  # raw SQL without the period words (SQLite)


def measure(store: Storage, runs: int) -> list[Measured]:
    out = []
    for case in CASES:
        sql = sa.text(raw_sql(case, store.dialect))
        params = raw_params(case, store.dialect)

        def through_jirga(case: Case = case) -> int:
            query = parse_query(case.query, now=END, tz=TZ)
            return len(store.search(query, limit=LIMIT))

        def as_raw(sql: Any = sql, params: dict[str, Any] = params) -> int:
            with store.engine.connect() as conn:
                return len(conn.execute(sql, params).all())

        timings: dict[str, list[float]] = {"jirga": [], "raw": []}
        counts = {}
        for i in range(runs + 3):
            # Alternate which goes first, so neither always meets the cache the other warmed.
            order: list[tuple[str, Callable[[], int]]] = [
                ("jirga", through_jirga),
                ("raw", as_raw),
            ]
            for name, run in order if i % 2 else reversed(order):
                started = time.perf_counter()
                counts[name] = run()
                if i >= 3:
                    timings[name].append((time.perf_counter() - started) * 1000)
        naive = None
        if case.goal and store.dialect == "sqlite":
            # The same statement without the period words: what a date filter costs without them.
            plain = raw_params(case, store.dialect, periods=False)
            spent = []
            for i in range(runs + 3):
                started = time.perf_counter()
                as_raw(sql, plain)
                if i >= 3:
                    spent.append((time.perf_counter() - started) * 1000)
            naive = _quantiles(spent)
        out.append(
            Measured(
                case,
                count_hits(store, case),
                _quantiles(timings["jirga"]),
                _quantiles(timings["raw"]),
                (counts["jirga"], counts["raw"]),
                naive,
            )
        )
    return out


# --- one database ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    backend: str
    load_s: float
    index_s: float
    index_bytes: int
    data_bytes: int
    measured: list[Measured]


def _data_bytes(store: Storage, path: Path | None) -> int:
    if path is not None:
        with store.engine.connect() as conn:  # the rebuild's write-ahead log back into the file
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    with store.engine.connect() as conn:
        return int(
            conn.execute(sa.text("SELECT pg_database_size(current_database())")).scalar_one()
        )


def bench(url: str, backend: str, args: argparse.Namespace, path: Path | None) -> Result:
    print(f"\n{backend}: loading {args.articles:,} articles…", flush=True)
    store = Storage(url)
    try:
        store.upgrade()
        load_s = load(store, args.articles, args.seed)
        print("  building the search index (Storage.reindex)…", flush=True)
        started = time.perf_counter()
        indexed = store.reindex()
        index_s = time.perf_counter() - started
        assert indexed == args.articles
        index_bytes = store.search_index_size()
        data_bytes = _data_bytes(store, path)
        print(f"  measuring {len(CASES)} queries × {args.runs} runs each way…", flush=True)
        measured = measure(store, args.runs)
    finally:
        store.close()
    return Result(backend, load_s, index_s, index_bytes, data_bytes, measured)


def report(results: list[Result], args: argparse.Namespace) -> None:
    print(
        f"\n{args.articles:,} articles, {args.runs} runs per query, limit {LIMIT}; "
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
    )
    for r in results:
        print(
            f"\n{r.backend}: loaded in {r.load_s:.0f} s; index built in {r.index_s:.0f} s "
            f"({r.index_s / args.articles * 1e6:.0f} µs/article), "
            f"{r.index_bytes / 1e6:.0f} MB; whole database {r.data_bytes / 1e6:.0f} MB"
        )
        print(
            f"  {'query':<28} {'hits':>9} {'jirga p50':>10} {'p95':>8} "
            f"{'raw p50':>9} {'p95':>8} {'ratio':>6}"
        )
        for m in r.measured:
            ratio = m.jirga[0] / m.raw[0] if m.raw[0] else float("inf")
            same = "" if m.returned[0] == m.returned[1] else f"  (rows {m.returned})"
            print(
                f"  {m.case.name:<28} {m.hits:>9,} {m.jirga[0]:>8.1f}ms {m.jirga[1]:>6.1f}ms "
                f"{m.raw[0]:>7.1f}ms {m.raw[1]:>6.1f}ms {ratio:>5.2f}x{same}"
            )
            if m.naive is not None:
                print(
                    f"  {'  raw, no period words':<28} {'':>9} {'':>10} {'':>8} "
                    f"{m.naive[0]:>7.1f}ms {m.naive[1]:>6.1f}ms"
                )
    print("\ngoals:")
    for r in results:
        if r.backend == "SQLite":
            goal = next(m for m in r.measured if m.case.goal)
            _goal(
                f"SQLite p50 < {GOAL_P50_MS:.0f} ms ({goal.case.name})",
                goal.jirga[0] < GOAL_P50_MS,
                f"{goal.jirga[0]:.1f} ms",
            )
        worst = max(r.measured, key=lambda m: m.jirga[0] / m.raw[0])
        ratio = worst.jirga[0] / worst.raw[0]
        _goal(
            f"{r.backend}: jirga within {GOAL_RATIO}x of raw SQL",
            ratio <= GOAL_RATIO,
            f"worst {ratio:.2f}x ({worst.case.name})",
        )


def _goal(name: str, ok: bool, shown: str) -> None:
    print(f"  {'PASS' if ok else 'MISS'}  {name:<52} {shown}")


@contextmanager
def _postgres_schema() -> Iterator[str]:
    schema = f"bench_search_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = sa.make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=41, help="timed runs of each query, each way")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite file")
    args = parser.parse_args()
    results = []
    folder = Path(tempfile.mkdtemp(prefix="jirga-bench-search-"))
    path = folder / "search.db"
    try:
        results.append(bench(f"sqlite:///{path}", "SQLite", args, path))
    finally:
        if args.keep:
            print(f"  kept {path}")
        else:
            for p in folder.glob("*"):
                p.unlink()
            folder.rmdir()
    if not args.skip_postgres:
        with _postgres_schema() as url:
            results.append(bench(url, "PostgreSQL", args, None))
    report(results, args)


if __name__ == "__main__":
    main()
