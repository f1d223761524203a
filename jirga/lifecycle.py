"""A narrative's state — new, growing, steady, fading or recurring — from its daily article counts.

Pure functions of a ``{day: count}`` mapping and ``today``; nothing here knows about storage. A day
is a :class:`datetime.date` (the caller decides which time zone a day is in). Days missing from the
mapping, and days whose count is zero or less, are *quiet*; the others are *active*.
"""

from __future__ import annotations

import datetime as dt
import enum
import itertools
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["LifecyclePolicy", "State", "active_days", "gaps", "narrative_state"]

_DAY = dt.timedelta(days=1)


class State(enum.StrEnum):
    """The states :func:`narrative_state` returns (each is also the plain string shown)."""

    NEW = "new"
    GROWING = "growing"
    STEADY = "steady"
    FADING = "fading"
    RECURRING = "recurring"


@dataclass(frozen=True)
class LifecyclePolicy:
    """The numbers behind :func:`narrative_state` (all counts of days are whole days).

    ``new_days``        a narrative first seen this many days ago or less (today counts as day 1)
                        is new.
    ``gap_days``        a run of at least this many quiet days splits a narrative's history; the
                        narrative is recurring when it comes back after one.
    ``recurring_days``  how long a return stays "recurring" (today counts as day 1).
    ``window_days``     the length of the two windows compared for growth and decline.
    ``growth_ratio``    how much larger one window must be than the other to call it growth (or,
                        the other way round, decline).
    ``min_count``       the fewest articles in the larger window for growth or decline to count,
                        so that 1 → 2 articles is not "growing".
    ``fade_days``       a narrative with no article on this many days up to today is fading.
    """

    new_days: int = 2
    gap_days: int = 3
    recurring_days: int = 2
    window_days: int = 7
    growth_ratio: float = 1.5
    min_count: int = 3
    fade_days: int = 2

    def __post_init__(self) -> None:
        for name in ("new_days", "gap_days", "recurring_days", "window_days", "fade_days"):
            if getattr(self, name) < 1:
                raise ValueError(f"LifecyclePolicy.{name} must be at least 1")
        if self.growth_ratio <= 1:
            raise ValueError("LifecyclePolicy.growth_ratio must be above 1")
        if self.min_count < 1:
            raise ValueError("LifecyclePolicy.min_count must be at least 1")


def _active(daily: Mapping[dt.date, int], until: dt.date | None = None) -> list[dt.date]:
    """The active days, oldest first, ignoring days after ``until``."""
    return sorted(d for d, n in daily.items() if n > 0 and (until is None or d <= until))


def _total(daily: Mapping[dt.date, int], first: dt.date, last: dt.date) -> int:
    """The articles from ``first`` to ``last``, both included."""
    return sum(n for d, n in daily.items() if first <= d <= last and n > 0)


def active_days(daily: Mapping[dt.date, int]) -> int:
    """How many days have at least one article."""
    return len(_active(daily))


def gaps(daily: Mapping[dt.date, int], min_days: int = 1) -> list[tuple[dt.date, dt.date]]:
    """The quiet stretches between active days, oldest first, as (first quiet day, last quiet
    day), both included; only stretches of at least ``min_days`` days.

    Quiet days before the first or after the last active day are not gaps: a gap is something the
    narrative came back from.
    """
    days = _active(daily)
    out = []
    for before, after in itertools.pairwise(days):
        quiet = (after - before).days - 1
        if quiet >= max(min_days, 1):
            out.append((before + _DAY, after - _DAY))
    return out


def narrative_state(
    daily: Mapping[dt.date, int], today: dt.date, policy: LifecyclePolicy | None = None
) -> State:
    """The state of a narrative on ``today``, from its articles per day.

    Days after ``today`` are ignored. With the default policy's names, the first rule that holds
    decides:

    1. **fading** — no article on the last ``fade_days`` days (today and the day before, by
       default); also a narrative with no article at all.
    2. **new** — the first article came within the last ``new_days`` days (today or yesterday).
    3. **recurring** — the latest run of activity began within the last ``recurring_days`` days
       and was preceded by a gap of at least ``gap_days`` quiet days (a narrative last told ten
       days ago, told again today, is back).
    4. **growing** — the last ``window_days`` days (today included) hold at least ``min_count``
       articles and at least ``growth_ratio`` × as many as the ``window_days`` days before
       (a young narrative, with nothing in the earlier window, grows once it has ``min_count``).
    5. **fading** — declining: the earlier window holds at least ``min_count`` articles and at
       least ``growth_ratio`` × as many as the last window.
    6. **steady** — anything else.
    """
    policy = policy or LifecyclePolicy()
    days = _active(daily, until=today)
    if not days or (today - days[-1]).days >= policy.fade_days:
        return State.FADING
    if (today - days[0]).days < policy.new_days:
        return State.NEW
    run_start = days[-1]
    for earlier in reversed(days[:-1]):
        if (run_start - earlier).days - 1 >= policy.gap_days:
            if (today - run_start).days < policy.recurring_days:
                return State.RECURRING
            break
        run_start = earlier
    window = dt.timedelta(days=policy.window_days)
    recent = _total(daily, today - window + _DAY, today)
    previous = _total(daily, today - 2 * window + _DAY, today - window)
    if recent >= policy.min_count and recent >= policy.growth_ratio * previous:
        return State.GROWING
    if previous >= policy.min_count and previous >= policy.growth_ratio * recent:
        return State.FADING
    return State.STEADY
