"""``jirga search``, ``jirga articles``, ``jirga stats``, ``jirga sql`` and ``jirga db reindex``:
the database's questions from the command line, in table, JSON, CSV or NDJSON."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import decimal
import functools
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import click

from flows.context import open_storage, settings_from
from flows.output import echo_rows, escape_controls, format_option
from jirga.config import WATCHLIST_FILE, load_terms
from jirga.errors import ConfigError
from jirga.query import ArticleFilters, parse_query, parse_when, unknown_terms
from jirga.results import ArticleRecord, DayCount, SearchHit
from jirga.settings import Settings
from storage.article_queries import DIMENSIONS, SORTS
from storage.search import SEARCH_SORTS

MAX_SEARCH_LIMIT = 1000
MAX_ARTICLES_LIMIT = 10_000
MAX_STATS_LIMIT = 100_000
MAX_SQL_LIMIT = 100_000
STATS_DAYS = 30

#: Field names of an article in JSON, CSV and NDJSON (documented in the README).
ARTICLE_FIELDS = [
    "id",
    "published_at",
    "outlet",
    "source",
    "feed_id",
    "language",
    "title",
    "url",
    "terms",
    "narrative_id",
    "duplicate_of",
    "date_estimated",
]
#: Field names of a search hit: an article's, with its score and snippet.
HIT_FIELDS = ["id", "score", *ARTICLE_FIELDS[1:], "snippet"]
#: Field names of a daily count.
STATS_FIELDS = ["day", "by", "key", "articles"]
# What a table shows: the fields a reader scans, the rest is in the other formats.
_ARTICLE_TABLE = ["id", "published_at", "outlet", "language", "terms", "title"]
_HIT_TABLE = ["id", "score", "published_at", "outlet", "language", "title", "snippet"]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def article_row(a: ArticleRecord) -> dict[str, Any]:
    """An article under its stable field names."""
    return {
        "id": a.id,
        "published_at": a.published_at,
        "outlet": a.outlet,
        "source": a.source,
        "feed_id": a.feed_id,
        "language": a.language,
        "title": a.title,
        "url": a.url,
        "terms": list(a.terms),
        "narrative_id": a.narrative_id,
        "duplicate_of": a.duplicate_of,
        "date_estimated": a.date_estimated,
    }


def hit_row(h: SearchHit, *, table: bool = False) -> dict[str, Any]:
    """A search hit under its stable field names."""
    row = article_row(h.article)
    score = h.score if h.score is None or not table else round(h.score, 3)
    return {"id": row.pop("id"), "score": score, **row, "snippet": h.snippet}


def _warn_unknown_terms(settings: Settings, filters: ArticleFilters) -> None:
    if not (filters.terms or filters.exclude_terms):
        return
    try:
        known = {t.id for t in load_terms(settings.config_dir / WATCHLIST_FILE)}
    except ConfigError:
        return  # `jirga config check` reports a broken watch list; searching still works
    for warning in unknown_terms(filters, known):
        click.echo(f"warning: {warning}", err=True)


def _show(
    rows: list[dict[str, Any]], fields: list[str], table: list[str], fmt: str, none: str
) -> None:
    if not rows and fmt == "table":
        click.echo(none, err=True)
        return
    echo_rows(rows, table if fmt == "table" else fields, fmt)


# --- search ----------------------------------------------------------------------------------


@click.command()
@click.argument("query", nargs=-1, required=True)
@click.option(
    "--sort",
    type=click.Choice(SEARCH_SORTS),
    default="relevance",
    show_default=True,
    help="Best match first, or by publication time.",
)
@click.option(
    "--limit",
    type=click.IntRange(1, MAX_SEARCH_LIMIT),
    default=20,
    show_default=True,
    help="Most hits shown.",
)
@format_option
@click.pass_context
def search(ctx: click.Context, query: tuple[str, ...], sort: str, limit: int, fmt: str) -> None:
    """Full-text search of the stored articles, best match first.

    QUERY: words (all of them), "a phrase", OR between alternatives, -word to exclude, and the
    filters term:ID outlet:NAME lang:CODE narrative:ID since:DATE until:DATE (a date, an ISO
    time, or an age such as 7d). Quote the whole query when it holds quotes:

        jirga search '"peace talks" TTP OR Taliban -cricket lang:en since:7d'
    """
    settings = settings_from(ctx)
    parsed = parse_query(" ".join(query), now=_now(), tz=settings.tz)
    _warn_unknown_terms(settings, parsed.filters)
    with open_storage(settings) as store:
        hits = store.search(parsed, sort=sort, limit=limit)
    rows = [hit_row(h, table=fmt == "table") for h in hits]
    _show(rows, HIT_FIELDS, _HIT_TABLE, fmt, "no articles match")


# --- articles --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _FilterInput:
    """The filter options as typed, before they are checked."""

    terms: tuple[str, ...]
    outlets: tuple[str, ...]
    languages: tuple[str, ...]
    narratives: tuple[int, ...]
    since: str | None
    until: str | None


def _filters(
    settings: Settings, given: _FilterInput, *, default_since: dt.datetime | None = None
) -> ArticleFilters:
    now = _now()
    start = parse_when(given.since, settings.tz, now) if given.since else default_since
    end = parse_when(given.until, settings.tz, now, end_of_day=True) if given.until else None
    if start is not None and end is not None and start >= end:
        raise click.BadParameter("--since must come before --until")
    return ArticleFilters(
        terms=tuple(dict.fromkeys(t.strip().lower() for t in given.terms)),
        outlets=tuple(dict.fromkeys(o.strip() for o in given.outlets)),
        languages=tuple(dict.fromkeys(x.strip().lower() for x in given.languages)),
        narratives=tuple(dict.fromkeys(given.narratives)),
        since=start,
        until=end,
    )


def _filter_options(command: Any) -> Any:
    """The filter options shared by ``articles`` and ``stats``, handed to the command as one
    ``given`` argument."""
    names = [f.name for f in dataclasses.fields(_FilterInput)]

    @functools.wraps(command)
    def with_filters(*args: Any, **kwargs: Any) -> Any:
        given = _FilterInput(**{name: kwargs.pop(name) for name in names})
        return command(*args, given=given, **kwargs)

    for option in reversed(
        [
            click.option("--term", "terms", multiple=True, help="Mentions this watch term id."),
            click.option(
                "--outlet", "outlets", multiple=True, help="From this outlet (name or feed id)."
            ),
            click.option(
                "--language", "languages", multiple=True, help="In this language (en, ur, ps, fa)."
            ),
            click.option(
                "--narrative",
                "narratives",
                multiple=True,
                type=click.IntRange(1, 2**63 - 1),
                help="In this narrative (id).",
            ),
            click.option("--since", help="Published since (2026-03-01, 7d, an ISO time)."),
            click.option("--until", help="Published until (a date includes that day)."),
        ]
    ):
        with_filters = option(with_filters)
    return with_filters


@click.command()
@_filter_options
@click.option(
    "--sort", type=click.Choice(list(SORTS)), default="newest", show_default=True, help="Order."
)
@click.option(
    "--limit",
    type=click.IntRange(1, MAX_ARTICLES_LIMIT),
    default=50,
    show_default=True,
    help="Most articles shown.",
)
@format_option
@click.pass_context
def articles(
    ctx: click.Context,
    given: _FilterInput,
    sort: str,
    limit: int,
    fmt: str,
) -> None:
    """List stored articles by filters alone (no text search); a filter given twice takes
    either value."""
    settings = settings_from(ctx)
    filters = _filters(settings, given)
    _warn_unknown_terms(settings, filters)
    with open_storage(settings) as store:
        found = store.list_articles(filters, sort=sort, limit=limit)
    rows = [article_row(a) for a in found]
    _show(rows, ARTICLE_FIELDS, _ARTICLE_TABLE, fmt, "no articles match")


# --- stats -----------------------------------------------------------------------------------


def stats_row(c: DayCount, by: str) -> dict[str, Any]:
    """A daily count under its stable field names."""
    return {"day": c.day, "by": by, "key": c.key, "articles": c.articles}


@click.command()
@click.option(
    "--by",
    type=click.Choice(DIMENSIONS),
    default="term",
    show_default=True,
    help="What to count articles by.",
)
@_filter_options
@click.option(
    "--limit",
    type=click.IntRange(1, MAX_STATS_LIMIT),
    default=10_000,
    show_default=True,
    help="Most rows shown.",
)
@format_option
@click.pass_context
def stats(
    ctx: click.Context,
    by: str,
    given: _FilterInput,
    limit: int,
    fmt: str,
) -> None:
    """Articles per local day (JIRGA_TIMEZONE) and term, outlet, language or narrative; the
    last 30 days unless --since says otherwise. Days without articles are left out."""
    settings = settings_from(ctx)
    now = _now()
    today = now.astimezone(settings.tz).date()
    first_day = dt.datetime.combine(
        today - dt.timedelta(days=STATS_DAYS - 1), dt.time(), tzinfo=settings.tz
    ).astimezone(dt.UTC)
    filters = _filters(settings, given, default_since=first_day)
    _warn_unknown_terms(settings, filters)
    assert filters.since is not None
    end = filters.until or now
    with open_storage(settings) as store:
        counts = store.daily_counts(by, filters.since, end, settings.tz, filters)
    if len(counts) > limit:
        click.echo(f"showing the first {limit} of {len(counts)} rows (--limit)", err=True)
    rows = [stats_row(c, by) for c in counts[:limit]]
    _show(rows, STATS_FIELDS, STATS_FIELDS, fmt, "no articles in that range")


# --- sql -------------------------------------------------------------------------------------


def sql_value(value: Any, *, text: bool) -> Any:
    """A database value as JSON can hold it (``text``: as one table or CSV cell)."""
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, bytes):
        return "base64:" + base64.b64encode(value).decode("ascii")
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            return str(value)
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict | list) and text:
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, dt.datetime | dt.date | dt.time | dict | list | str | int | float):
        return value
    if value is None or isinstance(value, bool):
        return value
    return str(value)  # UUID, interval, range, inet…


def _unique(columns: Sequence[str]) -> list[str]:
    """Column names made unique (``SELECT 1 AS a, 2 AS a``), so no value is lost."""
    seen: dict[str, int] = {}
    out = []
    for name in columns:
        name = name or "?column?"
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return out


@click.command()
@click.argument("statement")
@click.option(
    "--limit",
    type=click.IntRange(1, MAX_SQL_LIMIT),
    default=1000,
    show_default=True,
    help="Most rows shown.",
)
@format_option
@click.pass_context
def sql(ctx: click.Context, statement: str, limit: int, fmt: str) -> None:
    """Run one read-only SQL statement (SELECT, WITH, VALUES, EXPLAIN; PRAGMA on SQLite, SHOW
    and TABLE on PostgreSQL) for anything the other commands do not cover.

    SQLite is opened read-only; PostgreSQL runs it in a read-only transaction cancelled after
    JIRGA_SQL_TIMEOUT seconds. Writes and several statements at once are refused. The views
    article_view, narrative_day_view, tracked_day_view and feed_health_view are there for it.
    """
    settings = settings_from(ctx)
    with open_storage(settings) as store:
        result = store.run_readonly_sql(statement, limit=limit, timeout=settings.sql_timeout)
    text = fmt in ("table", "csv")
    # Names come from the statement; on a terminal they are escaped like any cell.
    columns = _unique([escape_controls(c) if text else c for c in result.columns])
    rows = [
        {c: sql_value(v, text=text) for c, v in zip(columns, row, strict=True)}
        for row in result.rows
    ]
    if result.truncated:
        click.echo(f"showing the first {limit} rows (--limit)", err=True)
    if not columns:
        click.echo("the statement returned no rows", err=True)
        return
    echo_rows(rows, columns, fmt)


# --- db reindex ------------------------------------------------------------------------------


@click.command()
@click.pass_context
def reindex(ctx: click.Context) -> None:
    """Rebuild the full-text search index from the stored articles (one transaction: searches
    see the old index until it is done)."""
    settings = settings_from(ctx)
    started = last = time.monotonic()

    def progress(done: int) -> None:
        nonlocal last
        if time.monotonic() - last >= 5:
            last = time.monotonic()
            click.echo(f"  {done} articles…", err=True)

    with open_storage(settings) as store:
        count = store.reindex(progress=progress)
        size = store.search_index_size()
    seconds = time.monotonic() - started
    click.echo(f"indexed {count} articles in {seconds:.1f} s; the index takes {size / 1e6:.1f} MB")
