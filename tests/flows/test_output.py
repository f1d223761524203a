"""Rows to the terminal: feed text can neither act on the terminal nor be read as markup."""

from __future__ import annotations

import csv
import io
import json

import pytest

from flows.output import FORMATS, render

HOSTILE = "[bold]Taliban[/bold] \x1b[31mred\u202eevil\u009bend"
ROWS = [{"title": HOSTILE, "n": 3}]


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_raw_control_or_bidi_character_reaches_the_terminal(fmt: str) -> None:
    out = render(ROWS, ["title", "n"], fmt)
    assert not any(ch in out for ch in "\x1b\u202e\u009b")


def test_table_cells_are_plain_text_not_markup() -> None:
    out = render(ROWS, ["title"], "table")
    assert "[bold]Taliban[/bold]" in out


@pytest.mark.parametrize("fmt", ["json", "ndjson"])
def test_json_values_are_unchanged(fmt: str) -> None:
    out = render(ROWS, ["title", "n"], fmt)
    first = json.loads(out)[0] if fmt == "json" else json.loads(out.splitlines()[0])
    assert first == ROWS[0]


def test_csv_keeps_the_columns() -> None:
    out = render(ROWS, ["title", "n"], "csv")
    header, row = list(csv.reader(io.StringIO(out)))
    assert header == ["title", "n"] and row[1] == "3" and row[0].startswith("[bold]Taliban")
