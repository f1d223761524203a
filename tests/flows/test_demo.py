"""``jirga demo`` end to end: the sample week served on 127.0.0.1, polled day by day through the
real flows into a fresh SQLite database, grouped, and digested to the outbox; plus its folder
handling and its feed server on their own."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import os
import re
import socket
import sqlite3
import tomllib
import urllib.error
import urllib.request
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from flows.cli import cli
from flows.demo_server import DemoFeedServer
from flows.demo_setup import MARKER, DemoError, demo_settings, prepare_folder
from jirga.demo.corpus import load_corpus
from jirga.demo.feeds import DemoWeek, item_url
from jirga.settings import Settings

TZ = ZoneInfo("Asia/Karachi")


# --- the folder and the settings ---------------------------------------------------------------


def test_a_folder_not_made_by_the_demo_is_refused_and_left_alone(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(DemoError, match="not made by `jirga demo`"):
        prepare_folder(tmp_path)
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert not (tmp_path / MARKER).exists()
    (tmp_path / "file").write_text("", encoding="utf-8")
    with pytest.raises(DemoError, match="is a file"):
        prepare_folder(tmp_path / "file")


def test_a_demo_folder_is_cleared_but_prefects_home_is_kept(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    prepare_folder(folder)  # made from nothing
    for name in ("jirga.db", "jirga.db-wal", "outbox/digest-x.eml", "config/feeds.toml"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("old", encoding="utf-8")
    (folder / "prefect").mkdir()
    (folder / "prefect" / "prefect.db").write_text("kept", encoding="utf-8")
    prepare_folder(folder)
    assert sorted(p.name for p in folder.iterdir()) == [MARKER, "prefect"]
    assert (folder / "prefect" / "prefect.db").read_text(encoding="utf-8") == "kept"


def test_demo_settings_move_everything_into_the_folder(tmp_path: Path) -> None:
    base = Settings(
        data_dir=tmp_path / "data",
        database_url="postgresql+psycopg://someone@db.example/jirga",
        smtp_host="smtp.example.org",
        digest_recipients=["analyst@example.org"],
        timezone="Asia/Kabul",
    )
    s = demo_settings(base, tmp_path / "demo")
    assert s.effective_database_url == f"sqlite:///{(tmp_path / 'demo' / 'jirga.db').as_posix()}"
    assert s.config_dir == tmp_path / "demo" / "config"
    assert s.outbox_dir == tmp_path / "demo" / "outbox"
    assert s.smtp_host is None and s.digest_recipients == []  # the demo mails nobody
    assert not s.allow_private_networks and s.fetch_exempt_networks == ["127.0.0.1/32"]
    assert s.timezone == "Asia/Kabul"  # the caller's own days
    assert base.database_url and base.smtp_host  # the caller's settings are unchanged


# --- the feed server ---------------------------------------------------------------------------


def _get(url: str, etag: str | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers={"If-None-Match": etag} if etag else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_the_server_answers_like_a_publisher_with_the_declared_faults() -> None:
    corpus = load_corpus()
    week = DemoWeek.ending(dt.date(2026, 3, 9), TZ)
    outlets = {o.id: o for o in corpus.outlets}
    with DemoFeedServer(corpus, week) as server:
        base = server.base_url
        status, headers, body = _get(base + outlets["hindukush-courier"].path)
        assert status == 200 and body.startswith(b"<?xml") and headers["ETag"]
        assert headers["Content-Type"] == "application/atom+xml; charset=utf-8"
        assert _get(base + outlets["hindukush-courier"].path, headers["ETag"])[0] == 304
        server.show(1)  # nothing new that day: the same bytes, so still 304
        assert _get(base + outlets["hindukush-courier"].path, headers["ETag"])[0] == 304
        server.show(2)
        assert _get(base + outlets["hindukush-courier"].path, headers["ETag"])[0] == 200
        server.show(min(outlets["capital-observer"].fail_days))
        assert _get(base + outlets["capital-observer"].path)[0] == 500
        assert _get(base + "/nothing.xml")[0] == 404
        assert server.requests["hindukush-courier"] == 4
        port = int(base.rsplit(":", 1)[1])
    with (
        pytest.raises(ConnectionRefusedError),
        socket.create_connection(("127.0.0.1", port), timeout=2),
    ):
        pass


# --- the whole demo ----------------------------------------------------------------------------


def _message(path: Path) -> EmailMessage:
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_api")
def test_the_demo_runs_the_whole_pipeline_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in list(os.environ):
        if key.startswith("JIRGA_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PREFECT_LOGGING_LEVEL", "ERROR")
    env = {"JIRGA_DATA_DIR": str(tmp_path / "data")}  # no private networks allowed by the caller
    folder = tmp_path / "demo"
    result = CliRunner().invoke(
        cli, ["demo", "--data-dir", str(folder)], env=env, catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Traceback" not in result.output

    # It says where everything is, and what to try next.
    eml = next((folder / "outbox").glob("digest-*.eml"))
    last_day = dt.date.fromisoformat(eml.stem.removeprefix("digest-"))
    html = folder / "outbox" / f"digest-{last_day}.html"
    for shown in (folder / "jirga.db", html, eml):
        assert str(shown) in out
    assert f"export JIRGA_DATA_DIR={folder}" in out and "jirga narratives" in out
    assert len(re.findall(r"^  \w{3} \d\d \w{3}  8 feeds: ", out, flags=re.M)) == 7
    assert "failed  capital-observer: HTTP 500" in out
    assert "warning shimal-news:" in out and "U+FFFD" in out

    # Nothing outside the folder was touched; the server is gone.
    assert not (tmp_path / "data").exists()
    feeds = tomllib.loads((folder / "config" / "feeds.toml").read_text(encoding="utf-8"))["feed"]
    port = int(feeds[0]["url"].split(":")[2].split("/")[0])
    with (
        pytest.raises(ConnectionRefusedError),
        socket.create_connection(("127.0.0.1", port), timeout=2),
    ):
        pass

    db = sqlite3.connect(folder / "jirga.db")
    rows = db.execute("SELECT DISTINCT language FROM article_view").fetchall()
    assert {r[0] for r in rows} == {"en", "ur", "ps", "fa"}
    days = db.execute("SELECT DISTINCT day FROM narrative_day_view").fetchall()
    assert len(days) == 7

    # Narratives in every state, each the story it should be.
    corpus = load_corpus()
    outlets = {o.id: o for o in corpus.outlets}
    week = DemoWeek.ending(last_day, TZ)
    ids = dict(db.execute("SELECT canonical_url, id FROM articles").fetchall())
    state_of = dict(
        db.execute(
            "SELECT a.canonical_url, n.state FROM articles a "
            "JOIN narrative_articles na ON na.article_id = a.id "
            "JOIN narratives n ON n.id = na.narrative_id"
        ).fetchall()
    )

    def state(outlet: str, slug: str) -> str:
        item = next(i for i in outlets[outlet].items if i.slug == slug)
        return str(state_of[item_url(outlets[outlet], item, week)])

    states = {r[0] for r in db.execute("SELECT state FROM narratives")}
    assert {"new", "growing", "recurring", "fading"} <= states
    assert state("kabul-morning", "emirate-rejects-sanctuary-claim") == "recurring"
    assert state("frontier-ledger", "trucks-stranded-at-torkham") == "fading"
    assert state("frontier-ledger", "bajaur-checkpost-attacked") == "new"
    assert state("frontier-ledger", "government-names-jirga-for-ttp-talks") == "growing"
    assert state("kabul-morning", "khalilzad-returns-to-doha") == "growing"

    # Every syndicated copy is stored and linked to its original.
    for copy, original in corpus.copies():
        copy_id = ids[item_url(outlets[copy.outlet], copy, week)]
        original_id = ids[item_url(outlets[original.outlet], original, week)]
        linked = db.execute("SELECT duplicate_of FROM articles WHERE id = ?", (copy_id,))
        assert linked.fetchone()[0] == original_id, copy.ref

    # Feed health: the failing server, the 304s, the day of broken bytes made good the next day.
    health = {
        r[0]: r[1:]
        for r in db.execute(
            "SELECT feed_id, state, consecutive_errors, last_error, last_status "
            "FROM feed_health_view"
        )
    }
    assert health["capital-observer"][1] == 2 and "500" in health["capital-observer"][2]
    assert health["pulay-ghag"][3] == 304
    garbled = outlets["shimal-news"]
    bad_day = min(garbled.wrong_charset_days)
    recovered = 0
    for item in (i for i in garbled.items if i.day == bad_day):
        row = db.execute(
            "SELECT published_at, fetched_at FROM articles WHERE canonical_url = ?",
            (item_url(garbled, item, week),),
        ).fetchone()
        if row is None:
            continue  # an item that mentions no watch term is never stored
        fetched = dt.datetime.fromisoformat(row[1]).replace(tzinfo=dt.UTC)
        assert fetched.astimezone(TZ).date() == week.days[bad_day + 1]
        recovered += 1
    assert recovered >= 1

    # The digest of the last day: stored once, in the outbox, with its spike and narratives.
    (text,) = db.execute(
        "SELECT text FROM digests WHERE day = ?", (last_day.isoformat(),)
    ).fetchone()
    assert re.search(r"Zalmay Khalilzad: \d+;.*SPIKE", text)
    assert "NEW NARRATIVES" in text and "RECURRING NARRATIVES" in text and "FEED HEALTH" in text
    assert "capital-observer" in text and "pulay-ghag" in text
    assert db.execute("SELECT count(*) FROM deliveries WHERE status = 'sent'").fetchone()[0] == 1
    body = _message(eml).get_body(("html",))
    assert body is not None
    content = str(body.get_content())
    assert "Khalilzad" in content and "باجوڑ" in content and "خلیل‌زاد" in content
    page = html.read_text(encoding="utf-8")
    assert "Khalilzad" in page and "data:image/png;base64," in page
