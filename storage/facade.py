"""The storage facade: questions and commands in domain words.

The rest of jirga never holds a Session or a Connection; it calls these methods with and gets back
domain values. Every driver error leaves here as a :class:`jirga.errors.StorageError`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, select, update
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

from jirga.dedup import DedupConfig
from jirga.errors import StorageError
from jirga.types import (
    Feed,
    FeedHealth,
    FeedState,
    MatchedArticle,
    Membership,
    NarrativeDetail,
    NarrativeFacts,
    NarrativeMerge,
    NarrativeSummary,
    StoredArticle,
)
from storage import migrate, narrative_queries, narratives, polls
from storage.db import make_engine, normalise_url
from storage.models import ArticleRow, FeedRow, LockRow
from storage.upsert import insert_ignore


def is_transient(exc: SQLAlchemyError) -> bool:
    """Whether a second try of the same work may succeed."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, OperationalError):
        text = str(exc.orig).lower()
        return any(
            word in text
            for word in ("locked", "busy", "could not serialize", "deadlock", "connection")
        )
    return False


def _first_line(exc: SQLAlchemyError) -> str:
    """The driver's message without SQLAlchemy's multi-line statement dump."""
    orig = getattr(exc, "orig", None)
    text = (str(orig) if orig is not None else str(exc)).strip()
    return text.splitlines()[0] if text else type(exc).__name__


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
            raise StorageError(
                f"database error on {self.describe()}: {_first_line(exc)}",
                transient=is_transient(exc),
            ) from exc

    # --- feeds ----------------------------------------------------------------------------
    def sync_feeds(self, feeds: Sequence[Feed], now: dt.datetime) -> None:
        """Make the feeds table hold the configured feeds, keeping each one's fetch state.

        A feed whose URL changed in the config starts over with no validators; a feed no longer
        in the config is disabled, not deleted, so its articles keep their source.
        """
        with self._tx() as conn:
            existing = {row.id: row for row in conn.execute(select(FeedRow.id, FeedRow.config_url))}
            for feed in feeds:
                values: dict[str, object] = {
                    "name": feed.name,
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
                            url=feed.url,
                            config_url=feed.url,
                            created_at=now,
                            consecutive_errors=0,
                            consecutive_gone=0,
                            gone=False,
                            **values,
                        )
                    )
                    continue
                if existing[feed.id].config_url != feed.url:
                    values.update(
                        url=feed.url,
                        config_url=feed.url,
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
                url=r["config_url"],
                country=r["country"],
                language=r["language"],
                tags=tuple(r["tags"] or ()),
                enabled=r["enabled"],
            )
            for r in rows
        ]

    def feed_states(self, *, enabled_only: bool = True) -> list[FeedState]:
        """The fetch state of every (enabled) feed, ordered by id."""
        query = select(FeedRow).order_by(FeedRow.id)
        if enabled_only:
            query = query.where(FeedRow.enabled.is_(True))
        with self._tx(write=False) as conn:
            rows = conn.execute(query).mappings().all()
        return [
            FeedState(
                feed_id=r["id"],
                url=r["url"],
                etag=r["etag"],
                last_modified=r["last_modified"],
                body_hash=r["body_hash"],
                consecutive_errors=r["consecutive_errors"],
                consecutive_gone=r["consecutive_gone"],
                next_attempt_at=r["next_attempt_at"],
                gone=r["gone"],
                redirect_url=r["redirect_url"],
                last_success_at=r["last_success_at"],
                last_error=r["last_error"],
            )
            for r in rows
        ]

    def record_fetch(self, state: FeedState, now: dt.datetime, status: int | None) -> None:
        """Save a feed's state after a fetch that brought no entries to store."""
        with self._tx() as conn:
            polls.write_state(conn, state, now, status)

    def store_feed(
        self,
        state: FeedState,
        items: Sequence[MatchedArticle],
        now: dt.datetime,
        status: int | None,
        dedup: DedupConfig,
    ) -> polls.StoreReport:
        """Store a feed's matching articles, then its new state, in one transaction."""
        with self._tx() as conn:
            report = polls.store_articles(conn, items, dedup)
            polls.write_state(conn, state, now, status)
        return report

    def store_imported(
        self, items: Sequence[MatchedArticle], dedup: DedupConfig
    ) -> polls.StoreReport:
        """Store imported articles (archives, backfills) in one transaction."""
        with self._tx() as conn:
            return polls.store_articles(conn, items, dedup)

    # --- leases ---------------------------------------------------------------------------
    def acquire_lock(self, name: str, holder: str, now: dt.datetime, ttl: dt.timedelta) -> bool:
        """Take the named lease unless someone else holds an unexpired one."""
        with self._tx() as conn:
            conn.execute(delete(LockRow).where(LockRow.name == name, LockRow.expires_at <= now))
            inserted = conn.execute(
                insert_ignore(conn, LockRow)
                .values(name=name, holder=holder, acquired_at=now, expires_at=now + ttl)
                .returning(LockRow.name)
            ).scalar_one_or_none()
            if inserted is not None:
                return True
            current = conn.execute(
                select(LockRow.holder).where(LockRow.name == name)
            ).scalar_one_or_none()
            return current == holder

    def release_lock(self, name: str, holder: str) -> None:
        """Give the lease back (only its holder can)."""
        with self._tx() as conn:
            conn.execute(delete(LockRow).where(LockRow.name == name, LockRow.holder == holder))

    def lock_holder(self, name: str) -> str | None:
        """Who holds the named lease, if anyone."""
        with self._tx(write=False) as conn:
            return conn.execute(
                select(LockRow.holder).where(LockRow.name == name)
            ).scalar_one_or_none()

    def feed_health(self) -> list[FeedHealth]:
        """Every known feed's health, with its number of stored articles."""
        counts = (
            select(ArticleRow.feed_id, func.count().label("n"))
            .group_by(ArticleRow.feed_id)
            .subquery()
        )
        query = (
            select(*FeedRow.__table__.c, func.coalesce(counts.c.n, 0).label("articles"))
            .outerjoin(counts, counts.c.feed_id == FeedRow.id)
            .order_by(FeedRow.id)
        )
        with self._tx(write=False) as conn:
            rows = conn.execute(query).mappings().all()
        return [
            FeedHealth(
                feed_id=r["id"],
                name=r["name"],
                enabled=r["enabled"],
                url=r["url"],
                last_fetched_at=r["last_fetched_at"],
                last_success_at=r["last_success_at"],
                last_status=r["last_status"],
                consecutive_errors=r["consecutive_errors"],
                last_error=r["last_error"],
                next_attempt_at=r["next_attempt_at"],
                gone=r["gone"],
                redirect_url=r["redirect_url"],
                articles=int(r["articles"]),
            )
            for r in rows
        ]

    # --- narratives -----------------------------------------------------------------------
    def unclustered_articles(
        self, since: dt.datetime | None = None, until: dt.datetime | None = None
    ) -> list[StoredArticle]:
        """Articles that belong to no narrative yet, oldest first."""
        with self._tx(write=False) as conn:
            return narratives.unclustered(conn, since, until)

    def narrative_members(self, narrative_ids: Sequence[int]) -> dict[int, list[StoredArticle]]:
        """The member articles of each narrative, oldest first."""
        with self._tx(write=False) as conn:
            return narratives.members(conn, narrative_ids)

    def narratives_of(self, article_ids: Sequence[int]) -> dict[int, int]:
        """Article id → narrative id for those articles that have one."""
        with self._tx(write=False) as conn:
            return narratives.narratives_of(conn, article_ids)

    def live_narratives(self, seen_since: dt.datetime) -> list[int]:
        """Narratives not merged away and seen since the given time."""
        with self._tx(write=False) as conn:
            return narratives.live_narratives(conn, seen_since)

    def narrative_daily_counts(self, narrative_ids: Sequence[int]) -> dict[int, dict[dt.date, int]]:
        """Stored daily article counts of the narratives."""
        with self._tx(write=False) as conn:
            return narratives.daily_counts(conn, narrative_ids)

    def next_narrative_id(self) -> int:
        """The id the next new narrative gets (ids are never reused)."""
        with self._tx(write=False) as conn:
            return narratives.next_narrative_id(conn)

    def load_cluster_state(self) -> tuple[str, bytes] | None:
        """The clusterer's saved state and the config it was built with, if any."""
        with self._tx(write=False) as conn:
            return narratives.load_state(conn)

    def save_narratives(
        self,
        *,
        memberships: Sequence[Membership],
        merges: Sequence[NarrativeMerge],
        facts: Sequence[NarrativeFacts],
        states: Mapping[int, str],
        tracked_scores: Sequence[tuple[int, str, float]],
        tracked_days: Mapping[tuple[str, dt.date], int],
        cluster_config: str,
        cluster_state: bytes,
        now: dt.datetime,
        reset: bool = False,
    ) -> None:
        """Store one narratives run in one transaction: a crash leaves the previous run intact
        and its articles unassigned, so the rerun repeats exactly this work."""
        with self._tx() as conn:
            if reset:
                narratives.reset(conn)
            narratives.write_memberships(conn, memberships, facts, merges, now)
            narratives.write_merges(conn, merges)
            narratives.write_facts(conn, facts, now)
            narratives.write_states(conn, states, now)
            narratives.write_tracked(conn, tracked_scores, tracked_days)
            narratives.save_state(conn, cluster_config, cluster_state, now)

    def list_narratives(
        self,
        *,
        since: dt.datetime | None = None,
        states: Sequence[str] = (),
        term: str | None = None,
        language: str | None = None,
        outlet: str | None = None,
        include_merged: bool = False,
        limit: int = 50,
    ) -> list[NarrativeSummary]:
        """Narratives, most recently seen first, filtered."""
        with self._tx(write=False) as conn:
            return narrative_queries.list_narratives(
                conn,
                since=since,
                states=states,
                term=term,
                language=language,
                outlet=outlet,
                include_merged=include_merged,
                limit=limit,
            )

    def narrative(self, narrative_id: int) -> NarrativeDetail | None:
        """One narrative in full, or None."""
        with self._tx(write=False) as conn:
            return narrative_queries.narrative_detail(conn, narrative_id)

    def all_articles(
        self, since: dt.datetime | None = None, until: dt.datetime | None = None
    ) -> list[StoredArticle]:
        """Every article published in ``[since, until)``, oldest first (for a rebuild)."""
        with self._tx(write=False) as conn:
            return narratives.articles_between(conn, since, until)
