"""Run one job per document in worker processes, each under a memory and a time limit.

Parsing is most of a poll's CPU, and one hostile document must not take the run down. So each
worker is its own process (``os.cpu_count()`` of them by default) with ``RLIMIT_AS`` set, and the
parent gives each one a single document at a time over a pipe (with, when it fits the pipe's
buffer, the next one sent ahead, so that the worker never waits for the parent between two
documents; it reads that one only once the first is done). What a worker does with a document
is a *job*: a picklable factory, called once in each worker, returns the function applied to
every payload (so expensive set-up, such as building the matcher, happens once per process).
Because the parent knows exactly which document each worker is on, a timeout, a
``MemoryError`` or a crash (segfault, OOM kill) is charged to that one document: its
``ParsedFeed`` carries the ``error``, that worker alone is replaced, a document sent ahead to it
goes to another, and the other documents carry on. (A ``ProcessPoolExecutor`` cannot do that: a
dead worker breaks every pending future, and it cannot say which document killed it.)

Workers start with the ``forkserver`` method where it exists, else ``spawn``. Plain ``fork`` would
copy a parent that runs fetcher and Prefect threads, with whatever locks those hold at that
instant; the fork server is a clean single-threaded process that has imported the parser once,
so starting (and restarting) a worker is a cheap fork of it. As with ``spawn``, each worker
imports the program's ``__main__`` module (cheaply: the fork server has imported what it uses), so
a script that makes a pool needs the usual ``if __name__ == "__main__":`` guard.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
import types
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.reduction import ForkingPickler
from typing import Any, Generic, Self, TypeVar

from jirga.errors import ParseError
from jirga.parse import parse_feed
from jirga.types import ParsedFeed

try:
    import resource
except ImportError:  # Windows: no rlimits; the time limit still holds
    resource = None  # type: ignore[assignment]

K = TypeVar("K")
P = TypeVar("P")  # what a job is given
R = TypeVar("R")  # what a job returns
JobFactory = Callable[[], Callable[[Any], Any]]
_GIB = 1 << 30
_START_TIMEOUT = 60.0  # seconds a new worker may take to import the parser and report ready
_AHEAD_BUFFER = 1 << 20  # send buffer asked for on each worker's pipe (the system may give less)
# Bytes of documents taken from the caller while the workers start (the first start also starts
# the fork server, which imports the job's modules: about a third of a second). Taking them
# lets the caller's producer (the fetchers) work on the idle core meanwhile, instead of waiting
# with a handful of documents done; they are then sent to the workers first.
_START_BUFFER = 16 << 20


def _misbehave(behaviour: str | None, memory_limit: int | None) -> None:
    """Test hook: act out a hostile document's effect on a worker (crash, hang, memory)."""
    if behaviour == "crash":
        os.kill(os.getpid(), signal.SIGSEGV)
    elif behaviour == "hang":
        time.sleep(600)
    elif behaviour == "oom":
        bytearray(memory_limit or 1 << 40)


def _worker_main(conn: Connection, memory_limit: int | None, factory: JobFactory) -> None:
    """A worker's life: set the memory limit, build the job, then run it on one payload per
    message until told to stop. After a MemoryError it reports and exits, and the parent starts
    a fresh one."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    if memory_limit and resource is not None:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        soft = memory_limit if hard == resource.RLIM_INFINITY else min(memory_limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    job = factory()
    conn.send("ready")
    while True:
        done = False
        result: Any = None
        try:
            message = conn.recv()
            if message is None:
                return
            payload, behaviour = message
            del message
            _misbehave(behaviour, memory_limit)
            result = job(payload)
            done = True
        except EOFError:
            return
        except MemoryError:
            result = None  # leaving the except block frees what the failed job held
        if not done:  # say so before exiting, so the parent does not hand this one more work
            limit = f"{memory_limit / 2**20:.0f} MiB" if memory_limit else "available"
            conn.send((f"the document needed more than the {limit} memory", False))
            return
        conn.send((result, True))


def _main_imports() -> list[str]:
    """The already imported modules that the program's main script took its names from."""
    main = sys.modules.get("__main__")
    if main is None or getattr(main, "__file__", None) is None:
        return []
    names: set[str] = set()
    for value in vars(main).values():
        if isinstance(value, types.ModuleType):
            names.add(value.__name__)
        elif isinstance(module := getattr(value, "__module__", None), str):
            names.add(module)
    names -= {"__main__", "__mp_main__", "builtins"}
    return sorted(n for n in names if n in sys.modules)


@dataclass
class _Task(Generic[K]):
    """A document on its way to a worker: its key, the message that carries it, and once the
    worker is on it, when it must be done."""

    key: K
    message: memoryview
    deadline: float = math.inf

    def start(self, time_limit: float) -> None:
        """The worker is on it: the clock starts. The message is let go, since a document a
        worker started is never sent again (its failure is its own), and a body may be large."""
        self.deadline = time.monotonic() + time_limit
        self.message = memoryview(b"")


def _message(payload: Any, behaviour: str | None) -> memoryview:
    """What ``Connection.send`` would write for a payload (not copied), made here so that its
    size is known before it is sent."""
    return ForkingPickler.dumps((payload, behaviour))


def _ahead_bytes(conn: Connection) -> int:
    """The largest message that can be sent ahead on ``conn`` without ever blocking: a quarter
    of its send buffer (raised to 1 MiB where the system allows), or 0 where that cannot be
    read. A worker reads one message at a time, so the buffer is empty when one is sent ahead."""
    try:
        sock = socket.socket(fileno=os.dup(conn.fileno()))
    except (OSError, ValueError):  # not a socket (Windows pipes)
        return 0
    with sock:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _AHEAD_BUFFER)
        try:
            return int(sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)) // 4
        except OSError:
            return 0


class _Worker:
    """One worker process and the parent's end of its pipe."""

    def __init__(self, context: Any, memory_limit: int | None, factory: JobFactory) -> None:
        self.conn, child = context.Pipe()
        self.ahead_bytes = _ahead_bytes(self.conn)
        self.process = context.Process(
            target=_worker_main,
            args=(child, memory_limit, factory),
            name="jirga-worker",
            daemon=True,
        )
        self.process.start()
        child.close()

    def wait_ready(self) -> None:
        """Wait until the worker has built its job; stop it and raise when it cannot."""
        if not self.conn.poll(_START_TIMEOUT) or self._recv_ready() != "ready":
            self.stop()
            raise ParseError(
                f"a worker process failed to start ({self.death()}); its own error, if it printed"
                " one, is on standard error. A script that polls or imports must do so under"
                ' `if __name__ == "__main__":`, since each worker runs the script\'s top level'
                " again"
            )

    def _recv_ready(self) -> object:
        try:
            return self.conn.recv()
        except (EOFError, OSError):
            return None

    def death(self) -> str:
        """How the process ended, for an error message."""
        self.process.join(timeout=5)
        code = self.process.exitcode
        if code is None:
            return "still running"
        if code < 0:
            with contextlib.suppress(ValueError):
                return f"killed by {signal.Signals(-code).name}"
        return f"exit code {code}"

    def stop(self) -> None:
        """Kill the process (it may be stuck in C code) and release the pipe."""
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()


class WorkerPool(Generic[P, R]):
    """Run a job on documents on several cores, each document under a time and memory limit.

    ``factory`` is called once in each worker (it must be picklable: a module-level function or a
    ``functools.partial`` of one) and returns the function applied to each payload. ``failure``
    turns a reason ("took longer than 30 s", "the process died …") into the result reported for
    a document that could not be processed. ``workers=0`` runs the job in the calling process,
    with no limits: for tests and debugging. Use it as a context manager, or call :meth:`close`.
    One thread at a time uses a pool; a second thread waits for the first one's run to finish.
    """

    def __init__(
        self,
        factory: JobFactory,
        failure: Callable[[str], R],
        workers: int | None = None,
        *,
        memory_limit: int | None = _GIB,
        time_limit: float = 30.0,
        start_method: str | None = None,
        preload: Iterable[str] = (),
    ) -> None:
        self.workers = (os.cpu_count() or 1) if workers is None else workers
        if self.workers < 0 or time_limit <= 0:
            raise ValueError("workers must be 0 or more and time_limit positive")
        self.factory = factory
        self.failure = failure
        self.memory_limit = memory_limit
        self.time_limit = time_limit
        methods = multiprocessing.get_all_start_methods()
        method = start_method or ("forkserver" if "forkserver" in methods else "spawn")
        self._context = multiprocessing.get_context(method)
        if method == "forkserver":
            # The fork server imports the job's modules once, so each fork starts ready to work.
            # Every worker also re-runs the program's main script (multiprocessing does, for
            # what might be pickled by reference to it): with the modules that script takes its
            # names from imported by the fork server too, that re-run costs nothing (for the
            # ``jirga`` command that is flows.cli, which is kept light for this reason: it
            # loads each command's module only when the command runs). Naming
            # "__main__" itself here does nothing on Python 3.11 (the fork server is never told
            # the script's path). The list is process-wide, but only read when it starts.
            self._context.set_forkserver_preload([*preload, *_main_imports()])
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._owner: int | None = None  # the thread whose run holds the lock
        self._closed = False
        self._local_job: Callable[[Any], Any] | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop every worker. The pool cannot be used afterwards."""
        if self._owner == threading.get_ident():
            raise ParseError("close the running iterator before closing the pool")
        with self._lock:
            self._closed = True
            for worker in self._idle:
                with contextlib.suppress(OSError):
                    worker.conn.send(None)
            for worker in self._idle:
                worker.process.join(timeout=5)
                worker.stop()
            self._idle.clear()

    def run_many(
        self,
        items: Iterable[tuple[K, P]],
        *,
        _test_behaviour: Mapping[K, str] | None = None,
    ) -> Iterator[tuple[K, R]]:
        """Run the job on ``(key, payload)`` items; yield ``(key, result)`` as each finishes.

        Results come in completion order, not input order. Items are taken from ``items`` only
        as workers become free, so a generator of fetched bodies is never held all at once;
        while workers start (the pool's first run, with the fork server's imports, or one
        replacing a worker that failed), up to :data:`_START_BUFFER` bytes of them are taken
        meanwhile, so that their producer is not kept waiting by the start.
        A document that times out, runs out of memory or crashes its worker yields
        ``failure(reason)``; the worker is replaced and the other documents are unaffected.
        ``_test_behaviour`` maps keys to "crash", "hang" or "oom", for tests only: the worker
        acts it out instead of running the job.
        """
        return self._iterate(items, _test_behaviour or {})

    def _iterate(
        self, items: Iterable[tuple[K, P]], behaviours: Mapping[K, str]
    ) -> Iterator[tuple[K, R]]:
        if self.workers == 0:
            for key, payload in items:
                yield key, self._run_here(payload)
            return
        if self._owner == threading.get_ident():  # waiting on ourselves would never end
            raise ParseError("the pool is already running in this thread; finish it first")
        with self._lock:
            if self._closed:
                raise ParseError("the worker pool is closed")
            self._owner = threading.get_ident()
            try:
                yield from self._run(iter(items), behaviours)
            finally:
                self._owner = None

    def _run_here(self, payload: P) -> R:
        """In-process run (``workers=0``): no limits, but a MemoryError still becomes a result."""
        if self._local_job is None:
            self._local_job = self.factory()
        try:
            result: R = self._local_job(payload)
        except MemoryError:
            return self.failure("the document ran out of memory")
        return result

    def _run(
        self, items: Iterator[tuple[K, P]], behaviours: Mapping[K, str]
    ) -> Iterator[tuple[K, R]]:
        # Each busy worker's documents, in the order it reads them: the first is the one it is
        # working on (with its deadline), a second is one sent ahead (see _send_ahead).
        busy: dict[_Worker, deque[_Task[K]]] = {}
        # To send before new items: taken while the workers started, or sent ahead to a worker
        # that then died or overran.
        queued: deque[_Task[K]] = deque()
        exhausted = False
        settled: list[tuple[K, R]] = []
        waiting: _Task[K] | None = None  # taken from items, too big to send ahead
        try:
            while True:
                while len(busy) < self.workers:
                    task = self._next_task(queued, waiting, items, behaviours, exhausted)
                    if task is None:
                        exhausted = True
                        break
                    if task is waiting:
                        waiting = None
                    if not self._idle:
                        # Every missing worker at once: they build their jobs side by side.
                        early, exhausted = self._start_taking(
                            self.workers - len(busy), items, behaviours, exhausted
                        )
                        queued.extend(early)
                    worker = self._idle.pop()
                    try:
                        worker.conn.send_bytes(task.message)
                    except OSError:  # it died while idle, or gave up receiving this payload
                        settled.append((task.key, self._failed(worker, self._last_words(worker))))
                        continue
                    task.start(self.time_limit)
                    busy[worker] = deque([task])
                if (queued or not exhausted) and waiting is None:
                    waiting, exhausted = self._send_ahead(busy, queued, items, behaviours)
                # Results are handed out only once every free worker has its next document:
                # the caller's time with them (storing a feed) then overlaps the workers' own.
                yield from settled
                if not busy:
                    if waiting is None and not queued:
                        return
                    settled = []
                    continue
                settled = list(self._collect(busy, queued))
        finally:
            # Abandoned mid-way (the caller stopped iterating): results still in flight must not
            # be read by the next call as if they were its own.
            for worker in busy:
                worker.stop()

    def _next_task(
        self,
        queued: deque[_Task[K]],
        waiting: _Task[K] | None,
        items: Iterator[tuple[K, P]],
        behaviours: Mapping[K, str],
        exhausted: bool,
    ) -> _Task[K] | None:
        """The next document for an idle worker: the one waiting (taken before any still
        queued), one queued, or a new one."""
        if waiting is not None:
            return waiting
        if queued:
            return queued.popleft()
        if exhausted:
            return None
        item = next(items, None)
        if item is None:
            return None
        key, payload = item
        return _Task(key, _message(payload, behaviours.get(key)))

    def _send_ahead(
        self,
        busy: dict[_Worker, deque[_Task[K]]],
        queued: deque[_Task[K]],
        items: Iterator[tuple[K, P]],
        behaviours: Mapping[K, str],
    ) -> tuple[_Task[K] | None, bool]:
        """Give each busy worker its next document before it finishes the current one, so that
        it starts on it at once instead of waiting for this thread (which shares its GIL with
        the fetchers and the saver) to notice and answer. Only a message that fits the pipe's
        buffer goes ahead, so that sending it never blocks; the first that does not waits for
        an idle worker. Returns that waiting task, if any, and whether ``items`` ran out."""
        for worker, tasks in busy.items():
            if len(tasks) != 1:
                continue
            if queued:
                task = queued.popleft()
            else:
                item = next(items, None)
                if item is None:
                    return None, True
                key, payload = item
                task = _Task(key, _message(payload, behaviours.get(key)))
            if task.message.nbytes > worker.ahead_bytes:
                return task, False
            try:
                worker.conn.send_bytes(task.message)
            except OSError:  # the worker just died: its current document will say so
                queued.appendleft(task)  # before younger ones
                continue
            tasks.append(task)
        return None, False

    def _collect(
        self, busy: dict[_Worker, deque[_Task[K]]], queued: deque[_Task[K]]
    ) -> Iterator[tuple[K, R]]:
        """Wait until some worker finishes, dies or overruns; yield what that settles.

        A document sent ahead to a worker that dies or overruns was never started: it goes to
        ``queued``, for another worker."""
        deadlines = [tasks[0].deadline for tasks in busy.values()]
        timeout = max(0.0, min(deadlines) - time.monotonic())
        ready = set(wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout))
        now = time.monotonic()
        for worker, tasks in list(busy.items()):
            current = tasks[0]
            if worker.conn in ready or worker.process.sentinel in ready or worker.conn.poll(0):
                try:
                    result, keep_going = worker.conn.recv()
                except (EOFError, OSError):
                    del busy[worker]
                    queued.extendleft(reversed(list(tasks)[1:]))
                    yield current.key, self._failed(worker, "")
                    continue
                tasks.popleft()
                if not keep_going:  # the worker ran out of memory; ``result`` is the reason
                    del busy[worker]
                    queued.extendleft(reversed(tasks))
                    worker.stop()
                    yield current.key, self.failure(str(result))
                    continue
                if tasks:  # it has started on the one sent ahead
                    tasks[0].start(self.time_limit)
                else:
                    del busy[worker]
                    self._idle.append(worker)
                yield current.key, result
            elif now >= current.deadline:
                del busy[worker]
                queued.extendleft(reversed(list(tasks)[1:]))
                yield (
                    current.key,
                    self._failed(worker, f"it took longer than {self.time_limit:g} s"),
                )

    @staticmethod
    def _last_words(worker: _Worker) -> str:
        """The reason a worker sent before it stopped reading (a payload too big for its memory
        limit), or "" when it said nothing."""
        with contextlib.suppress(EOFError, OSError, ValueError):
            if worker.conn.poll(1):
                reason, _ = worker.conn.recv()
                return str(reason)
        return ""

    def _start_taking(
        self, n: int, items: Iterator[tuple[K, P]], behaviours: Mapping[K, str], exhausted: bool
    ) -> tuple[list[_Task[K]], bool]:
        """Start ``n`` workers (into the idle list) and, until they are ready, take documents from
        ``items``, up to :data:`_START_BUFFER` bytes of them. Returns those, and whether
        ``items`` ran out."""
        started: list[_Worker] = []
        failed: list[BaseException] = []

        def start() -> None:
            try:
                started.extend(self._start(n))
            except BaseException as exc:  # raised in the caller's thread below
                failed.append(exc)

        starter = threading.Thread(target=start, name="jirga-pool-start", daemon=True)
        starter.start()
        taken: list[_Task[K]] = []
        size = 0
        try:
            while not exhausted and size < _START_BUFFER and starter.is_alive():
                item = next(items, None)
                if item is None:
                    exhausted = True
                    break
                key, payload = item
                taken.append(_Task(key, _message(payload, behaviours.get(key))))
                size += taken[-1].message.nbytes
        finally:
            starter.join()
            self._idle.extend(started)  # also when taking failed: close() stops them
        if failed:
            raise failed[0]
        return taken, exhausted

    def _start(self, n: int) -> list[_Worker]:
        """``n`` new workers, ready to work."""
        started: list[_Worker] = []
        try:
            for _ in range(n):
                started.append(_Worker(self._context, self.memory_limit, self.factory))
            for worker in started:
                worker.wait_ready()
        except BaseException:
            for worker in started:
                worker.stop()
            raise
        return started

    def _failed(self, worker: _Worker, reason: str) -> R:
        """Retire a worker that died or overran, and say so in the document's result."""
        worker.stop()
        if not reason:
            reason = f"the worker process died ({worker.death()}); the document was skipped"
        return self.failure(reason)


ParsePayload = tuple[bytes, Mapping[str, str] | None, dict[str, Any]]


def _parse_payload(payload: ParsePayload) -> ParsedFeed:
    body, headers, caps = payload
    return parse_feed(body, headers, **caps)


def _parse_job() -> Callable[[ParsePayload], ParsedFeed]:
    return _parse_payload


def _parse_failure(reason: str) -> ParsedFeed:
    return ParsedFeed(entries=(), error=f"parsing failed: {reason}")


class ParserPool(WorkerPool[ParsePayload, ParsedFeed]):
    """Parse feed documents on several cores, each document under a time and memory limit."""

    def __init__(
        self,
        workers: int | None = None,
        *,
        memory_limit: int | None = _GIB,
        time_limit: float = 30.0,
        start_method: str | None = None,
    ) -> None:
        super().__init__(
            _parse_job,
            _parse_failure,
            workers,
            memory_limit=memory_limit,
            time_limit=time_limit,
            start_method=start_method,
            preload=["jirga.parse"],
        )

    def parse(
        self,
        body: bytes,
        headers: Mapping[str, str] | None = None,
        *,
        _test_behaviour: str | None = None,
        **caps: Any,
    ) -> ParsedFeed:
        """Parse one document; ``caps`` are :func:`jirga.parse.parse_feed`'s keyword arguments."""
        behaviour = {0: _test_behaviour} if _test_behaviour else None
        return dict(self.parse_many([(0, body, headers)], _test_behaviour=behaviour, **caps))[0]

    def parse_many(
        self,
        items: Iterable[tuple[K, bytes, Mapping[str, str] | None]],
        *,
        _test_behaviour: Mapping[K, str] | None = None,
        **caps: Any,
    ) -> Iterator[tuple[K, ParsedFeed]]:
        """Parse ``(key, body, headers)`` items; yield ``(key, ParsedFeed)`` as each finishes."""
        inspect.signature(parse_feed).bind(b"", None, **caps)  # a wrong cap fails at the call
        payloads = ((key, (body, dict(headers or {}), caps)) for key, body, headers in items)
        return self.run_many(payloads, _test_behaviour=_test_behaviour)
