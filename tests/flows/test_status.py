"""``jirga status`` without a Prefect API (the served case is in test_serve.py): one line saying
so, the next runs computed from the settings, and the feeds' health from the database."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from flows.cli import cli
from flows.polling import poll_once
from flows.status import feed_summary
from jirga.config import load_watchlist
from jirga.settings import Settings
from storage.facade import Storage
from tests.flows.conftest import FeedServer, Route
from tests.flows.feeds import Item, feeds_toml, rss
from tests.mailserver import free_port


@pytest.fixture
def polled(jirga_home: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two feeds polled once without Prefect: one ok, one answering 500."""
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    feed_server.routes["/ok.xml"] = Route(
        body=rss([Item("TTP talks", "Talks with the TTP resumed.", "https://a.example/1", "a-1")])
    )
    feed_server.routes["/down.xml"] = Route(status=500, body=b"down")
    (jirga_home / "config" / "feeds.toml").write_text(
        feeds_toml(
            [("ok", feed_server.url("/ok.xml"), "en"), ("down", feed_server.url("/down.xml"), "en")]
        )
    )
    settings = Settings(parse_workers=1)
    watchlist = load_watchlist(settings.config_dir)
    with Storage(settings.effective_database_url) as store:
        store.upgrade()
        # Now, not at import: the failing feed must still be backing off when status looks.
        poll_once(settings, store, watchlist.feeds, watchlist.terms, dt.datetime.now(dt.UTC))
    return jirga_home


def status(*args: str) -> str:
    result = CliRunner().invoke(cli, ["status", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_without_an_api_it_says_so_and_computes_the_next_runs(polled: Path) -> None:
    out = status()
    lines = out.splitlines()
    assert lines[0] == (
        "Prefect API: none (PREFECT_API_URL is not set and `jirga serve` is not running): "
        "past runs are not shown"
    )
    assert "Last runs" not in out
    assert "poll_feeds/poll" in out and "every 30 minutes" in out
    assert "send_daily_digest/digest" in out and "daily at 07:00 Asia/Karachi" in out
    assert "Feeds: 2 feeds: 1 backing off, 1 ok" in out
    attention = out.split("Feeds:", 1)[1]
    assert "down" in attention and "HTTP 500" in attention and " ok " not in attention


def test_json_carries_every_feed_and_the_computed_times(polled: Path) -> None:
    now = dt.datetime.now(dt.UTC)
    report = json.loads(status("--format", "json"))
    assert report["api"] == {
        "url": None,
        "source": None,
        "reachable": False,
        "problem": report["api"]["problem"],
    }
    assert report["runs"] == []
    poll, digest = report["next"]
    assert poll["source"] == digest["source"] == "settings"
    when = dt.datetime.fromisoformat(poll["next_run"])
    assert when.minute in (0, 30) and dt.timedelta(0) <= when - now <= dt.timedelta(minutes=31)
    digest_at = dt.datetime.fromisoformat(digest["next_run"])
    assert (digest_at.hour, digest_at.minute) == (2, 0)  # 07:00 in Karachi
    states = {f["feed"]: (f["state"], f["errors"], f["articles"]) for f in report["feeds"]}
    assert states == {"ok": ("ok", 0, 1), "down": ("backing off", 1, 0)}


def test_csv_and_ndjson_rows_have_a_section(polled: Path) -> None:
    rows = list(csv.DictReader(io.StringIO(status("--format", "csv"))))
    assert [r["section"] for r in rows] == ["api", "next", "next", "feed", "feed"]
    assert rows[0]["note"].startswith("Prefect API: none")
    lines = [json.loads(line) for line in status("--format", "ndjson").splitlines()]
    assert [r["section"] for r in lines] == ["api", "next", "next", "feed", "feed"]


def test_an_unreachable_api_is_one_line(polled: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"http://127.0.0.1:{free_port()}/api"
    monkeypatch.setenv("PREFECT_API_URL", url)
    out = status()
    first = out.splitlines()[0]
    assert first.startswith(f"Prefect API: {url} not reachable (")
    assert first.endswith("): past runs are not shown")
    assert "Traceback" not in out and "Feeds: 2 feeds" in out


def test_without_a_database_the_feeds_line_says_why(
    jirga_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    out = status()
    assert "Next runs" in out
    assert out.strip().splitlines()[-1].startswith("Feeds: database ")
    assert "jirga db upgrade" in out


def test_feed_summary_counts_most_common_first() -> None:
    rows = [{"state": "ok"}, {"state": "gone"}, {"state": "ok"}, {"state": "failing"}]
    assert feed_summary(rows) == "4 feeds: 2 ok, 1 failing, 1 gone"
    assert feed_summary([{"state": "ok"}]) == "1 feed: 1 ok"
