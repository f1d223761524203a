"""The storage facade: questions and commands in domain words.

The rest of jirga never holds a Session or a Connection; it calls these methods with and gets back
domain values. Every driver error leaves here as a :class:`jirga.errors.StorageError`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, delete, func, select, update
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError, SQLAlchemyError

from jirga.dedup import DedupConfig
from jirga.digest_data import Delivery, DigestSource, StoredDigest
from jirga.errors import StorageError
from jirga.query import ArticleFilters, Query
from jirga.results import ArticleRecord, DayCount, SearchHit, SqlResult
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
    Term,
    TrackedNarrative,
)
from storage import (
    article_queries,
    digests,
    migrate,
    narrative_queries,
    narratives,
    polls,
    readonly,
    search,
)
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


class _Refused(Exception):
    """The database refused a feed's articles in a group saved without savepoints."""


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
            described = (FeedRow.name, FeedRow.country, FeedRow.language, FeedRow.tags)
            existing = {
                row.id: row
                for row in conn.execute(
                    select(FeedRow.id, FeedRow.config_url, FeedRow.enabled, *described)
                )
            }
            for feed in feeds:
                values: dict[str, object] = {
                    "name": feed.name,
                    "country": feed.country,
                    "language": feed.language,
                    "tags": list(feed.tags),
                    "enabled": feed.enabled,
                    "updated_at": now,
                }
                row = existing.get(feed.id)
                wanted = (feed.url, feed.enabled, feed.name, feed.country, feed.language)
                if (
                    row is not None
                    and (row.config_url, row.enabled, row.name, row.country, row.language) == wanted
                    and list(row.tags or ()) == list(feed.tags)
                ):
                    continue  # unchanged: every poll syncs, and most polls change nothing
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
        # Only the state's own columns: every poll reads every feed, and decoding the others
        # (tags are JSON, timestamps go through a type each) cost more than the query.
        columns = [FeedRow.__table__.c[name] for name in polls.STATE_FIELDS]
        query = select(FeedRow.id, *columns).order_by(FeedRow.id)
        if enabled_only:
            query = query.where(FeedRow.enabled.is_(True))
        with self._tx(write=False) as conn:
            rows = conn.execute(query).all()
        return [FeedState(*row) for row in rows]

    def record_fetch(self, state: FeedState, now: dt.datetime, status: int | None) -> None:
        """Save a feed's state after a fetch that brought no entries to store."""
        self.save_feeds([polls.FeedSave(state, status)], now, DedupConfig())

    def store_feed(
        self,
        state: FeedState,
        items: Sequence[MatchedArticle],
        now: dt.datetime,
        status: int | None,
        dedup: DedupConfig,
    ) -> polls.StoreReport:
        """Store a feed's matching articles, then its new state, in one transaction."""
        return self.save_feeds([polls.FeedSave(state, status, items)], now, dedup)[0]

    def save_feeds(
        self, saves: Sequence[polls.FeedSave], now: dt.datetime, dedup: DedupConfig
    ) -> list[polls.StoreReport]:
        """Store several feeds' articles, each feed's followed by its new state, in one
        transaction: a poll saves its feeds in groups, because a commit (and, on SQLite, the
        search index's flush at each commit) costs more than a typical feed's rows. A feed whose
        articles the database refuses (an integrity or data error) and that has a
        ``failed_state`` loses only its own articles: the group is then saved again with each
        feed in a savepoint, that feed's savepoint is rolled back, the failed state is saved
        with the error, and its report carries it. Any other error fails the
        whole group, of which nothing is saved; a feed whose state is not saved is simply
        fetched again next time, and what it had stored is skipped as already there."""
        try:
            return self._save_group(saves, now, dedup, isolate=False)
        except _Refused:
            # Nothing of the group was kept. Saved again feed by feed, each in a savepoint of
            # its own, only the refused feeds lose their articles. The first try stores the
            # whole group's articles at once: per-feed statements and savepoints cost more than
            # a typical feed's rows.
            return self._save_group(saves, now, dedup, isolate=True)

    def _save_group(
        self,
        saves: Sequence[polls.FeedSave],
        now: dt.datetime,
        dedup: DedupConfig,
        *,
        isolate: bool,
    ) -> list[polls.StoreReport]:
        with self._tx() as conn:
            if isolate:
                done = [self._save_feed(conn, save, dedup) for save in saves]
                reports = [report for report, _ in done]
                states = [
                    (state, save.status) for (_, state), save in zip(done, saves, strict=True)
                ]
            else:
                # Every feed's articles in one go: a few statements for the whole group.
                try:
                    reports = polls.store_article_groups(conn, [s.items for s in saves], dedup)
                except (IntegrityError, DataError) as exc:
                    if any(s.failed_state is not None and s.items for s in saves):
                        raise _Refused from exc
                    raise
                states = [(save.state, save.status) for save in saves]
            polls.write_states(conn, states, now)
        return reports

    @staticmethod
    def _save_feed(
        conn: Connection, save: polls.FeedSave, dedup: DedupConfig
    ) -> tuple[polls.StoreReport, FeedState]:
        """One feed of a group saved again after a refusal: in a savepoint of its own, when it
        has a state to fall back to."""
        if save.failed_state is None or not save.items:
            return polls.store_articles(conn, save.items, dedup), save.state
        try:
            with conn.begin_nested():
                return polls.store_articles(conn, save.items, dedup), save.state
        except (IntegrityError, DataError) as exc:
            error = f"its articles could not be stored: {_first_line(exc)}"
            return polls.StoreReport(error=error), dataclasses.replace(
                save.failed_state, last_error=error
            )

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

    # --- queries: search, article lists, daily counts, read-only SQL ------------------------
    def search(self, query: Query, *, sort: str = "relevance", limit: int = 20) -> list[SearchHit]:
        """Articles matching a parsed query, best first (or by ``sort``), with snippets."""
        with self._tx(write=False) as conn:
            return search.search(conn, query, sort=sort, limit=limit)

    def list_articles(
        self, filters: ArticleFilters, *, sort: str = "newest", limit: int = 50
    ) -> list[ArticleRecord]:
        """Articles matching the filters, in the named order."""
        with self._tx(write=False) as conn:
            return article_queries.list_articles(conn, filters, sort=sort, limit=limit)

    def daily_counts(
        self,
        by: str,
        since: dt.datetime,
        until: dt.datetime,
        tz: ZoneInfo,
        filters: ArticleFilters | None = None,
    ) -> list[DayCount]:
        """Articles per local day and term, outlet, language or narrative."""
        with self._tx(write=False) as conn:
            return article_queries.daily_counts(conn, by, since, until, tz, filters)

    def reindex(self, progress: Callable[[int], None] | None = None) -> int:
        """Rebuild the search index from the articles in one transaction; articles indexed."""
        with self._tx() as conn:
            return search.rebuild_index(conn, progress=progress)

    def search_index_size(self) -> int:
        """Bytes the search index takes."""
        with self._tx(write=False) as conn:
            return search.index_size(conn)

    def run_readonly_sql(self, sql: str, *, limit: int, timeout: float) -> SqlResult:
        """One read-only statement: SQLite opened read-only, PostgreSQL in a read-only
        transaction with a statement timeout; writes and several statements are refused."""
        return readonly.run(self.engine, self.url, sql, limit=limit, timeout=timeout)

    # --- digests --------------------------------------------------------------------------
    def digest_source(
        self,
        day: dt.date,
        *,
        tz: ZoneInfo,
        now: dt.datetime,
        tracked: Sequence[TrackedNarrative] = (),
        terms: Sequence[Term] = (),
    ) -> DigestSource:
        """Every row the digest of the local ``day`` is made from, read in one transaction."""
        feeds = self.feed_health()
        with self._tx(write=False) as conn:
            return digests.source(
                conn, day=day, tz=tz, now=now, feeds=feeds, tracked=tracked, terms=terms
            )

    def save_digest(
        self, day: dt.date, *, subject: str, html: str, text: str, markdown: str, now: dt.datetime
    ) -> StoredDigest:
        """Store the digest of ``day`` unless one is; the stored one (the first one) either way."""
        with self._tx() as conn:
            return digests.save_digest(
                conn, day=day, subject=subject, html=html, text=text, markdown=markdown, now=now
            )

    def stored_digest(
        self, day: dt.date | None = None, *, digest_id: int | None = None
    ) -> StoredDigest | None:
        """The stored digest of a day (or with an id), if any."""
        with self._tx(write=False) as conn:
            return digests.stored_digest(conn, day=day, digest_id=digest_id)

    def add_deliveries(self, digest_id: int, recipients: Sequence[tuple[str, str]]) -> None:
        """A pending delivery for each ``(recipient, message id)`` of a digest that has none."""
        with self._tx() as conn:
            digests.add_deliveries(conn, digest_id, recipients)

    def deliveries(self, digest_id: int) -> list[Delivery]:
        """Every delivery of one digest."""
        with self._tx(write=False) as conn:
            return digests.deliveries(conn, digest_id)

    def deliveries_due(self, *, since: dt.date, stale_before: dt.datetime) -> list[Delivery]:
        """Deliveries of digests since a day that are pending, or claimed before
        ``stale_before`` by a run that never recorded the outcome."""
        with self._tx(write=False) as conn:
            return digests.deliveries_due(conn, since=since, stale_before=stale_before)

    def claim_delivery(
        self, delivery_id: int, *, now: dt.datetime, stale_before: dt.datetime
    ) -> int | None:
        """Claim a delivery for sending (one conditional UPDATE: two runs cannot both win);
        the claim's token, or None when it is sent or claimed by a live run."""
        with self._tx() as conn:
            return digests.claim(conn, delivery_id, now=now, stale_before=stale_before)

    def mark_delivered(self, delivery_id: int, *, attempt: int, now: dt.datetime) -> bool:
        """Record a claimed delivery as sent; False when the claim was no longer ours."""
        with self._tx() as conn:
            return digests.mark_sent(conn, delivery_id, attempt=attempt, now=now)

    def release_delivery(self, delivery_id: int, *, attempt: int, error: str) -> bool:
        """Put a claimed delivery back to pending with the reason its send failed."""
        with self._tx() as conn:
            return digests.release(conn, delivery_id, attempt=attempt, error=error)
