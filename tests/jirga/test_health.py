"""Feed health decisions: backoff, Retry-After, gone, permanent redirects — on plain values."""

from __future__ import annotations

import dataclasses
import datetime as dt

from jirga.health import BackoffPolicy, apply_fetch, backoff_delay, is_due
from jirga.types import FeedState, FetchOutcome, FetchResult

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
URL = "https://example.org/feed"
POLICY = BackoffPolicy(base=300, cap=3600, jitter=0.2, gone_after=3)
STATE = FeedState(
    feed_id="f", url=URL, etag='"old"', last_modified="Sun, 01 Mar 2026", body_hash="h0"
)


def result(outcome: FetchOutcome, **kw: object) -> FetchResult:
    return FetchResult(outcome=outcome, url=URL, final_url=URL, **kw)  # type: ignore[arg-type]


def test_ok_saves_validators_and_clears_errors() -> None:
    failing = dataclasses.replace(STATE, consecutive_errors=4, last_error="HTTP 500")
    new = apply_fetch(
        failing,
        result(FetchOutcome.OK, status=200, etag='"new"', last_modified="x", body_hash="h1"),
        NOW,
        POLICY,
    )
    assert (new.etag, new.last_modified, new.body_hash) == ('"new"', "x", "h1")
    assert new.consecutive_errors == 0 and new.last_error is None
    assert new.last_success_at == NOW and new.next_attempt_at is None


def test_not_modified_keeps_validators() -> None:
    new = apply_fetch(STATE, result(FetchOutcome.NOT_MODIFIED, status=304), NOW, POLICY)
    assert (new.etag, new.body_hash) == (STATE.etag, STATE.body_hash)
    assert new.last_success_at == NOW


def test_errors_back_off_exponentially_with_cap() -> None:
    state = STATE
    delays = []
    for _ in range(8):
        state = apply_fetch(
            state, result(FetchOutcome.ERROR, status=500, error="HTTP 500"), NOW, POLICY
        )
        assert state.next_attempt_at is not None
        delays.append((state.next_attempt_at - NOW).total_seconds())
    assert state.consecutive_errors == 8
    assert state.last_error == "HTTP 500"
    # Roughly doubling (within jitter) until the cap, never above it.
    assert 240 <= delays[0] <= 360
    assert 480 <= delays[1] <= 720
    assert all(d <= 3600 for d in delays)
    assert delays[-1] >= 3600 * 0.8
    # Validators survive errors: the next success can still be conditional.
    assert state.etag == STATE.etag
    assert not is_due(state, NOW)
    assert is_due(state, NOW + dt.timedelta(seconds=3600))


def test_jitter_is_stable_per_feed_and_spreads_feeds() -> None:
    assert backoff_delay(3, POLICY, "a") == backoff_delay(3, POLICY, "a")
    spread = {backoff_delay(3, POLICY, f"feed{i}") for i in range(20)}
    assert len(spread) > 10


def test_retry_after_is_not_a_failure() -> None:
    later = NOW + dt.timedelta(minutes=7)
    new = apply_fetch(
        STATE, result(FetchOutcome.RETRY_LATER, status=429, retry_after=later), NOW, POLICY
    )
    assert new.next_attempt_at == later
    assert new.consecutive_errors == 0


def test_repeated_gone_marks_the_feed_gone() -> None:
    state = STATE
    for i in range(3):
        assert not state.gone, i
        state = apply_fetch(state, result(FetchOutcome.GONE, status=410), NOW, POLICY)
    assert state.gone and state.consecutive_gone == 3
    assert not is_due(state, NOW + dt.timedelta(days=365))


def test_gone_count_resets_on_other_outcomes() -> None:
    state = apply_fetch(STATE, result(FetchOutcome.GONE, status=410), NOW, POLICY)
    state = apply_fetch(state, result(FetchOutcome.ERROR, status=500), NOW, POLICY)
    state = apply_fetch(state, result(FetchOutcome.GONE, status=410), NOW, POLICY)
    assert state.consecutive_gone == 1 and not state.gone


def test_permanent_redirect_adopted_only_when_seen_again() -> None:
    moved = "https://example.org/new-feed"
    first = apply_fetch(
        STATE, result(FetchOutcome.OK, status=200, permanent_redirect=moved), NOW, POLICY
    )
    assert first.url == URL and first.redirect_url == moved
    second = apply_fetch(
        first, result(FetchOutcome.OK, status=200, permanent_redirect=moved), NOW, POLICY
    )
    assert second.url == moved and second.redirect_url is None


def test_redirect_not_seen_again_is_forgotten() -> None:
    moved = "https://example.org/new-feed"
    first = apply_fetch(
        STATE, result(FetchOutcome.OK, status=200, permanent_redirect=moved), NOW, POLICY
    )
    again = apply_fetch(first, result(FetchOutcome.OK, status=200), NOW, POLICY)
    assert again.url == URL and again.redirect_url is None
