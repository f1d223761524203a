"""``jirga import`` as a user runs it: JSON Lines and saved feed files through the poll's own
normalise → match → dedup → store path, with original dates kept and bad lines reported."""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from flows.cli import cli
from jirga.urls import canonical_url
from tests.flows.feeds import Item, feeds_toml, rss

WIRES = {"wire-en": "en", "wire-ur": "ur", "wire-ps": "ps", "wire-fa": "fa"}


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def home(jirga_home: Path) -> Path:
    """A migrated database and a feed list of four wires, one per language."""
    (jirga_home / "config" / "feeds.toml").write_text(
        feeds_toml([(fid, f"https://{fid}.example/rss", lang) for fid, lang in WIRES.items()])
    )
    code, _out, err = run("db", "upgrade")
    assert code == 0, err
    return jirga_home


def rows(home: Path, sql: str = "SELECT * FROM articles ORDER BY id") -> list[dict[str, Any]]:
    with closing(sqlite3.connect(home / "data" / "jirga.db")) as con:
        con.row_factory = sqlite3.Row
        return [dict(r) for r in con.execute(sql)]


def by_url(home: Path) -> dict[str, dict[str, Any]]:
    return {r["url"]: r for r in rows(home)}


def write_jsonl(path: Path, lines: list[object]) -> Path:
    """One line per item: dicts as JSON, strings verbatim (for broken lines)."""
    text = [x if isinstance(x, str) else json.dumps(x, ensure_ascii=False) for x in lines]
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    return path


def utc(value: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(value)
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment


GOOD_LINES: list[object] = [
    {
        "source": "wire-en",
        "url": "https://wire-en.example/1",
        "title": "TTP claims responsibility for the attack",
        "summary": "<p>The Tehrik-i-Taliban Pakistan said it carried out the attack.</p>",
        "published": "2021-08-15T10:30:00+04:30",
    },
    {
        "source": "wire-en",
        "url": "https://wire-en.example/2",
        "title": "Cricket: Pakistan win the series",
        "text": "A last-over finish in Lahore.",
        "published": "2021-08-15T12:00:00Z",
    },
    {
        "source": "wire-ur",
        "url": "https://wire-ur.example/1",
        "title": "کالعدم تحریک طالبان پاکستان سے مذاکرات",
        "text": "حکومت نے ٹی ٹی پی سے بات چیت کے لیے ایک جرگہ بنایا۔",
        "published": "2021-08-16 09:00:00+05:00",
    },
    {
        "source": "wire-ur",
        "url": "https://wire-ur.example/2",
        "title": "جامعہ کے طالبان کا امتحان",
        "text": "طالبان اور طالبات نے سالانہ امتحان دیا۔",
        "published": "2021-08-16T10:00:00Z",
    },
    {
        "source": "Pashto Outlet",
        "language": "ps",
        "url": "https://pashto.example/1",
        "title": "د پاکستان طالبان وايي",
        "text": "ټي ټي پي د خبرو په اړه يوه اعلاميه خپره کړه.",
        "published": "2021-08-17",
    },
    {
        "source": "Kabul Daily",
        "language": "fa",
        "url": "https://kabul.example/1",
        "title": "سخنگوی امارت اسلامی",
        "text": "حکومت طالبان در کابل نشستی برگزار کرد.",
        "published": "2021-08-18T06:15:00+04:30",
    },
    {
        "source": "Kabul Daily",
        "language": "fa",
        "url": "https://kabul.example/2",
        "title": "مسابقه فوتبال",
        "text": "تیم ملی امروز بازی کرد.",
        "published": "2021-08-18T07:00:00Z",
    },
]
MATCHING = {
    "https://wire-en.example/1": ("wire-en", "wire-en", "2021-08-15T06:00:00+00:00", "en"),
    "https://wire-ur.example/1": ("wire-ur", "wire-ur", "2021-08-16T04:00:00+00:00", "ur"),
    "https://pashto.example/1": ("import:Pashto Outlet", None, "2021-08-17T00:00:00+00:00", "ps"),
    "https://kabul.example/1": ("import:Kabul Daily", None, "2021-08-18T01:45:00+00:00", "fa"),
}
BAD_LINES: list[tuple[object, str]] = [
    ('{"source": "wire-en", "title": "TTP broken', "invalid JSON"),
    ({"title": "TTP with no source", "url": "https://nosource.example/1"}, "no source"),
    (
        {"source": "wire-en", "title": "TTP bad date", "published": "15/08/2021"},
        "is not an ISO 8601 date",
    ),
    ({"source": "wire-en", "title": "TTP in German", "language": "de"}, "unknown language 'de'"),
    ("[1, 2, 3]", "not a JSON object"),
]


def test_import_keeps_dates_sources_and_reports_bad_lines(home: Path, tmp_path: Path) -> None:
    lines: list[object] = []
    expected_problems: list[tuple[int, str]] = []
    bad = iter(BAD_LINES)
    # Interleave the bad lines with the good ones, so "the other lines" are on both sides.
    for good in GOOD_LINES:
        lines.append(good)
        if (pair := next(bad, None)) is not None:
            lines.append(pair[0])
            expected_problems.append((len(lines), pair[1]))
    path = write_jsonl(tmp_path / "archive.jsonl", lines)

    code, out, err = run("import", str(path))
    assert code == 0, err
    for number, reason in expected_problems:
        assert re.search(rf"{re.escape(str(path))}:{number}: .*{re.escape(reason)}", err), (
            number,
            reason,
            err,
        )
    assert "Traceback" not in err
    assert f"{len(lines)} read, {len(MATCHING)} mention a watch term, {len(MATCHING)} new" in out

    stored = by_url(home)
    assert set(stored) == set(MATCHING)
    for url, (source, feed_id, published, language) in MATCHING.items():
        row = stored[url]
        assert (row["source"], row["feed_id"], row["language"]) == (source, feed_id, language)
        assert utc(row["published_at"]) == dt.datetime.fromisoformat(published), url
        assert not row["date_estimated"], url
    assert stored["https://pashto.example/1"]["outlet"] == "Pashto Outlet"
    assert stored["https://wire-en.example/1"]["outlet"] == "Outlet wire-en"
    assert "<p>" not in stored["https://wire-en.example/1"]["text"]
    mentions = rows(
        home, "SELECT a.url, m.term FROM mentions m JOIN articles a ON a.id = m.article_id"
    )
    assert {m["url"] for m in mentions} == set(MATCHING)

    # Again: nothing new, nothing doubled; the same lines are reported again.
    code, out, err = run("import", str(path))
    assert code == 0
    assert f"0 new, {len(MATCHING)} already stored" in out
    assert len(rows(home)) == len(MATCHING)
    assert err.count("warning: ") == len(BAD_LINES)


def test_a_file_of_only_bad_lines_fails(home: Path, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "bad.jsonl", [line for line, _ in BAD_LINES])
    code, _out, err = run("import", str(path))
    assert err.count("warning: ") == len(BAD_LINES) and "Traceback" not in err
    assert rows(home) == []
    assert code == 1  # nothing in the file could be imported


LONG = (
    "Officials in Islamabad said on Monday that talks with the Tehrik-i-Taliban Pakistan would "
    "resume next week in Kabul after a pause of several months, with tribal elders from the "
    "border districts acting as mediators between the two sides"
)


def test_near_copy_across_two_outlets_is_linked_to_the_earlier(home: Path, tmp_path: Path) -> None:
    first = write_jsonl(
        tmp_path / "a.jsonl",
        [
            {
                "source": "Outlet A",
                "url": "https://a.example/talks",
                "title": "Talks with TTP to resume",
                "text": LONG,
                "published": "2021-08-20T08:00:00Z",
            }
        ],
    )
    second = write_jsonl(
        tmp_path / "b.jsonl",
        [
            {
                "source": "Outlet B",
                "url": "https://b.example/news/99",
                "title": "Talks with TTP to resume",
                "text": LONG.replace("on Monday", "on Monday evening"),
                "published": "2021-08-20T11:00:00Z",
            }
        ],
    )
    assert run("import", str(first))[0] == 0
    code, out, _ = run("import", str(second))
    assert code == 0 and "1 near-copies linked" in out
    a, b = rows(home)
    assert (a["source"], b["source"]) == ("import:Outlet A", "import:Outlet B")
    assert a["duplicate_of"] is None
    assert b["duplicate_of"] == a["id"] and b["duplicate_similarity"] >= 0.7


def test_near_copy_in_the_same_batch_is_linked_too(home: Path, tmp_path: Path) -> None:
    # Both lines reach storage in one transaction, before either one's band keys are stored.
    line = {"source": "Outlet A", "title": "Talks with TTP to resume"}
    path = write_jsonl(
        tmp_path / "both.jsonl",
        [
            {**line, "url": "https://a.example/1", "text": LONG, "published": "2021-08-20T08:00Z"},
            {
                **line,
                "url": "https://a.example/2",
                "text": LONG.replace("on Monday", "on Monday evening"),
                "published": "2021-08-20T09:00Z",
            },
        ],
    )
    code, out, _ = run("import", str(path))
    assert code == 0 and "1 near-copies linked" in out
    a, b = sorted(rows(home), key=lambda r: r["url"])
    assert a["duplicate_of"] is None and b["duplicate_of"] == a["id"]


def test_saved_feed_file_with_source(home: Path, tmp_path: Path) -> None:
    when = dt.datetime(2021, 8, 15, 6, 30, tzinfo=dt.UTC)
    items = [
        Item(
            "Taliban enter Kabul",
            "The Taliban entered Kabul on Sunday.",
            "https://saved.example/1",
            guid="saved-1",
            published=when,
        ),
        Item("Weather", "Rain in Lahore.", "https://saved.example/2", guid="saved-2"),
        Item(
            "Khalilzad in Doha",
            "Zalmay Khalilzad met negotiators in Doha.",
            "https://saved.example/3",
            guid="saved-3",
            published=when - dt.timedelta(days=1),
        ),
    ]
    saved = tmp_path / "kabul-2021.xml"
    saved.write_bytes(rss(items, title="A saved feed"))

    code, out, err = run("import", str(saved), "--source", "wire-en")
    assert code == 0, err
    assert "3 read, 2 mention a watch term, 2 new" in out
    stored = by_url(home)
    assert set(stored) == {"https://saved.example/1", "https://saved.example/3"}
    for row in stored.values():
        assert (row["source"], row["feed_id"], row["outlet"]) == (
            "wire-en",
            "wire-en",
            "Outlet wire-en",
        )
    assert stored["https://saved.example/1"]["entry_key"] == "saved-1"
    assert utc(stored["https://saved.example/1"]["published_at"]) == when
    assert utc(stored["https://saved.example/3"]["published_at"]) == when - dt.timedelta(days=1)

    code, out, _ = run("import", str(saved), "--source", "wire-en")
    assert code == 0 and "0 new, 2 already stored" in out


def saved_feed(path: Path, title: str) -> Path:
    item = Item("Taliban enter Kabul", "The Taliban entered Kabul.", "https://saved.example/9")
    path.write_bytes(rss([item], title=title))
    return path


def test_saved_feed_file_without_source(home: Path, tmp_path: Path) -> None:
    # No --source: the file name is the source, and the document's title names the outlet.
    code, _out, err = run("import", str(saved_feed(tmp_path / "archive-2021.xml", "Old Wire")))
    assert code == 0, err
    (row,) = rows(home)
    assert (row["source"], row["feed_id"], row["outlet"]) == (
        "import:archive-2021",
        None,
        "Old Wire",
    )


def test_saved_feed_file_named_by_source_keeps_that_outlet(home: Path, tmp_path: Path) -> None:
    path = saved_feed(tmp_path / "x.xml", "Old Wire")
    code, _out, err = run("import", str(path), "--source", "Archive Outlet")
    assert code == 0, err
    (row,) = rows(home)
    assert row["source"] == "import:Archive Outlet"
    assert row["outlet"] == "Archive Outlet"


# --- the shared corpus: real BBC and CNN entries of August 2021 --------------------------------

# The README's own watch-term patterns, to count what a sensible import should find.
README_PATTERNS = [
    re.compile(r"\bTTP\b"),
    re.compile(r"Teh?r[ei]+k[-\s]*([ie][-\s]*)?Tal[ie]ban"),
    re.compile(r"Tal[ie]ban"),
    re.compile(r"Khalilzad"),
]
OUTLETS = {"bbc-news-en": "BBC News", "cnn-edition-en": "CNN International"}


def corpus_to_jsonl(folder: Path, target: Path) -> list[dict[str, Any]]:
    """The collection's daily JSON arrays as one JSON Lines file of jirga's import format."""
    records = []
    for path in sorted(folder.glob("*.json")):
        outlet = OUTLETS[path.stem.split("_", 1)[1]]
        for entry in json.loads(path.read_text(encoding="utf-8")):
            records.append(
                {
                    "source": outlet,
                    "url": entry["link"],
                    "title": entry["title"],
                    "summary": entry["description"],
                    "published": entry["date_published"],
                    "language": "en",
                }
            )
    write_jsonl(target, list(records))
    return records


@pytest.mark.slow
def test_corpus_import_stores_a_sensible_number(
    home: Path, tmp_path: Path, shared_dir: Path
) -> None:
    folder = shared_dir / "corpus" / "articles" / "rumca-js-2021-08"
    records = corpus_to_jsonl(folder, tmp_path / "rumca.jsonl")
    assert len(records) == 1053 + 1174  # the README's record counts
    hits = [
        r for r in records if any(p.search(f"{r['title']} {r['summary']}") for p in README_PATTERNS)
    ]
    assert len(hits) == 98 + 81  # the README's watch-term counts
    # The feeds repeat a story on later days with other tracking parameters: one article.
    distinct = {canonical_url(r["url"]) for r in hits}

    code, out, err = run("import", str(tmp_path / "rumca.jsonl"))
    assert code == 0, err
    matched = int(re.search(r"(\d+) mention a watch term", out).group(1))  # type: ignore[union-attr]
    assert abs(matched - len(hits)) <= 0.1 * len(hits), out
    stored = rows(home)
    canonical = {r["canonical_url"] for r in stored}
    assert len(stored) == len(canonical)
    # What jirga's matcher adds or drops against the README's looser patterns stays small.
    assert len(canonical & distinct) >= 0.9 * len(distinct), (len(canonical), len(distinct))
    assert len(canonical - distinct) <= 0.1 * len(distinct)
    assert {r["source"] for r in stored} == {"import:BBC News", "import:CNN International"}
    for row in stored:
        published = utc(row["published_at"])
        assert (
            dt.datetime(2021, 8, 1, tzinfo=dt.UTC)
            <= published
            < dt.datetime(2021, 9, 2, tzinfo=dt.UTC)
        )
        assert not row["date_estimated"]
    # Idempotent on real data too.
    code, out, _ = run("import", str(tmp_path / "rumca.jsonl"))
    assert code == 0 and " 0 new," in out
    assert len(rows(home)) == len(stored)
