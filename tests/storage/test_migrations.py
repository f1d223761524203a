"""Migrations: empty → head → base → head on both databases, and upgrade twice is a no-op."""

from __future__ import annotations

import sqlalchemy as sa

from storage import migrate
from storage.facade import Storage
from storage.models import Base
from storage.search import INDEX_TABLES, VIEWS

TABLES = set(Base.metadata.tables)


def _tables(store: Storage) -> set[str]:
    """The model tables in the database (the search index is checked on its own)."""
    found = set(sa.inspect(store.engine).get_table_names()) - {"alembic_version"}
    return found - INDEX_TABLES[store.dialect]


def _search_objects(store: Storage) -> tuple[set[str], set[str]]:
    """The search index's tables and the documented views in the database."""
    inspector = sa.inspect(store.engine)
    tables = set(inspector.get_table_names()) & INDEX_TABLES[store.dialect]
    return tables, set(inspector.get_view_names()) & set(VIEWS)


def test_empty_head_base_head(db_url: str) -> None:
    store = Storage(db_url)
    try:
        assert store.current_revision() is None
        assert _tables(store) == set()
        store.upgrade()
        assert store.current_revision() == migrate.head_revision()
        assert _tables(store) == TABLES
        assert _search_objects(store) == (INDEX_TABLES[store.dialect], set(VIEWS))
        store.downgrade("base")
        assert store.current_revision() is None
        assert _tables(store) == set()
        assert _search_objects(store) == (set(), set())
        store.upgrade()
        assert _tables(store) == TABLES
    finally:
        store.close()


def test_upgrade_twice_is_a_noop(db_url: str) -> None:
    store = Storage(db_url)
    try:
        store.upgrade()
        before = {t: sa.inspect(store.engine).get_columns(t) for t in TABLES}
        store.upgrade()
        after = {t: sa.inspect(store.engine).get_columns(t) for t in TABLES}
        assert store.current_revision() == migrate.head_revision()
        assert [c["name"] for t in sorted(TABLES) for c in before[t]] == [
            c["name"] for t in sorted(TABLES) for c in after[t]
        ]
    finally:
        store.close()


def test_migrated_schema_matches_the_models(db_url: str) -> None:
    """The revisions and the models describe the same schema (no missing migration)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    store = Storage(db_url)
    try:
        store.upgrade()
        with store.engine.connect() as conn:
            # The search index is no model (FTS5 and tsvector tables); views are not compared.
            index = INDEX_TABLES[store.dialect]
            ctx = MigrationContext.configure(
                conn,
                opts={
                    "compare_type": True,
                    "include_name": lambda name, kind, _parent: (
                        not (kind == "table" and name in index)
                    ),
                },
            )
            diff = compare_metadata(ctx, Base.metadata)
        assert diff == []
    finally:
        store.close()
