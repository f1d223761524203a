"""The ``run_once`` Prefect flow: one pass of the pipeline — poll, narratives, and the daily
digest when it is due — with a short summary of what each stage did and what failed.

Recipe: ``poll_feeds`` (without its own narratives step) → ``update_narratives`` → the digest of
the latest day whose digest is due, through ``send_daily_digest``, unless it went out already.
Each stage is a subflow with its own lease, so a run that overlaps another never does a stage
twice: a poll that finds another poll running exits at once (and the narratives step is left to
that poll), and the digest goes out exactly once through its claims. A failing stage is recorded
and the next one still runs; the run then ends failed, with every stage's outcome in its summary
(printed, returned and kept as the artifact ``run-summary``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.client.schemas.objects import State

from flows.digest import send_daily_digest
from flows.digesting import RETRY_DAYS
from flows.narratives import update_narratives
from flows.poll import poll_feeds
from flows.runopts import current_settings
from flows.summary import PollSummary
from jirga.digest_data import Delivery, DeliveryStatus, StoredDigest
from jirga.digest_model import due_day
from jirga.errors import JirgaError
from jirga.mail import OUTBOX_RECIPIENT, check_recipients
from jirga.settings import Settings
from storage.facade import Storage

RUN_TIMEOUT = dt.timedelta(hours=2)


@dataclass
class Stage:
    """What one stage of a run did: ``ok``, ``skipped`` (with the reason) or ``failed``."""

    name: str
    status: str
    headline: str
    details: list[str] = field(default_factory=list)  # one line each: failed feeds, warnings
    result: dict[str, Any] | None = None  # the stage flow's own summary, for JSON

    def lines(self) -> list[str]:
        return [f"{self.name}: {self.headline}", *(f"  {d}" for d in self.details)]


@dataclass
class RunSummary:
    """Every stage of one run, in order, and how long the run took."""

    stages: list[Stage] = field(default_factory=list)
    seconds: float = 0.0

    def stage(self, name: str) -> Stage | None:
        return next((s for s in self.stages if s.name == name), None)

    @property
    def failed(self) -> list[Stage]:
        return [s for s in self.stages if s.status == "failed"]

    def lines(self) -> list[str]:
        """The summary for a terminal: a line per stage, its details indented under it."""
        out = [line for s in self.stages for line in s.lines()]
        verdict = "failed: " + ", ".join(s.name for s in self.failed) if self.failed else "done"
        return [*out, f"run {verdict} in {self.seconds:.1f} s"]

    def markdown(self) -> str:
        """The summary as the Markdown artifact."""
        rows = ["# Run summary", "", "| stage | outcome | |", "| --- | --- | --- |"]
        for s in self.stages:
            rows.append(f"| {s.name} | {s.status} | {_md(s.headline)} |")
        for s in self.stages:
            if s.details:
                rows += ["", f"## {s.name}", "", *(f"- {_md(d)}" for d in s.details[:200])]
        return "\n".join(rows) + "\n"

    def as_dict(self) -> dict[str, Any]:
        """Plain values, for JSON and Prefect results."""
        return dataclasses.asdict(self)


class RunFailed(JirgaError):
    """A stage of a run failed; ``summary`` holds every stage's outcome."""

    def __init__(self, summary: RunSummary) -> None:
        reasons = "; ".join(f"{s.name}: {s.headline}" for s in summary.failed)
        super().__init__(f"run failed ({reasons})")
        self.summary = summary


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")[:500]


def _error(state: State[Any]) -> str:
    """The reason a stage's flow run failed, in one line."""
    try:
        state.result()
    except Exception as exc:  # the stage's own exception, whatever it is
        return f"{type(exc).__name__}: {exc}".splitlines()[0]
    return state.message or state.name or "failed"


# --- the digest: due or not ------------------------------------------------------------------


def digest_pending(
    stored: StoredDigest | None,
    deliveries: Sequence[Delivery],
    recipients: Iterable[str],
    retry_due: Sequence[Delivery],
) -> str | None:
    """Why the digest flow has nothing to do (its day's digest is stored and delivered to every
    recipient, and no delivery of the last days waits for a retry), or None when it should run.

    A delivery claimed by a run still in progress counts as done here: that run finishes it, or
    the digest flow of a later run takes the claim over once it is stale.
    """
    if stored is None or retry_due:
        return None
    have = {d.recipient for d in deliveries}
    if set(recipients) - have:
        return None
    sending = [d for d in deliveries if d.status == DeliveryStatus.SENDING]
    if sending:
        return f"the digest of {stored.day} is being sent by another run"
    return f"the digest of {stored.day} was sent already ({len(deliveries)} delivered)"


def digest_due(settings: Settings, now: dt.datetime) -> tuple[dt.date, str | None]:
    """The day whose digest is due at ``now``, and why it need not be sent (None: send it)."""
    day = due_day(now, settings.tz, settings.digest_time)
    recipients = check_recipients(settings.digest_recipients) or (OUTBOX_RECIPIENT,)
    stale_before = now - dt.timedelta(minutes=settings.digest_claim_minutes)
    with Storage(settings.effective_database_url) as storage:
        storage.require_current_schema()
        stored = storage.stored_digest(day)
        deliveries = storage.deliveries(stored.id) if stored is not None else []
        retry = storage.deliveries_due(
            since=day - dt.timedelta(days=RETRY_DAYS), stale_before=stale_before
        )
    return day, digest_pending(stored, deliveries, recipients, retry)


# --- the stages -------------------------------------------------------------------------------


def _poll_stage(state: State[Any]) -> Stage:
    if not state.is_completed():
        return Stage("poll", "failed", _error(state))
    summary = PollSummary(**state.result())
    details = [f"failed  {fid}: {why}" for fid, why in summary.errors]
    details += [f"warning {fid}: {text}" for fid, text in summary.warnings[:20]]
    if len(summary.warnings) > 20:
        details.append(f"… and {len(summary.warnings) - 20} more warnings")
    status = "skipped" if summary.skipped else "ok"
    return Stage("poll", status, summary.headline(), details, summary.as_dict())


def _narratives_stage(state: State[Any]) -> Stage:
    if not state.is_completed():
        return Stage("narratives", "failed", _error(state))
    result: dict[str, Any] = state.result()
    status = "skipped" if result.get("skipped") else "ok"
    return Stage("narratives", status, str(result.get("headline", "")), result=result)


def _digest_stage(state: State[Any]) -> Stage:
    if not state.is_completed():
        return Stage("digest", "failed", _error(state))
    result: dict[str, Any] = state.result()
    status = "skipped" if result.get("skipped") else "ok"
    return Stage("digest", status, str(result.get("headline", "")), result=result)


@flow(name="run_once", timeout_seconds=int(RUN_TIMEOUT.total_seconds()))
def run_once() -> dict[str, Any]:
    """One pass: poll the due feeds, group the new articles into narratives, and send the daily
    digest when it is due and not sent yet."""
    logger = get_run_logger()
    started = dt.datetime.now(dt.UTC)
    settings = current_settings()
    summary = RunSummary()

    poll = _poll_stage(poll_feeds(narratives=False, return_state=True))
    summary.stages.append(poll)
    if poll.status == "skipped":
        # The poll that holds the lease groups its own articles when it is done.
        summary.stages.append(Stage("narratives", "skipped", "left to the poll that is running"))
    else:
        summary.stages.append(_narratives_stage(update_narratives(return_state=True)))

    now = dt.datetime.now(dt.UTC)
    try:
        day, not_needed = digest_due(settings, now)
    except JirgaError as exc:
        summary.stages.append(Stage("digest", "failed", str(exc)))
    else:
        if not_needed:
            summary.stages.append(Stage("digest", "skipped", not_needed))
        else:
            summary.stages.append(_digest_stage(send_daily_digest(date=day, return_state=True)))

    summary.seconds = (dt.datetime.now(dt.UTC) - started).total_seconds()
    for line in summary.lines():
        logger.info(line)
    verdict = summary.lines()[-1]
    create_markdown_artifact(key="run-summary", markdown=summary.markdown(), description=verdict)
    if summary.failed:
        raise RunFailed(summary)
    return summary.as_dict()
