"""``jirga feeds status`` after real polls: one word of state per feed, its last error and its
article count, as JSON, CSV and a table that never lets a control character reach the terminal."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from flows.cli import cli
from flows.poll import poll_feeds
from flows.runopts import RUN_OPTIONS, RunOptions
from flows.summary import PollSummary
from jirga.settings import Settings
from storage.facade import Storage
from tests.flows.feeds import Item, feeds_toml, rss

pytestmark = pytest.mark.usefixtures("prefect_api")

DAY = dt.datetime(2026, 2, 20, 8, 0, tzinfo=dt.UTC)
ITEMS = [
    Item("TTP statement", "Tehrik-i-Taliban Pakistan said.", "https://ok.example/1", "ok-1", DAY),
    Item("Taliban in Kabul", "The Taliban met in Kabul.", "https://ok.example/2", "ok-2", DAY),
    Item("Weather", "Rain in Lahore.", "https://ok.example/3", "ok-3", DAY),
]
# What a terminal would act on: ESC sequences (clear screen, set title), BEL, a C1 CSI, and a
# right-to-left override that makes text read backwards.
NASTY = "evil \x1b[2J\x1b]0;pwned\x07 \x9b31m \u202ereversed\u202c end"
RAW_CONTROLS = ("\x1b", "\x07", "\x9b", "\u202e", "\u202c")


@pytest.fixture
def route(feed_server: Any) -> type:
    """The server fixture's Route class (taken from its module: tests never import conftest)."""
    return sys.modules[type(feed_server).__module__].Route  # type: ignore[no-any-return]


def run_poll(settings: Settings, **params: object) -> PollSummary:
    """The poll flow alone: grouping into narratives is not what this file tests."""
    token = RUN_OPTIONS.set(RunOptions(settings=settings))
    try:
        return PollSummary(**poll_feeds(narratives=False, **params))  # type: ignore[arg-type]
    finally:
        RUN_OPTIONS.reset(token)


def status(fmt: str) -> str:
    result = CliRunner().invoke(cli, ["feeds", "status", "--format", fmt], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return result.stdout


@pytest.fixture
def polled(jirga_home: Path, feed_server: Any, route: Any) -> Settings:
    """One ok, one failing (500), one gone (410 three times), one whose 429 has a hostile
    Retry-After, and one whose last error holds raw control characters."""
    feed_server.routes["/ok.xml"] = route(body=rss(ITEMS), headers={"ETag": '"ok-1"'})
    feed_server.routes["/failing.xml"] = route(status=500, body=b"internal error")
    feed_server.routes["/gone.xml"] = route(status=410, body=b"gone")
    feed_server.routes["/hostile.xml"] = route(
        status=429, headers={"Retry-After": "\x1b[31m soon \x07"}
    )
    ids = ["ok", "failing", "gone", "hostile", "nasty"]
    (jirga_home / "config" / "feeds.toml").write_text(
        feeds_toml([(fid, feed_server.url(f"/{fid}.xml"), "en") for fid in ids])
    )
    settings = Settings(
        data_dir=jirga_home / "data",
        config_dir=jirga_home / "config",
        allow_private_networks=True,
        fetch_deadline=5,
        parse_workers=1,
    )
    with Storage(settings.effective_database_url) as store:
        store.upgrade()
    feed_server.routes["/nasty.xml"] = route(body=rss(ITEMS[2:]))
    first = run_poll(settings)
    assert first.ok == 2 and first.failed == 2 and first.gone == 1
    for _ in range(2):
        run_poll(settings, feed_ids=["gone"], force=True)
    # No server reason phrase or header reaches last_error unescaped (the fetcher quotes them);
    # an error text from elsewhere might, so one is stored as it is.
    with Storage(settings.effective_database_url) as store:
        (state,) = [s for s in store.feed_states() if s.feed_id == "nasty"]
        failed = dataclasses.replace(state, consecutive_errors=1, last_error=NASTY)
        store.record_fetch(failed, dt.datetime.now(dt.UTC), 200)
    return settings


def test_status_json_has_state_error_and_counts(polled: Settings) -> None:
    rows = {r["feed"]: r for r in json.loads(status("json"))}
    assert set(rows) == {"ok", "failing", "gone", "hostile", "nasty"}

    ok = rows["ok"]
    assert ok["state"] == "ok" and ok["errors"] == 0 and ok["articles"] == 2
    assert ok["last_error"] is None and ok["last_status"] == 200 and ok["last_success"]

    failing = rows["failing"]
    assert failing["state"] == "backing off" and failing["errors"] == 1
    assert failing["last_error"] == "HTTP 500" and failing["last_status"] == 500
    assert failing["articles"] == 0 and failing["last_success"] is None
    assert dt.datetime.fromisoformat(failing["next_attempt"]) > dt.datetime.now(dt.UTC)

    gone = rows["gone"]
    assert gone["state"] == "gone" and gone["errors"] == 3
    assert gone["last_error"] == "HTTP 410" and gone["articles"] == 0

    # A bad Retry-After is a failure, and its value is quoted, never raw.
    hostile = rows["hostile"]
    assert hostile["state"] == "backing off" and hostile["last_status"] == 429
    assert "bad Retry-After" in hostile["last_error"]
    assert "\\x1b" in hostile["last_error"] and "\x1b" not in hostile["last_error"]

    # JSON keeps the stored text exactly.
    assert rows["nasty"]["last_error"] == NASTY and rows["nasty"]["state"] == "failing"


def test_status_csv_has_every_feed(polled: Settings) -> None:
    table = list(csv.DictReader(io.StringIO(status("csv"))))
    assert [r["feed"] for r in table] == ["failing", "gone", "hostile", "nasty", "ok"]
    by_feed = {r["feed"]: r for r in table}
    assert by_feed["ok"]["state"] == "ok" and by_feed["ok"]["articles"] == "2"
    assert by_feed["gone"]["state"] == "gone" and by_feed["gone"]["last_error"] == "HTTP 410"
    assert by_feed["failing"]["state"] == "backing off"
    assert by_feed["failing"]["last_error"] == "HTTP 500"
    assert set(table[0]) >= {"feed", "state", "last_error", "articles", "next_attempt"}


def test_status_table_escapes_control_characters(polled: Settings) -> None:
    out = status("table")
    for char in RAW_CONTROLS:
        assert char not in out, repr(char)
    assert "\\u001b[2J" in out and "\\u202e" in out and "\\u009b" in out
    header, _rule, *body = out.splitlines()
    columns = [c.strip() for c in header.split("┃")]
    cells = {
        row["feed"]: row
        for row in (
            dict(zip(columns, (c.strip() for c in line.split("│")), strict=True)) for line in body
        )
        if row["feed"]  # a long cell folds onto continuation lines with an empty first cell
    }
    assert cells["ok"]["state"] == "ok" and cells["ok"]["articles"] == "2"
    assert cells["failing"]["state"] == "backing off"
    assert cells["failing"]["last_error"] == "HTTP 500"
    assert cells["gone"]["state"] == "gone" and cells["gone"]["last_error"] == "HTTP 410"


def test_status_csv_escapes_control_characters(polled: Settings) -> None:
    out = status("csv")
    for char in RAW_CONTROLS:
        assert char not in out, repr(char)
