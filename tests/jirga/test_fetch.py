"""The hardened fetcher against a real HTTP server on 127.0.0.1 (see ``feed_server``)."""

from __future__ import annotations

import datetime as dt
import hashlib
import socket
import threading
import time
import tracemalloc

import httpx
import pytest

from jirga import __version__
from jirga.fetch import Fetcher, FetchLimits, user_agent
from jirga.types import FeedState, FetchOutcome

NOW = dt.datetime(2024, 5, 6, 10, 0, tzinfo=dt.UTC)
MiB = 1024 * 1024


def state(url: str, **kw: object) -> FeedState:
    return FeedState("feed", url, **kw)  # type: ignore[arg-type]


# --- conditional GET ---------------------------------------------------------------------------


def test_ok_reports_body_and_validators_and_refetch_is_not_modified(feed_server, make_fetcher):
    fetcher = make_fetcher()
    url = feed_server.url("/feed")

    first = fetcher.fetch(state(url), NOW)

    assert first.outcome is FetchOutcome.OK
    assert first.status == 200
    assert first.body == feed_server.feed
    assert first.body_hash == hashlib.sha256(feed_server.feed).hexdigest()
    assert first.etag == feed_server.etag
    assert first.last_modified == feed_server.last_modified
    assert ("content-type", "application/rss+xml") in first.headers
    assert all(name == name.lower() for name, _ in first.headers)
    assert first.url == first.final_url == url
    assert first.error is None
    assert 0 < first.elapsed < 60

    again = fetcher.fetch(state(url, etag=first.etag, last_modified=first.last_modified), NOW)

    assert again.outcome is FetchOutcome.NOT_MODIFIED
    assert again.status == 304
    assert again.body is None
    sent = feed_server.log.headers_of("/feed")[-1]
    assert sent["if-none-match"] == feed_server.etag
    assert sent["if-modified-since"] == feed_server.last_modified


def test_short_answers_leave_the_connection_open_for_the_next_request(feed_server, make_fetcher):
    # A 304, a redirect and an error page are read out, so one connection serves them all
    # (a poll where most feeds answer 304 would otherwise open a connection per feed).
    fetcher = make_fetcher()
    first = fetcher.fetch(state(feed_server.url("/feed")), NOW)
    results = [
        fetcher.fetch(state(feed_server.url("/feed"), etag=first.etag), NOW),
        fetcher.fetch(state(feed_server.url("/chain/1")), NOW),
        fetcher.fetch(state(feed_server.url("/status/500")), NOW),
        fetcher.fetch(state(feed_server.url("/feed"), etag=first.etag), NOW),
    ]

    assert [r.status for r in results] == [304, 200, 500, 304]
    assert len(feed_server.log.client_ports) == 6
    assert len(set(feed_server.log.client_ports)) == 1


def test_byte_identical_body_is_not_modified_when_server_ignores_validators(
    feed_server, make_fetcher
):
    fetcher = make_fetcher()
    url = feed_server.url("/static")
    first = fetcher.fetch(state(url), NOW)

    again = fetcher.fetch(state(url, body_hash=first.body_hash), NOW)

    assert first.outcome is FetchOutcome.OK
    assert again.outcome is FetchOutcome.NOT_MODIFIED
    assert again.status == 200
    assert again.body is None
    assert again.body_hash == first.body_hash


@pytest.mark.parametrize("path", ["/gzip", "/deflate-raw"])
def test_compressed_body_is_decoded(feed_server, make_fetcher, path):
    result = make_fetcher().fetch(state(feed_server.url(path)), NOW)

    assert result.outcome is FetchOutcome.OK
    assert result.body == feed_server.feed
    assert result.body_hash == hashlib.sha256(feed_server.feed).hexdigest()


def test_user_agent_names_jirga_its_version_and_the_contact(feed_server, make_fetcher):
    make_fetcher(user_agent=user_agent("ops@example.org")).fetch(
        state(feed_server.url("/static")), NOW
    )

    sent = feed_server.log.headers_of("/static")[-1]["user-agent"]
    assert sent == f"jirga/{__version__} (+news monitor; contact: ops@example.org)"
    assert "jirga" in FetchLimits().user_agent


def test_cookies_a_server_sets_are_never_sent_back(feed_server, make_fetcher):
    # A cookie kept from one feed would go to the next feed of the same host, and pile up.
    fetcher = make_fetcher()
    first = fetcher.fetch(state(feed_server.url("/cookie")), NOW)
    fetcher.fetch(state(feed_server.url("/cookie")), NOW)
    fetcher.fetch(state(feed_server.url("/static")), NOW)

    assert first.outcome is FetchOutcome.OK
    assert ("set-cookie", "session=abc; Path=/") in first.headers
    sent = feed_server.log.headers_of("/cookie") + feed_server.log.headers_of("/static")
    assert len(sent) == 3
    assert all("cookie" not in headers for headers in sent)


def test_what_every_request_carries_and_nothing_more(feed_server, make_fetcher):
    fetcher = make_fetcher()
    fetcher.fetch(state(feed_server.url("/static")), NOW)
    fetcher.fetch(state(feed_server.url("/static"), etag='"v1"', last_modified="Sat, 21 Feb"), NOW)

    first, second = feed_server.log.headers_of("/static")
    host = feed_server.url("/").split("/")[2]
    assert first == {
        "host": host,
        "user-agent": first["user-agent"],
        "accept": first["accept"],
        "accept-encoding": "gzip, deflate",  # only what the fetcher can bound when inflating
    }
    assert first["user-agent"].startswith(f"jirga/{__version__} ")
    assert "application/rss+xml" in first["accept"]
    assert second == {**first, "if-none-match": '"v1"', "if-modified-since": "Sat, 21 Feb"}


def test_proxies_from_the_environment_are_not_used(feed_server, make_fetcher, monkeypatch):
    # A proxy would connect to the feed's host itself, where the address checks cannot see.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # the discard port: nothing listens
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    result = make_fetcher().fetch(state(feed_server.url("/static")), NOW)
    assert result.outcome is FetchOutcome.OK and result.body == feed_server.feed


# --- statuses ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/status/429?retry_after=120", NOW + dt.timedelta(seconds=120)),
        ("/status/503?retry_after=0", NOW),
        (
            "/status/429?retry_after=Mon, 06 May 2024 11:30:00 GMT",
            NOW + dt.timedelta(minutes=90),
        ),
        ("/status/503?retry_after=Mon, 06 May 2024 09:00:00 GMT", NOW),  # in the past
        ("/status/503?retry_after=999999999", NOW + dt.timedelta(hours=24)),  # clamped
    ],
)
def test_retry_after_gives_retry_later_at_that_moment(feed_server, make_fetcher, path, expected):
    result = make_fetcher().fetch(state(feed_server.url(path)), NOW)

    assert result.outcome is FetchOutcome.RETRY_LATER
    assert result.retry_after == expected
    assert result.retry_after.tzinfo is not None
    assert result.error is None


@pytest.mark.parametrize(
    ("path", "outcome", "error"),
    [
        ("/status/429", FetchOutcome.ERROR, "HTTP 429 with no Retry-After"),
        ("/status/503", FetchOutcome.ERROR, "HTTP 503 with no Retry-After"),
        (
            "/status/503?retry_after=soon",
            FetchOutcome.ERROR,
            "HTTP 503 with bad Retry-After 'soon'",
        ),
        ("/status/410", FetchOutcome.GONE, None),
        ("/status/500", FetchOutcome.ERROR, "HTTP 500"),
        ("/status/404", FetchOutcome.ERROR, "HTTP 404"),
        ("/status/300", FetchOutcome.ERROR, "HTTP 300"),  # a 3xx without Location
    ],
)
def test_statuses(feed_server, make_fetcher, path, outcome, error):
    result = make_fetcher().fetch(state(feed_server.url(path)), NOW)

    assert result.outcome is outcome
    assert result.error == error
    assert result.status == int(path.split("/")[2].split("?")[0])


# --- size and time limits ----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/big", "/big?length=1"])
def test_huge_body_stops_at_the_cap(feed_server, make_fetcher, path):
    result = make_fetcher().fetch(state(feed_server.url(path)), NOW)

    assert result.outcome is FetchOutcome.ERROR
    assert result.error.startswith("body exceeds 10 MiB after decoding")
    assert result.body is None


def test_gzip_bomb_stops_at_the_cap_without_inflating_it_all(feed_server, make_fetcher):
    fetcher = make_fetcher()
    tracemalloc.start()
    try:
        result = fetcher.fetch(state(feed_server.url("/gzipbomb")), NOW)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert result.outcome is FetchOutcome.ERROR
    assert result.error == "body exceeds 10 MiB after decoding"
    # The bomb inflates to 128 MiB; holding the capped body is all that may be allocated.
    assert peak < 16 * MiB


@pytest.mark.timeout(20)
@pytest.mark.parametrize("path", ["/trickle-headers", "/trickle-body"])
def test_trickling_server_is_cut_off_at_the_deadline(feed_server, make_fetcher, path):
    fetcher = make_fetcher(deadline=2.0, read_timeout=5.0)

    result = fetcher.fetch(state(feed_server.url(path)), NOW)

    # Each byte arrives well within the read timeout: only the overall deadline can end this.
    assert result.outcome is FetchOutcome.ERROR
    assert result.error == "deadline of 2 s exceeded"


def test_connection_refused_is_an_error_result(make_fetcher):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again at once: nothing listens there

    result = make_fetcher().fetch(state(f"http://127.0.0.1:{port}/"), NOW)

    assert result.outcome is FetchOutcome.ERROR
    assert "ConnectError" in result.error
    assert "\n" not in result.error


# --- redirects ---------------------------------------------------------------------------------


def test_redirect_loop_is_an_error(feed_server, make_fetcher):
    result = make_fetcher().fetch(state(feed_server.url("/loop/a")), NOW)

    assert result.outcome is FetchOutcome.ERROR
    assert result.error == f"redirect loop: {feed_server.url('/loop/a')} seen twice"


def test_six_redirects_are_too_many(feed_server, make_fetcher):
    result = make_fetcher().fetch(state(feed_server.url("/chain/6")), NOW)

    assert result.outcome is FetchOutcome.ERROR
    assert result.error == "too many redirects (6)"


def test_permanent_redirect_chain_is_reported(feed_server, make_fetcher):
    result = make_fetcher().fetch(state(feed_server.url("/chain/5")), NOW)

    assert result.outcome is FetchOutcome.OK
    assert result.final_url == feed_server.url("/chain/0?code=301")
    assert result.permanent_redirect == result.final_url


@pytest.mark.parametrize(("second", "permanent"), [("308", True), ("302", False), ("307", False)])
def test_permanent_only_when_every_hop_is(feed_server, make_fetcher, second, permanent):
    result = make_fetcher().fetch(state(feed_server.url(f"/moved/a?second={second}")), NOW)

    assert result.outcome is FetchOutcome.OK
    assert result.final_url == feed_server.url("/static")
    assert result.permanent_redirect == (feed_server.url("/static") if permanent else None)


def test_redirect_to_file_scheme_is_refused(feed_server, make_fetcher):
    result = make_fetcher().fetch(state(feed_server.url("/go?to=file:///etc/passwd")), NOW)

    assert result.outcome is FetchOutcome.ERROR
    assert result.error == "redirect to unsupported scheme file"


def test_unsupported_scheme_is_refused(make_fetcher):
    result = make_fetcher().fetch(state("ftp://example.org/feed.xml"), NOW)

    assert result.error == "unsupported scheme ftp"


# --- address policy ----------------------------------------------------------------------------


def test_loopback_server_is_refused_before_connecting(feed_server, make_fetcher):
    result = make_fetcher(allow_private_networks=False).fetch(
        state(feed_server.url("/static")), NOW
    )

    assert result.outcome is FetchOutcome.ERROR
    assert result.error == "refused: 127.0.0.1 is a loopback address"
    assert feed_server.log.paths() == []


@pytest.mark.parametrize(
    ("target", "error"),
    [
        ("http://10.0.0.1/", "refused: 10.0.0.1 is a private address"),
        ("http://127.0.0.2:{port}/static", "refused: 127.0.0.2 is a loopback address"),
        ("http://0x7f.0.0.2:{port}/static", "refused: 0x7f.0.0.2 resolves to 127.0.0.2"),
        ("http://2130706434:{port}/static", "refused: 2130706434 resolves to 127.0.0.2"),
        ("http://[::1]:{port}/static", "refused: ::1 is a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "refused: 169.254.169.254 is a link-local"),
    ],
)
def test_redirect_to_a_private_address_is_refused(feed_server, make_fetcher, target, error):
    # The server itself (127.0.0.1 only) is admitted, so the refusal is the redirect's.
    fetcher = make_fetcher(allow_private_networks=False, exempt=("127.0.0.1/32",))
    target = target.format(port=feed_server.port)

    result = fetcher.fetch(state(feed_server.url(f"/go?to={target}")), NOW)

    assert result.outcome is FetchOutcome.ERROR
    assert result.error.startswith(error)
    assert result.final_url == target
    assert feed_server.log.paths() == ["/go"]


def test_redirect_to_an_octal_spelling_is_not_followed(feed_server, make_fetcher):
    # httpx itself rejects 0177.0.0.1 as an IPv4 address; the hop must fail, not be followed.
    fetcher = make_fetcher(allow_private_networks=False, exempt=("127.0.0.1/32",))
    target = f"http://0177.0.0.1:{feed_server.port}/static"

    result = fetcher.fetch(state(feed_server.url(f"/go?to={target}")), NOW)

    assert result.outcome is FetchOutcome.ERROR
    assert "0177.0.0.1" in result.error
    assert feed_server.log.paths() == ["/go"]


def test_exempt_network_is_admitted(feed_server, make_fetcher):
    fetcher = make_fetcher(allow_private_networks=False, exempt=("127.0.0.1/32",))

    assert fetcher.fetch(state(feed_server.url("/static")), NOW).outcome is FetchOutcome.OK


# --- concurrency -------------------------------------------------------------------------------


def test_fetch_many_yields_every_feed_and_respects_the_per_host_limit(feed_server, make_fetcher):
    fetcher = make_fetcher(concurrency=8, per_host=2)
    states = [FeedState(f"f{i}", feed_server.url(f"/slow/g?i={i}")) for i in range(10)]

    results = list(fetcher.fetch_many(states, NOW))

    assert sorted(s.feed_id for s, _ in results) == sorted(s.feed_id for s in states)
    assert all(r.outcome is FetchOutcome.OK for _, r in results)
    assert feed_server.log.peak["g"] == 2


def test_feeds_queue_by_their_host_however_it_is_written():
    from jirga.fetch import _host_key

    assert _host_key("https://Example.COM:8443/a?b#c") == "example.com"
    assert _host_key("http://user:pw@[2001:DB8::1]:80/") == "2001:db8::1"
    assert _host_key("http://[::1/") == ""  # unbalanced bracket: not a URL; fetched to fail
    assert _host_key("not a url") == ""


def test_fetch_many_adds_threads_while_answers_keep_it_waiting(feed_server, make_fetcher):
    # Each answer waits for all eight requests to be in flight: the two first threads alone
    # would each wait out the server's hold, and the peak would stay at two.
    fetcher = make_fetcher(concurrency=8, per_host=8)
    states = [FeedState(f"f{i}", feed_server.url(f"/slow/grow?hold=8&i={i}")) for i in range(8)]

    assert len(list(fetcher.fetch_many(states, NOW))) == 8
    assert feed_server.log.peak["grow"] == 8


def test_fetch_many_starts_with_two_threads(feed_server, make_fetcher, monkeypatch):
    from jirga import fetch

    monkeypatch.setattr(fetch, "_GROW_AFTER", 60.0)  # the caller never waits that long here
    fetcher = make_fetcher(concurrency=8, per_host=8)
    states = [FeedState(f"f{i}", feed_server.url(f"/slow/two?hold=4&i={i}")) for i in range(4)]

    assert len(list(fetcher.fetch_many(states, NOW))) == 4
    assert feed_server.log.peak["two"] == 2


def test_direct_fetches_from_threads_share_the_per_host_limit(feed_server, make_fetcher):
    fetcher = make_fetcher(per_host=2)
    outcomes: list[FetchOutcome] = []

    def work(i: int) -> None:
        outcomes.append(fetcher.fetch(state(feed_server.url(f"/slow/t?i={i}")), NOW).outcome)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert outcomes == [FetchOutcome.OK] * 6
    assert feed_server.log.peak["t"] <= 2


def test_fetch_many_respects_the_global_limit(feed_server, make_fetcher):
    fetcher = make_fetcher(concurrency=1, per_host=4)
    states = [FeedState(f"f{i}", feed_server.url(f"/slow/one?i={i}")) for i in range(3)]

    assert len(list(fetcher.fetch_many(states, NOW))) == 3
    assert feed_server.log.peak["one"] == 1


def test_each_fetch_thread_keeps_its_connection_alive(feed_server, make_fetcher):
    fetcher = make_fetcher(concurrency=3, per_host=3)
    states = [FeedState(f"f{i}", feed_server.url(f"/static?i={i}")) for i in range(30)]

    assert len(list(fetcher.fetch_many(states, NOW))) == 30

    # A pool per thread, each reusing its one connection to the host.
    assert len(feed_server.log.client_ports) == 30
    assert len(set(feed_server.log.client_ports)) <= 3


class _RecordingTransport(httpx.BaseTransport):
    """A fake transport: answers 200 and records which thread used it and whether it closed."""

    def __init__(self) -> None:
        self.threads: set[int] = set()
        self.closed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.threads.add(threading.get_ident())
        return httpx.Response(200)

    def close(self) -> None:
        self.closed = True


def test_every_thread_gets_a_pool_of_its_own_and_close_closes_them_all():
    from jirga.fetch import _ThreadPools

    made: list[_RecordingTransport] = []
    pools = _ThreadPools(lambda: made.append(_RecordingTransport()) or made[-1])
    client = httpx.Client(transport=pools)
    barrier = threading.Barrier(3)

    def work() -> None:
        barrier.wait()  # all three at once
        for _ in range(4):
            client.get("http://feeds.example/")

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    client.close()

    assert len(made) == 3
    assert all(len(t.threads) == 1 for t in made)  # each used by one thread only
    assert all(t.closed for t in made)
    with pytest.raises(RuntimeError, match="closed"):
        pools.handle_request(httpx.Request("GET", "http://feeds.example/"))


def test_a_worker_stays_with_the_host_it_fetched_from_last():
    from jirga.fetch import _Schedule

    states = [FeedState(f"{h}{i}", f"https://{h}.example/{i}") for i in range(2) for h in "ab"]
    schedule = _Schedule(states, per_host=1, limit=4)

    first = schedule.take()
    assert first is not None and first[1] == "a.example"
    schedule.done("a.example")
    again = schedule.take("a.example")
    assert again is not None and again[1] == "a.example"  # not b's turn: a's connection is open
    other = schedule.take()
    assert other is not None and other[1] == "b.example"


def test_fetch_many_stops_taking_feeds_when_the_caller_stops(feed_server, make_fetcher):
    fetcher = make_fetcher(concurrency=2, per_host=2)
    states = [FeedState(f"f{i}", feed_server.url(f"/static?i={i}")) for i in range(20)]

    for _ in fetcher.fetch_many(states, NOW):
        break
    fetcher.close()  # waits for the fetches under way

    assert 1 <= len(feed_server.log.paths()) <= 3  # the one seen, and at most two under way


def test_fetch_many_fetches_at_most_concurrency_feeds_ahead_of_the_caller(
    feed_server, make_fetcher
):
    fetcher = make_fetcher(concurrency=2, per_host=2)
    states = [FeedState(f"f{i}", feed_server.url(f"/static?i={i}")) for i in range(10)]
    results = fetcher.fetch_many(states, NOW)

    next(results)  # held, as a busy parser holds a body
    waited_until = time.monotonic() + 10  # the second fetch may be slow on a busy machine
    while len(feed_server.log.paths()) < 2 and time.monotonic() < waited_until:
        time.sleep(0.01)
    time.sleep(0.5)  # time enough to fetch every other feed, were nothing holding the workers

    assert len(feed_server.log.paths()) == 2
    assert len([next(results) for _ in range(9)]) == 9  # the rest when asked for


def test_close_returns_while_an_iteration_is_still_held(feed_server, make_fetcher):
    # A caller that fails mid-poll still holds the generator in its traceback, so the
    # generator's own clean-up has not run; the workers wait for it to ask for more.
    fetcher = make_fetcher(concurrency=2, per_host=2)
    states = [FeedState(f"f{i}", feed_server.url(f"/static?i={i}")) for i in range(10)]
    results = fetcher.fetch_many(states, NOW)
    next(results)

    closing = threading.Thread(target=fetcher.close, daemon=True)
    closing.start()
    closing.join(timeout=30)  # bounds a hang; the close itself takes milliseconds

    assert not closing.is_alive()
    # At most the look-ahead of 2 was fetched; nothing was taken after the close.
    assert len(feed_server.log.paths()) <= 2


def test_fetch_many_passes_on_a_bug_in_a_fetch(feed_server, make_fetcher, monkeypatch):
    fetcher = make_fetcher(concurrency=2)
    real = fetcher.fetch

    def fetch(state: FeedState, now: dt.datetime):
        if state.feed_id == "f3":
            raise RuntimeError("a bug, not a feed's problem")
        return real(state, now)

    monkeypatch.setattr(fetcher, "fetch", fetch)
    states = [FeedState(f"f{i}", feed_server.url(f"/static?i={i}")) for i in range(6)]

    with pytest.raises(RuntimeError, match="a bug"):
        list(fetcher.fetch_many(states, NOW))


def test_fetch_many_of_nothing_yields_nothing(make_fetcher):
    assert list(make_fetcher().fetch_many([], NOW)) == []


def test_naive_now_is_a_programming_error(make_fetcher):
    with pytest.raises(ValueError, match="timezone-aware"):
        make_fetcher().fetch(state("http://127.0.0.1/"), dt.datetime(2024, 5, 6))


def test_fetcher_is_a_context_manager():
    with Fetcher(FetchLimits(allow_private_networks=True)) as fetcher:
        assert fetcher.limits.max_redirects == 5
