"""Benchmark of a whole poll: jirga's Poller against lemon24/reader and the lxml limit.

    uv run --group bench python bench/bench_poll.py                   # 1,000 feeds x 50 entries
    uv run --group bench python bench/bench_poll.py --quick --profile # 100 feeds, then cProfile
    uv run --group bench python bench/bench_poll.py --latency-ms 100 --skip-reader

A loopback server in its own process (``feedgen.serve``) serves synthetic feeds in four
languages. Each contender runs in a fresh process, so its peak memory is its own:

* jirga: ``flows.polling.Poller`` (no Prefect) into a fresh SQLite file: a cold poll, then a warm
  re-poll of the unchanged feeds (304s; identical bodies for the feeds without validators), then
  a "changed" poll once every feed has gained two entries (the rest byte for byte as before, as
  a news feed changes between two scheduled polls);
* reader: ``update_feeds(workers=--concurrency)`` into a fresh reader database, cold, warm and
  changed;
* the limit: ``lxml.etree.fromstring`` of the same bodies on a pool of ``--workers`` processes;
* the ceiling of server and loopback: every body downloaded by plain httpx threads, unparsed.

Columns: ``peak MB`` the contender's own peak RSS; ``kids MB`` its child processes' (jirga's
fork server and parser workers) peak RSS added up; ``PSS MB`` the largest simultaneous PSS of
all of them; ``CPU s`` the contender's own CPU time; ``kidsCPU`` its children's; ``srvCPU`` the
server's meanwhile. Children are read from /proc ten times a second. Times are wall-clock on a
shared machine: compare them within one run. Goals are printed as PASS/MISS, never asserted.

Each contender first polls a few feeds untimed, with bytecode writing on, so that the measured
runs find their imports compiled, as every scheduled poll after a user's first does. Where the
environment turns bytecode writing off (``PYTHONDONTWRITEBYTECODE``, common in containers),
every process would otherwise compile its imports afresh: about 2 CPU-s of a cold poll here,
most of it in the worker pool's fork server.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import importlib
import multiprocessing
import os
import pstats
import resource
import shutil
import sys
import tempfile
import time
import traceback
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

# Only the standard library and feedgen at the top: a contender's worker pool has its fork
# server import the modules this script took its names from (jirga.workerpool's
# _main_imports), and the jirga command's own script imports little; httpx is imported where
# the fetch ceiling needs it.
from feedgen import feed_body, feed_specs, feeds_toml, routes, serve

ROOT = Path(__file__).resolve().parents[1]
CLOCK = os.sysconf("SC_CLK_TCK")
RUN_LIMIT = 1800.0  # seconds a contender may run before it is killed
WARM_UP_FEEDS = 20  # polled untimed by each contender first (see the module docstring)
NEW_ENTRIES = 2  # entries every feed gains before the "changed" poll
# (label, file, function) of the stages summed up from the profile.
STAGES = (
    ("parse_feed (feedparser)", "parse.py", "parse_feed"),
    ("normalise_entry", "normalise.py", "normalise_entry"),
    ("  sanitize_html", "sanitize.py", "sanitize_html"),
    ("  html_to_text", "sanitize.py", "html_to_text"),
    ("  canonical_url", "urls.py", "canonical_url"),
    ("  detect_language", "language.py", "detect_language"),
    ("Matcher.find", "match.py", "find"),
    ("signature (MinHash)", "dedup.py", "signature"),
    ("store_feed (SQLite)", "facade.py", "store_feed"),
    ("Matcher() tables, once", "match.py", "__init__"),
    ("py3langid model, once", "language.py", "_identifier"),
)


# --- /proc readings --------------------------------------------------------------------------


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def _kib(text: str, key: str) -> int:
    line = next((ln for ln in text.splitlines() if ln.startswith(key + ":")), f"{key}: 0")
    return int(line.split()[1])


def cpu_seconds(pid: int, tid: int | None = None) -> float:
    """User + system CPU seconds of a process (or of its thread ``tid``) so far; 0 once gone."""
    path = f"/proc/{pid}/stat" if tid is None else f"/proc/{pid}/task/{tid}/stat"
    fields = _read(path).rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK if len(fields) > 12 else 0.0


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (children of each of its threads, recursively)."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        with_tasks = os.path.isdir(f"/proc/{parent}/task")
        for task in os.listdir(f"/proc/{parent}/task") if with_tasks else []:
            kids = [int(k) for k in _read(f"/proc/{parent}/task/{task}/children").split()]
            found += kids
            todo += kids
    return found


@dataclass
class Tree:
    """What the sampler saw of a contender's processes during one phase."""

    root: int
    peak_pss_mb: float = 0.0  # largest simultaneous sum of PSS (shared pages counted once)
    hwm_mb: dict[int, float] = field(default_factory=dict)  # each process's own peak RSS
    cpu: dict[int, float] = field(default_factory=dict)  # each process's CPU seconds in phase
    main_thread_cpu: float = 0.0  # the root's main thread (the rest: its fetch threads)
    _base: dict[int, float] | None = None  # CPU seconds of the processes there at the start
    _main_base: float = 0.0

    def sample(self) -> None:
        """Read every process of the tree once."""
        total, first = 0.0, self._base is None
        base = self._base = {} if self._base is None else self._base
        for pid in [self.root, *descendants(self.root)]:
            if status := _read(f"/proc/{pid}/status"):
                total += _kib(_read(f"/proc/{pid}/smaps_rollup"), "Pss") / 1024
                self.hwm_mb[pid] = max(self.hwm_mb.get(pid, 0.0), _kib(status, "VmHWM") / 1024)
                if first:
                    base[pid] = cpu_seconds(pid)
                self.cpu[pid] = cpu_seconds(pid) - base.get(pid, 0.0)
        if first:
            self._main_base = cpu_seconds(self.root, self.root)
        self.main_thread_cpu = cpu_seconds(self.root, self.root) - self._main_base
        self.peak_pss_mb = max(self.peak_pss_mb, total)

    @property
    def children(self) -> list[tuple[float, float]]:
        """(peak RSS MB, CPU s) of each child process: fork server, resource tracker, workers."""
        kids = [(self.hwm_mb[p], self.cpu.get(p, 0.0)) for p in self.hwm_mb if p != self.root]
        return sorted(kids, key=lambda kid: -kid[1])

    @property
    def children_mb(self) -> float:
        """The children's peak RSS added up (an upper bound of their simultaneous peak)."""
        return sum(mb for mb, _ in self.children)

    @property
    def children_cpu(self) -> float:
        """The children's CPU seconds in the phase."""
        return sum(cpu for _, cpu in self.children)


@dataclass
class Phase:
    """One timed phase of a contender, with its process tree and the server's CPU meanwhile."""

    result: dict[str, Any]
    tree: Tree
    server_cpu: float


def run_contender(job: str, params: dict[str, Any], server_pid: int) -> dict[str, Phase]:
    """Run ``JOBS[job]`` in a fresh process, sampling its tree while it runs."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    process = ctx.Process(target=contender, args=(child, {**params, "job": job}))
    process.start()
    child.close()
    assert process.pid is not None
    phases: dict[str, Phase] = {}
    tree, server_start = Tree(process.pid), 0.0
    deadline = time.monotonic() + RUN_LIMIT
    try:
        while time.monotonic() < deadline:
            if not parent.poll(0.1):
                tree.sample()
                continue
            message = parent.recv()
            if message[0] == "start":
                tree, server_start = Tree(process.pid), cpu_seconds(server_pid)
                tree.sample()
            elif message[0] == "done":
                tree.sample()
                phases[message[1]] = Phase(message[2], tree, cpu_seconds(server_pid) - server_start)
                tree = Tree(process.pid)  # between phases: seen, not kept
            elif message[0] == "error":
                print(f"  {job} failed:\n{message[1]}")
            if message[0] in ("error", "end"):
                break
        else:
            print(f"  {job} killed: still running after {RUN_LIMIT:g} s")
    except EOFError:
        print(f"  {job} died: exit code {process.exitcode}")
    finally:
        process.join(timeout=30)
        if process.is_alive():
            process.kill()
            process.join()
    return phases


def contender(conn: Connection, params: dict[str, Any]) -> None:
    """A contender's process: run its job; report the end, or the exception, to the parent."""
    try:
        JOBS[params["job"]](conn, params)
        conn.send(("end",))
    except Exception:
        conn.send(("error", traceback.format_exc()))


def _measured(conn: Connection, phase: str, run: Callable[[], str]) -> None:
    """Run one phase (``run`` returns a one-line summary), telling the parent when it starts
    and what it came to."""
    conn.send(("start", phase))
    before = resource.getrusage(resource.RUSAGE_SELF)
    began = time.perf_counter()
    summary = run()
    seconds = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    result = {"summary": summary, "seconds": seconds, "own_cpu": cpu}
    result.update(maxrss=after.ru_maxrss / 1024, maxrss_before=before.ru_maxrss / 1024)
    conn.send(("done", phase, result))


# --- contenders (each in a spawned process of its own) ----------------------------------------


def jirga_job(conn: Connection, params: dict[str, Any]) -> None:
    """Cold poll, then warm re-poll, of every feed by flows.polling.Poller into fresh SQLite."""
    import flows.polling
    from flows.polling import poll_once
    from jirga.config import load_watchlist
    from jirga.settings import Settings
    from storage.facade import Storage

    if params.get("profile") and not params.get("profile_main"):
        # cProfile sees one thread of one process, so documents are processed in this one.
        # Settings cannot ask for that (parse_workers=0 means one per core): swap the pool.
        pool = flows.polling.DocumentPool
        flows.polling.DocumentPool = lambda *a, **k: pool(*a, **{**k, "workers": 0})  # type: ignore[misc]
    _edition(params, 0)
    with tempfile.TemporaryDirectory(prefix="bench-poll-jirga-") as tmp:
        home = Path(tmp)
        shutil.copytree(ROOT / "config", home / "config")
        (home / "config" / "feeds.toml").write_text(params["feeds_toml"], encoding="utf-8")
        settings = Settings(
            data_dir=home / "data",
            config_dir=home / "config",
            allow_private_networks=True,
            parse_workers=params["workers"],
            fetch_concurrency=params["concurrency"],
            # Every feed is on one loopback host here; in production they are spread over many.
            fetch_per_host=min(params["concurrency"], 32),
        )
        watchlist = load_watchlist(settings.config_dir)
        with Storage(settings.effective_database_url) as storage:
            storage.upgrade()
            start = dt.datetime.now(dt.UTC)
            storage.sync_feeds(watchlist.feeds, start)

            def poll(now: dt.datetime, profile: cProfile.Profile | None) -> str:
                if profile is not None:
                    profile.enable()
                summary = poll_once(
                    settings, storage, watchlist.feeds, watchlist.terms, now, force=True
                )
                if profile is not None:
                    profile.disable()
                    profile.dump_stats(params["profile"])
                errors = f"; first errors: {summary.errors[:3]}" if summary.errors else ""
                return summary.headline().rsplit(";", 1)[0] + errors

            profile = cProfile.Profile() if params.get("profile") else None
            _measured(conn, "cold", lambda: poll(start, profile))
            _measured(conn, "warm", lambda: poll(start + dt.timedelta(minutes=1), None))
            if not params.get("profile"):
                _edition(params, NEW_ENTRIES)
                _measured(conn, "changed", lambda: poll(start + dt.timedelta(minutes=2), None))


def reader_job(conn: Connection, params: dict[str, Any]) -> None:
    """Cold update, then warm (unscheduled) update, of every feed by lemon24/reader."""
    try:
        importlib.import_module("sgmllib")
    except ImportError:
        # reader's vendored feedparser imports sgmllib (package sgmllib3k); feedparser 6.0.12+
        # needs the same module renamed feedparser_sgmllib, so only that one is installed.
        sys.modules["sgmllib"] = importlib.import_module("feedparser_sgmllib")
    from reader import make_reader

    _edition(params, 0)
    with tempfile.TemporaryDirectory(prefix="bench-poll-reader-") as tmp:
        reader = make_reader(str(Path(tmp) / "reader.sqlite"))
        for url in params["urls"]:
            reader.add_feed(url)

        def update(scheduled: bool) -> str:
            reader.update_feeds(workers=params["concurrency"], scheduled=scheduled)
            counts = reader.get_feed_counts()
            stored = reader.get_entry_counts().total
            return f"{counts.total} feeds, {counts.broken} broken; {stored} entries stored"

        _measured(conn, "cold", lambda: update(True))
        # Unscheduled, or reader would skip every feed updated less than an hour ago.
        _measured(conn, "warm", lambda: update(False))
        _edition(params, NEW_ENTRIES)
        _measured(conn, "changed", lambda: update(False))
        reader.close()


def _edition(params: dict[str, Any], new: int) -> None:
    """Have the server send every feed as it is after gaining ``new`` entries (0: as first)."""
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with direct.open(f"{params['base']}/_edition?{1 if new else 0}") as answer:  # raises on >= 400
        answer.read()


JOBS: dict[str, Callable[[Connection, dict[str, Any]], None]] = {
    "jirga": jirga_job,
    "reader": reader_job,
}


# --- the limit and the ceiling ----------------------------------------------------------------

_BODIES: list[bytes] = []  # set before the lxml pool forks: the workers inherit the bytes


def _lxml_tree(i: int) -> int:
    from lxml import etree

    return len(etree.fromstring(_BODIES[i]))


def lxml_limit(bodies: list[bytes], processes: int) -> float:
    """Seconds to build an lxml tree of every body on ``processes`` cores (best of three)."""
    _BODIES[:] = bodies
    best = float("inf")
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        pool.map(_lxml_tree, range(min(len(bodies), processes)))  # workers up, lxml imported
        for _ in range(3):
            began = time.perf_counter()
            pool.map(_lxml_tree, range(len(bodies)), chunksize=8)
            best = min(best, time.perf_counter() - began)
    _BODIES.clear()
    return best


def fetch_ceiling(urls: list[str], concurrency: int) -> float:
    """Seconds for plain httpx threads to download every body (no validators, no parsing)."""
    import httpx  # here, not at the top: see the note on imports there

    with httpx.Client(limits=httpx.Limits(max_connections=concurrency)) as client:
        began = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(lambda url: len(client.get(url).content), urls))
        return time.perf_counter() - began


# --- report ----------------------------------------------------------------------------------


def report(
    args: argparse.Namespace, runs: dict[str, dict[str, Phase]], lxml_s: float, ceiling_s: float
) -> None:
    """The table (columns: see the module docstring), what each phase did, and the goals."""
    n, entries = args.feeds, args.feeds * args.entries
    head = "feeds/s entries/s  seconds  peak MB  kids MB  PSS MB  CPU s  kidsCPU  srvCPU"
    print(f"\n{'':<22} {head}")
    rows: list[tuple[str, Phase | float]] = [
        (f"{name} {kind}", p) for name, phases in runs.items() for kind, p in phases.items()
    ]
    rows += [(f"lxml limit ({args.workers} procs)", lxml_s), ("fetch only (ceiling)", ceiling_s)]
    for label, p in rows:
        seconds = p.result["seconds"] if isinstance(p, Phase) else p
        line = f"{label:<22} {n / seconds:>7.1f} {entries / seconds:>9.0f} {seconds:>8.2f}"
        if isinstance(p, Phase):
            r, t = p.result, p.tree
            line += f" {r['maxrss']:>8.0f} {t.children_mb:>8.0f} {t.peak_pss_mb:>7.0f}"
            line += f" {r['own_cpu']:>6.1f} {t.children_cpu:>8.1f} {p.server_cpu:>7.1f}"
        print(line)
    for label, p in rows:
        if isinstance(p, Phase):
            kids = ", ".join(f"{mb:.0f} MB/{cpu:.1f} s" for mb, cpu in p.tree.children) or "none"
            print(f"  {label}: {p.result['summary']}")
            threads = f"{p.tree.main_thread_cpu:.1f} s main thread"
            print(f"    peak RSS at start {p.result['maxrss_before']:.0f} MB; CPU {threads};")
            print(f"    children (peak RSS/CPU): {kids}")
    jirga, reader = runs.get("jirga", {}), runs.get("reader", {})
    if "cold" not in jirga or "warm" not in jirga:
        print("\njirga did not finish: no goals to check")
        return
    cold, warm = jirga["cold"], jirga["warm"]
    cold_s, peak = cold.result["seconds"], cold.result["maxrss"] + cold.tree.children_mb
    print("\ngoals:")
    if "cold" in reader:
        ratio = reader["cold"].result["seconds"] / cold_s
        _goal("cold throughput >= 3x reader's", ratio >= 3, f"{ratio:.2f}x reader's")
    _goal("cold time <= 20x the lxml limit", cold_s / lxml_s <= 20, f"{cold_s / lxml_s:.0f}x")
    ratio = warm.result["seconds"] / cold_s
    _goal("warm time < a tenth of cold", ratio < 0.1, f"{ratio:.3f} of cold")
    # The workers are forked from a fork server that already holds the pipeline's tables, so
    # most of their pages are the same physical memory, which each one's RSS counts again. PSS
    # splits every shared page among the processes sharing it: the sum is the memory the poll
    # really holds. The RSS sum, an upper bound, is printed beside it.
    parts = f"{cold.result['maxrss']:.0f} poller + {cold.tree.children_mb:.0f} children"
    pss = cold.tree.peak_pss_mb
    shown = f"{pss:.0f} MB PSS (RSS added up: {peak:.0f} MB = {parts})"
    _goal("peak < 300 MB (poller + children, PSS)", pss < 300, shown)
    if "changed" in jirga:
        # Not a goal: the poll most scheduled runs make, of feeds that gained an entry or two.
        changed_s = jirga["changed"].result["seconds"]
        peer = reader.get("changed")
        against = f"; {peer.result['seconds'] / changed_s:.1f}x reader's" if peer else ""
        print(
            f"\nchanged (every feed gained {NEW_ENTRIES} entries): jirga {changed_s:.2f} s,"
            f" {changed_s / cold_s:.2f} of its cold poll{against}"
        )
    # Not a goal, a reading: CPU per entry moves less with the machine's speed of the hour than
    # a ratio of two timings does, and says where a poll stands against the lxml goal's budget.
    own, kids = cold.result["own_cpu"], cold.tree.children_cpu
    budget = 20 * lxml_s * args.workers / entries
    print(
        f"\ncold CPU per entry: {(own + kids) / entries * 1e6:.0f} µs (poller"
        f" {own / entries * 1e6:.0f}, children {kids / entries * 1e6:.0f}); 20x the lxml limit"
        f" on {args.workers} cores leaves {budget * 1e6:.0f} µs"
    )


def _goal(name: str, ok: bool, shown: str) -> None:
    print(f"  {'PASS' if ok else 'MISS'}  {name:<40} {shown}")


def show_profile(path: str, top: int = 20) -> None:
    """Stage totals and the top functions of the profiled cold poll."""
    stats = pstats.Stats(path, stream=sys.stdout)
    total = max(ct for _, _, _, ct, _ in stats.stats.values())  # type: ignore[attr-defined]
    print(f"\n--- profiled cold poll, documents processed in the main process: {total:.1f} s ---")
    for label, file, func in STAGES:
        ct = sum(
            v[3]
            for (f, _, fn), v in stats.stats.items()  # type: ignore[attr-defined]
            if fn == func and f.endswith("/" + file)
        )
        print(f"  {label:<28} {ct:>7.2f} s {100 * ct / total:>5.1f} %")
    stats.strip_dirs()
    for key in ("tottime", "cumulative"):
        print(f"\n--- top {top} by {key} ---")
        stats.sort_stats(key).print_stats(top)


def main() -> None:
    """Build the corpus and the server, run every contender, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--feeds", type=int, default=1000, help="feeds served (default 1000)")
    add("--entries", type=int, default=50, help="entries per feed (default 50)")
    add("--latency-ms", type=float, default=0.0, help="server delay before each response")
    add("--workers", type=int, default=os.cpu_count() or 1, help="parser processes (jirga, lxml)")
    add("--concurrency", type=int, default=16, help="fetch threads (jirga, reader, ceiling)")
    add("--skip-reader", action="store_true", help="do not run lemon24/reader")
    add("--quick", action="store_true", help="smoke run: at most 100 feeds")
    add("--profile", action="store_true", help="then profile a cold poll in one process")
    add(
        "--profile-main",
        action="store_true",
        help="with --profile: keep the workers, profile the main thread",
    )
    args = parser.parse_args()
    if args.quick:
        args.feeds = min(args.feeds, 100)
    # Inherited by every process started from here on (see the module docstring). Started
    # with bytecode writing off, this process would pass ``-B`` to every process it spawns
    # (multiprocessing copies the interpreter's flags), whatever the environment says by then:
    # so it starts itself again without it.
    if os.environ.pop("PYTHONDONTWRITEBYTECODE", None) is not None:
        os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])

    began = time.perf_counter()
    specs = feed_specs(args.feeds)
    bodies = [feed_body(spec, args.entries) for spec in specs]
    changed = [feed_body(spec, args.entries, NEW_ENTRIES) for spec in specs]
    print(
        f"{args.feeds} feeds x {args.entries} entries ({sum(map(len, bodies)) / 1e6:.1f} MB),"
        f" latency {args.latency_ms:g} ms, {args.workers} parser workers, {args.concurrency}"
        f" fetch threads; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
    )
    # Forked while this process has no thread yet; the server inherits the bodies.
    port_in, port_out = multiprocessing.get_context("fork").Pipe()
    server = multiprocessing.get_context("fork").Process(
        target=serve,
        args=(port_out, routes(specs, bodies), args.latency_ms / 1000),
        kwargs={"editions": [routes(specs, changed, NEW_ENTRIES)]},
        daemon=True,
    )
    server.start()
    try:
        base = f"http://127.0.0.1:{port_in.recv()}"
        assert server.pid is not None
        urls = [base + spec.path for spec in specs]
        ceiling_s = fetch_ceiling(urls, args.concurrency)
        params = {
            "base": base,
            "feeds_toml": feeds_toml(specs, base),
            "urls": urls,
            "workers": args.workers,
            "concurrency": args.concurrency,
        }
        contenders = ["jirga"] if args.skip_reader else ["jirga", "reader"]
        warm_up = {
            **params,
            "feeds_toml": feeds_toml(specs[:WARM_UP_FEEDS], base),
            "urls": urls[:WARM_UP_FEEDS],
        }
        for job in contenders:
            run_contender(job, warm_up, server.pid)
        runs = {job: run_contender(job, params, server.pid) for job in contenders}
        lxml_s = lxml_limit(bodies, args.workers)
        report(args, runs, lxml_s, ceiling_s)
        if args.profile:
            with tempfile.NamedTemporaryFile(suffix=".prof") as prof:
                profiled = {**params, "profile": prof.name, "profile_main": args.profile_main}
                run_contender("jirga", profiled, server.pid)
                show_profile(prof.name)
    finally:
        server.kill()
        server.join()
    print(
        f"\nbench finished in {time.perf_counter() - began:.0f} s;"
        f" load average {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
