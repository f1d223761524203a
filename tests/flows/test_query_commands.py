"""``jirga search``, ``articles``, ``stats``, ``sql`` and ``db reindex`` as a user runs them, on
both databases: every format, stable JSON fields, escaped terminal output, clean errors, and
hostile strings in every option and filter leaving the schema and every row count as they were.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from flows.cli import cli
from flows.commands_search import ARTICLE_FIELDS, HIT_FIELDS, STATS_FIELDS
from storage.facade import Storage
from tests.storage.corpus import DOCS, T0, Doc, group_into_narratives, store_docs

NASTY_TITLE = "evil \x1b[2J\x1b]0;pwned\x07 \x9b31m \u202ereversed\u202c jirga"
RAW_CONTROLS = ("\x1b", "\x07", "\x9b", "\u202e", "\u202c")
INJECTIONS = [
    "'; DROP TABLE articles; --",
    '") OR 1=1 --',
    "' OR '1'='1",
    "NEAR(",
    "NEAR(a b, 2)",
    "*",
    "^",
    "articles",
    "title",
    "rowid",
    "id DESC; DELETE FROM articles",
    "1; DELETE FROM mentions",
    "\\",
    "a\x00b",
    "x" * 5000,
]


@pytest.fixture
def db(jirga_home: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Storage]:
    """The corpus in a migrated database that the CLI is pointed at."""
    monkeypatch.setenv("JIRGA_DATABASE_URL", db_url)
    store = Storage(db_url)
    store.upgrade()
    ids = store_docs(store)
    store_docs(store, [Doc("nasty", NASTY_TITLE, "Body about the jirga.", at=T0)])
    group_into_narratives(store, {4: [ids["talks"], ids["urdu"]]})
    try:
        yield store
    finally:
        store.close()


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def ok(*args: str) -> str:
    code, out, err = run(*args)
    assert code == 0, err
    return out


def test_search_in_every_format(db: Storage) -> None:
    hits = json.loads(ok("search", '"peace talks"', "--format", "json"))
    assert [h["title"] for h in hits] == [DOCS[0].title]
    assert list(hits[0]) == HIT_FIELDS
    assert hits[0]["terms"] == ["ttp"] and hits[0]["narrative_id"] == 4
    assert "**peace talks**" in hits[0]["snippet"]
    lines = ok("search", "peace", "talks", "--format", "ndjson").splitlines()
    assert {json.loads(line)["outlet"] for line in lines} == {"Dawn", "Express Tribune"}
    rows = list(csv.DictReader(io.StringIO(ok("search", "مذاكرات", "--format", "csv"))))
    assert [r["outlet"] for r in rows] == ["Jang"] and list(rows[0]) == HIT_FIELDS
    table = ok("search", "خليلزاد")
    assert "Tolo" in table and "**خلیل‌زاد**" in table


def test_search_sorts_limits_and_filters(db: Storage) -> None:
    newest = json.loads(ok("search", "talks", "--sort", "newest", "--format", "json"))
    dates = [h["published_at"] for h in newest]
    assert dates == sorted(dates, reverse=True) and len(dates) == 3
    assert len(json.loads(ok("search", "talks", "--limit", "1", "--format", "json"))) == 1
    only = json.loads(ok("search", "lang:ur,ps narrative:4", "--format", "json"))
    assert [h["language"] for h in only] == ["ur"]


def test_articles_lists_by_filters(db: Storage) -> None:
    rows = json.loads(ok("articles", "--term", "khalilzad", "--sort", "oldest", "--format", "json"))
    assert [r["outlet"] for r in rows] == ["Express Tribune", "Tolo"]
    assert list(rows[0]) == ARTICLE_FIELDS
    rows = json.loads(ok("articles", "--language", "ur", "--language", "ps", "--format", "json"))
    assert {r["language"] for r in rows} == {"ur", "ps"}
    rows = json.loads(ok("articles", "--since", "2026-03-05", "--format", "json"))
    assert [r["outlet"] for r in rows] == ["Tolo"]
    rows = json.loads(ok("articles", "--until", "2026-03-01", "--format", "json"))
    assert {r["title"] for r in rows} == {DOCS[0].title, NASTY_TITLE}
    assert ok("articles", "--narrative", "4", "--format", "csv").count("\n") == 3


def test_stats_counts_local_days(db: Storage) -> None:
    rows = json.loads(
        ok(
            "stats",
            "--by",
            "outlet",
            "--since",
            "2026-02-01",
            "--until",
            "2026-03-31",
            "--format",
            "json",
        )
    )
    assert list(rows[0]) == STATS_FIELDS
    assert {(r["day"], r["key"], r["articles"]) for r in rows} >= {
        ("2026-03-01", "Dawn", 2),
        ("2026-03-04", "Jang", 1),
    }
    assert all(r["by"] == "outlet" for r in rows)
    terms = json.loads(
        ok("stats", "--since", "2026-02-01", "--term", "khalilzad", "--format", "json")
    )
    assert [(r["day"], r["key"]) for r in terms] == [
        ("2026-03-03", "khalilzad"),
        ("2026-03-05", "khalilzad"),
    ]
    by_narrative = ok("stats", "--by", "narrative", "--since", "2026-02-01", "--format", "csv")
    assert "2026-03-01,narrative,4,1" in by_narrative


def test_sql_reads_views_in_every_format(db: Storage) -> None:
    statement = "SELECT article_id, outlet, terms FROM article_view ORDER BY article_id"
    rows = json.loads(ok("sql", statement, "--format", "json"))
    assert [r["outlet"] for r in rows][:2] == ["Dawn", "Dawn"]
    assert list(rows[0]) == ["article_id", "outlet", "terms"]
    code, out, err = run("sql", statement, "--limit", "2", "--format", "csv")
    assert code == 0 and out.count("\n") == 3 and "first 2 rows" in err
    same = json.loads(ok("sql", "SELECT 1 AS a, 2 AS a", "--format", "json"))
    assert same == [{"a": 1, "a_2": 2}]


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO articles (id) VALUES (999)",
        "UPDATE articles SET title = 'gone'",
        "DELETE FROM articles",
        "DROP TABLE mentions",
        "CREATE TABLE evil (x INTEGER)",
        "ATTACH DATABASE 'evil.db' AS evil",
        "PRAGMA user_version = 9",
        "PRAGMA journal_mode = DELETE",
        "SELECT 1; DELETE FROM articles",
        "WITH x AS (SELECT 1) DELETE FROM articles",
        "WITH d AS (DELETE FROM articles RETURNING id) SELECT * FROM d",
    ],
)
def test_sql_refuses_writes(db: Storage, statement: str) -> None:
    before = snapshot(db)
    code, out, err = run("sql", statement)
    assert code == 1, out
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert snapshot(db) == before


def test_terminal_output_escapes_controls(db: Storage) -> None:
    for args in (
        ("search", "jirga"),
        ("search", "jirga", "--format", "csv"),
        ("articles",),
        ("sql", "SELECT title FROM articles"),
    ):
        out = ok(*args)
        assert "evil" in out
        assert not any(c in out for c in RAW_CONTROLS), args
        assert "\\u001b" in out and "\\u202e" in out


def test_reindex(db: Storage) -> None:
    out = ok("db", "reindex")
    assert re.search(rf"indexed {len(DOCS) + 1} articles", out)
    assert json.loads(ok("search", "مذاكرات", "--format", "json"))[0]["outlet"] == "Jang"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("search", '"unclosed'), "unbalanced quote"),
        (("search", "langauge:ur"), 'did you mean "lang:"'),
        (("search", "since:someday"), "is not a date"),
        (("articles", "--since", "someday"), "is not a date"),
        (("stats", "--since", "2026-03-05", "--until", "2026-03-01"), "--since must come"),
        (("sql", "   "), "no SQL statement"),
    ],
)
def test_user_errors_are_one_clean_line(db: Storage, args: tuple[str, ...], message: str) -> None:
    code, _out, err = run(*args)
    assert code in (1, 2)
    assert message in err and "Traceback" not in err
    assert len([line for line in err.splitlines() if line.strip()]) <= 3


def test_unknown_term_is_a_warning(db: Storage) -> None:
    code, out, err = run("articles", "--term", "talibn", "--format", "json")
    assert code == 0 and json.loads(out) == []
    assert 'did you mean "taliban"' in err


def snapshot(store: Storage) -> tuple[list[str], list[str], dict[str, int]]:
    """Every table and view, and the row count of every table."""
    inspector = sa.inspect(store.engine)
    tables = sorted(inspector.get_table_names())
    views = sorted(inspector.get_view_names())
    with store.engine.connect() as conn:
        counts = {
            t: int(conn.execute(sa.text(f'SELECT count(*) FROM "{t}"')).scalar_one())
            for t in tables
        }
    return tables, views, counts


def _hostile_invocations(value: str) -> list[tuple[str, ...]]:
    quoted = '"' + value.replace('"', "") + '"'
    calls: list[tuple[str, ...]] = [
        ("search", value),
        ("search", f"talks {value}"),
        ("search", f"talks -{value}"),
        ("search", f"talks OR {value}"),
        ("search", quoted),
        ("search", "talks", "--sort", value),
        ("search", "talks", "--limit", value),
        ("search", "talks", "--format", value),
        ("articles", "--sort", value),
        ("articles", "--limit", value),
        ("stats", "--by", value),
        ("stats", "--limit", value),
        ("narratives", "--since", value),
        ("narratives", "--term", value),
        ("narratives", "--language", value),
        ("narratives", "--outlet", value),
        ("narratives", "--state", value),
        ("narrative", value),
        ("feeds", "status", "--format", value),
        ("sql", value),
        ("sql", f"SELECT * FROM article_view WHERE title = '{value}'"),
    ]
    for field in ("term", "outlet", "lang", "narrative", "since", "until"):
        calls += [
            ("search", f"{field}:{quoted}"),
            ("search", f"talks {field}:{value.replace(' ', '')}"),
            ("search", f"talks -{field}:{quoted}"),
        ]
    for option in ("--term", "--outlet", "--language", "--narrative", "--since", "--until"):
        calls += [("articles", option, value), ("stats", option, value)]
    return calls


def test_hostile_strings_change_nothing(db: Storage) -> None:
    before = snapshot(db)
    assert before[2]["articles"] == len(DOCS) + 1 and "article_view" in before[1]
    seen_codes: set[int] = set()
    for value in INJECTIONS:
        for args in _hostile_invocations(value):
            result = CliRunner().invoke(cli, list(args))
            assert result.exception is None or isinstance(result.exception, SystemExit), (
                args,
                result.exception,
            )
            assert "Traceback" not in result.stderr, args
            seen_codes.add(result.exit_code)
    assert seen_codes <= {0, 1, 2}
    assert {0, 1, 2} <= seen_codes  # some ran, some were refused, some were usage errors
    assert snapshot(db) == before
