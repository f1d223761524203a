"""One read-only SQL statement from the user (``jirga sql``), refused if it could write.

The guarantee comes from the database, not from reading the statement: SQLite is opened through
a ``mode=ro`` URI with ``query_only`` on, an authorizer that refuses ATTACH and pragma writes,
and no attached databases allowed; PostgreSQL runs it in a ``READ ONLY`` transaction with a
statement timeout, as a prepared statement, which the server refuses to hold more than one
statement. The check of the first keyword on top only makes the refusal of a write say so
plainly.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import time
import urllib.parse
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from jirga.errors import StorageError
from jirga.query import QueryError
from jirga.results import SqlResult

#: Statements ``jirga sql`` runs, by their first keyword.
READ_STATEMENTS = {
    "sqlite": ("select", "with", "values", "explain", "pragma"),
    "postgresql": ("select", "with", "values", "explain", "table", "show"),
}
# Pragmas that only read, even when given an argument (a table or index name).
_READ_PRAGMAS_WITH_ARGUMENT = frozenset(
    {
        "table_info",
        "table_xinfo",
        "table_list",
        "index_list",
        "index_info",
        "index_xinfo",
        "foreign_key_list",
        "foreign_key_check",
        "integrity_check",
        "quick_check",
    }
)
_SKIP = re.compile(r"(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?\*/|\()*", re.S)
_KEYWORD = re.compile(r"[A-Za-z]+")
_PROGRESS_STEPS = 10_000  # SQLite VM steps between checks of the deadline


def first_keyword(sql: str) -> str:
    """The statement's first keyword, lower-cased, after comments and opening parentheses."""
    match = _KEYWORD.match(sql, _SKIP.match(sql).end())  # type: ignore[union-attr]
    return match.group().lower() if match else ""


def check_statement(sql: str, dialect: str) -> None:
    """Refuse, with a plain reason, a statement that is not a read."""
    if not sql.strip():
        raise QueryError("no SQL statement given")
    keyword = first_keyword(sql)
    allowed = READ_STATEMENTS[dialect]
    if keyword not in allowed:
        raise QueryError(
            f"jirga sql runs read-only statements ({', '.join(k.upper() for k in allowed)}); "
            f"{(keyword or sql.strip()[:20]).upper()} is refused"
        )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _authorizer(action: int, arg1: str | None, arg2: str | None, *_: Any) -> int:
    if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH):
        return sqlite3.SQLITE_DENY
    # A pragma with a value sets it, unless it is one that takes a table or index name.
    writes = arg2 is not None and (arg1 or "").lower() not in _READ_PRAGMAS_WITH_ARGUMENT
    if action == sqlite3.SQLITE_PRAGMA and writes:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def _sqlite_refusal(exc: BaseException, timeout: float) -> str:
    text = str(exc)
    if "interrupted" in text:
        return f"statement cancelled after {timeout:g} s (JIRGA_SQL_TIMEOUT)"
    if "not authorized" in text:
        return "sql refused: it would change a setting or attach another database"
    return f"sql refused: {_first_line(exc)}"


def _sqlite_uri(database: str) -> str:
    path = Path(database).expanduser().resolve()
    if not path.is_file():
        raise StorageError(f"no SQLite database at {path}")
    return f"file:{urllib.parse.quote(str(path))}?mode=ro"


def run_sqlite(database: str, sql: str, *, limit: int, timeout: float) -> SqlResult:
    """Run one statement on a SQLite file opened read-only."""
    check_statement(sql, "sqlite")
    uri = _sqlite_uri(database)
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=timeout, check_same_thread=True)
    except sqlite3.Error as exc:
        raise StorageError(f"cannot open {database} read-only: {_first_line(exc)}") from exc
    try:
        conn.execute("PRAGMA query_only = ON")
        conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
        conn.set_authorizer(_authorizer)
        deadline = time.monotonic() + timeout
        conn.set_progress_handler(lambda: int(time.monotonic() > deadline), _PROGRESS_STEPS)
        try:
            cursor = conn.execute(sql)
            rows = cursor.fetchmany(limit + 1) if cursor.description else []
        except (sqlite3.Error, sqlite3.Warning) as exc:
            raise StorageError(_sqlite_refusal(exc, timeout)) from exc
        columns = tuple(d[0] for d in cursor.description or ())
    finally:
        conn.close()
    return SqlResult(columns, tuple(tuple(r) for r in rows[:limit]), len(rows) > limit)


def run_postgresql(engine: Engine, sql: str, *, limit: int, timeout: float) -> SqlResult:
    """Run one statement on PostgreSQL in a read-only transaction with a statement timeout."""
    import psycopg

    check_statement(sql, "postgresql")
    try:
        conn = engine.connect()
    except SQLAlchemyError as exc:
        raise StorageError(f"cannot connect: {_first_line(getattr(exc, 'orig', exc))}") from exc
    try:
        raw: Any = conn.connection.driver_connection
        try:
            with raw.cursor() as cursor:
                cursor.execute("SET TRANSACTION READ ONLY")
                cursor.execute(
                    "SELECT set_config('statement_timeout', %s, true)",
                    [str(max(1, int(timeout * 1000)))],
                )
                # Prepared, so the server refuses a string of several statements.
                cursor.execute(sql, prepare=True)
                rows = cursor.fetchmany(limit + 1) if cursor.description else []
                columns = tuple(d.name for d in cursor.description or ())
        except psycopg.errors.QueryCanceled as exc:
            raise StorageError(
                f"statement cancelled after {timeout:g} s (JIRGA_SQL_TIMEOUT)"
            ) from exc
        except psycopg.Error as exc:
            raise StorageError(f"sql refused: {_first_line(exc)}") from exc
        finally:
            with contextlib.suppress(psycopg.Error):
                raw.rollback()
    finally:
        # The session may have been changed by the statement (SET ...): never reuse it.
        conn.invalidate()
        conn.close()
    return SqlResult(columns, tuple(tuple(r) for r in rows[:limit]), len(rows) > limit)


def run(engine: Engine, url: URL, sql: str, *, limit: int, timeout: float) -> SqlResult:
    """Run one read-only statement on the database of ``engine``."""
    if engine.dialect.name == "postgresql":
        return run_postgresql(engine, sql, limit=limit, timeout=timeout)
    if not url.database or url.database == ":memory:":
        raise StorageError("jirga sql needs a SQLite database file")
    return run_sqlite(url.database, sql, limit=limit, timeout=timeout)
