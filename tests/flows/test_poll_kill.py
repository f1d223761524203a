"""A poll killed with SIGKILL mid-run, then rerun: nothing lost, nothing duplicated.

The poll runs in a process of its own against a loopback server whose answers trickle, so it is
killed while feeds are still being fetched and stored; the database is watched read-only to pick
the moment. After every kill each feed holds either all of its work (articles and validators) or
none of it, and the stale lease of the dead process does not block the rerun. When a rerun
finally completes, the database matches a clean run on a fresh database.

Two ways in: the engine alone (``tests/flows/hostile_engine.py``, fast, killed at many points)
and the real ``jirga poll`` command (each run starts its own temporary Prefect server, which the
kill takes down with it).
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from storage.facade import Storage
from tests.flows.feeds import Item, feeds_toml, rss
from tests.flows.hostile_docs import trickle

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
FEEDS = 40
HITS = 3  # matching entries per feed; each feed also has one that matches nothing
ENGINE = "from tests.flows.hostile_engine import main; main()"
# Each slowed answer comes in 6 pieces 0.1 s apart; two at a time to the one host.
PIECES, DELAY = 6, 0.1
WATCH_STEP = 0.05  # seconds between looks at the database
WATCH_LIMIT = 3600  # looks before giving up (a bound, not a timing assertion)

_VOCABULARY = [
    f"{a}{b}" for a in ("ka", "lo", "mi", "nu", "pe", "ru", "si", "to") for b in range(40)
]


def feed_doc(i: int) -> bytes:
    """Feed ``i``: HITS entries that mention the TTP and one that does not, all unlike any other
    (random words), so which copy is stored never depends on the order feeds complete in."""
    rng = random.Random(i)
    items = [
        Item(
            f"TTP report {i}-{j}",
            "Tehrik-i-Taliban Pakistan " + " ".join(rng.sample(_VOCABULARY, 30)),
            f"https://kill{i}.example/news/{j}",
            guid=f"kill{i}-{j}",
        )
        for j in range(HITS)
    ]
    items.append(Item(f"Weather {i}", "Rain in Lahore.", f"https://kill{i}.example/w", f"w{i}"))
    return rss(items, title=f"Kill feed {i}")


@dataclass
class Home:
    """One jirga environment (config, data, Prefect home) for subprocess runs."""

    root: Path

    @property
    def db(self) -> Path:
        return self.root / "data" / "jirga.db"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JIRGA_", "PREFECT_"))}
        env.update(
            PYTHONPATH=str(ROOT),
            JIRGA_DATA_DIR=str(self.root / "data"),
            JIRGA_CONFIG_DIR=str(self.root / "config"),
            JIRGA_ALLOW_PRIVATE_NETWORKS="true",
            JIRGA_PARSE_WORKERS="1",
            PREFECT_HOME=str(self.root / "prefect"),
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="180",
            DO_NOT_TRACK="1",
        )
        return env


def make_home(path: Path, server: Any) -> Home:
    home = Home(path)
    (path / "config").mkdir(parents=True)
    config = ROOT / "config"
    for name in ("watchlist.toml", "narratives.toml"):
        (path / "config" / name).write_bytes((config / name).read_bytes())
    (path / "config" / "feeds.toml").write_text(
        feeds_toml([(f"f{i:02d}", server.url(f"/f{i:02d}.xml"), "en") for i in range(FEEDS)])
    )
    with Storage(f"sqlite:///{home.db}") as store:
        store.upgrade()
    return home


def serve(server: Any, route: Any, *, slow: bool) -> None:
    """Every feed's route; ``slow``: its answer trickles."""
    for i in range(FEEDS):
        body = feed_doc(i)
        server.routes[f"/f{i:02d}.xml"] = route(
            body=trickle(body, PIECES) if slow else body,
            chunk_delay=DELAY if slow else 0.0,
            headers={"ETag": f'"f{i:02d}-v1"'},
        )


def start(home: Home, args: list[str], name: str) -> subprocess.Popen[bytes]:
    """A poll in a new session, so that it and every process it starts can be killed at once."""
    # The child keeps its own copies of the two files; the parent's close at the end of `with`.
    with (
        (home.root / f"{name}.out").open("wb") as out,
        (home.root / f"{name}.err").open("wb") as err,
    ):
        return subprocess.Popen(
            [sys.executable, *args],
            cwd=home.root,
            env=home.env(),
            stdout=out,
            stderr=err,
            start_new_session=True,
        )


def finish(home: Home, proc: subprocess.Popen[bytes], name: str, timeout: float) -> dict[str, Any]:
    """Wait for a run to end by itself; its JSON summary."""
    code = proc.wait(timeout=timeout)
    err = (home.root / f"{name}.err").read_text(errors="replace")
    assert code == 0, err[-3000:]
    out = (home.root / f"{name}.out").read_text()
    summary: dict[str, Any] = json.loads(out[out.index("{") :])
    return summary


def count_articles(db: Path) -> int:
    """Articles stored so far, read without taking any lock a writer would wait on."""
    if not db.exists():
        return 0
    try:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)) as con:
            return int(con.execute("SELECT count(*) FROM articles").fetchone()[0])
    except sqlite3.OperationalError:
        return 0  # not created yet, or busy at that instant: look again


def kill_when(home: Home, proc: subprocess.Popen[bytes], at_least: int) -> int:
    """SIGKILL the run (its whole process group) once ``at_least`` articles are stored."""
    total = FEEDS * HITS
    seen = 0
    for _ in range(WATCH_LIMIT):
        assert proc.poll() is None, "the run ended before it could be killed"
        seen = count_articles(home.db)
        if seen >= at_least:
            break
        time.sleep(WATCH_STEP)
    else:
        pytest.fail(f"only {seen} articles after {WATCH_LIMIT} looks; wanted {at_least}")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert seen < total, "the run stored everything before the kill; slow the server further"
    return seen


def kill_soon(proc: subprocess.Popen[bytes], looks: int) -> None:
    """SIGKILL the run after ``looks`` watch steps, whatever it is doing then."""
    for _ in range(looks):
        assert proc.poll() is None
        time.sleep(WATCH_STEP)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def snapshot(db: Path) -> dict[str, Any]:
    with closing(sqlite3.connect(db)) as con:  # the writer is dead: recovering its WAL is fine
        keys = con.execute("SELECT source, entry_key FROM articles").fetchall()
        per_feed = dict(con.execute("SELECT feed_id, count(*) FROM articles GROUP BY feed_id"))
        mentions = dict(
            con.execute(
                "SELECT a.feed_id, count(*) FROM mentions m JOIN articles a ON a.id = m.article_id"
                " GROUP BY a.feed_id"
            )
        )
        validators = {
            fid: (etag, body_hash)
            for fid, etag, body_hash in con.execute("SELECT id, etag, body_hash FROM feeds")
        }
        locks = con.execute("SELECT name, holder FROM locks").fetchall()
        urls = con.execute(
            "SELECT count(canonical_url), count(DISTINCT canonical_url) FROM articles"
        ).fetchone()
        bands = con.execute(
            "SELECT count(*) FROM article_bands WHERE article_id NOT IN (SELECT id FROM articles)"
        ).fetchone()[0]
    return {
        "keys": keys,
        "per_feed": per_feed,
        "mentions": mentions,
        "validators": validators,
        "locks": locks,
        "urls": urls,
        "orphan_bands": bands,
    }


def assert_consistent(snap: dict[str, Any], reference: dict[str, Any]) -> None:
    """Each feed holds all of its work or none: articles, mentions and validators together."""
    assert len(snap["keys"]) == len(set(snap["keys"]))
    assert snap["orphan_bands"] == 0
    for fid, (etag, body_hash) in snap["validators"].items():
        stored = snap["per_feed"].get(fid, 0)
        assert stored in (0, HITS), (fid, stored)
        assert (stored == HITS) == (etag is not None) == (body_hash is not None), (fid, etag)
        assert snap["mentions"].get(fid, 0) == (reference["mentions"][fid] if stored else 0), fid


def assert_same_as_reference(snap: dict[str, Any], reference: dict[str, Any]) -> None:
    assert set(snap["keys"]) == set(reference["keys"])
    assert len(snap["keys"]) == len(set(snap["keys"])) == FEEDS * HITS
    assert snap["urls"] == (FEEDS * HITS, FEEDS * HITS)
    assert sum(snap["mentions"].values()) == sum(reference["mentions"].values())
    assert snap["mentions"] == reference["mentions"]
    assert snap["validators"] == reference["validators"]
    assert snap["locks"] == []


def assert_stale_lease(snap: dict[str, Any], proc: subprocess.Popen[bytes]) -> None:
    """The killed run left its lease behind, naming its own (now dead) process."""
    (name, holder) = snap["locks"][0]
    assert name == "poll_feeds" and holder.split(":")[1] == str(proc.pid)


@pytest.fixture
def route(feed_server: Any) -> type:
    """The server fixture's Route class (taken from its module: tests never import conftest)."""
    return sys.modules[type(feed_server).__module__].Route  # type: ignore[no-any-return]


@pytest.fixture
def reference(tmp_path: Path, feed_server: Any, route: Any) -> dict[str, Any]:
    """A clean engine run of the same feeds on a fresh database, at full speed."""
    home = make_home(tmp_path / "reference", feed_server)
    serve(feed_server, route, slow=False)
    summary = finish(home, start(home, ["-c", ENGINE], "ref"), "ref", timeout=120)
    assert summary["failed"] == 0 and summary["new_articles"] == FEEDS * HITS
    snap = snapshot(home.db)
    assert len(snap["keys"]) == FEEDS * HITS and all(v[0] for v in snap["validators"].values())
    return snap


@pytest.mark.timeout(300)
def test_engine_killed_at_many_points_then_rerun(
    tmp_path: Path, feed_server: Any, route: Any, reference: dict[str, Any]
) -> None:
    from flows.poll import POLL_LEASE

    assert POLL_LEASE == "poll_feeds"  # the name hostile_engine uses without importing Prefect
    home = make_home(tmp_path / "killed", feed_server)
    serve(feed_server, route, slow=True)
    total = FEEDS * HITS

    # Killed before it could store anything (start-up, migrations check, sync, first fetches).
    proc = start(home, ["-c", ENGINE], "early")
    kill_soon(proc, looks=4)
    assert_consistent(snapshot(home.db), reference)

    stored = 0
    for n, fraction in enumerate((0.0, 0.3, 0.55, 0.8)):
        proc = start(home, ["-c", ENGINE], f"run{n}")
        target = max(stored + 1, int(total * fraction))
        kill_when(home, proc, target)
        snap = snapshot(home.db)
        assert_consistent(snap, reference)
        assert_stale_lease(snap, proc)
        stored = len(snap["keys"])
        assert stored < total, "the run completed before the kill"

    summary = finish(home, start(home, ["-c", ENGINE], "last"), "last", timeout=180)
    assert summary["skipped"] is None, summary["skipped"]  # the dead holder's lease was taken
    assert summary["failed"] == 0
    assert_same_as_reference(snapshot(home.db), reference)


@pytest.mark.timeout(480)
def test_cli_poll_killed_mid_run_then_rerun(
    tmp_path: Path, feed_server: Any, route: Any, reference: dict[str, Any]
) -> None:
    # One kill only: each CLI run starts a temporary Prefect server (tens of seconds on a small
    # machine); killing again at other points is the engine test's job.
    home = make_home(tmp_path / "cli", feed_server)
    serve(feed_server, route, slow=True)
    total = FEEDS * HITS
    poll = ["-m", "flows.cli", "poll", "--json", "--no-narratives"]  # the poll is under test

    proc = start(home, poll, "cli1")
    kill_when(home, proc, total // 3)
    snap = snapshot(home.db)
    assert_consistent(snap, reference)
    assert_stale_lease(snap, proc)
    stored = len(snap["keys"])
    assert 0 < stored < total

    # The temporary Prefect server died with the poll (same process group); the rerun starts
    # a new one on the same Prefect home and takes over the dead poll's lease.
    summary = finish(home, start(home, poll, "cli2"), "cli2", timeout=300)
    assert summary["skipped"] is None, summary["skipped"]
    assert summary["failed"] == 0 and summary["feeds_due"] == FEEDS
    # Feeds stored before the kill answer 304 now; the rest are fetched and stored.
    assert summary["not_modified"] == stored // HITS
    assert summary["new_articles"] == total - stored
    assert_same_as_reference(snapshot(home.db), reference)
