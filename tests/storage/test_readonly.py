"""``jirga sql``'s storage side: one statement, read-only at the driver, cancelled on time.

Each refusal is checked twice where it can be: by the first-keyword check, and with a statement
that passes that check (a write inside WITH, a writing pragma) so the database itself refuses.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from jirga.errors import JirgaError, StorageError
from jirga.query import QueryError
from storage.facade import Storage
from storage.readonly import first_keyword
from tests.storage.corpus import DOCS, store_docs

WRITES = [
    "INSERT INTO articles (id) VALUES (99)",
    "UPDATE articles SET title = 'x'",
    "DELETE FROM articles",
    "DROP TABLE articles",
    "CREATE TABLE evil (x INTEGER)",
    "ALTER TABLE articles ADD COLUMN evil INTEGER",
    "ATTACH DATABASE 'evil.db' AS evil",
    "PRAGMA user_version = 7",
    "PRAGMA journal_mode = DELETE",
    "VACUUM",
    "  /* comment */ -- another\n ( DELETE FROM articles )",
    "SELECT 1; DELETE FROM articles",
    "SELECT 1; DROP TABLE articles",
]
# Statements that start like a read, so only the database stands in their way.
SQLITE_DISGUISED = [
    "WITH x AS (SELECT 1) DELETE FROM articles",
    "WITH x AS (SELECT 1) INSERT INTO locks (name, holder, acquired_at, expires_at) "
    "SELECT 'a', 'b', '2026-01-01', '2026-01-02' FROM x",
    "PRAGMA writable_schema = 1",
    "SELECT * FROM pragma_user_version; PRAGMA user_version = 3",
]
POSTGRES_DISGUISED = [
    "WITH d AS (DELETE FROM articles RETURNING id) SELECT count(*) FROM d",
    "SELECT nextval(pg_get_serial_sequence('articles', 'id'))",
    "SELECT set_config('default_transaction_read_only', 'off', false); DELETE FROM articles",
    "EXPLAIN ANALYZE DELETE FROM articles",
    "SELECT 1; COMMIT; DELETE FROM articles",
]


def _state(store: Storage) -> tuple[list[str], int, int]:
    inspector = sa.inspect(store.engine)
    with store.engine.connect() as conn:
        articles = conn.execute(sa.text("SELECT count(*) FROM articles")).scalar_one()
        version = (
            conn.exec_driver_sql("PRAGMA user_version").scalar_one()
            if store.dialect == "sqlite"
            else 0
        )
    return sorted(inspector.get_table_names()), int(articles), int(version)


@pytest.fixture
def stored(storage: Storage) -> Storage:
    store_docs(storage)
    return storage


def test_a_read_returns_columns_and_rows(stored: Storage) -> None:
    result = stored.run_readonly_sql(
        "SELECT id, title FROM articles ORDER BY id", limit=100, timeout=10
    )
    assert result.columns == ("id", "title")
    assert [r[1] for r in result.rows] == [d.title for d in DOCS]
    assert result.truncated is False
    limited = stored.run_readonly_sql("SELECT id FROM articles", limit=2, timeout=10)
    assert len(limited.rows) == 2 and limited.truncated is True
    # A colon or a percent sign in the statement is SQL, not a parameter.
    odd = stored.run_readonly_sql(
        "SELECT count(*) AS n FROM articles WHERE title LIKE '%:%' OR title LIKE '%TTP%'",
        limit=1,
        timeout=10,
    )
    assert odd.rows == ((1,),)


@pytest.mark.parametrize("statement", WRITES)
def test_writes_are_refused(stored: Storage, statement: str) -> None:
    before = _state(stored)
    with pytest.raises(JirgaError):
        stored.run_readonly_sql(statement, limit=10, timeout=10)
    assert _state(stored) == before


def test_writes_that_look_like_reads_are_refused_by_the_database(stored: Storage) -> None:
    before = _state(stored)
    disguised = SQLITE_DISGUISED if stored.dialect == "sqlite" else POSTGRES_DISGUISED
    for statement in disguised:
        with pytest.raises(StorageError):
            stored.run_readonly_sql(statement, limit=10, timeout=10)
    assert _state(stored) == before


def test_a_long_statement_is_cancelled(stored: Storage) -> None:
    if stored.dialect == "sqlite":
        slow = (
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
        )
    else:
        slow = "SELECT pg_sleep(30)"
    with pytest.raises(StorageError, match="cancelled"):
        stored.run_readonly_sql(slow, limit=1, timeout=0.2)


def test_the_read_check_names_what_it_refuses() -> None:
    assert first_keyword("  /* x */ -- y\n((select 1))") == "select"
    assert first_keyword("") == ""
    from storage.readonly import check_statement

    with pytest.raises(QueryError, match="DELETE is refused"):
        check_statement("delete from articles", "sqlite")
    with pytest.raises(QueryError, match="no SQL statement"):
        check_statement("   ", "postgresql")
    check_statement("pragma table_info(articles)", "sqlite")
    with pytest.raises(QueryError, match="PRAGMA is refused"):
        check_statement("pragma table_info(articles)", "postgresql")


def test_reading_pragmas_still_work(sqlite_url: str) -> None:
    store = Storage(sqlite_url)
    try:
        store.upgrade()
        result = store.run_readonly_sql("PRAGMA table_info(articles)", limit=100, timeout=10)
        assert "title" in [r[1] for r in result.rows]
        assert store.run_readonly_sql("PRAGMA user_version", limit=1, timeout=10).rows == ((0,),)
    finally:
        store.close()


def test_a_missing_sqlite_file_is_not_created(tmp_path: object) -> None:
    from pathlib import Path

    target = Path(str(tmp_path)) / "absent.db"
    store = Storage(f"sqlite:///{target}")
    try:
        with pytest.raises(StorageError, match="no SQLite database"):
            store.run_readonly_sql("SELECT 1", limit=1, timeout=1)
    finally:
        store.close()
    assert not target.exists()
