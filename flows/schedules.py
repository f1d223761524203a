"""When jirga's deployments run: the poll every 30 minutes, the digest daily at a local time.

Pure values and functions, no Prefect: ``jirga serve`` turns :data:`DEPLOYMENTS` into Prefect
deployments, ``prefect.yaml`` holds the same ones for work pools, and ``jirga status`` computes
the next run times from here when no Prefect server can be asked.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from zoneinfo import ZoneInfo

#: How often the poll runs. Anchored on the hour in UTC, so runs fall on :00 and :30 whatever
#: the time zone, and the next ones can be computed without asking the server.
POLL_EVERY = dt.timedelta(minutes=30)
POLL_ANCHOR = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class DeploymentSpec:
    """One deployment of a jirga flow, as served and as written in ``prefect.yaml``."""

    name: str  # the deployment's own name; Prefect's full name is "<flow>/<name>"
    flow_name: str
    entrypoint: str  # "package.module.function": a module path, wherever jirga is installed
    description: str
    cancel_overlap: bool  # a run that would overlap a running one: cancelled (True) or queued

    @property
    def full_name(self) -> str:
        """``flow/deployment``, as the Prefect CLI and API name it."""
        return f"{self.flow_name}/{self.name}"


POLL = DeploymentSpec(
    name="poll",
    flow_name="poll_feeds",
    entrypoint="flows.poll.poll_feeds",
    description="Poll every due feed, store the matching articles, then group them into "
    "narratives; every 30 minutes.",
    # A poll that finds another still running has nothing to add: the next one is 30 minutes
    # away, and queueing would only pile polls up behind a slow one.
    cancel_overlap=True,
)
DIGEST = DeploymentSpec(
    name="digest",
    flow_name="send_daily_digest",
    entrypoint="flows.digest.send_daily_digest",
    description="Send the daily digest of the day that fell due; daily at JIRGA_DIGEST_TIME "
    "in JIRGA_TIMEZONE.",
    # A digest waits for the one before it instead: every due day must be sent.
    cancel_overlap=False,
)
DEPLOYMENTS = (POLL, DIGEST)


def digest_cron(at: dt.time) -> str:
    """The digest's cron expression, ``M H * * *``, read in the configured time zone."""
    if at.second or at.microsecond:
        raise ValueError(f"the digest time must be whole minutes, not {at.isoformat()}")
    return f"{at.minute} {at.hour} * * *"


def local_run_time(day: dt.date, at: dt.time, tz: ZoneInfo) -> dt.datetime:
    """The UTC instant of ``at`` on the local ``day``, as Prefect's cron schedule resolves it.

    A time repeated when the clocks go back is taken the first time; a time skipped when they
    go forward is moved on by the gap (02:30 on a spring-forward night at 02:00 is 03:30).
    """
    return dt.datetime.combine(day, at, tzinfo=tz).astimezone(dt.UTC)


def next_digest_times(after: dt.datetime, at: dt.time, tz: ZoneInfo, n: int) -> list[dt.datetime]:
    """The next ``n`` digest runs at or after ``after``, in UTC, each at the local ``at``."""
    if after.tzinfo is None:
        raise ValueError("after must be an aware datetime")
    times: list[dt.datetime] = []
    # Start a day early: the local day of ``after`` may still have its run ahead.
    day = after.astimezone(tz).date() - dt.timedelta(days=1)
    while len(times) < n:
        when = local_run_time(day, at, tz)
        if when >= after and (not times or when > times[-1]):
            times.append(when)
        day += dt.timedelta(days=1)
    return times


def next_poll_times(after: dt.datetime, n: int) -> list[dt.datetime]:
    """The next ``n`` poll runs at or after ``after``, in UTC."""
    if after.tzinfo is None:
        raise ValueError("after must be an aware datetime")
    step = POLL_EVERY.total_seconds()
    k = math.ceil((after - POLL_ANCHOR).total_seconds() / step)
    return [POLL_ANCHOR + (k + i) * POLL_EVERY for i in range(n)]
