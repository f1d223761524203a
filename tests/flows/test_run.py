"""``jirga run``: one pass of poll, narratives and digest through the ``run_once`` flow, against a
real feed server on 127.0.0.1; repeated and overlapping runs; a failing stage; and the pure
decision of whether the digest still has work to do."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from flows.cli import cli
from flows.run import digest_pending
from jirga.digest_data import Delivery, StoredDigest
from storage.facade import Storage
from tests.flows.conftest import FeedServer, Route
from tests.flows.feeds import Item, feeds_toml, rss
from tests.mailserver import free_port

pytestmark = pytest.mark.usefixtures("prefect_api")

NOW = dt.datetime.now(dt.UTC)
ITEMS = [
    Item(
        "Jirga of elders to resume talks with the TTP",
        "A jirga of tribal elders will resume talks with the TTP, officials said, as the Afghan "
        "Taliban offered to host another round in Kabul.",
        "https://good.example/news/1",
        guid="good-1",
        published=NOW - dt.timedelta(hours=30),
    ),
    Item(
        "Khalilzad meets Taliban envoys in Doha",
        "Zalmay Khalilzad met Taliban envoys in Doha to discuss prisoners, the Taliban said.",
        "https://good.example/news/2",
        guid="good-2",
        published=NOW - dt.timedelta(hours=3),
    ),
    Item(
        "Rain delays the Peshawar Test",
        "Steady rain kept the players off the field for the whole of the second day.",
        "https://good.example/sport/3",
        guid="good-3",
        published=NOW - dt.timedelta(hours=2),
    ),
]


@pytest.fixture
def home(jirga_home: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two feeds on the local server, one of them broken; Prefect's lines kept off the output."""
    monkeypatch.setenv("PREFECT_LOGGING_LEVEL", "ERROR")
    monkeypatch.setenv("JIRGA_PARSE_WORKERS", "1")
    feed_server.routes["/good.xml"] = Route(
        body=rss(ITEMS, title="Good"),
        headers={"ETag": '"v1"', "Content-Type": "application/rss+xml"},
    )
    feed_server.routes["/broken.xml"] = Route(status=500, body=b"down")
    (jirga_home / "config" / "feeds.toml").write_text(
        feeds_toml(
            [
                ("good", feed_server.url("/good.xml"), "en"),
                ("broken", feed_server.url("/broken.xml"), "en"),
            ]
        ),
        encoding="utf-8",
    )
    return jirga_home


def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["run", *args], env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _stages(out: str) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in json.loads(out)["stages"]}


def _store(home: Path) -> Storage:
    return Storage(f"sqlite:///{(home / 'data' / 'jirga.db').as_posix()}")


def _deliveries(home: Path) -> list[tuple[str, str]]:
    with _store(home) as store:
        due = store.deliveries_due(since=dt.date(2000, 1, 1), stale_before=NOW)
        assert due == []  # nothing left pending or claimed
        return [
            (d.recipient, d.status)
            for day in (NOW.date() - dt.timedelta(days=n) for n in range(4))
            if (stored := store.stored_digest(day)) is not None
            for d in store.deliveries(stored.id)
        ]


def test_one_pass_polls_groups_and_sends_the_digest_once(home: Path) -> None:
    code, out, err = _run()
    assert code == 0, err
    lines = out.splitlines()
    assert [line.split(":")[0] for line in lines if not line.startswith(" ")][:3] == [
        "poll",
        "narratives",
        "digest",
    ]
    assert "  failed  broken: HTTP 500" in lines  # a failing feed is reported, not fatal
    assert lines[-1].startswith("run done in ")
    assert "digest of" in out and "written to" in out
    db = sqlite3.connect(home / "data" / "jirga.db")
    titles = {r[0] for r in db.execute("SELECT title FROM article_view")}
    assert titles == {i.title for i in ITEMS[:2]}  # the third mentions no watch term
    assert db.execute("SELECT count(*) FROM narrative_articles").fetchone() == (2,)
    db.close()
    assert _deliveries(home) == [("outbox", "sent")]
    (eml,) = (home / "data" / "outbox").glob("digest-*.eml")
    first = eml.read_bytes()

    code, out, err = _run("--json")
    assert code == 0, err
    stages = _stages(out)
    assert stages["poll"]["status"] == "ok"
    assert stages["poll"]["result"]["not_modified"] == 1  # the ETag answered 304
    assert stages["poll"]["result"]["backing_off"] == 1  # the broken feed waits
    assert stages["narratives"]["result"]["articles"] == 0
    assert stages["digest"]["status"] == "skipped"
    assert "was sent already" in stages["digest"]["headline"]
    assert _deliveries(home) == [("outbox", "sent")]
    assert list((home / "data" / "outbox").glob("digest-*.eml")) == [eml]
    assert eml.read_bytes() == first


def test_a_run_while_another_host_polls_leaves_poll_and_narratives_to_it(
    home: Path, feed_server: FeedServer
) -> None:
    CliRunner().invoke(cli, ["db", "upgrade"], catch_exceptions=False)
    with _store(home) as store:
        assert store.acquire_lock("poll_feeds", "otherhost:1:abc", NOW, dt.timedelta(minutes=30))
    code, out, err = _run("--json")
    assert code == 0, err
    stages = _stages(out)
    assert stages["poll"]["status"] == "skipped"
    assert "another poll is running (otherhost:1:abc)" in stages["poll"]["headline"]
    assert stages["narratives"]["status"] == "skipped"
    assert stages["digest"]["status"] == "ok"
    assert feed_server.hits == {}


@pytest.fixture
def held_feed(feed_server: FeedServer) -> Iterator[threading.Event]:
    """``/good.xml`` answers only once the test sets the event: the poll holding it is slow."""
    release = threading.Event()

    def body() -> Iterator[bytes]:
        release.wait(timeout=120)
        yield rss(ITEMS, title="Good")

    feed_server.routes["/good.xml"] = Route(body=body, headers={"Content-Type": "text/xml"})
    try:
        yield release
    finally:
        release.set()


@pytest.mark.slow
def test_two_runs_at_once_poll_once_and_send_the_digest_once(
    home: Path, feed_server: FeedServer, held_feed: threading.Event
) -> None:
    from prefect.settings import get_current_settings

    CliRunner().invoke(cli, ["db", "upgrade"], catch_exceptions=False)
    env = {
        **os.environ,
        "PREFECT_API_URL": str(get_current_settings().api.url),
        "JIRGA_FETCH_DEADLINE": "150",
    }
    first = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "run", "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while feed_server.hits.get("/good.xml", 0) == 0:
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the first run never fetched"
            time.sleep(0.2)
        # The first run holds the poll lease, waiting on the feed: the second one does not wait.
        code, out, err = _run("--json")
        assert code == 0, err
        second = _stages(out)
        assert second["poll"]["status"] == "skipped"
        assert "another poll is running" in second["poll"]["headline"]
        assert second["narratives"]["status"] == "skipped"
        assert second["digest"]["status"] == "ok" and second["digest"]["result"]["written"]
        held_feed.set()
        out, err = first.communicate(timeout=240)
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
    assert first.returncode == 0, err
    stages = _stages(out)
    assert stages["poll"]["result"]["new_articles"] == 2
    assert stages["narratives"]["result"]["articles"] == 2
    assert stages["digest"]["status"] == "skipped"
    assert "was sent already" in stages["digest"]["headline"]
    assert _deliveries(home) == [("outbox", "sent")]
    assert feed_server.hits["/good.xml"] == 1


def test_a_failing_stage_is_reported_and_the_run_exits_1(home: Path) -> None:
    port = free_port()  # nothing listens there: the SMTP server is down
    env = {
        "JIRGA_SMTP_HOST": "127.0.0.1",
        "JIRGA_SMTP_PORT": str(port),
        "JIRGA_SMTP_TLS": "none",
        "JIRGA_SMTP_TIMEOUT": "5",
        "JIRGA_DIGEST_RECIPIENTS": "analyst@example.org",
    }
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    code, out, err = _run(env=env)  # an exception escaping the command would fail the test here
    assert code == 1
    lines = out.splitlines()
    assert any(line.startswith("poll: ") for line in lines)
    assert any(line.startswith("narratives: narratives updated") for line in lines)
    digest = next(line for line in lines if line.startswith("digest: "))
    assert "cannot reach SMTP server" in digest
    assert lines[-1].startswith("run failed: digest in ")
    with _store(home) as store:
        pending = store.deliveries_due(since=dt.date(2000, 1, 1), stale_before=NOW)
    assert [(d.recipient, d.status) for d in pending] == [("analyst@example.org", "pending")]

    code, out, err = _run(env={"JIRGA_DIGEST_RECIPIENTS": "not an address"})
    assert code == 1 and "JIRGA_DIGEST_RECIPIENTS" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


# --- whether the digest has work to do -----------------------------------------------------------

DAY = dt.date(2026, 3, 3)
STORED = StoredDigest(1, DAY, "s", "<p>h</p>", "t", "m", dt.datetime(2026, 3, 4, 2, tzinfo=dt.UTC))


def _delivery(recipient: str, status: str, digest: int = 1) -> Delivery:
    return Delivery(digest, digest, DAY, recipient, f"<{recipient}>", status, 1, None, None, None)


def test_the_digest_runs_until_every_recipient_has_it() -> None:
    assert digest_pending(None, [], ["outbox"], []) is None  # not composed yet
    sent = [_delivery("a@example.org", "sent")]
    assert digest_pending(STORED, sent, ["a@example.org"], []) == (
        "the digest of 2026-03-03 was sent already (1 delivered)"
    )
    # A recipient added since, or an older delivery left pending, is the digest flow's work.
    assert digest_pending(STORED, sent, ["a@example.org", "b@example.org"], []) is None
    older = _delivery("a@example.org", "pending", digest=2)
    assert digest_pending(STORED, sent, ["a@example.org"], [older]) is None
    sending = [_delivery("a@example.org", "sending")]
    assert digest_pending(STORED, sending, ["a@example.org"], []) == (
        "the digest of 2026-03-03 is being sent by another run"
    )
