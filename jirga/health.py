"""Feed health: what one fetch means for a feed's state, and when to try it next.

Pure decisions: they take the feed's state, the fetch result and ``now``, and return the new state,
so every rule here is tested with plain values.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import random
from dataclasses import dataclass

from jirga.types import FeedState, FetchOutcome, FetchResult


@dataclass(frozen=True)
class BackoffPolicy:
    """How failing feeds are spaced out."""

    base: float = 300.0  # seconds after the first error
    cap: float = 86_400.0  # never longer than this
    jitter: float = 0.2  # ± this fraction, so failing feeds do not retry in lockstep
    gone_after: int = 3  # consecutive 410s before a feed is marked gone


def is_due(state: FeedState, now: dt.datetime) -> bool:
    """Whether a feed should be fetched now: not gone, and its next attempt has come."""
    if state.gone:
        return False
    return state.next_attempt_at is None or state.next_attempt_at <= now


def backoff_delay(errors: int, policy: BackoffPolicy, salt: str) -> dt.timedelta:
    """Exponential delay after ``errors`` consecutive failures, capped, with stable jitter.

    The jitter is drawn from a generator seeded by the feed and the error count, so it spreads
    feeds apart yet a given state always yields the same delay (reproducible tests and logs).
    """
    raw = min(policy.cap, policy.base * (2 ** max(0, errors - 1)))
    seed = int.from_bytes(hashlib.blake2b(f"{salt}:{errors}".encode(), digest_size=8).digest())
    factor = 1 + random.Random(seed).uniform(-policy.jitter, policy.jitter)  # noqa: S311
    return dt.timedelta(seconds=min(policy.cap, raw * factor))


def apply_fetch(
    state: FeedState, result: FetchResult, now: dt.datetime, policy: BackoffPolicy
) -> FeedState:
    """The feed's state after ``result``; validators change only with an OK body.

    An OK result's validators are returned here, but the caller stores them in the same
    transaction as the entries they cover, so a crash in between re-fetches instead of skipping.
    """
    outcome = result.outcome
    common: dict[str, object] = {"next_attempt_at": None, "last_error": None}
    if outcome in (FetchOutcome.OK, FetchOutcome.NOT_MODIFIED):
        updates: dict[str, object] = {
            **common,
            "consecutive_errors": 0,
            "consecutive_gone": 0,
            "last_success_at": now,
            **_redirect_updates(state, result),
        }
        if outcome is FetchOutcome.OK:
            updates.update(
                etag=result.etag, last_modified=result.last_modified, body_hash=result.body_hash
            )
        return dataclasses.replace(state, **updates)  # type: ignore[arg-type]
    if outcome is FetchOutcome.RETRY_LATER:
        # The server asked us to wait: honour it, and do not count it as a failure.
        return dataclasses.replace(
            state,
            next_attempt_at=result.retry_after or now + dt.timedelta(seconds=policy.base),
            last_error=result.error or f"HTTP {result.status}: asked to retry later",
        )
    errors = state.consecutive_errors + 1
    gone_count = state.consecutive_gone + 1 if outcome is FetchOutcome.GONE else 0
    return dataclasses.replace(
        state,
        consecutive_errors=errors,
        consecutive_gone=gone_count,
        gone=state.gone or gone_count >= policy.gone_after,
        last_error=result.error or f"HTTP {result.status}",
        next_attempt_at=now + backoff_delay(errors, policy, state.feed_id),
    )


def _redirect_updates(state: FeedState, result: FetchResult) -> dict[str, object]:
    """Adopt a permanent redirect only the second time in a row it is seen."""
    target = result.permanent_redirect
    if not target or target == state.url:
        return {"redirect_url": None}
    if state.redirect_url == target:
        return {"url": target, "redirect_url": None, "etag": None, "last_modified": None}
    return {"redirect_url": target}
