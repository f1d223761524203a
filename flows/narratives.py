"""The narratives flows: an incremental update after each poll, and a deterministic rebuild."""

from __future__ import annotations

import datetime as dt

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from flows.lease import lease
from flows.narrating import NarrativeBuilder, NarrativeRun
from flows.runopts import current_settings
from jirga.cluster import ClusterConfig
from jirga.config import load_watchlist
from jirga.lifecycle import LifecyclePolicy
from jirga.settings import Settings
from storage.facade import Storage

NARRATIVES_LEASE = "narratives"
NARRATIVES_TIMEOUT = dt.timedelta(minutes=60)


def cluster_config(settings: Settings) -> ClusterConfig:
    """The clusterer's config from the settings."""
    return ClusterConfig(representation=settings.narrative_representation)


def run_narratives(
    settings: Settings,
    *,
    rebuild: bool = False,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> NarrativeRun:
    """One narratives run with the given settings, under the narratives lease."""
    started = dt.datetime.now(dt.UTC)
    now = now or started
    watchlist = load_watchlist(settings.config_dir)
    with Storage(settings.effective_database_url) as storage:
        storage.require_current_schema()
        with lease(storage, NARRATIVES_LEASE, now, NARRATIVES_TIMEOUT) as holder:
            if holder is None:
                run = NarrativeRun(skipped="another narratives run is in progress")
            else:
                builder = NarrativeBuilder(
                    storage=storage,
                    terms=watchlist.terms,
                    tracked=watchlist.narratives,
                    tz=settings.tz,
                    now=now,
                    config=cluster_config(settings),
                    lifecycle=LifecyclePolicy(gap_days=settings.narrative_gap_days),
                )
                run = builder.run(rebuild=rebuild, since=since, until=until)
    run.seconds = (dt.datetime.now(dt.UTC) - started).total_seconds()
    return run


@task(name="group-articles", cache_policy=NO_CACHE, timeout_seconds=3600)
def group_articles(
    settings: Settings, rebuild: bool, since: dt.datetime | None, until: dt.datetime | None
) -> NarrativeRun:
    """Assign articles to narratives and refresh what changed."""
    return run_narratives(settings, rebuild=rebuild, since=since, until=until)


def _report(run: NarrativeRun) -> dict[str, object]:
    logger = get_run_logger()
    logger.info(run.headline())
    create_markdown_artifact(
        key="narratives-run",
        markdown=f"# Narratives\n\n{run.headline()}\n",
        description=run.headline(),
    )
    return {**run.as_dict(), "headline": run.headline()}


@flow(name="update_narratives", timeout_seconds=int(NARRATIVES_TIMEOUT.total_seconds()))
def update_narratives() -> dict[str, object]:
    """Group the articles stored since the last run into narratives (incremental)."""
    return _report(group_articles(current_settings(), False, None, None))


@flow(name="rebuild_narratives", timeout_seconds=int(NARRATIVES_TIMEOUT.total_seconds()))
def rebuild_narratives(
    since: dt.datetime | None = None, until: dt.datetime | None = None
) -> dict[str, object]:
    """Forget every narrative and regroup the articles published in ``[since, until)``; the same
    articles always give the same narratives."""
    return _report(group_articles(current_settings(), True, since, until))
