"""The storage facade: questions and commands in domain words.

The rest of jirga never holds a Session or a Connection; it calls these methods with and gets back
domain values. Every driver error leaves here as a :class:`jirga.errors.StorageError`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.exc import SQLAlchemyError

from jirga.errors import StorageError
from jirga.types import Feed
from storage import migrate
from storage.db import make_engine, normalise_url
from storage.models import FeedRow
from storage.upsert import insert_ignore


class Storage:
    """jirga's database, opened from a URL."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = normalise_url(url)
        self.engine: Engine = make_engine(self.url, **engine_kwargs)

    # --- lifecycle ------------------------------------------------------------------------
    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Storage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def describe(self) -> str:
        """The URL with any password masked, for messages and logs."""
        return self.url.render_as_string(hide_password=True)

    # --- schema ---------------------------------------------------------------------------
    def upgrade(self, revision: str = "head") -> None:
        """Apply migrations up to ``revision``."""
        migrate.upgrade(self.engine, revision)

    def downgrade(self, revision: str = "base") -> None:
        """Revert migrations down to ``revision``."""
        migrate.downgrade(self.engine, revision)

    def current_revision(self) -> str | None:
        """The schema revision of the database (None when empty)."""
        return migrate.current_revision(self.engine)

    def require_current_schema(self) -> None:
        """Refuse to work on a database that is not migrated to this version's head."""
        current, head = self.current_revision(), migrate.head_revision()
        if current != head:
            raise StorageError(
                f"database {self.describe()} is at schema {current or 'empty'}, "
                f"this jirga needs {head}: run `jirga db upgrade`"
            )

    # --- transactions ---------------------------------------------------------------------
    @contextmanager
    def _tx(self, write: bool = True) -> Iterator[Connection]:
        """One transaction; driver errors become StorageError.

        On SQLite a writing transaction starts with ``BEGIN IMMEDIATE``: it takes the write lock
        up front and waits for it (busy timeout), instead of failing when a read would have to
        be upgraded while another writer holds the lock.
        """
        try:
            with self.engine.connect() as conn:
                conn.info["immediate"] = write
                with conn.begin():
                    yield conn
        except SQLAlchemyError as exc:
            raise StorageError(f"database error on {self.describe()}: {exc}") from exc

    # --- feeds ----------------------------------------------------------------------------
    def sync_feeds(self, feeds: Sequence[Feed], now: dt.datetime) -> None:
        """Make the feeds table hold the configured feeds, keeping each one's fetch state.

        A feed whose URL changed in the config starts over with no validators; a feed no longer
        in the config is disabled, not deleted, so its articles keep their source.
        """
        with self._tx() as conn:
            existing = {row.id: row for row in conn.execute(select(FeedRow.id, FeedRow.url))}
            for feed in feeds:
                values = {
                    "name": feed.name,
                    "url": feed.url,
                    "country": feed.country,
                    "language": feed.language,
                    "tags": list(feed.tags),
                    "enabled": feed.enabled,
                    "updated_at": now,
                }
                if feed.id not in existing:
                    conn.execute(
                        insert_ignore(conn, FeedRow).values(
                            id=feed.id,
                            created_at=now,
                            consecutive_errors=0,
                            consecutive_gone=0,
                            gone=False,
                            **values,
                        )
                    )
                    continue
                if existing[feed.id].url != feed.url:
                    values.update(
                        etag=None,
                        last_modified=None,
                        body_hash=None,
                        redirect_url=None,
                        gone=False,
                        consecutive_gone=0,
                        consecutive_errors=0,
                        next_attempt_at=None,
                    )
                conn.execute(update(FeedRow).where(FeedRow.id == feed.id).values(**values))
            configured = {f.id for f in feeds}
            stale = [fid for fid in existing if fid not in configured]
            if stale:
                conn.execute(
                    update(FeedRow)
                    .where(FeedRow.id.in_(stale))
                    .values(enabled=False, updated_at=now)
                )

    def feeds(self) -> list[Feed]:
        """Every feed the database knows, configured or not, ordered by id."""
        with self._tx(write=False) as conn:
            rows = conn.execute(select(FeedRow).order_by(FeedRow.id)).mappings().all()
        return [
            Feed(
                id=r["id"],
                name=r["name"],
                url=r["url"],
                country=r["country"],
                language=r["language"],
                tags=tuple(r["tags"] or ()),
                enabled=r["enabled"],
            )
            for r in rows
        ]
