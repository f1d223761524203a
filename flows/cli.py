"""The ``jirga`` command: one group, help on every command, clean one-line errors."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import click

from jirga import __version__
from jirga.errors import ConfigError, JirgaError

# Each command's module, imported only when the command runs (or help lists it). A command
# needs a few of storage, Prefect, the pipeline and the digest; importing them all cost every
# command about a second, and cost it again in the fork server of the parser workers, which
# imports what the running script imported before it can start the first worker of a poll.
COMMANDS = {
    "config": "flows.commands_config:config",
    "db": "flows.commands_db:db",
    "feeds": "flows.commands_feeds:feeds",
    "poll": "flows.commands_poll:poll",
    "import": "flows.commands_poll:import_",
    "run": "flows.commands_run:run",
    "demo": "flows.commands_run:demo",
    "cluster": "flows.commands_narratives:cluster",
    "narratives": "flows.commands_narratives:narratives",
    "narrative": "flows.commands_narratives:narrative",
    "digest": "flows.commands_digest:digest",
    "search": "flows.commands_search:search",
    "articles": "flows.commands_search:articles",
    "stats": "flows.commands_search:stats",
    "sql": "flows.commands_search:sql",
    "serve": "flows.commands_serve:serve",
    "status": "flows.commands_serve:status",
}


class JirgaGroup(click.Group):
    """A group that loads its commands from :data:`COMMANDS` when asked for them, and turns
    jirga's own errors into a short message and exit status 1."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return super().get_command(ctx, cmd_name)
        module, _, name = COMMANDS[cmd_name].partition(":")
        command = getattr(importlib.import_module(module), name)
        if not isinstance(command, click.Command):
            raise TypeError(f"{COMMANDS[cmd_name]} is not a click command")
        return command

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


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="jirga")


if __name__ == "__main__":
    main()
