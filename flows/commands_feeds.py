"""``jirga feeds``: the feed list's health, and its exchange with feed readers (OPML)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from flows.context import open_storage, settings_from
from flows.output import echo_rows, format_option
from jirga.config import FEEDS_FILE, LANGUAGES, load_feeds
from jirga.errors import ConfigError, ConfigProblem
from jirga.opml import feeds_from_opml, feeds_to_opml, merge_feeds_into_toml
from jirga.types import FeedHealth


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
@click.option("--dry-run", is_flag=True, help="Show what would be added; change nothing.")
@click.option(
    "--language",
    type=click.Choice(LANGUAGES),
    help="Language of feeds whose outline has no language attribute.",
)
@click.option("--country", default="intl", show_default=True, help="Country of the imported feeds.")
@click.pass_context
def import_(
    ctx: click.Context, opml_file: Path, dry_run: bool, language: str | None, country: str
) -> None:
    """Add the feeds of an OPML file to feeds.toml (feeds already listed are skipped).

    The merged file is checked before it replaces feeds.toml, and comments are kept.
    """
    settings = settings_from(ctx)
    target = settings.config_dir / FEEDS_FILE
    incoming = feeds_from_opml(
        opml_file.read_bytes(),
        source=str(opml_file),
        default_language=language,
        default_country=country,
    )
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
        # Write beside, check, then rename: a full disk, a crash or a bad merge never leaves a
        # broken feeds.toml behind.
        tmp = target.with_name(f".{target.name}.import")
        try:
            tmp.write_text(new_text, encoding="utf-8")
            load_feeds(tmp)
            tmp.replace(target)
        except OSError as exc:
            raise ConfigError([ConfigProblem(str(target), "file", f"cannot write: {exc}")]) from exc
        finally:
            tmp.unlink(missing_ok=True)
    click.echo(f"{target}: added {len(added)} feeds, skipped {skipped} already listed")


@feeds.command("status")
@format_option
@click.pass_context
def status(ctx: click.Context, fmt: str) -> None:
    """Each feed's health: last success, errors, next attempt, gone."""
    settings = settings_from(ctx)
    with open_storage(settings) as store:
        health = store.feed_health()
    now = dt.datetime.now(dt.UTC)
    rows = [
        {
            "feed": h.feed_id,
            "state": feed_state_word(h, now),
            "last_success": h.last_success_at,
            "last_status": h.last_status,
            "errors": h.consecutive_errors,
            "next_attempt": h.next_attempt_at,
            "articles": h.articles,
            "last_error": h.last_error,
            "moved_to": h.redirect_url,
        }
        for h in health
    ]
    if not rows:
        click.echo("no feeds in the database yet: run `jirga poll`", err=True)
        return
    echo_rows(rows, list(rows[0]), fmt)


def feed_state_word(h: FeedHealth, now: dt.datetime) -> str:
    """One word for a feed's health."""
    if not h.enabled:
        return "disabled"
    if h.gone:
        return "gone"
    if h.next_attempt_at is not None and h.next_attempt_at > now:
        return "backing off" if h.consecutive_errors else "waiting"
    if h.consecutive_errors:
        return "failing"
    if h.last_fetched_at is None:
        return "new"
    return "ok"
