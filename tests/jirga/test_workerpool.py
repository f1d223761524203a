"""The parser pool: real worker processes, real crashes, hangs and memory limits."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path

import pytest

from jirga.errors import ParseError
from jirga.parse import parse_feed
from jirga.workerpool import ParserPool

FEEDS = Path(__file__).resolve().parent.parent / "data" / "feeds"
NAMES = ["rss091", "rss10", "rss20", "atom03", "atom10"]


def doc(title: str, items: int = 3) -> bytes:
    entries = "".join(
        f"<item><title>{title} {i}</title><guid>{title}-{i}</guid></item>" for i in range(items)
    )
    head = f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>'
    return f"{head}{entries}</channel></rss>".encode()


@pytest.fixture(scope="module")
def pool() -> Iterator[ParserPool]:
    """Two workers with a short time limit, shared by the tests of this module."""
    with ParserPool(2, time_limit=3.0) as shared:
        yield shared


def test_in_process_mode_is_parse_feed():
    bodies = {name: (FEEDS / f"{name}.xml").read_bytes() for name in NAMES}
    with ParserPool(0) as here:
        results = dict(here.parse_many((name, body, None) for name, body in bodies.items()))

    assert results == {name: parse_feed(body) for name, body in bodies.items()}


def test_workers_give_the_same_results_as_parse_feed(pool):
    bodies = {name: (FEEDS / f"{name}.xml").read_bytes() for name in NAMES}
    headers = {"Content-Type": "application/xml"}
    results = dict(pool.parse_many((name, body, headers) for name, body in bodies.items()))

    assert results == {name: parse_feed(body, headers) for name, body in bodies.items()}
    assert pool.parse(bodies["rss20"], max_entries=1) == parse_feed(bodies["rss20"], max_entries=1)


@pytest.mark.timeout(120)
def test_a_crash_a_hang_and_memory_exhaustion_fail_only_their_own_document(pool):
    items = [(i, doc(f"feed{i}"), None) for i in range(8)]
    hostile = {2: "crash", 4: "hang", 6: "oom"}
    results = dict(pool.parse_many(items, _test_behaviour=hostile))

    assert sorted(results) == list(range(8))
    assert (
        results[2].error
        == "parsing failed: the worker process died (killed by SIGSEGV); the document was skipped"
    )
    assert results[4].error == "parsing failed: it took longer than 3 s"
    assert (
        results[6].error == "parsing failed: the document needed more than the 1024 MiB memory"
    )  # RLIMIT_AS held
    for key in {0, 1, 3, 5, 7}:
        assert results[key].error is None
        assert [e.title for e in results[key].entries] == [f"feed{key} {i}" for i in range(3)]
    assert pool.parse(doc("after")).entries[0].title == "after 0"  # the pool recovered


@pytest.mark.timeout(120)
def test_a_document_too_big_for_the_memory_limit_is_an_error():
    item = "<item><title>t</title><description>" + "word " * 2000 + "</description></item>"
    big = doc("x", 0).replace(b"</channel>", (item * 4000).encode() + b"</channel>")  # 40 MB
    # spawn: a worker forked from a fork server that another pool preloaded with heavier
    # modules (numpy) would not fit in so small a limit.
    with ParserPool(1, memory_limit=80 << 20, start_method="spawn") as small:
        results = dict(
            small.parse_many(
                [("big", big, None), ("fine", doc("fine"), None)], max_parsed_entries=4000
            )
        )

    assert results["big"].entries == ()
    assert results["big"].error in {
        "parsing failed: the document needed more than the 80 MiB memory",
        "parsing failed: the worker process died (killed by SIGSEGV); the document was skipped",
    }
    assert results["fine"].entries[0].title == "fine 0"


@pytest.mark.timeout(120)
def test_a_body_larger_than_the_memory_limit_is_an_error_and_the_pool_goes_on():
    huge = b"<rss>" + b"x" * (96 << 20) + b"</rss>"  # the worker cannot even receive it
    with ParserPool(1, memory_limit=64 << 20, start_method="spawn") as small:
        failed = small.parse(huge)
        after = small.parse(doc("after"))

    assert failed.error == "parsing failed: the document needed more than the 64 MiB memory"
    assert after.entries[0].title == "after 0"


def test_items_are_taken_only_as_workers_free_up(pool):
    # Both workers up (an earlier test may have had one replaced): no start to wait for.
    assert len(dict(pool.parse_many((i, doc(f"up{i}"), None) for i in range(2)))) == 2
    taken = []

    def items() -> Iterator[tuple[int, bytes, None]]:
        for i in range(20):
            taken.append(i)
            yield i, doc(f"lazy{i}"), None

    with contextlib.closing(pool.parse_many(items())) as results:
        next(results)
        # When the first results are handed out, each worker may have settled one document
        # in the same wait and holds two more: the one it is on and one sent ahead.
        assert len(taken) <= 3 * pool.workers
        rest = dict(results)
    assert len(rest) == 19


@pytest.mark.timeout(60)
def _slow_start(monkeypatch, seconds: float = 0.5) -> list[int]:
    """Workers take ``seconds`` longer to report ready (as a first start, with its imports);
    the list returned grows by one as each has."""
    from jirga.workerpool import _Worker

    real = _Worker.wait_ready
    ready: list[int] = []

    def wait_ready(self):
        time.sleep(seconds)
        real(self)
        ready.append(1)

    monkeypatch.setattr(_Worker, "wait_ready", wait_ready)
    return ready


def _taken_before_start(
    fresh: ParserPool, count: int, ready: list[int]
) -> tuple[list[bool], dict[int, str]]:
    """For each item, whether the workers were still starting when it was taken; the results."""
    starting: list[bool] = []

    def items() -> Iterator[tuple[int, bytes, None]]:
        for i in range(count):
            starting.append(len(ready) < fresh.workers)
            yield i, doc(f"early{i}"), None

    results = dict(fresh.parse_many(items()))
    return starting, {key: parsed.entries[0].title for key, parsed in results.items()}


def test_documents_are_taken_while_the_workers_start(monkeypatch):
    # The caller's producer (the fetchers) works meanwhile, instead of waiting on the start.
    ready = _slow_start(monkeypatch)
    with ParserPool(2, time_limit=30.0) as fresh:
        starting, titles = _taken_before_start(fresh, 20, ready)

    assert starting == [True] * 20
    assert titles == {i: f"early{i} 0" for i in range(20)}


def test_documents_taken_while_the_workers_start_are_bounded(monkeypatch):
    from jirga import workerpool

    ready = _slow_start(monkeypatch)
    monkeypatch.setattr(workerpool, "_START_BUFFER", 1)  # bytes: one document is over it
    with ParserPool(2, time_limit=30.0) as fresh:
        starting, titles = _taken_before_start(fresh, 20, ready)

    # The first, for which the workers start, and one while they do; then only as they free up.
    assert starting == [True, True] + [False] * 18
    assert titles == {i: f"early{i} 0" for i in range(20)}


def test_a_producer_failing_while_the_workers_start_leaves_none_behind(monkeypatch):
    _slow_start(monkeypatch)

    def items() -> Iterator[tuple[int, bytes, None]]:
        yield 0, doc("first"), None
        raise RuntimeError("the producer broke")

    fresh = ParserPool(2, time_limit=30.0)
    with pytest.raises(RuntimeError, match="the producer broke"):
        dict(fresh.parse_many(items()))
    workers = list(fresh._idle)
    assert len(workers) == 2  # started all the same, and the pool's to stop
    fresh.close()
    assert not any(w.process.is_alive() for w in workers)


def test_a_start_that_fails_while_documents_are_taken_raises(monkeypatch):
    from jirga.workerpool import _Worker

    def wait_ready(self):
        self.stop()
        raise ParseError("a worker process failed to start (test)")

    monkeypatch.setattr(_Worker, "wait_ready", wait_ready)
    with ParserPool(2) as fresh, pytest.raises(ParseError, match="failed to start"):
        dict(fresh.parse_many((i, doc(f"d{i}"), None) for i in range(5)))


def test_an_abandoned_iteration_leaves_no_stale_result(pool):
    results = pool.parse_many(
        [("quick", doc("quick"), None), ("stuck", doc("stuck"), None)],
        _test_behaviour={"stuck": "hang"},
    )
    with contextlib.closing(results):  # "stuck" is still in flight when it closes
        assert next(results)[0] == "quick"

    assert pool.parse(doc("next")).entries[0].title == "next 0"
    assert dict(pool.parse_many([(1, doc("one"), None)]))[1].entries[0].title == "one 0"


def test_misuse_is_refused(pool):
    with contextlib.closing(pool.parse_many([(1, doc("a"), None)])) as results:
        next(results)
        with pytest.raises(ParseError, match="already running"):
            pool.parse(doc("b"))
    with pytest.raises(TypeError):
        pool.parse(doc("c"), max_entires=3)
    with pytest.raises(ValueError, match="workers"):
        ParserPool(-1)


def test_a_closed_pool_refuses_work():
    closed = ParserPool(1)
    assert closed.parse(doc("once")).error is None
    closed.close()

    with pytest.raises(ParseError, match="closed"):
        closed.parse(doc("twice"))


def test_default_workers_is_the_cpu_count():
    with ParserPool() as default:
        assert default.workers == os.cpu_count()


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_spawn_start_method_works():
    with ParserPool(1, start_method="spawn", time_limit=60) as spawned:
        results = dict(spawned.parse_many([(1, doc("s"), None)], _test_behaviour={}))
        crashed = spawned.parse(doc("c"), _test_behaviour="crash")

    assert results[1].entries[0].title == "s 0"
    assert crashed.error is not None
    assert "SIGSEGV" in crashed.error


def _sent_when_seen(pool: ParserPool, count: int, monkeypatch) -> list[tuple[int, int]]:
    """Each result's key, with how many documents had been sent to workers when it came out."""
    sent: list[int] = []
    real = Connection.send_bytes

    def send_bytes(self, *args, **kwargs):
        sent.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Connection, "send_bytes", send_bytes)
    seen = []
    for key, parsed in pool.parse_many((i, doc(f"feed{i}"), None) for i in range(count)):
        assert parsed.error is None
        seen.append((key, len(sent)))
    return seen


def test_a_worker_has_its_next_document_before_it_finishes_the_current_one(monkeypatch):
    # The caller stores each result (the slow part of a poll's main thread), and its thread
    # shares a GIL with the fetchers: the worker must not wait for it to hand out more work.
    with ParserPool(1, time_limit=30.0) as one:
        seen = _sent_when_seen(one, 4, monkeypatch)

    # 0 is sent, then 1 ahead of 0's result; once 0 is done, 2 goes ahead before 0 comes out.
    assert seen == [(0, 3), (1, 4), (2, 4), (3, 4)]


def test_a_document_too_big_for_the_pipe_is_not_sent_ahead(monkeypatch):
    from jirga import workerpool

    monkeypatch.setattr(workerpool, "_ahead_bytes", lambda conn: 0)
    with ParserPool(1, time_limit=30.0) as one:
        seen = _sent_when_seen(one, 4, monkeypatch)

    # Each is sent only once the worker is free (still before the last result comes out).
    assert seen == [(0, 2), (1, 3), (2, 4), (3, 4)]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="buffer sizes differ")
def test_documents_of_a_typical_feed_size_go_ahead_on_linux():
    from jirga.workerpool import _ahead_bytes

    parent, child = multiprocessing.Pipe()
    with parent, child:
        assert _ahead_bytes(parent) >= 48 * 1024


@pytest.mark.timeout(120)
@pytest.mark.parametrize("behaviour", ["crash", "hang", "oom"])
def test_the_document_sent_ahead_to_a_worker_that_fails_goes_to_another(behaviour):
    items = [(i, doc(f"feed{i}"), None) for i in range(3)]
    with ParserPool(1, time_limit=3.0) as one:
        results = dict(one.parse_many(items, _test_behaviour={0: behaviour}))

    assert results[0].error is not None
    for key in (1, 2):  # 1 was sent ahead to the worker that failed on 0
        assert [e.title for e in results[key].entries] == [f"feed{key} {i}" for i in range(3)]


def test_the_fork_server_preloads_what_the_main_script_imported(monkeypatch):
    # Each worker re-runs the main script; its imports, preloaded, make that cheap.
    import json
    import sys
    import types

    from jirga import workerpool

    script = types.ModuleType("__main__")
    script.__file__ = "/nonexistent/script.py"
    script.json = json  # type: ignore[attr-defined]
    script.parse_feed = parse_feed  # type: ignore[attr-defined]
    script.local = 3  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "__main__", script)

    assert workerpool._main_imports() == ["jirga.parse", "json"]


def test_a_started_document_lets_its_message_go():
    # A document a worker is on is never sent again, and a body may be megabytes: the parent
    # must not hold its copy while the worker works.
    from jirga.workerpool import _message, _Task

    task = _Task("big", _message(b"x" * (4 << 20), None))
    assert task.message.nbytes > 4 << 20

    task.start(30.0)

    assert task.message.nbytes == 0
    assert task.deadline < float("inf")


@pytest.mark.timeout(120)
def test_a_script_without_a_main_guard_is_told_what_to_do(tmp_path):
    # Each worker runs the main script's top level again: unguarded, that starts a pool in the
    # worker itself, which multiprocessing refuses.
    script = tmp_path / "unguarded.py"
    script.write_text(
        "from jirga.workerpool import ParserPool\n"
        "with ParserPool(1) as pool:\n"
        "    pool.parse(b'<rss version=\"2.0\"><channel/></rss>')\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=100, check=False
    )

    assert done.returncode != 0
    assert "a worker process failed to start" in done.stderr
    assert 'if __name__ == "__main__":' in done.stderr
