"""The hardened fetcher: conditional GETs of many feeds at once, within limits a hostile server
cannot stretch (schemes, checked addresses on every hop, decoded-size cap, overall deadline).

A feed's problem never raises: it comes back as a :class:`FetchResult` whose ``error`` says what
went wrong in one line.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import queue
import re
import threading
import time
import zlib
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from jirga import __version__
from jirga.errors import FetchError, FetchRefused
from jirga.netpolicy import DeadlineExceeded, GuardedBackend, deadline_scope
from jirga.types import FeedState, FetchOutcome, FetchResult

__all__ = ["FetchLimits", "Fetcher", "user_agent"]

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({301, 308})
_SCHEMES = frozenset({"http", "https"})
_HEADERS = {
    "Accept": "application/rss+xml, application/atom+xml, application/rdf+xml, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8",
    "Accept-Encoding": "gzip, deflate",  # only what _decoded can bound
}
_DELTA_SECONDS = re.compile(r"[0-9]{1,12}")
_STEP = 256 * 1024  # largest piece inflated at once
# An answer not read for its body (a 304, a redirect, an error page) is read out when it is at
# most this long, so that its connection goes back to the pool instead of being closed.
_DRAIN_BYTES = 64 * 1024
# Connections each fetch thread's pool keeps: one fetch at a time per thread, plus keep-alive
# to the few hosts it met last (the least recently used idle ones are closed first).
_THREAD_CONNECTIONS = 4
# fetch_many starts this many threads, and one more each time its caller has waited this long
# for a result, up to the concurrency: where answers come back at once (a local server, or
# nothing changed at a nearby one), more threads only contend for the interpreter (a re-poll
# of 1,000 unchanged feeds on loopback: about a fifth less CPU with two threads than with 16),
# while waiting on the network is what more of them are for.
_FIRST_THREADS = 2
_GROW_AFTER = 0.005  # seconds


def user_agent(contact: str) -> str:
    """The User-Agent jirga sends: its name, version and how a publisher can reach the operator."""
    contact = " ".join(contact.split()) or "not configured"
    return f"jirga/{__version__} (+news monitor; contact: {contact})"


@dataclass(frozen=True)
class FetchLimits:
    """Every limit of one fetch. Sizes are bytes, times seconds."""

    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    deadline: float = 60.0  # the whole fetch, redirects and a trickling server included
    max_body_bytes: int = 10 * 1024 * 1024  # after decoding
    max_redirects: int = 5
    allow_private_networks: bool = False
    user_agent: str = user_agent("")
    max_retry_after: float = 86_400.0  # a Retry-After further away is clamped to this

    def __post_init__(self) -> None:
        if min(self.connect_timeout, self.read_timeout, self.deadline) <= 0:
            raise ValueError("fetch timeouts and deadline must be positive")
        if self.max_body_bytes < 1 or self.max_redirects < 0:
            raise ValueError("max_body_bytes must be positive and max_redirects not negative")


def _drain(response: httpx.Response) -> None:
    """Read out the rest of a short answer, so that closing it keeps the connection for reuse.

    Only answers known to be short are read: no body (204, 304) or a Content-Length of at most
    :data:`_DRAIN_BYTES`. Anything else, or a failure while reading, just closes the connection.
    """
    if response.is_stream_consumed or response.is_closed:
        return
    length = response.headers.get("content-length", "")
    if response.status_code not in (204, 304) and not (
        length.isdigit() and int(length) <= _DRAIN_BYTES
    ):
        return
    try:
        for _ in response.iter_raw():
            pass
    except (httpx.HTTPError, OSError, DeadlineExceeded):
        return  # close() discards the connection


def _size(n: int) -> str:
    unit, factor = ("MiB", 1 << 20) if n >= 1 << 20 else ("KiB", 1 << 10)
    return f"{n / factor:g} {unit}"


def _decoded(chunks: Iterable[bytes], encoding: str) -> Iterator[bytes]:
    """The body decoded from its Content-Encoding, in pieces of at most ``_STEP`` bytes.

    httpx's decoders inflate a whole network chunk at once (64 KiB of gzip can be 64 MiB) and
    stack encodings; inflating only as the caller pulls stops a gzip bomb at the cap instead.
    """
    if encoding in ("", "identity"):
        yield from chunks
        return
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise FetchError(f"unsupported Content-Encoding {encoding!r}")
    gzipped = encoding != "deflate"
    z = zlib.decompressobj(16 + zlib.MAX_WBITS if gzipped else zlib.MAX_WBITS)
    fresh = True
    try:
        for pending in chunks:
            # Every pass consumes input or yields output, so the loop ends with the input.
            while pending:
                try:
                    piece = z.decompress(pending, _STEP)
                except zlib.error:
                    if gzipped or not fresh:
                        raise
                    # "deflate" is often sent raw, without the zlib wrapper the RFC asks for.
                    z = zlib.decompressobj(-zlib.MAX_WBITS)
                    fresh = False
                    continue
                fresh = False
                if piece:
                    yield piece
                if not z.eof:
                    pending = z.unconsumed_tail
                    continue
                pending = z.unused_data
                if not (gzipped and pending.startswith(b"\x1f\x8b")):
                    return  # what follows the end is padding some servers send
                z = zlib.decompressobj(16 + zlib.MAX_WBITS)  # a further gzip member
    except zlib.error as exc:
        raise FetchError(f"invalid {encoding} body: {exc}") from None


def _retry_after(value: str | None, now: dt.datetime, cap: float) -> dt.datetime | None:
    """When a Retry-After (delta-seconds or HTTP-date) points to, at most ``cap`` s from now."""
    if value is None:
        return None
    value = value.strip()
    if _DELTA_SECONDS.fullmatch(value):
        delay = float(value)
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)  # HTTP-dates are GMT by definition
        delay = (when - now).total_seconds()
    return now + dt.timedelta(seconds=min(max(delay, 0.0), cap))


def _host_key(url: str) -> str:
    """The host a feed is queued under (lower-cased; the per-host limit itself is
    :meth:`Fetcher._slot`'s, by httpx's spelling of it). urlsplit: httpx.URL parses and checks
    the whole URL, 9 us instead of 2.5, for every feed of every poll."""
    try:
        return urlsplit(url).hostname or ""
    except (ValueError, TypeError, AttributeError):
        return ""


@dataclass
class _Trail:
    """Where a fetch has got to, so that a failure can say at which URL it happened."""

    requested: str
    url: str
    now: dt.datetime
    deadline: float  # monotonic
    status: int | None = None
    redirects: int = 0
    permanent: bool = True
    started: float = 0.0  # monotonic

    def elapsed(self) -> float:
        return time.monotonic() - self.started


class _ThreadPools(httpx.BaseTransport):
    """The fetcher's transport: each thread's requests go through a connection pool of its own.

    httpcore's pool takes one lock for every request and every response closed, and under it
    checks the socket of each of its idle connections; shared by a dozen fetch threads, most of a
    re-poll's CPU went to threads queueing for that lock (a pool per thread: about 15% less CPU
    for 1,000 re-polled feeds on loopback). A thread keeps its connections for its next feeds,
    and :class:`_Schedule` gives a thread the host it fetched from last. The limit per host is
    the fetcher's own (``Fetcher._slot``), across threads.
    """

    def __init__(self, make: Callable[[], httpx.BaseTransport]) -> None:
        self._make = make
        self._local = threading.local()
        self._made: list[httpx.BaseTransport] = []
        self._lock = threading.Lock()
        self._closed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        transport: httpx.BaseTransport | None = getattr(self._local, "transport", None)
        if transport is None:
            with self._lock:
                if self._closed:
                    raise RuntimeError("the fetcher is closed")
                transport = self._make()
                self._made.append(transport)
            self._local.transport = transport
        return transport.handle_request(request)

    def close(self) -> None:
        """Close every thread's pool."""
        with self._lock:
            made, self._made, self._closed = self._made, [], True
        for transport in made:
            transport.close()


class _Schedule:
    """Which feed a :meth:`Fetcher.fetch_many` worker fetches next: per-host queues taken in
    turn, never more than ``per_host`` feeds of one host at once, and never more than ``limit``
    feeds taken but not yet handed to the caller (fetched bodies wait in memory until then).
    Shared by the workers."""

    def __init__(self, states: Iterable[FeedState], per_host: int, limit: int) -> None:
        self._waiting: dict[str, deque[FeedState]] = {}
        for state in states:
            self._waiting.setdefault(_host_key(state.url), deque()).append(state)
        self.total = sum(map(len, self._waiting.values()))
        self._per_host = per_host
        self._limit = limit
        self._busy: Counter[str] = Counter()
        self._ready = deque(self._waiting)  # hosts with feeds waiting and a slot free
        self._left = self.total  # feeds not yet taken
        self._outstanding = 0  # feeds taken whose results the caller has not had yet
        self._stopped = False
        self._changed = threading.Condition()

    def take(self, prefer: str | None = None) -> tuple[FeedState, str] | None:
        """The next feed and its host, waiting for a host's slot or the caller if need be; None
        when every feed has been taken or the schedule was stopped. A feed of ``prefer`` (the
        host this worker fetched from last) comes first when one can be taken: the worker's
        thread still has a connection open to it."""
        with self._changed:
            while True:
                if self._stopped or self._left == 0:
                    return None
                if self._ready and self._outstanding < self._limit:
                    break
                self._changed.wait()
            if prefer is not None and prefer in self._ready and self._ready[0] != prefer:
                self._ready.remove(prefer)
                self._ready.appendleft(prefer)
            host = self._ready.popleft()
            queue_ = self._waiting[host]
            state = queue_.popleft()
            self._left -= 1
            self._outstanding += 1
            self._busy[host] += 1
            if queue_ and self._busy[host] < self._per_host:
                self._ready.append(host)
            if self._left == 0:
                self._changed.notify_all()  # workers waiting for a slot have nothing to wait for
            return state, host

    def done(self, host: str) -> None:
        """A feed of ``host`` has been fetched: its slot is free again."""
        with self._changed:
            self._busy[host] -= 1
            if self._waiting[host] and self._busy[host] == self._per_host - 1:
                self._ready.append(host)  # it was full: it can be taken from again
                self._changed.notify()

    def handed_over(self) -> None:
        """The caller has had one more result: a worker may take another feed."""
        with self._changed:
            self._outstanding -= 1
            self._changed.notify()

    def stop(self) -> None:
        """Take no more feeds."""
        with self._changed:
            self._stopped = True
            self._changed.notify_all()


class Fetcher:
    """Fetches feeds with one shared httpx transport, from threads, within :class:`FetchLimits`.

    At most ``concurrency`` fetches run at once in :meth:`fetch_many`, and at most ``per_host``
    requests go to one host at once (also across threads calling :meth:`fetch` directly).
    ``exempt_networks`` (CIDR strings) are admitted even when private addresses are refused.
    """

    def __init__(
        self,
        limits: FetchLimits,
        *,
        concurrency: int = 16,
        per_host: int = 2,
        exempt_networks: Iterable[str] = (),
    ) -> None:
        if concurrency < 1 or per_host < 1:
            raise ValueError("concurrency and per_host must be at least 1")
        self.limits = limits
        self._concurrency = concurrency
        self._per_host = per_host
        self._backend = GuardedBackend(
            allow_private=limits.allow_private_networks,
            exempt=exempt_networks,
            resolver_threads=concurrency,
        )
        # Requests go straight to one transport, its connections pooled per thread
        # (_ThreadPools). An httpx.Client in front would add cookies (which would leak between
        # feeds), auth, redirects (each hop is followed and checked by hand here), event hooks
        # and proxies from the environment (which would connect where the policy cannot see):
        # none of it wanted, and about a quarter of a 304's CPU.
        self._transport = _ThreadPools(
            lambda: self._backend.transport(
                httpx.Limits(
                    max_connections=_THREAD_CONNECTIONS,
                    max_keepalive_connections=_THREAD_CONNECTIONS,
                )
            )
        )
        self._headers = {"User-Agent": limits.user_agent, **_HEADERS}
        # The backend caps every socket wait by the deadline; the pool wait is bounded here.
        timeout = httpx.Timeout(
            limits.read_timeout, connect=limits.connect_timeout, pool=limits.deadline
        )
        self._extensions = {"timeout": timeout.as_dict()}
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._slots_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="jirga-fetch")
        # Schedules of fetch_many iterations not yet finished. A caller that fails mid-iteration
        # may still hold the generator (its frame lives in the traceback), so the generator's
        # own ``finally`` has not run; close() stops them, or its join would wait forever on
        # workers waiting for the caller.
        self._schedules: set[_Schedule] = set()
        self._schedules_lock = threading.Lock()

    # --- lifetime -------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connections and stop the worker threads, even while an iteration of
        :meth:`fetch_many` is still open."""
        with self._schedules_lock:
            for schedule in self._schedules:
                schedule.stop()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._transport.close()
        self._backend.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- fetching -------------------------------------------------------------------------------

    def fetch_many(
        self, states: Iterable[FeedState], now: dt.datetime
    ) -> Iterator[tuple[FeedState, FetchResult]]:
        """Fetch every feed, yielding each with its result as soon as it completes.

        Feeds wait in per-host queues so that a host with many feeds never holds more than
        ``per_host`` workers while feeds of other hosts could run. Two worker threads start,
        and one more each time the caller has waited :data:`_GROW_AFTER` for a result, up to
        ``concurrency``: answers that come back at once need no more than a few threads. Each
        worker thread takes its next feed itself (:class:`_Schedule`) and hands back results
        through one queue, so a completion costs one hand-off, not a dispatcher's wait on every
        running future (about 9% of a re-poll's CPU on loopback). Stopping the iteration early
        stops the workers from taking more feeds; fetches under way still end. As with a
        generator that fetched only when asked, at most ``concurrency`` feeds are fetched ahead
        of the caller, so a slow consumer (the parsers) never has every body of a poll waiting
        in memory.
        """
        schedule = _Schedule(states, self._per_host, self._concurrency)
        with self._schedules_lock:
            self._schedules.add(schedule)
        results: queue.SimpleQueue[tuple[FeedState, FetchResult] | BaseException] = (
            queue.SimpleQueue()
        )

        def work() -> None:
            host: str | None = None
            while (taken := schedule.take(host)) is not None:
                state, host = taken
                try:
                    results.put((state, self.fetch(state, now)))
                except BaseException as exc:  # a bug, not a feed's problem: the caller's to see
                    results.put(exc)
                    schedule.stop()
                    return
                finally:
                    schedule.done(host)

        threads = min(self._concurrency, schedule.total)
        started = min(_FIRST_THREADS, threads)
        for _ in range(started):
            self._pool.submit(work)  # each ends once nothing is left for it to take
        try:
            for _ in range(schedule.total):
                while True:
                    try:
                        item = results.get(timeout=_GROW_AFTER if started < threads else None)
                        break
                    except queue.Empty:  # all of them waiting on the network, likely
                        self._pool.submit(work)
                        started += 1
                if isinstance(item, BaseException):
                    raise item
                yield item
                schedule.handed_over()
        finally:
            schedule.stop()
            with self._schedules_lock:
                self._schedules.discard(schedule)

    def fetch(self, state: FeedState, now: dt.datetime) -> FetchResult:
        """Fetch one feed with a conditional GET; never raises for the feed's own problems."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        started = time.monotonic()
        trail = _Trail(
            state.url,
            state.url,
            now.astimezone(dt.UTC),
            started + self.limits.deadline,
            started=started,
        )
        with deadline_scope(trail.deadline):
            try:
                result = self._follow(state, trail)
            except DeadlineExceeded:
                result = self._error(trail, f"deadline of {self.limits.deadline:g} s exceeded")
            except FetchError as exc:
                result = self._error(trail, str(exc))
            except httpx.TimeoutException as exc:
                result = self._error(trail, self._timeout_message(exc))
            except httpx.InvalidURL as exc:
                result = self._error(trail, f"invalid URL: {exc}")
            except httpx.HTTPError as exc:
                result = self._error(trail, _one_line(exc))
            except Exception as exc:  # a feed must never fail the run, whatever it sends
                result = self._error(trail, f"unexpected {_one_line(exc)}")
        return result

    def _follow(self, state: FeedState, trail: _Trail) -> FetchResult:
        url = httpx.URL(state.url)
        if url.scheme not in _SCHEMES:
            raise FetchRefused(f"unsupported scheme {url.scheme or '(none)'}")
        headers = dict(self._headers)
        if state.etag:
            headers["If-None-Match"] = state.etag
        if state.last_modified:
            headers["If-Modified-Since"] = state.last_modified
        seen = {str(url)}
        while True:
            trail.url, trail.status = str(url), None
            with self._slot(url.host, trail.deadline):
                request = httpx.Request("GET", url, headers=headers, extensions=self._extensions)
                response = self._transport.handle_request(request)
                try:
                    trail.status = response.status_code
                    location = response.headers.get("location")
                    if response.status_code not in _REDIRECTS or location is None:
                        return self._answer(state, trail, response)
                finally:
                    _drain(response)
                    response.close()
            url = self._next_hop(url, location, trail, seen)

    def _next_hop(self, url: httpx.URL, location: str, trail: _Trail, seen: set[str]) -> httpx.URL:
        try:
            target = url.join(location.strip())
        except httpx.InvalidURL as exc:
            raise FetchError(f"invalid redirect location {location[:200]!r}: {exc}") from None
        if target.scheme not in _SCHEMES:
            raise FetchRefused(f"redirect to unsupported scheme {target.scheme or '(none)'}")
        target = target.copy_with(fragment=None)
        if str(target) in seen:
            raise FetchError(f"redirect loop: {target} seen twice")
        seen.add(str(target))
        trail.redirects += 1
        trail.permanent = trail.permanent and trail.status in _PERMANENT
        if trail.redirects > self.limits.max_redirects:
            raise FetchError(f"too many redirects ({trail.redirects})")
        return target

    def _answer(self, state: FeedState, trail: _Trail, response: httpx.Response) -> FetchResult:
        status = response.status_code
        headers = response.headers

        def answer(outcome: FetchOutcome = FetchOutcome.ERROR, **more: Any) -> FetchResult:
            # Built once (a re-poll makes one per feed; each dataclasses.replace cost about as
            # much as the constructor).
            return FetchResult(
                outcome,
                url=state.url,
                final_url=trail.url,
                status=status,
                headers=tuple((k.lower(), v) for k, v in headers.multi_items()),
                etag=headers.get("etag"),
                last_modified=headers.get("last-modified"),
                elapsed=trail.elapsed(),
                **more,
            )

        moved = trail.url if trail.redirects and trail.permanent else None
        if status == 304:
            return answer(FetchOutcome.NOT_MODIFIED, permanent_redirect=moved)
        if status == 410:
            return answer(FetchOutcome.GONE)
        if status in (429, 503):
            header = headers.get("retry-after")
            retry = _retry_after(header, trail.now, self.limits.max_retry_after)
            if retry is None:
                why = "no Retry-After" if header is None else f"bad Retry-After {header[:80]!r}"
                return answer(error=f"HTTP {status} with {why}")
            return answer(FetchOutcome.RETRY_LATER, retry_after=retry)
        if not 200 <= status < 300:
            return answer(error=f"HTTP {status}")
        body = self._read_body(response, trail.deadline)
        digest = hashlib.sha256(body).hexdigest()
        if digest == state.body_hash:
            # The server ignored the conditional GET, but nothing changed.
            return answer(FetchOutcome.NOT_MODIFIED, body_hash=digest, permanent_redirect=moved)
        return answer(FetchOutcome.OK, body=body, body_hash=digest, permanent_redirect=moved)

    def _read_body(self, response: httpx.Response, deadline: float) -> bytes:
        cap = self.limits.max_body_bytes
        too_big = f"body exceeds {_size(cap)} after decoding"
        encoding = response.headers.get("content-encoding", "").strip().lower()
        declared = response.headers.get("content-length", "")
        if encoding in ("", "identity") and declared.isdigit() and int(declared) > cap:
            raise FetchRefused(f"{too_big} (Content-Length {declared})")
        body = bytearray()
        # Raw bytes, decoded here: see _decoded for why not response.iter_bytes().
        for piece in _decoded(response.iter_raw(), encoding):
            body += piece
            if len(body) > cap:
                raise FetchRefused(too_big)
            if time.monotonic() >= deadline:
                raise DeadlineExceeded
        return bytes(body)

    @contextmanager
    def _slot(self, host: str, deadline: float) -> Iterator[None]:
        """Hold one of ``per_host`` slots of ``host`` for one request."""
        with self._slots_lock:
            slot = self._slots.setdefault(host, threading.BoundedSemaphore(self._per_host))
        if not slot.acquire(timeout=max(deadline - time.monotonic(), 0.0)):
            raise DeadlineExceeded
        try:
            yield
        finally:
            slot.release()

    def _timeout_message(self, exc: httpx.TimeoutException) -> str:
        if isinstance(exc, httpx.ConnectTimeout):
            return f"connect timeout ({self.limits.connect_timeout:g} s)"
        if isinstance(exc, httpx.PoolTimeout):
            return f"no free connection within {self.limits.deadline:g} s"
        return f"read timeout ({self.limits.read_timeout:g} s without data)"

    @staticmethod
    def _error(trail: _Trail, message: str) -> FetchResult:
        return FetchResult(
            FetchOutcome.ERROR,
            trail.requested,
            trail.url,
            trail.status,
            error=message,
            elapsed=trail.elapsed(),
        )


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
