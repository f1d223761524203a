"""The ``send_daily_digest`` Prefect flow: the day's digest composed once and delivered once.

Thin by design: the tasks call :class:`flows.digesting.DigestRunner`; Prefect adds the run
record, retries of transient database errors, logs and the digest's Markdown as the artifact
``daily-digest``. A run that leaves deliveries pending (SMTP down or refusing) ends failed with
the reason, after recording it; the next run retries them.
"""

from __future__ import annotations

import datetime as dt

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State, TaskRun

from flows.digesting import DIGEST_TIMEOUT, DigestRun, DigestRunner, run_digest
from flows.runopts import current_settings
from jirga.digest_data import StoredDigest
from jirga.errors import StorageError
from jirga.mail import MailError


def _transient(task: object, task_run: TaskRun, state: State) -> bool:
    """Retry only for database errors that a second try can cure (a lock, a dropped link)."""
    try:
        state.result()
    except StorageError as exc:
        return exc.transient
    except Exception:
        return False
    return False


@task(
    name="compose-digest",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=5,
    retry_condition_fn=_transient,
)
def compose_digest(runner: DigestRunner, day: dt.date) -> StoredDigest | None:
    """Read the day's rows, build, fit and render the digest and store it (or take the stored
    one)."""
    return runner.compose(day)


# No retries: a retry inside the run would hand a message over twice if the server accepted it
# and the answer was lost; a pending delivery is retried by the next run instead.
@task(name="deliver-digest", cache_policy=NO_CACHE)
def deliver_digest(runner: DigestRunner, stored: StoredDigest | None) -> DigestRun:
    """Claim, send and mark every delivery that is due."""
    return runner.deliver(stored)


def _markdown(run: DigestRun) -> str:
    status = ["", "---", "", f"**Delivery:** {run.headline()}"]
    body = run.markdown or f"# jirga daily digest — {run.day}\n\n{run.nothing or run.skipped}\n"
    return body + "\n".join(status) + "\n"


@flow(name="send_daily_digest", timeout_seconds=int(DIGEST_TIMEOUT.total_seconds()))
def send_daily_digest(date: dt.date | None = None) -> dict[str, object]:
    """Send the digest of the local day ``date`` (default: the latest day whose digest is due)
    to every recipient once, and retry any delivery of the last week left pending."""
    logger = get_run_logger()
    run = run_digest(
        current_settings(),
        day=date,
        compose=compose_digest,
        deliver=deliver_digest,
    )
    logger.info(run.headline())
    create_markdown_artifact(
        key="daily-digest", markdown=_markdown(run), description=run.subject or run.headline()
    )
    failure = run.failure()
    if failure:
        raise MailError(failure, transient=True)
    return {**run.as_dict(), "headline": run.headline()}
