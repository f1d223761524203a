"""``jirga db``: create and inspect the schema."""

from __future__ import annotations

import click

from flows.commands_search import reindex
from flows.context import open_storage, settings_from
from storage.migrate import head_revision


@click.group()
def db() -> None:
    """Create and inspect the database schema."""


@db.command()
@click.option("--revision", default="head", show_default=True, help="Target revision.")
@click.pass_context
def upgrade(ctx: click.Context, revision: str) -> None:
    """Create or migrate the schema (a no-op when it is current)."""
    settings = settings_from(ctx)
    with open_storage(settings, migrated=False) as store:
        before = store.current_revision()
        store.upgrade(revision)
        after = store.current_revision()
        where = store.describe()
    if before == after:
        click.echo(f"{where}: already at {after}")
    else:
        click.echo(f"{where}: {before or 'empty'} -> {after}")


@db.command()
@click.pass_context
def current(ctx: click.Context) -> None:
    """Show the schema revision of the database and the one this jirga needs."""
    settings = settings_from(ctx)
    with open_storage(settings, migrated=False) as store:
        rev = store.current_revision()
        where = store.describe()
    head = head_revision()
    state = "current" if rev == head else "needs `jirga db upgrade`"
    click.echo(f"{where}: {rev or 'empty'} (head {head}, {state})")


# ``jirga db reindex`` lives with the search commands, whose index it rebuilds.
db.add_command(reindex)
