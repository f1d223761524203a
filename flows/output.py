"""Rows to the terminal: table, JSON, CSV or NDJSON.

Table and CSV cells have control and bidi-override characters made visible (``\\u001b``), so
feed-supplied text cannot act on the terminal; JSON escapes C0 controls by its own rules and the
C1 controls and bidi overrides here (as ``\\u`` escapes, so the values are unchanged). Table
cells are plain text, never Rich markup: a title holding ``[bold]`` is printed as written.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import PurePath
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

FORMATS = ("table", "json", "csv", "ndjson")
# C0/C1 controls and the bidi overrides that can make terminal text lie about what it says.
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def escape_controls(text: str) -> str:
    """Make control characters visible instead of letting them act on the terminal."""
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, PurePath):
        return str(value)
    return value


def _cell(value: Any) -> str:
    if isinstance(value, dt.datetime):
        # Tables are for reading: whole seconds, in UTC, marked as such.
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def render(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], fmt: str) -> str:
    """Render rows in one of :data:`FORMATS`; JSON keeps types, the others are text."""
    if fmt == "json":
        return escape_controls(
            json.dumps(
                [{c: _plain(r.get(c)) for c in columns} for r in rows], ensure_ascii=False, indent=2
            )
        )
    if fmt == "ndjson":
        return "\n".join(
            escape_controls(json.dumps({c: _plain(r.get(c)) for c in columns}, ensure_ascii=False))
            for r in rows
        )
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        for r in rows:
            writer.writerow([escape_controls(_cell(r.get(c))) for c in columns])
        return buf.getvalue().rstrip("\n")
    table = Table(show_edge=False, pad_edge=False, highlight=False)
    for c in columns:
        table.add_column(c, overflow="fold")
    for r in rows:
        table.add_row(*(Text(escape_controls(_cell(r.get(c)))) for c in columns))
    console = Console(file=io.StringIO(), width=200, color_system=None, soft_wrap=False)
    console.print(table)
    out = console.file.getvalue()  # type: ignore[attr-defined]
    return str(out).rstrip("\n")


def echo_rows(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], fmt: str) -> None:
    """Print rows to standard output."""
    text = render(rows, columns, fmt)
    if text:
        click.echo(text)


format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="Output format.",
)
