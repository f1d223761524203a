"""``jirga cluster``, ``jirga narratives`` and ``jirga narrative``: build and read narratives."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import click

from flows.context import open_storage, settings_from
from flows.output import echo_rows, escape_controls, format_option
from flows.prefect_env import configure_prefect
from flows.timeargs import parse_when
from jirga.types import NarrativeDetail, NarrativeSummary
from storage.narrative_queries import STATES

MAX_LIMIT = 1000


@click.command()
@click.option("--rebuild", is_flag=True, help="Forget all narratives and regroup from scratch.")
@click.option("--since", help="With --rebuild: first publication time (2026-03-01, 7d…).")
@click.option("--until", help="With --rebuild: publication time to stop before.")
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON.")
@click.option("-v", "--verbose", is_flag=True, help="Show Prefect's own log lines.")
@click.pass_context
def cluster(
    ctx: click.Context,
    rebuild: bool,
    since: str | None,
    until: str | None,
    as_json: bool,
    verbose: bool,
) -> None:
    """Group stored articles into narratives (incremental; --rebuild for a range from scratch)."""
    settings = settings_from(ctx)
    if (since or until) and not rebuild:
        raise click.UsageError("--since and --until go with --rebuild")
    now = dt.datetime.now(dt.UTC)
    start = parse_when(since, settings.tz, now) if since else None
    end = parse_when(until, settings.tz, now) if until else None
    open_storage(settings, create_empty_sqlite=True).close()
    configure_prefect(settings, verbose=verbose)
    from flows.narratives import rebuild_narratives, update_narratives
    from flows.runopts import RUN_OPTIONS, RunOptions

    token = RUN_OPTIONS.set(RunOptions(settings=settings))
    try:
        result = rebuild_narratives(start, end) if rebuild else update_narratives()
    finally:
        RUN_OPTIONS.reset(token)
    from flows.narrating import NarrativeRun

    result.pop("headline", None)
    run = NarrativeRun(**result)  # type: ignore[arg-type]
    click.echo(json.dumps(run.as_dict(), indent=2) if as_json else run.headline())


SUMMARY_COLUMNS = [
    "id",
    "state",
    "label",
    "key_phrases",
    "article_count",
    "active_days",
    "first_seen",
    "last_seen",
    "outlets",
    "languages",
    "terms",
]


def summary_row(s: NarrativeSummary) -> dict[str, Any]:
    """Every field of a narrative summary, under stable names."""
    return dataclasses.asdict(s)


@click.command()
@click.option("--since", help="Seen since (2026-03-01, 7d, 12h…).")
@click.option(
    "--state", "states", multiple=True, type=click.Choice(STATES), help="Only in this state."
)
@click.option("--term", help="Only narratives with an article mentioning this watch term id.")
@click.option("--language", help="Only narratives with an article in this language.")
@click.option("--outlet", help="Only narratives carried by this outlet (name or feed id).")
@click.option("--merged", is_flag=True, help="Include narratives merged into others.")
@click.option(
    "--limit", type=click.IntRange(1, MAX_LIMIT), default=50, show_default=True, help="Most rows."
)
@format_option
@click.pass_context
def narratives(
    ctx: click.Context,
    since: str | None,
    states: tuple[str, ...],
    term: str | None,
    language: str | None,
    outlet: str | None,
    merged: bool,
    limit: int,
    fmt: str,
) -> None:
    """List narratives, most recently seen first."""
    settings = settings_from(ctx)
    start = parse_when(since, settings.tz, dt.datetime.now(dt.UTC)) if since else None
    with open_storage(settings) as store:
        found = store.list_narratives(
            since=start,
            states=states,
            term=term,
            language=language,
            outlet=outlet,
            include_merged=merged,
            limit=limit,
        )
    rows = [summary_row(s) for s in found]
    columns = SUMMARY_COLUMNS if fmt == "table" else list(rows[0]) if rows else SUMMARY_COLUMNS
    if not rows and fmt == "table":
        click.echo("no narratives match", err=True)
        return
    echo_rows(rows, columns, fmt)


@click.command()
@click.argument("narrative_id", type=int)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.pass_context
def narrative(ctx: click.Context, narrative_id: int, fmt: str) -> None:
    """Show one narrative: timeline, outlets, passages and member articles."""
    settings = settings_from(ctx)
    with open_storage(settings) as store:
        detail = store.narrative(narrative_id)
    if detail is None:
        raise click.ClickException(f"no narrative {narrative_id}")
    if fmt == "json":
        click.echo(json.dumps(detail_json(detail), ensure_ascii=False, indent=2, default=str))
        return
    for line in detail_lines(detail, settings.tz):
        click.echo(escape_controls(line))


def detail_json(d: NarrativeDetail) -> dict[str, Any]:
    """Every field of a narrative, members with their URLs, under stable names."""
    out = dataclasses.asdict(d)
    out["timeline"] = [
        {"day": day.isoformat(), "articles": n, "outlets": o} for day, n, o in d.timeline
    ]
    return out


def detail_lines(d: NarrativeDetail, tz: Any) -> list[str]:
    """A narrative as text for the terminal."""
    s = d.summary
    lines = [
        f"narrative {s.id} [{s.state}]: {s.label}",
        f"  key phrases: {', '.join(s.key_phrases)}",
        f"  {s.article_count} articles on {s.active_days} days, "
        f"{s.first_seen.astimezone(tz):%Y-%m-%d} to {s.last_seen.astimezone(tz):%Y-%m-%d}; "
        f"terms: {', '.join(s.terms)}; languages: {', '.join(s.languages)}",
    ]
    if s.merged_into:
        lines.append(f"  merged into narrative {s.merged_into}")
    if d.merged_from:
        lines.append(f"  absorbed narratives {', '.join(map(str, d.merged_from))}")
    lines.append("timeline (local days):")
    peak = max((n for _, n, _ in d.timeline), default=1)
    for day, n, outlets in d.timeline:
        bar = "█" * max(1, round(20 * n / peak))
        lines.append(f"  {day}  {bar} {n} ({outlets} outlets)")
    lines.append("outlets:")
    for o in d.outlets:
        copies = f", {o.copies} near-copies" if o.copies else ""
        lines.append(
            f"  {o.role:9} {o.outlet}: {o.articles} articles from "
            f"{o.first_at.astimezone(tz):%Y-%m-%d %H:%M}{copies}"
        )
    if d.passages:
        lines.append("passages:")
        for p in d.passages:
            lines.append(f"  “{p.text}” — {p.outlet}, {p.published_at.astimezone(tz):%Y-%m-%d}")
    lines.append("articles:")
    for m in d.members:
        copy = f" (copy of {m.duplicate_of})" if m.duplicate_of else ""
        lines.append(
            f"  {m.published_at.astimezone(tz):%Y-%m-%d} {m.outlet} [{m.language}] "
            f"{m.title}{copy}\n      {m.url or '(no link)'}"
        )
    return lines
