"""The ``poll_feeds`` Prefect flow: every due feed fetched, processed and stored.

Thin by design: the tasks call the plain functions of ``flows/polling.py``; Prefect adds the
run record, timeouts, retries of transient database errors, logs and the summary artifact.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State, TaskRun

from flows.lease import lease
from flows.polling import Poller, ProgressHook, dedup_config, plan_poll
from flows.runopts import RUN_OPTIONS, current_settings
from flows.summary import PollSummary
from jirga.config import load_watchlist
from jirga.errors import StorageError
from jirga.settings import Settings
from jirga.types import Watchlist
from storage.facade import Storage

POLL_LEASE = "poll_feeds"
POLL_TIMEOUT = dt.timedelta(minutes=30)
BATCH_SIZE = 100  # feeds per task run: small enough to retry cheaply, large enough to be cheap


def _transient(task: object, task_run: TaskRun, state: State) -> bool:
    """Retry a task only for database errors that a second try can cure (lock, dropped link)."""
    try:
        state.result()
    except StorageError as exc:
        return exc.transient
    except Exception:
        return False
    return False


@task(
    name="sync-feeds",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=5,
    retry_condition_fn=_transient,
)
def sync_feeds(storage: Storage, watchlist: Watchlist, now: dt.datetime) -> None:
    """Make the database's feed list match feeds.toml."""
    storage.sync_feeds(watchlist.feeds, now)


@task(
    name="poll-batch",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=5,
    retry_condition_fn=_transient,
    timeout_seconds=int(POLL_TIMEOUT.total_seconds()),
)
def poll_batch(poller: Poller, feed_ids: Sequence[str]) -> None:
    """Fetch, process and store one batch of due feeds (rerunnable: every write is idempotent)."""
    wanted = set(feed_ids)
    states = [s for s in poller.storage.feed_states() if s.feed_id in wanted]
    poller.run(states)


def run_poll_flow(
    settings: Settings,
    *,
    feed_ids: Sequence[str] | None = None,
    force: bool = False,
    progress: ProgressHook | None = None,
    now: dt.datetime | None = None,
) -> PollSummary:
    """The body of the flow, with the settings given (the CLI passes its own)."""
    logger = get_run_logger()
    started = dt.datetime.now(dt.UTC)
    now = now or started
    watchlist = load_watchlist(settings.config_dir)
    summary = PollSummary(feeds_configured=len(watchlist.feeds))
    with Storage(settings.effective_database_url) as storage:
        storage.require_current_schema()
        with lease(storage, POLL_LEASE, now, POLL_TIMEOUT) as holder:
            if holder is None:
                summary.skipped = (
                    f"another poll is running ({storage.lock_holder(POLL_LEASE)}); exiting"
                )
                logger.warning(summary.headline())
                return summary
            sync_feeds(storage, watchlist, now)
            plan = plan_poll(storage.feed_states(), now, only=feed_ids, force=force)
            summary.feeds_due = len(plan.due)
            summary.backing_off = plan.backing_off
            poller = Poller(
                settings=settings,
                storage=storage,
                feeds={f.id: f for f in watchlist.feeds},
                terms=watchlist.terms,
                now=now,
                summary=summary,
                progress=progress,
                dedup=dedup_config(settings),
            )
            ids = [s.feed_id for s in plan.due]
            if progress is not None:
                progress.start(len(ids))
            if ids:
                with poller:
                    for start in range(0, len(ids), BATCH_SIZE):
                        poll_batch(poller, ids[start : start + BATCH_SIZE])
    summary.seconds = (dt.datetime.now(dt.UTC) - started).total_seconds()
    logger.info(summary.headline())
    for feed_id, reason in summary.errors:
        logger.warning("feed %s: %s", feed_id, reason)
    create_markdown_artifact(
        key="poll-summary", markdown=summary.markdown(), description=summary.headline()
    )
    return summary


@flow(name="poll_feeds", timeout_seconds=int(POLL_TIMEOUT.total_seconds()), log_prints=False)
def poll_feeds(
    feed_ids: list[str] | None = None, force: bool = False, narratives: bool = True
) -> dict[str, object]:
    """Poll every due feed (or only ``feed_ids``; ``force`` ignores backoff) and store matches;
    then, unless ``narratives`` is off, group the new articles into narratives."""
    options = RUN_OPTIONS.get()
    summary = run_poll_flow(
        current_settings(), feed_ids=feed_ids, force=force, progress=options.progress
    )
    if narratives and summary.skipped is None:
        from flows.narratives import update_narratives

        # The poll's work is stored by now; a failing narratives run is reported, and its
        # articles stay unassigned for the next run, but it does not fail the poll.
        try:
            result = update_narratives()
            summary.narratives = str(result.get("headline") or "")
        except Exception as exc:
            summary.narratives = f"narratives failed: {exc}"
            get_run_logger().error(summary.narratives)
    return summary.as_dict()
