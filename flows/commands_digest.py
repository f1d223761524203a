"""``jirga digest``: send the daily digest through the ``send_daily_digest`` flow, or preview it."""

from __future__ import annotations

import datetime as dt
import json

import click

from flows.context import open_storage, settings_from
from flows.prefect_env import configure_prefect


@click.command()
@click.option(
    "--date",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Local day of the digest (YYYY-MM-DD); default: the latest day whose digest is due.",
)
@click.option(
    "--preview",
    is_flag=True,
    help="Write the digest's HTML to the outbox folder and print its path; send and store nothing.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON.")
@click.option("-v", "--verbose", is_flag=True, help="Show Prefect's own log lines.")
@click.pass_context
def digest(
    ctx: click.Context, day: dt.datetime | None, preview: bool, as_json: bool, verbose: bool
) -> None:
    """Send the daily digest of a local day to every recipient, once.

    With no SMTP server configured (JIRGA_SMTP_HOST) the digest is written to the outbox
    folder instead. Rerunning is safe: a digest already sent is not sent again, and deliveries
    left pending by an earlier failure are retried.
    """
    from flows.digesting import DigestRunner, check_due
    from jirga.config import load_watchlist
    from jirga.digest_model import due_day
    from jirga.digest_render import self_contained
    from jirga.outbox import preview_path, write_atomic

    settings = settings_from(ctx)
    now = dt.datetime.now(dt.UTC)
    local_day = day.date() if day else due_day(now, settings.tz, settings.digest_time)
    watchlist = load_watchlist(settings.config_dir)  # a config error is reported here
    if preview:
        with open_storage(settings) as store:
            fitted = DigestRunner(store, settings, watchlist, now).fitted(local_day)
        path = preview_path(settings.outbox_dir, local_day)
        try:
            write_atomic(path, self_contained(fitted.rendered).encode("utf-8"))
        except OSError as exc:
            raise click.ClickException(f"cannot write {path}: {exc.strerror or exc}") from None
        click.echo(f"{fitted.rendered.subject} ({fitted.size // 1024} KiB as email)", err=True)
        click.echo(str(path))
        return
    check_due(local_day, settings, now)
    open_storage(settings, create_empty_sqlite=True).close()
    configure_prefect(settings, verbose=verbose)
    from flows.digest import send_daily_digest
    from flows.runopts import RUN_OPTIONS, RunOptions

    token = RUN_OPTIONS.set(RunOptions(settings=settings))
    try:
        result = send_daily_digest(date=local_day)
    finally:
        RUN_OPTIONS.reset(token)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    else:
        click.echo(str(result.get("headline", "")))
