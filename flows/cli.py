"""The ``jirga`` command: one group, help on every command, clean one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from flows import (
    commands_config,
    commands_db,
    commands_digest,
    commands_feeds,
    commands_narratives,
    commands_poll,
    commands_run,
    commands_search,
    commands_serve,
)
from jirga import __version__
from jirga.errors import ConfigError, JirgaError


class JirgaGroup(click.Group):
    """A group that turns jirga's own errors into a short message and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            for problem in exc.problems:
                click.echo(f"error: {problem}", err=True)
            ctx.exit(1)
        except JirgaError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(1)


@click.group(cls=JirgaGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="jirga")
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Read settings from this .env file instead of ./.env.",
)
@click.pass_context
def cli(ctx: click.Context, env_file: Path | None) -> None:
    """jirga watches how the TTP, the Taliban and Zalmay Khalilzad are narrated in the news.

    Settings come from JIRGA_* environment variables and a .env file; `jirga config show`
    prints them.
    """
    ctx.obj = {"env_file": env_file}


cli.add_command(commands_config.config)
cli.add_command(commands_db.db)
cli.add_command(commands_feeds.feeds)
cli.add_command(commands_poll.poll)
cli.add_command(commands_poll.import_)
cli.add_command(commands_run.run)
cli.add_command(commands_run.demo)
cli.add_command(commands_narratives.cluster)
cli.add_command(commands_narratives.narratives)
cli.add_command(commands_narratives.narrative)
cli.add_command(commands_digest.digest)
cli.add_command(commands_search.search)
cli.add_command(commands_search.articles)
cli.add_command(commands_search.stats)
cli.add_command(commands_search.sql)
commands_db.db.add_command(commands_search.reindex)
cli.add_command(commands_serve.serve)
cli.add_command(commands_serve.status)


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="jirga")


if __name__ == "__main__":
    main()
