"""Benchmark of Prefect's share of a ``jirga run``: the ``run_once`` flow against the same engine
calls without Prefect, over the synthetic feeds of ``bench_poll.py``.

    uv run python bench/bench_prefect.py            # 1,000 feeds x 50 entries, twice each
    uv run python bench/bench_prefect.py --quick    # smoke run: 100 feeds, once each

A loopback server in its own process (``feedgen.serve``) serves the feeds. Each pass runs in a
freshly spawned process, on a fresh SQLite file migrated to head (not timed):

* engine: ``flows.polling.poll_once`` → ``flows.narratives.run_narratives`` →
  ``flows.digesting.run_digest`` (the digest of the day that is due: to the outbox), the calls
  ``run_once`` makes through its subflows and tasks;
* prefect: the ``run_once`` flow with an ephemeral API, as ``jirga run`` runs it. Importing
  Prefect and starting the ephemeral API server (timed by a first, empty flow run) are reported
  on their own lines and left out of the comparison: ``jirga serve`` and a worker pay them once,
  not per run.

Passes alternate (engine, prefect, prefect, engine, …) so that a drift in the machine's load
falls on both. Prefect's overhead is (prefect - engine) / engine over the medians; the goal is
under 15 %. Times are wall-clock on a shared machine: compare them within one run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import resource
import shutil
import statistics
import tempfile
import threading
import time
import traceback
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from feedgen import feed_body, feed_specs, feeds_toml, routes, serve

ROOT = Path(__file__).resolve().parents[1]
GOAL = 0.15
PASS_LIMIT = 3600.0  # seconds a pass may take before it is abandoned
CLOCK = os.sysconf("SC_CLK_TCK")


class ChildCPU:
    """CPU seconds of this process's descendants, read from /proc four times a second (a child
    that exits between two readings loses its last quarter second), by kind: the Prefect API
    server, or jirga's parser workers and their fork server."""

    def __init__(self) -> None:
        self._cpu: dict[int, tuple[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            self.sample()

    def sample(self) -> None:
        for pid in _descendants(os.getpid()):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            kind = "api server" if b"prefect.server.api.server" in cmdline else "workers"
            self._cpu[pid] = (kind, (int(fields[11]) + int(fields[12])) / CLOCK)

    def totals(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for kind, cpu in self._cpu.values():
            out[kind] = out.get(kind, 0.0) + cpu
        return out

    def __enter__(self) -> ChildCPU:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


CPU_KINDS = ("this process", "workers", "api server")


def _cpu_during(before: dict[str, float], after: dict[str, float], own: float) -> dict[str, float]:
    kinds = {"this process": own}
    for kind in CPU_KINDS[1:]:
        kinds[kind] = after.get(kind, 0.0) - before.get(kind, 0.0)
    return kinds


def _settings(home: Path, params: dict[str, Any]) -> Any:
    from jirga.settings import Settings

    shutil.copytree(ROOT / "config", home / "config")
    (home / "config" / "feeds.toml").write_text(params["feeds_toml"], encoding="utf-8")
    return Settings(
        data_dir=home / "data",
        config_dir=home / "config",
        allow_private_networks=True,
        parse_workers=params["workers"],
        fetch_concurrency=params["concurrency"],
        # Every feed is on one loopback host here; in production they are spread over many.
        fetch_per_host=min(params["concurrency"], 32),
    )


def engine_pass(params: dict[str, Any]) -> dict[str, Any]:
    """The engine calls of one run, without Prefect."""
    from flows.digesting import run_digest
    from flows.narratives import run_narratives
    from flows.polling import poll_once
    from jirga.config import load_watchlist
    from storage.facade import Storage

    with tempfile.TemporaryDirectory(prefix="bench-prefect-engine-") as tmp:
        settings = _settings(Path(tmp), params)
        with Storage(settings.effective_database_url) as storage:
            storage.upgrade()
        cpu, own = ChildCPU().__enter__(), _own_cpu()
        began = time.perf_counter()
        watchlist = load_watchlist(settings.config_dir)
        with Storage(settings.effective_database_url) as storage:
            poll = poll_once(
                settings, storage, watchlist.feeds, watchlist.terms, dt.datetime.now(dt.UTC)
            )
        poll_s = time.perf_counter() - began
        narratives = run_narratives(settings)
        narratives_s = time.perf_counter() - began - poll_s
        digest = run_digest(settings)
        seconds = time.perf_counter() - began
        own = _own_cpu() - own
        cpu.__exit__()
    return {
        "seconds": seconds,
        "cpu": _cpu_during({}, cpu.totals(), own),
        "stages": {
            "poll": poll_s,
            "narratives": narratives_s,
            "digest": seconds - poll_s - narratives_s,
        },
        # poll_once leaves the timing to its caller: the headline's last part says 0.0 s.
        "summary": [poll.headline().rsplit(";", 1)[0], narratives.headline(), digest.headline()],
    }


def prefect_pass(params: dict[str, Any]) -> dict[str, Any]:
    """One ``run_once`` flow run with an ephemeral API; import and start-up timed apart."""
    with tempfile.TemporaryDirectory(prefix="bench-prefect-flow-") as tmp:
        settings = _settings(Path(tmp), params)
        from flows.prefect_env import configure_prefect

        # As `jirga run` does: Prefect's home under the data dir, telemetry off, quiet.
        os.environ["PREFECT_LOGGING_LEVEL"] = "ERROR"
        configure_prefect(settings)
        from storage.facade import Storage

        with Storage(settings.effective_database_url) as storage:
            storage.upgrade()
        began = time.perf_counter()
        from prefect import flow

        from flows.run import RunFailed, run_once
        from flows.runopts import RUN_OPTIONS, RunOptions

        imported = time.perf_counter()

        @flow(name="bench_warm_up")
        def warm_up() -> None:
            """Nothing: its run starts the ephemeral API server."""

        cpu = ChildCPU().__enter__()
        warm_up()
        cpu.sample()
        before, own = cpu.totals(), _own_cpu()
        started = time.perf_counter()
        token = RUN_OPTIONS.set(RunOptions(settings=settings))
        try:
            result: dict[str, Any] = run_once()
            stages = result["stages"]
        except RunFailed as exc:
            stages = [s.__dict__ for s in exc.summary.stages]
        finally:
            RUN_OPTIONS.reset(token)
        seconds = time.perf_counter() - started
        own = _own_cpu() - own
        cpu.__exit__()
    return {
        "seconds": seconds,
        "cpu": _cpu_during(before, cpu.totals(), own),
        "import": imported - began,
        "startup": started - imported,
        "summary": [f"{s['name']} {s['status']}: {s['headline']}" for s in stages],
    }


JOBS = {"engine": engine_pass, "prefect": prefect_pass}


def _child(conn: Connection, job: str, params: dict[str, Any]) -> None:
    try:
        conn.send(("ok", JOBS[job](params)))
    except Exception:
        conn.send(("error", traceback.format_exc()))


def run_pass(job: str, params: dict[str, Any]) -> dict[str, Any]:
    """One pass in a freshly spawned process."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child, args=(child, job, params))
    process.start()
    child.close()
    try:
        if not parent.poll(PASS_LIMIT):
            raise RuntimeError(f"the {job} pass took more than {PASS_LIMIT:.0f} s")
        status, payload = parent.recv()
    finally:
        process.join(60)
        if process.is_alive():
            process.kill()
            process.join()
    if status != "ok":
        raise RuntimeError(f"the {job} pass failed:\n{payload}")
    return dict(payload)


def main() -> None:
    """Serve the corpus, run the passes, print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--feeds", type=int, default=1000, help="feeds served (default 1000)")
    add("--entries", type=int, default=50, help="entries per feed (default 50)")
    add("--repeat", type=int, default=2, help="passes of each kind (default 2)")
    add("--workers", type=int, default=os.cpu_count() or 1, help="parser processes")
    add("--concurrency", type=int, default=16, help="fetch threads")
    add("--quick", action="store_true", help="smoke run: at most 100 feeds, one pass each")
    args = parser.parse_args()
    if args.quick:
        args.feeds, args.repeat = min(args.feeds, 100), 1

    began = time.perf_counter()
    specs = feed_specs(args.feeds)
    bodies = [feed_body(spec, args.entries) for spec in specs]
    print(
        f"{args.feeds} feeds x {args.entries} entries ({sum(map(len, bodies)) / 1e6:.1f} MB),"
        f" {args.workers} parser workers, {args.concurrency} fetch threads,"
        f" {args.repeat} passes of each kind; load average {os.getloadavg()[0]:.2f}"
        f" on {os.cpu_count()} cores"
    )
    # Forked while this process has no thread yet; the server inherits the bodies.
    port_in, port_out = multiprocessing.get_context("fork").Pipe()
    server = multiprocessing.get_context("fork").Process(
        target=serve, args=(port_out, routes(specs, bodies), 0.0), daemon=True
    )
    server.start()
    results: dict[str, list[dict[str, Any]]] = {"engine": [], "prefect": []}
    try:
        base = f"http://127.0.0.1:{port_in.recv()}"
        params = {
            "feeds_toml": feeds_toml(specs, base),
            "workers": args.workers,
            "concurrency": args.concurrency,
        }
        order = [("engine", "prefect"), ("prefect", "engine")]
        for i in range(args.repeat):
            for job in order[i % 2]:
                result = run_pass(job, params)
                results[job].append(result)
                print(f"  {job:<8} pass {i + 1}: {result['seconds']:7.2f} s")
    finally:
        server.kill()
        server.join()
    report(results)
    print(
        f"\nbench finished in {time.perf_counter() - began:.0f} s;"
        f" load average {os.getloadavg()[0]:.2f}"
    )


def report(results: dict[str, list[dict[str, Any]]]) -> None:
    """Medians of wall and CPU time, Prefect's share, and the goal."""
    engine = statistics.median(r["seconds"] for r in results["engine"])
    prefect = statistics.median(r["seconds"] for r in results["prefect"])
    imports = statistics.median(r["import"] for r in results["prefect"])
    startup = statistics.median(r["startup"] for r in results["prefect"])
    stages = results["engine"][0]["stages"]
    print("\n                                   seconds (median)")
    print(f"engine calls, no Prefect          {engine:>9.2f}")
    for name, seconds in stages.items():
        print(f"  {name:<31} {seconds:>9.2f}   (first pass)")
    print(f"run_once flow, ephemeral API      {prefect:>9.2f}")
    print(f"  not compared: import Prefect    {imports:>9.2f}")
    print(f"  not compared: API start-up      {startup:>9.2f}")
    # On a loaded machine wall time moves with the load; CPU time much less so.
    print("\nCPU seconds during the run (median)")
    print(f"  {'':<10} {'this process':>13} {'workers':>9} {'api server':>11} {'all':>8}")
    cpu_all = {}
    for job in ("engine", "prefect"):
        parts = {k: statistics.median(r["cpu"][k] for r in results[job]) for k in CPU_KINDS}
        cpu_all[job] = statistics.median(sum(r["cpu"].values()) for r in results[job])
        cells = "".join(f" {parts[k]:>{w}.1f}" for k, w in zip(CPU_KINDS, (13, 9, 11), strict=True))
        print(f"  {job:<10}{cells} {cpu_all[job]:>8.1f}")
    print("\nwhat each did (first pass):")
    for line in results["engine"][0]["summary"]:
        print(f"  engine   {line}")
    for line in results["prefect"][0]["summary"]:
        print(f"  prefect  {line}")
    overhead = (prefect - engine) / engine
    share = (prefect - engine) / prefect
    cpu_overhead = (cpu_all["prefect"] - cpu_all["engine"]) / cpu_all["engine"]
    print(
        f"\nPrefect's overhead: {prefect - engine:+.2f} s = {overhead:+.1%} of the engine time"
        f" ({share:+.1%} of the flow run); CPU {cpu_all['prefect'] - cpu_all['engine']:+.1f} s"
        f" = {cpu_overhead:+.1%}"
    )
    verdict = "PASS" if overhead < GOAL else "MISS"
    print(f"  {verdict}  wall-time overhead < {GOAL:.0%} of the engine time at this size")


if __name__ == "__main__":
    main()
