"""``jirga poll`` and ``jirga import``: bring articles in, from feeds or from files."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from flows.context import settings_from
from flows.prefect_env import configure_prefect
from jirga.types import FetchOutcome


class BarProgress:
    """A progress bar over the feeds of a poll, on standard error."""

    def __init__(self, enabled: bool) -> None:
        self._progress = Progress(
            TextColumn("polling"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[last]}"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            disable=not enabled,
            transient=True,
        )
        self._task = self._progress.add_task("poll", total=None, last="")

    def start(self, total: int) -> None:
        self._progress.start()
        self._progress.update(self._task, total=total)

    def advance(self, feed_id: str, outcome: FetchOutcome) -> None:
        self._progress.update(self._task, advance=1, last=f"{feed_id}: {outcome.value}")

    def stop(self) -> None:
        self._progress.stop()


@click.command()
@click.option("--feed", "feed_ids", multiple=True, help="Poll only this feed id (repeatable).")
@click.option("--force", is_flag=True, help="Fetch even feeds that are backing off.")
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON.")
@click.option(
    "--no-narratives", is_flag=True, help="Do not group the new articles into narratives."
)
@click.option("-v", "--verbose", is_flag=True, help="Show Prefect's own log lines.")
@click.pass_context
def poll(
    ctx: click.Context,
    feed_ids: tuple[str, ...],
    force: bool,
    as_json: bool,
    no_narratives: bool,
    verbose: bool,
) -> None:
    """Poll the due feeds once and store the articles that mention a watch term."""
    settings = settings_from(ctx)
    configure_prefect(settings, verbose=verbose)
    from flows.context import open_storage
    from flows.poll import poll_feeds
    from flows.runopts import RUN_OPTIONS, RunOptions
    from jirga.config import load_watchlist

    load_watchlist(settings.config_dir)  # a config error is reported here, not as a traceback
    open_storage(settings, create_empty_sqlite=True).close()
    bar = BarProgress(enabled=sys.stderr.isatty() and not as_json)
    token = RUN_OPTIONS.set(RunOptions(settings=settings, progress=bar))
    try:
        result = poll_feeds(
            feed_ids=list(feed_ids) or None, force=force, narratives=not no_narratives
        )
    finally:
        bar.stop()
        RUN_OPTIONS.reset(token)
    from flows.summary import PollSummary

    summary = PollSummary(**result)  # type: ignore[arg-type]
    if as_json:
        click.echo(json.dumps(summary.as_dict(), ensure_ascii=False, indent=2))
        return
    click.echo(summary.headline())
    if summary.narratives:
        click.echo(summary.narratives)
    for feed_id, reason in summary.errors:
        click.echo(f"  failed  {feed_id}: {reason}")
    for feed_id, warning in summary.warnings[:20]:
        click.echo(f"  warning {feed_id}: {warning}")
    if len(summary.warnings) > 20:
        click.echo(f"  … and {len(summary.warnings) - 20} more warnings (see --json)")


@click.command("import")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--source",
    help="Feed id or outlet name for saved feed files (default: the file name).",
)
@click.pass_context
def import_(ctx: click.Context, files: tuple[Path, ...], source: str | None) -> None:
    """Import articles from JSON Lines files or saved RSS/Atom files, keeping their dates.

    JSON Lines: one object a line with url, title, summary and/or text, published (ISO 8601),
    source (a feed id, or an outlet name) and optional language (en, ur, ps, fa).
    """
    import datetime as dt

    from flows.context import open_storage
    from flows.importer import Importer
    from flows.polling import caps, dedup_config
    from jirga.config import load_watchlist

    settings = settings_from(ctx)
    watchlist = load_watchlist(settings.config_dir)
    failed = False
    with open_storage(settings, create_empty_sqlite=True) as store:
        store.sync_feeds(watchlist.feeds, dt.datetime.now(dt.UTC))
        importer = Importer(
            store,
            {f.id: f for f in watchlist.feeds},
            watchlist.terms,
            caps=caps(settings),
            now=dt.datetime.now(dt.UTC),
            dedup=dedup_config(settings),
        )
        for path in files:
            report = importer.import_path(path, source=source)
            for problem in report.problems:
                click.echo(f"warning: {problem}", err=True)
            failed = failed or (report.accepted == 0 and bool(report.problems))
            click.echo(
                f"{path}: {report.lines} read, {report.matched} mention a watch term, "
                f"{report.new} new, {report.duplicates} already stored, "
                f"{report.near_duplicates} near-copies linked"
            )
    if failed:
        ctx.exit(1)
