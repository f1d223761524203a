"""One poll over many feeds at once, most of them hostile: the run completes, good feeds are
stored, each hostile feed fails alone with a clear reason (or a warning), and nothing hostile
reaches the database.

The first poll serves good content on every path; the second switches most paths to their
hostile content, so the test also shows that what the first poll stored is left untouched.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import sqlite3
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from flows.poll import poll_feeds
from flows.runopts import RUN_OPTIONS, RunOptions
from flows.summary import PollSummary
from jirga.settings import Settings
from storage.facade import Storage
from tests.flows import hostile_docs as docs
from tests.flows.feeds import feeds_toml, rss
from tests.flows.hostile_routes import hostile_routes

pytestmark = [pytest.mark.usefixtures("prefect_api"), pytest.mark.slow]

GOOD = {"good-en": "en", "good-ur": "ur", "good-ps": "ps", "good-fa": "fa"}
URDU_HOSTILE = {"h-1256", "h-badbyte"}
SECRET = b"SECRET-7f3a root:x:0:0:root:/root:/bin/bash\n"

# Feeds whose second fetch fails: the reason on the feed row and in the summary.
FAILING = {
    "h-huge": "body exceeds 10 MiB after decoding",
    "h-gzip": "body exceeds 10 MiB after decoding",
    "h-trickle": "deadline of 5 s exceeded",
    "h-loop": "redirect loop",
    "h-redir-lo": "refused: 127.0.0.2 is a loopback address",
    "h-redir-10": "refused: 10.0.0.1 is a private address",
    "h-redir-v6": "refused: ::1 is a loopback address",
    "h-redir-file": "redirect to unsupported scheme file",
    "h-empty": "unparseable feed: empty body",
    "h-htmlpage": "unparseable feed: not a feed: looks like an HTML page",
}
# Feeds whose second fetch parses, with the warning the summary must carry.
WARNED = {
    "h-laughs": "10 ENTITY declarations were removed, not expanded",
    "h-bigentity": "1 ENTITY declarations were removed, not expanded",
    "h-xxe-file": "2 ENTITY declarations were removed, not expanded",
    "h-xxe-http": "2 ENTITY declarations were removed, not expanded",
    "h-1256": "most non-ASCII text is not utf-8: all of it became U+FFFD",
    "h-badbyte": "1 bytes not valid utf-8",
    "h-ctrl": "control characters not allowed in XML were removed",
    "h-guids": "1 entries repeat an earlier guid",
    "h-truncated": "XML error at line",
}
QUIET_OK = {"h-script", "h-atom", "h-dates"}  # parsed; their danger is in the stored text
OTHER = {"h-429", "h-410", "h-304"}
HOSTILE = set(FAILING) | set(WARNED) | QUIET_OK | OTHER


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """Made once: compressing a quarter of a gigabyte takes a moment."""
    return docs.gzip_bomb()


@pytest.fixture
def route(feed_server: Any) -> type:
    """The server fixture's Route class (taken from its module: tests never import conftest)."""
    return sys.modules[type(feed_server).__module__].Route  # type: ignore[no-any-return]


def settings_for(home: Path) -> Settings:
    # Loopback is refused like any private address; only the test server's own is exempt.
    return Settings(
        data_dir=home / "data",
        config_dir=home / "config",
        allow_private_networks=False,
        fetch_exempt_networks=["127.0.0.1/32"],
        fetch_deadline=5,
        fetch_per_host=8,
        parse_workers=1,
    )


def run_poll(settings: Settings, **params: object) -> PollSummary:
    """The poll flow alone: grouping into narratives is not what this file tests."""
    token = RUN_OPTIONS.set(RunOptions(settings=settings))
    try:
        return PollSummary(**poll_feeds(narratives=False, **params))  # type: ignore[arg-type]
    finally:
        RUN_OPTIONS.reset(token)


@contextlib.contextmanager
def connect(settings: Settings) -> Iterator[sqlite3.Connection]:
    """The database file, read-only."""
    path = settings.data_dir / "jirga.db"
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as con:
        con.row_factory = sqlite3.Row
        yield con


def articles(settings: Settings) -> dict[tuple[str, str], dict[str, Any]]:
    with connect(settings) as con:
        rows = con.execute("SELECT * FROM articles").fetchall()
    return {(r["source"], r["entry_key"]): dict(r) for r in rows}


def feed_rows(settings: Settings) -> dict[str, dict[str, Any]]:
    with connect(settings) as con:
        return {r["id"]: dict(r) for r in con.execute("SELECT * FROM feeds")}


def dump(settings: Settings) -> str:
    """Every value in the database, as SQL text."""
    with connect(settings) as con:
        return "\n".join(con.iterdump())


def when(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def poll_twice(
    jirga_home: Path, feed_server: Any, route: Callable[..., Any], gzip_bomb: bytes
) -> dict[str, Any]:
    """Both polls done: the summaries and the database before and after the hostile one."""
    feeds = [(fid, feed_server.url(f"/{fid}.xml"), lang) for fid, lang in GOOD.items()]
    feeds += [
        (fid, feed_server.url(f"/{fid}.xml"), "ur" if fid in URDU_HOSTILE else "en")
        for fid in sorted(HOSTILE)
    ]
    (jirga_home / "config" / "feeds.toml").write_text(feeds_toml(feeds))
    for fid, lang in GOOD.items():
        feed_server.routes[f"/{fid}.xml"] = route(
            body=rss(docs.language_items(fid, lang, range(2))), headers={"ETag": f'"{fid}-1"'}
        )
    for fid in HOSTILE:
        feed_server.routes[f"/{fid}.xml"] = route(
            body=docs.good_feed(fid), headers={"ETag": f'"{fid}-1"'}
        )
    feed_server.routes["/secret"] = route(body=SECRET)
    settings = settings_for(jirga_home)
    with Storage(settings.effective_database_url) as store:
        store.upgrade()

    first = run_poll(settings)
    before = {"articles": articles(settings), "feeds": feed_rows(settings)}

    for fid, lang in GOOD.items():
        feed_server.routes[f"/{fid}.xml"] = route(
            body=rss(docs.language_items(fid, lang, range(3))), headers={"ETag": f'"{fid}-2"'}
        )
    port = feed_server.httpd.server_address[1]
    for fid, r in hostile_routes(route, feed_server.base, port, gzip_bomb).items():
        feed_server.routes[f"/{fid}.xml"] = r
    feed_server.routes["/h-loop-b.xml"] = route(status=302, headers={"Location": "/h-loop.xml"})
    second = run_poll(settings)
    return {
        "settings": settings,
        "server": feed_server,
        "first": first,
        "second": second,
        "before": before,
        "after": {"articles": articles(settings), "feeds": feed_rows(settings)},
    }


@pytest.mark.timeout(240)
def test_hostile_feeds_fail_alone_and_nothing_hostile_is_stored(
    jirga_home: Path, feed_server: Any, route: Callable[..., Any], gzip_bomb: bytes
) -> None:
    polled = poll_twice(jirga_home, feed_server, route, gzip_bomb)
    settings: Settings = polled["settings"]
    first: PollSummary = polled["first"]
    second: PollSummary = polled["second"]
    before, after = polled["before"], polled["after"]
    total = len(GOOD) + len(HOSTILE)

    # The first poll: every feed good, two matching entries each.
    assert first.feeds_due == total and first.ok == total and first.failed == 0, first.errors
    assert first.new_articles == 2 * total

    # The second poll ran to its end and accounted for every feed.
    assert second.skipped is None and second.feeds_due == total
    assert second.failed == len(FAILING), second.errors
    assert second.gone == 1 and second.retry_later == 1 and second.not_modified == 1
    assert second.ok == len(GOOD) + len(WARNED) + len(QUIET_OK)

    # Good feeds: the new matching entry of each language stored, with its mentions.
    for fid in GOOD:
        keys = {k for s, k in after["articles"] if s == fid}
        assert keys == {f"{fid}-hit-0", f"{fid}-hit-1", f"{fid}-hit-2"}, fid
        assert after["feeds"][fid]["etag"] == f'"{fid}-2"'

    # What the first poll stored is untouched, row for row.
    for key, row in before["articles"].items():
        assert after["articles"][key] == row, key

    errors = dict(second.errors)
    warnings: dict[str, list[str]] = {}
    for fid, text in second.warnings:
        warnings.setdefault(fid, []).append(text)
    new = {k: r for k, r in after["articles"].items() if k not in before["articles"]}
    new_by_feed: dict[str, dict[str, dict[str, Any]]] = {}
    for (source, key), row in new.items():
        new_by_feed.setdefault(source, {})[key] = row

    for fid, reason in FAILING.items():
        row, old = after["feeds"][fid], before["feeds"][fid]
        assert reason in errors[fid], (fid, errors.get(fid))
        assert reason in (row["last_error"] or ""), (fid, row["last_error"])
        assert row["consecutive_errors"] == 1, fid
        assert when(row["next_attempt_at"]) > when(row["last_fetched_at"]), fid
        # A failed fetch keeps the validators of the last good one, so nothing is skipped later.
        assert (row["etag"], row["body_hash"]) == (old["etag"], old["body_hash"]), fid
        assert fid not in new_by_feed, fid

    for fid, warning in WARNED.items():
        assert any(warning in w for w in warnings.get(fid, [])), (fid, warnings.get(fid))
        assert after["feeds"][fid]["last_error"] is None, fid
        assert after["feeds"][fid]["consecutive_errors"] == 0, fid

    # 429: asked to wait, which is not a failure; the wait is the server's.
    r429 = after["feeds"]["h-429"]
    assert r429["consecutive_errors"] == 0 and r429["last_status"] == 429
    assert when(r429["next_attempt_at"]) - when(r429["last_fetched_at"]) == dt.timedelta(
        seconds=120
    )
    assert "retry later" in r429["last_error"]
    assert r429["etag"] == before["feeds"]["h-429"]["etag"]

    # 410 once: counted, not yet gone.
    r410 = after["feeds"]["h-410"]
    assert r410["last_error"] == "HTTP 410" and r410["consecutive_gone"] == 1
    assert not r410["gone"]

    # 304: the conditional GET worked; nothing changed.
    r304 = after["feeds"]["h-304"]
    assert r304["last_status"] == 304 and r304["last_error"] is None
    assert r304["etag"] == '"h-304-1"' and polled["server"].hits["/h-304.xml"] == 2

    # Entities: never expanded, never fetched, never read from disk.
    assert polled["server"].hits.get("/secret", 0) == 0
    laughs = new_by_feed["h-laughs"]["laughs-1"]
    assert "lollol" not in laughs["text"] and len(laughs["text"]) < 1000
    big = new_by_feed["h-bigentity"]["big-1"]
    assert "BBBBBBBBBB" not in big["text"] and len(big["text"]) < 100_000
    assert set(new_by_feed["h-xxe-file"]) == {"xxe-file"}
    assert set(new_by_feed["h-xxe-http"]) == {"xxe-http"}

    # Encodings: the mislabelled feed stores no mojibake; one bad byte costs one character.
    assert "h-1256" not in new_by_feed
    bad = new_by_feed["h-badbyte"]["badbyte-1"]
    assert bad["text"].count("\ufffd") == 1 and "کالعدم" in bad["text"]
    assert set(new_by_feed["h-ctrl"]) == {"ctrl-1", "ctrl-2", "ctrl-3"}
    assert new_by_feed["h-ctrl"]["ctrl-1"]["url"] == "https://ctrl.example/one"

    # Markup: the prose survives, the code does not; a javascript: link is no link.
    script = new_by_feed["h-script"]
    assert set(script) == {"script-1", "script-2", "script-3", "script-4"}
    assert script["script-1"]["url"] is None and script["script-2"]["url"] is None
    assert script["script-3"]["url"] is None
    assert script["script-4"]["url"] == f"{polled['server'].base}/news/relative?x=1"
    for row in [*script.values(), *new_by_feed["h-atom"].values()]:
        assert "Tehrik-i-Taliban Pakistan" in row["text"] or "TTP" in row["text"]
    assert 'href="https://safe.example/ok"' in script["script-1"]["html"]

    # Absurd dates: every one replaced by the fetch time, and flagged.
    dates = new_by_feed["h-dates"]
    assert set(dates) == {*docs.ABSURD_DATES, "date-iso"}
    for key, row in dates.items():
        assert row["published_at"] == row["fetched_at"] and row["date_estimated"], key

    # GUIDs: the first of a repeated GUID wins; no GUID: the link, else the content hash;
    # a huge GUID is kept as a short digest.
    guids = new_by_feed["h-guids"]
    assert guids["dup-guid"]["title"] == "TTP first with the shared guid"
    assert "https://guids.example/a" in guids
    assert len(guids) == 4
    huge = [k for k in guids if k.startswith("sha256:")]
    assert len(huge) == 1 and len(huge[0]) <= 255
    assert any(re.fullmatch(r"[0-9a-f]{64}", k) for k in guids)

    # Truncated XML: the complete entries are kept, the cut one is not.
    assert set(new_by_feed["h-truncated"]) == {"h-truncated-10", "h-truncated-11"}

    # Nothing else was stored.
    assert set(new_by_feed) == set(GOOD) | {
        "h-laughs", "h-bigentity", "h-xxe-file", "h-xxe-http", "h-badbyte", "h-ctrl",
        "h-script", "h-atom", "h-dates", "h-guids", "h-truncated",
    }  # fmt: skip

    assert_nothing_hostile_stored(settings)

    # Two more 410s (forced, only that feed) and the feed is gone, then left alone.
    for _ in range(2):
        run_poll(settings, feed_ids=["h-410"], force=True)
    row = feed_rows(settings)["h-410"]
    assert row["gone"] and row["consecutive_gone"] == 3 and row["last_status"] == 410
    assert polled["server"].hits["/h-410.xml"] == 4  # the good first poll, then three 410s
    later = run_poll(settings, feed_ids=["h-410"])
    assert later.feeds_due == 0 and polled["server"].hits["/h-410.xml"] == 4


def assert_nothing_hostile_stored(settings: Settings) -> None:
    """No script, handler, control character, local file or non-web URL anywhere in the DB."""
    text = dump(settings)
    for word in docs.FORBIDDEN:
        assert word not in text.lower(), repr(word)
    assert "root:" not in text and "SECRET-7f3a" not in text
    for path in settings.data_dir.glob("jirga.db*"):
        assert b"root:x:" not in path.read_bytes(), path
    with connect(settings) as con:
        for url, canonical, html, key in con.execute(
            "SELECT url, canonical_url, html, entry_key FROM articles"
        ):
            for u in (url, canonical):
                assert u is None or u.startswith(("http://", "https://")), u
            for href in re.findall(r'href="([^"]*)"', html):
                assert href.startswith(("http://", "https://", "mailto:")), href
            assert len(key) <= 255
        for url, redirect in con.execute("SELECT url, redirect_url FROM feeds"):
            for u in (url, redirect):
                assert u is None or u.startswith(("http://", "https://")), u


@pytest.mark.timeout(120)
def test_twice_escaped_script_does_not_reach_the_plain_text(
    jirga_home: Path, feed_server: Any, route: Callable[..., Any]
) -> None:
    feed_server.routes["/x.xml"] = route(body=docs.double_escaped_script())
    (jirga_home / "config" / "feeds.toml").write_text(
        feeds_toml([("h-2x", feed_server.url("/x.xml"), "en")])
    )
    settings = settings_for(jirga_home)
    with Storage(settings.effective_database_url) as store:
        store.upgrade()
    assert run_poll(settings).new_articles == 1
    (row,) = articles(settings).values()
    assert "Tehrik-i-Taliban Pakistan" in row["text"]
    for word in docs.FORBIDDEN:
        assert word not in row["title"].lower() and word not in row["text"].lower(), word


@pytest.mark.timeout(120)
def test_entry_warnings_reach_the_summary(
    jirga_home: Path, feed_server: Any, route: Callable[..., Any]
) -> None:
    rss_type = {"Content-Type": "application/rss+xml; charset=utf-8"}
    feed_server.routes["/dates.xml"] = route(body=docs.absurd_dates(), headers=rss_type)
    feed_server.routes["/script.xml"] = route(body=docs.scripts_rss(), headers=rss_type)
    (jirga_home / "config" / "feeds.toml").write_text(
        feeds_toml(
            [
                ("h-dates", feed_server.url("/dates.xml"), "en"),
                ("h-script", feed_server.url("/script.xml"), "en"),
            ]
        )
    )
    settings = settings_for(jirga_home)
    with Storage(settings.effective_database_url) as store:
        store.upgrade()
    summary = run_poll(settings)
    assert summary.ok == 2 and summary.new_articles > 0
    warnings: dict[str, str] = {}
    for fid, text in summary.warnings:
        warnings[fid] = warnings.get(fid, "") + " | " + text
    assert "used fetch time" in warnings.get("h-dates", ""), summary.warnings
    assert "link not an absolute http(s) URL" in warnings.get("h-script", ""), summary.warnings
