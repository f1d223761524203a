"""``jirga feeds``: exchange the feed list with feed readers (OPML)."""

from __future__ import annotations

from pathlib import Path

import click

from flows.context import settings_from
from jirga.config import FEEDS_FILE, load_feeds
from jirga.errors import ConfigError, ConfigProblem
from jirga.opml import feeds_from_opml, feeds_to_opml, merge_feeds_into_toml


@click.group()
def feeds() -> None:
    """Manage the watched feeds."""


@feeds.command("export")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the OPML here instead of standard output.",
)
@click.pass_context
def export_(ctx: click.Context, output: Path | None) -> None:
    """Export the feed list as OPML 2.0, for any feed reader."""
    settings = settings_from(ctx)
    data = feeds_to_opml(load_feeds(settings.config_dir / FEEDS_FILE))
    if output is None:
        click.echo(data.decode("utf-8"), nl=False)
    else:
        output.write_bytes(data)
        click.echo(f"wrote {output}", err=True)


@feeds.command("import")
@click.argument("opml_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--dry-run", is_flag=True, help="Show what would be added; change nothing."
)
@click.pass_context
def import_(ctx: click.Context, opml_file: Path, dry_run: bool) -> None:
    """Add the feeds of an OPML file to feeds.toml (feeds already listed are skipped)."""
    settings = settings_from(ctx)
    target = settings.config_dir / FEEDS_FILE
    incoming = feeds_from_opml(opml_file.read_bytes(), source=str(opml_file))
    try:
        current = target.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([ConfigProblem(str(target), "file", str(exc))]) from exc
    new_text, added = merge_feeds_into_toml(current, incoming)
    for feed in added:
        click.echo(f"+ {feed.id}  {feed.language}  {feed.url}")
    skipped = len(incoming) - len(added)
    if dry_run:
        click.echo(f"dry run: would add {len(added)} feeds, skip {skipped} already listed")
        return
    if added:
        # Write beside and rename, so a full disk or a crash never leaves half a feeds.toml.
        tmp = target.with_suffix(".toml.tmp")
        tmp.write_text(new_text, encoding="utf-8")
        tmp.replace(target)
    click.echo(f"{target}: added {len(added)} feeds, skipped {skipped} already listed")
