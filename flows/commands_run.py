"""``jirga run`` and ``jirga demo``: the whole pipeline in one command, on the configured feeds
or offline on a week of bundled sample coverage.

Prefect and the flows are imported inside the commands, after ``configure_prefect`` has set
Prefect's environment (and because every parser process imports this module's command group).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shlex
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from flows.context import open_storage, settings_from
from flows.output import escape_controls
from flows.prefect_env import configure_prefect
from jirga.settings import Settings

if TYPE_CHECKING:
    from flows.demo import DayResult
    from flows.run import RunSummary


def _quiet_prefect(verbose: bool) -> None:
    """Keep Prefect's own log lines, tracebacks of failed stages included, off the terminal: the
    commands print a summary that says what failed and why (``-v`` shows Prefect's lines). The
    runs' logs still go to the Prefect API."""
    if not verbose:
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")


def _summary_of(state: Any) -> RunSummary:
    """The run's summary from its final state (a failed run carries it in its exception)."""
    from flows.run import RunFailed, RunSummary, Stage

    if state.is_completed():
        data: dict[str, Any] = state.result()
        return RunSummary(
            stages=[Stage(**s) for s in data["stages"]], seconds=float(data["seconds"])
        )
    error = state.result(raise_on_failure=False)
    if isinstance(error, RunFailed):
        return error.summary
    reason = str(error) if isinstance(error, BaseException) else (state.message or "failed")
    raise click.ClickException(f"the run did not finish: {reason.splitlines()[0]}")


@click.command("run")
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON.")
@click.option("-v", "--verbose", is_flag=True, help="Show Prefect's own log lines.")
@click.pass_context
def run(ctx: click.Context, as_json: bool, verbose: bool) -> None:
    """One pass of the pipeline: poll the due feeds, group the new articles into narratives, and
    send the daily digest when it is due and not sent yet.

    Runs the `run_once` Prefect flow (a temporary local Prefect API unless PREFECT_API_URL is
    set). Safe to overlap or repeat: a poll finding another poll at work exits at once, and the
    digest of a day goes out once. Ends with a summary of every stage; exits 1 when a stage
    failed (a failing feed does not fail the run).
    """
    from flows.commands_poll import BarProgress
    from jirga.config import load_watchlist
    from jirga.mail import check_recipients

    settings = settings_from(ctx)
    load_watchlist(settings.config_dir)  # a config error is reported here, not mid-run
    check_recipients(settings.digest_recipients)
    open_storage(settings, create_empty_sqlite=True).close()
    _quiet_prefect(verbose)
    configure_prefect(settings, verbose=verbose)
    from flows.run import run_once
    from flows.runopts import RUN_OPTIONS, RunOptions

    bar = BarProgress(enabled=sys.stderr.isatty() and not as_json)
    token = RUN_OPTIONS.set(RunOptions(settings=settings, progress=bar))
    try:
        state = run_once(return_state=True)
    finally:
        bar.stop()
        RUN_OPTIONS.reset(token)
    summary = _summary_of(state)
    if as_json:
        click.echo(json.dumps(summary.as_dict(), ensure_ascii=False, indent=2, default=str))
    else:
        for line in summary.lines():
            click.echo(escape_controls(line))
    if summary.failed:
        ctx.exit(1)


# --- demo --------------------------------------------------------------------------------------


def _n(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else many or one + 's'}"


def _day_lines(result: DayResult) -> list[str]:
    """One replayed day in a line, with its failed feeds and warnings under it."""
    p, n = result.poll, result.narratives
    fetched = [f"{p.ok} ok"]
    fetched += [f"{p.not_modified} not modified"] if p.not_modified else []
    fetched += [f"{p.failed} failed"] if p.failed else []
    copies = f" ({_n(p.near_duplicates, 'near-copy', 'near-copies')})" if p.near_duplicates else ""
    grouped = f"{_n(n.opened, 'narrative')} opened, {n.joined} joined" + (
        f", {n.reopened} re-opened" if n.reopened else ""
    )
    lines = [
        f"  {result.date:%a %d %b}  {_n(p.feeds_due, 'feed')}: {', '.join(fetched)}; "
        f"{_n(p.new_articles, 'new article')}{copies}; {grouped}"
    ]
    lines += [f"      failed  {fid}: {why}" for fid, why in p.errors]
    lines += [f"      warning {fid}: {text}" for fid, text in p.warnings]
    return [escape_controls(line) for line in lines]


def _busiest_narrative(settings: Settings, day: dt.date) -> int | None:
    """The narrative with the most articles on ``day``, to point the reader at."""
    with open_storage(settings) as store:
        ids = [s.id for s in store.list_narratives(limit=200)]
        counts = store.narrative_daily_counts(ids)
    ranked = sorted(ids, key=lambda i: (-counts.get(i, {}).get(day, 0), i))
    return ranked[0] if ranked and counts.get(ranked[0], {}).get(day, 0) else None


def _next_steps(settings: Settings, last_day: dt.date, narrative: int | None) -> list[str]:
    prog = "uv run jirga" if "UV_RUN_RECURSION_DEPTH" in os.environ else "jirga"
    data, config = (shlex.quote(str(p)) for p in (settings.data_dir, settings.config_dir))
    lines = ["", "Next, in this shell, point jirga at the demo and look around:"]
    if os.environ.get("JIRGA_DATABASE_URL"):
        lines.append("  unset JIRGA_DATABASE_URL")
    lines.append(f"  export JIRGA_DATA_DIR={data} JIRGA_CONFIG_DIR={config}")
    commands = [
        ("narratives", "every narrative, its state (new, growing, recurring, fading…)"),
        (f"narrative {narrative}", f"the busiest narrative of {last_day:%d %b}")
        if narrative is not None
        else None,
        ("search 'Khalilzad Doha'", "full-text search, ranked, with snippets"),
        ("search 'خلیل‌زاد دوحه'", "the same in Dari (Arabic-script spellings fold together)"),
        ("articles --language ps", "the Pashto articles"),
        ("stats --by language --since 7d", "articles per day and language"),
        ("feeds status", "each feed's health: the failing one, the silent one"),
        (f"digest --date {last_day} --preview", "the digest again, as HTML"),
    ]
    for item in commands:
        if item is not None:
            lines.append(f"  {prog} {item[0]:<36} # {item[1]}")
    return lines


@click.command()
@click.option(
    "--data-dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the demo's database, outbox and config (default: demo/ under "
    "JIRGA_DATA_DIR). It is cleared on every run; a folder not made by the demo is refused.",
)
@click.option("-v", "--verbose", is_flag=True, help="Show Prefect's own log lines.")
@click.pass_context
def demo(ctx: click.Context, folder: Path | None, verbose: bool) -> None:
    """Run the whole pipeline offline on a week of bundled sample coverage.

    Eight invented outlets in English, Urdu, Pashto and Dari are served on 127.0.0.1 for the
    length of the command; each day of the week is polled into a fresh SQLite database through
    the real flows and grouped into narratives, and the digest of the last day is written to the
    demo's outbox. Nothing outside the demo folder is touched, and no mail is sent.
    """
    from flows.demo_server import DemoFeedServer
    from flows.demo_setup import (
        demo_folder,
        demo_settings,
        demo_week,
        prepare_folder,
        write_config,
    )
    from jirga.config import load_watchlist
    from jirga.demo.corpus import load_corpus
    from jirga.outbox import outbox_paths

    started = time.monotonic()
    base = settings_from(ctx)
    corpus = load_corpus()
    place = demo_folder(base, folder)
    prepare_folder(place)
    settings = demo_settings(base, place)
    week = demo_week(settings, dt.datetime.now(dt.UTC))
    languages = sorted({o.language for o in corpus.outlets})
    with DemoFeedServer(corpus, week) as server:
        write_config(settings, corpus, server.base_url)
        load_watchlist(settings.config_dir)
        open_storage(settings, create_empty_sqlite=True).close()
        click.echo(
            f"jirga demo: {len(corpus.outlets)} invented outlets ({', '.join(languages)}) on "
            f"{server.base_url}, a week of coverage from {week.first_day:%d %b} to "
            f"{week.last_day:%d %b %Y} ({settings.timezone}), polled once a day; Prefect's "
            "temporary API starts first."
        )
        _quiet_prefect(verbose)
        configure_prefect(settings, verbose=verbose)
        from flows.demo import REPLAY, Replay
        from flows.demo import demo as demo_flow
        from flows.runopts import RUN_OPTIONS, RunOptions

        def report(day: DayResult) -> None:
            for line in _day_lines(day):
                click.echo(line)

        options = RUN_OPTIONS.set(RunOptions(settings=settings))
        replay = REPLAY.set(Replay(server, week, on_day=report))
        try:
            result = demo_flow()
        finally:
            REPLAY.reset(replay)
            RUN_OPTIONS.reset(options)
    if result.get("digest_error"):
        raise click.ClickException(f"the digest was not written: {result['digest_error']}")
    digest = result.get("digest") or {}
    click.echo(escape_controls(str(digest.get("headline", ""))))
    eml, html = outbox_paths(settings.outbox_dir, week.last_day, None)
    click.echo("")
    click.echo(f"database     {settings.data_dir / 'jirga.db'}")
    click.echo(f"digest HTML  {html}")
    click.echo(f"digest email {eml}")
    click.echo(f"config       {settings.config_dir} (the sample feeds, the shipped watch list)")
    click.echo(f"done in {time.monotonic() - started:.0f} s")
    for line in _next_steps(settings, week.last_day, _busiest_narrative(settings, week.last_day)):
        click.echo(line)
