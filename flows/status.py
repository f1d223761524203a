"""``jirga status``: the last runs of each flow, the next scheduled runs, and feed health.

Runs and schedules are read from a Prefect API: ``PREFECT_API_URL``, or the local server of a
running ``jirga serve`` (its state file in Prefect's home). Without one, the next run times are
computed from the settings, and feed health is read from jirga's database either way.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click
import httpx

from flows.commands_feeds import feed_state_word
from flows.output import echo_rows, render
from flows.prefect_server import api_problem, read_state
from flows.schedules import DEPLOYMENTS, DeploymentSpec
from flows.serve import describe_schedule, next_times, prefect_home
from jirga.errors import JirgaError
from jirga.settings import Settings
from storage.facade import Storage

if TYPE_CHECKING:
    from prefect.client.orchestration import SyncPrefectClient

#: The flows whose runs are shown, in pipeline order.
FLOWS = ("run_once", "poll_feeds", "update_narratives", "send_daily_digest", "rebuild_narratives")
HEALTHY = frozenset({"ok", "waiting", "new", "disabled"})
RUN_COLUMNS = ("flow", "deployment", "run", "state", "started", "seconds", "message")
NEXT_COLUMNS = ("deployment", "schedule", "next_run", "source", "note")
FEED_COLUMNS = ("feed", "state", "last_success", "errors", "next_attempt", "articles", "last_error")


@dataclass
class StatusReport:
    """Everything ``jirga status`` shows, as plain rows."""

    api_url: str | None = None
    api_source: str | None = None  # "PREFECT_API_URL" or "jirga serve"
    api_problem: str | None = None  # why no runs are shown
    runs: list[dict[str, Any]] = field(default_factory=list)
    flows_without_runs: list[str] = field(default_factory=list)
    next: list[dict[str, Any]] = field(default_factory=list)
    feeds: list[dict[str, Any]] = field(default_factory=list)
    feeds_problem: str | None = None

    def api_line(self) -> str:
        """One line on where runs come from."""
        if self.api_problem is not None:
            return f"Prefect API: {self.api_problem}"
        return f"Prefect API: {self.api_url} (from {self.api_source})"

    def as_dict(self) -> dict[str, Any]:
        """The report as one JSON object."""
        return {
            "api": {
                "url": self.api_url,
                "source": self.api_source,
                "reachable": self.api_problem is None,
                "problem": self.api_problem,
            },
            "runs": self.runs,
            "next": self.next,
            "feeds": self.feeds,
            "feeds_problem": self.feeds_problem,
        }


def find_api(settings: Settings) -> tuple[str | None, str | None]:
    """The API URL to ask and where it came from, or (None, None)."""
    url = os.environ.get("PREFECT_API_URL")
    if url:
        return url, "PREFECT_API_URL"
    state = read_state(prefect_home(settings))
    if state is not None:
        return state.api_url, f"jirga serve, pid {state.pid}"
    return None, None


def collect_status(
    settings: Settings,
    *,
    runs_per_flow: int,
    open_storage: Callable[[Settings], Storage],
    now: dt.datetime | None = None,
) -> StatusReport:
    """Read runs, schedules and feed health; what cannot be read is said in a line."""
    now = now or dt.datetime.now(dt.UTC)
    report = StatusReport()
    report.api_url, report.api_source = find_api(settings)
    if report.api_url is None:
        report.api_problem = (
            "none (PREFECT_API_URL is not set and `jirga serve` is not running): "
            "past runs are not shown"
        )
    else:
        try:
            _from_prefect(report, settings, runs_per_flow, now)
        except (_Unreachable, httpx.HTTPError) as exc:
            # Prefect's client errors are httpx's (a refused request, a dropped connection).
            reason = (str(exc).strip() or type(exc).__name__).splitlines()[0][:200]
            report.api_problem = (
                f"{report.api_url} not reachable ({reason}): past runs are not shown"
            )
            report.runs, report.flows_without_runs, report.next = [], [], []
    if not report.next:
        report.next = [_computed(spec, settings, now, "settings", "") for spec in DEPLOYMENTS]
    try:
        with open_storage(settings) as store:
            health = store.feed_health()
    except JirgaError as exc:
        report.feeds_problem = str(exc)
    else:
        report.feeds = [
            {
                "feed": h.feed_id,
                "state": feed_state_word(h, now),
                "last_success": h.last_success_at,
                "errors": h.consecutive_errors,
                "next_attempt": h.next_attempt_at,
                "articles": h.articles,
                "last_error": h.last_error,
            }
            for h in health
        ]
        if not report.feeds:
            report.feeds_problem = "no feeds in the database yet: run `jirga poll`"
    return report


class _Unreachable(Exception):
    """The Prefect API did not answer."""


def _computed(
    spec: DeploymentSpec, settings: Settings, now: dt.datetime, source: str, note: str
) -> dict[str, Any]:
    return {
        "deployment": spec.full_name,
        "schedule": describe_schedule(spec, settings),
        "next_run": next_times(spec, settings, now, 1)[0],
        "source": source,
        "note": note,
    }


def _from_prefect(
    report: StatusReport, settings: Settings, runs_per_flow: int, now: dt.datetime
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.settings import (
        PREFECT_API_REQUEST_TIMEOUT,
        PREFECT_API_URL,
        PREFECT_CLIENT_MAX_RETRIES,
        temporary_settings,
    )

    assert report.api_url is not None
    problem = api_problem(report.api_url)
    if problem is not None:
        raise _Unreachable(problem)
    # A status check answers quickly or says the API is not there; no retries with back-off.
    updates: dict[Any, Any] = {
        PREFECT_API_URL: report.api_url,
        PREFECT_CLIENT_MAX_RETRIES: 0,
        PREFECT_API_REQUEST_TIMEOUT: 10.0,
    }
    with temporary_settings(updates=updates), get_client(sync_client=True) as client:
        names = _deployment_names(client)
        for flow_name in FLOWS:
            rows = _last_runs(client, flow_name, runs_per_flow, names)
            if rows:
                report.runs.extend(rows)
            else:
                report.flows_without_runs.append(flow_name)
        report.next = [_next_run(client, spec, settings, now) for spec in DEPLOYMENTS]


def _deployment_names(client: SyncPrefectClient) -> dict[Any, str]:
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    flows = client.read_flows(flow_filter=FlowFilter(name=FlowFilterName(any_=list(FLOWS))))
    flow_names = {f.id: f.name for f in flows}
    deployments = client.read_deployments(
        flow_filter=FlowFilter(name=FlowFilterName(any_=list(FLOWS)))
    )
    return {d.id: f"{flow_names.get(d.flow_id, '?')}/{d.name}" for d in deployments}


def _last_runs(
    client: SyncPrefectClient, flow_name: str, limit: int, deployments: Mapping[Any, str]
) -> list[dict[str, Any]]:
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    runs = client.read_flow_runs(
        flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name])),
        flow_run_filter=FlowRunFilter(
            state=FlowRunFilterState(type=FlowRunFilterStateType(not_any_=[StateType.SCHEDULED]))
        ),
        sort=FlowRunSort.EXPECTED_START_TIME_DESC,
        limit=limit,
    )
    rows = []
    for run in runs:
        state = run.state
        message = (state.message or "") if state is not None else ""
        rows.append(
            {
                "flow": flow_name,
                "deployment": deployments.get(run.deployment_id, "") if run.deployment_id else "",
                "run": run.name,
                "state": run.state_name or (state.name if state is not None else ""),
                "started": run.start_time or run.expected_start_time,
                "seconds": round(run.total_run_time.total_seconds(), 1),
                "message": " ".join(message.split())[:300],
            }
        )
    return rows


def _next_run(
    client: SyncPrefectClient, spec: DeploymentSpec, settings: Settings, now: dt.datetime
) -> dict[str, Any]:
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort
    from prefect.exceptions import ObjectNotFound

    try:
        deployment = client.read_deployment_by_name(spec.full_name)
    except ObjectNotFound:
        return _computed(spec, settings, now, "settings", "not deployed on this server")
    schedules = [s.schedule for s in deployment.schedules if s.active]
    described = "; ".join(_describe(s) for s in schedules) or "no active schedule"
    if deployment.paused:
        return {
            "deployment": spec.full_name,
            "schedule": described,
            "next_run": None,
            "source": "prefect",
            "note": "paused (schedules resume when `jirga serve` starts again)",
        }
    scheduled = client.read_flow_runs(
        deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id])),
        flow_run_filter=FlowRunFilter(
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))
        ),
        sort=FlowRunSort.EXPECTED_START_TIME_ASC,
        limit=1,
    )
    if scheduled and scheduled[0].expected_start_time is not None:
        when: dt.datetime | None = scheduled[0].expected_start_time
        return {
            "deployment": spec.full_name,
            "schedule": described,
            "next_run": when,
            "source": "prefect",
            "note": "",
        }
    row = _computed(spec, settings, now, "settings", "no run scheduled on the server yet")
    row["schedule"] = described
    return row


def _describe(schedule: Any) -> str:
    """A Prefect schedule in words."""
    cron = getattr(schedule, "cron", None)
    if cron:
        return f"cron {cron} {schedule.timezone or 'UTC'}"
    interval = getattr(schedule, "interval", None)
    if isinstance(interval, dt.timedelta):
        minutes = interval.total_seconds() / 60
        return f"every {minutes:g} minutes"
    return type(schedule).__name__


# --- output -------------------------------------------------------------------------------------


def echo_status(report: StatusReport, fmt: str) -> None:
    """Print the report: three titled tables, one JSON object, or rows with a ``section``."""
    if fmt == "json":
        click.echo(json.dumps(_plain(report.as_dict()), ensure_ascii=False, indent=2))
        return
    if fmt in {"csv", "ndjson"}:
        rows = [{"section": "api", "note": report.api_line()}]
        rows += [{"section": "run", **r} for r in report.runs]
        rows += [{"section": "next", **r} for r in report.next]
        rows += [{"section": "feed", **r} for r in report.feeds]
        if report.feeds_problem:
            rows.append({"section": "feed", "note": report.feeds_problem})
        columns = ["section", *dict.fromkeys([*RUN_COLUMNS, *NEXT_COLUMNS, *FEED_COLUMNS])]
        echo_rows(rows, columns, fmt)
        return
    click.echo(report.api_line())
    if report.api_problem is None:
        click.echo("\nLast runs")
        if report.runs:
            click.echo(render(report.runs, RUN_COLUMNS, "table"))
        if report.flows_without_runs:
            click.echo(f"no runs yet of: {', '.join(report.flows_without_runs)}")
    click.echo("\nNext runs")
    click.echo(render(report.next, NEXT_COLUMNS, "table"))
    click.echo("")
    if report.feeds_problem:
        click.echo(f"Feeds: {report.feeds_problem}")
        return
    click.echo(f"Feeds: {feed_summary(report.feeds)}")
    attention = [r for r in report.feeds if r["state"] not in HEALTHY]
    if attention:
        click.echo(render(attention, FEED_COLUMNS, "table"))


def feed_summary(feeds: Sequence[Mapping[str, Any]]) -> str:
    """``40 feeds: 35 ok, 3 failing, 2 backing off``: most common state first, ties by name."""
    counts = Counter(str(r["state"]) for r in feeds)
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    parts = ", ".join(f"{n} {state}" for state, n in ordered)
    return f"{len(feeds)} feed{'' if len(feeds) == 1 else 's'}: {parts}"


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
