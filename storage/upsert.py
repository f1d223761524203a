"""Dialect-specific idempotent inserts behind one function."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase


def insert_ignore(conn: Connection | str, model: type[DeclarativeBase]) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` for the connection's dialect.

    Duplicates are made impossible by unique constraints; this makes hitting one a no-op instead
    of an error, so a rerun of any write is idempotent. ``conn`` may also be a dialect name.
    """
    dialect = conn if isinstance(conn, str) else conn.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(model).on_conflict_do_nothing()
    return sqlite.insert(model).on_conflict_do_nothing()
