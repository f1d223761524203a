"""``jirga demo``: a week of the bundled sample coverage replayed offline through the real flows.

Recipe: a fresh demo folder → the sample outlets (``jirga/demo/outlets``) on a loopback server →
a config folder beside the database whose feeds.toml points at that server (the shipped watch
list and tracked narratives next to it) → for each day of the week, the poll (the body of
``poll_feeds``) and the narratives run, both at that day's evening → the digest of the last day
through ``send_daily_digest``, written to the demo's outbox.

The week ends on the latest local day whose digest is due now (yesterday, once
``JIRGA_DIGEST_TIME`` has passed), so the digest it writes is this morning's and the digest flow
runs unchanged, with its own due check and the real clock. Everything happens in one process
under one Prefect flow run (``demo``, a ``demo_day`` subflow per day), so Prefect's temporary
API starts once.

Its folder and settings are made by ``flows/demo_setup.py``, before Prefect is imported.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.demo_server import DemoFeedServer
from flows.demo_setup import DemoError
from flows.digest import send_daily_digest
from flows.narrating import NarrativeRun
from flows.narratives import run_narratives
from flows.poll import run_poll_flow
from flows.runopts import current_settings
from flows.summary import PollSummary
from jirga.demo.corpus import DAYS
from jirga.demo.feeds import DemoWeek
from jirga.settings import Settings


@dataclass
class DayResult:
    """One replayed day: what its poll and its narratives run did."""

    day: int
    date: dt.date
    poll: PollSummary
    narratives: NarrativeRun

    def as_dict(self) -> dict[str, Any]:
        return {
            "day": self.day,
            "date": self.date.isoformat(),
            "poll": self.poll.as_dict(),
            "narratives": self.narratives.as_dict(),
        }


@dataclass(frozen=True)
class Replay:
    """What the demo's flows need from their caller that cannot be a flow parameter: the live
    feed server and the calendar of the week, and whom to tell as each day is done."""

    server: DemoFeedServer
    week: DemoWeek
    on_day: Callable[[DayResult], None] | None = None


REPLAY: ContextVar[Replay | None] = ContextVar("jirga_demo_replay", default=None)


def _replay() -> Replay:
    replay = REPLAY.get()
    if replay is None:
        raise DemoError("the demo flows run only under `jirga demo` (no feed server is set)")
    return replay


@task(name="group-articles-at", cache_policy=NO_CACHE, timeout_seconds=3600)
def group_articles_at(settings: Settings, now: dt.datetime) -> NarrativeRun:
    """Assign the new articles to narratives, as a run at ``now`` would."""
    return run_narratives(settings, now=now)


@flow(name="demo_day")
def demo_day(day: int) -> dict[str, Any]:
    """Replay day ``day`` of the demo week: the feeds as they read that evening are polled and
    the new articles grouped, both at that evening's time."""
    replay = _replay()
    settings = current_settings()
    now = replay.week.poll_at(day)
    replay.server.show(day)
    poll = run_poll_flow(settings, now=now)
    narratives = group_articles_at(settings, now)
    result = DayResult(day, replay.week.days[day], poll, narratives)
    if replay.on_day is not None:
        replay.on_day(result)
    return result.as_dict()


@dataclass
class DemoResult:
    """The whole demo: every day, then the digest run (its summary, or why it failed)."""

    days: list[dict[str, Any]] = field(default_factory=list)
    digest: dict[str, Any] | None = None
    digest_error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@flow(name="demo")
def demo() -> dict[str, Any]:
    """Replay the demo week through the poll and narratives flows, then send (to the outbox)
    the digest of its last day."""
    replay = _replay()
    result = DemoResult(days=[demo_day(day) for day in range(DAYS)])
    state = send_daily_digest(date=replay.week.last_day, return_state=True)
    if state.is_completed():
        result.digest = state.result()
    else:
        try:
            state.result()
        except Exception as exc:  # the digest flow's own failure, reported as it said it
            result.digest_error = str(exc) or type(exc).__name__
        else:
            result.digest_error = state.message or "the digest flow failed"
    return result.as_dict()
