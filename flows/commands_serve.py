"""``jirga serve`` (the scheduled operation) and ``jirga status`` (how it is going)."""

from __future__ import annotations

from pathlib import Path

import click

from flows.context import open_storage, settings_from
from flows.output import format_option
from flows.prefect_env import configure_prefect


@click.command()
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Port of the local Prefect server (when PREFECT_API_URL is not set); 0: a free one.",
)
@click.option(
    "--limit",
    type=click.IntRange(1, 64),
    default=4,
    show_default=True,
    help="Flow runs at once in this process.",
)
@click.pass_context
def serve(ctx: click.Context, port: int, limit: int) -> None:
    """Run the poll every 30 minutes and the digest daily, until stopped.

    Uses the Prefect server of PREFECT_API_URL when it is set; otherwise starts a local one
    (its database in the data dir) and stops it on exit. A run never overlaps another run of
    the same deployment; a failed run does not stop the schedule. SIGINT or SIGTERM stops
    serving cleanly (exit status 0).
    """
    settings = settings_from(ctx)
    from jirga.config import load_watchlist

    load_watchlist(settings.config_dir)  # a config error is reported now, not at the first run
    # The first poll needs the schema; a server database is never migrated implicitly.
    open_storage(settings, create_empty_sqlite=True).close()
    configure_prefect(settings, verbose=True)
    from flows.serve import serve as run_serve

    env_file: Path | None = (ctx.find_root().obj or {}).get("env_file")
    run_serve(
        settings,
        port=port,
        limit=limit,
        env_file=env_file,
        say=lambda line: click.echo(line, err=True),
    )


@click.command()
@click.option(
    "--runs",
    type=click.IntRange(1, 100),
    default=5,
    show_default=True,
    help="Last runs shown of each flow.",
)
@format_option
@click.pass_context
def status(ctx: click.Context, runs: int, fmt: str) -> None:
    """The last runs of each flow, the next scheduled runs, and the health of the feeds.

    Runs come from the Prefect API of PREFECT_API_URL, or of a running `jirga serve`; without
    one, the next runs are computed from the settings.
    """
    settings = settings_from(ctx)
    configure_prefect(settings)
    from flows.status import collect_status, echo_status

    report = collect_status(settings, runs_per_flow=runs, open_storage=open_storage)
    echo_status(report, fmt)
