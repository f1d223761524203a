"""Spikes: a day on which a series (a watch term, an outlet, a narrative) has far more articles
than its recent baseline.

Series are plain ``{day: count}`` mappings under keys the caller chooses (``"term:ttp"``,
``"outlet:dawn"``, ``"narrative:42"``). A series' history starts at its earliest day in the mapping
(put an explicit 0 there to say when watching began); after that, missing days count as 0.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["Baseline", "Spike", "SpikePolicy", "baseline", "detect_spikes"]

_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class SpikePolicy:
    """When a day's count is a spike: all three of

    - ``count >= min_count``;
    - ``count >= ratio × mean``;
    - ``(count - mean) / max(std, std_floor) >= z``,

    where ``mean`` and ``std`` (population standard deviation) are over the ``baseline_days``
    days before the day. A series with fewer than ``min_baseline_days`` days of history before
    the day has no baseline and never spikes: a feed added yesterday, or a narrative first seen
    today, would otherwise spike on its first day (new narratives are the lifecycle's business).
    ``std_floor`` keeps a flat or empty baseline from turning every small bump into a huge z:
    with a zero baseline and the defaults, 3 articles spike (z = 3).
    """

    baseline_days: int = 14
    min_baseline_days: int = 3
    min_count: int = 3
    ratio: float = 2.0
    z: float = 3.0
    std_floor: float = 1.0

    def __post_init__(self) -> None:
        if self.baseline_days < 1 or not 1 <= self.min_baseline_days <= self.baseline_days:
            raise ValueError("SpikePolicy needs 1 <= min_baseline_days <= baseline_days")
        if self.min_count < 1 or self.ratio < 1 or self.z < 0 or self.std_floor <= 0:
            raise ValueError("SpikePolicy needs min_count >= 1, ratio >= 1, z >= 0, std_floor > 0")


@dataclass(frozen=True)
class Baseline:
    """A series' recent history before a day: how many days it covers, their mean and std."""

    days: int
    mean: float
    std: float


@dataclass(frozen=True)
class Spike:
    """One series that spiked on one day, with the numbers that made it a spike.

    ``ratio`` is ``count / baseline_mean`` (infinite when the baseline is all zeros); ``z`` uses
    the floored std. ``reason`` says it in words, for the digest.
    """

    key: str
    day: dt.date
    count: int
    baseline_mean: float
    baseline_std: float
    ratio: float
    z: float
    reason: str
    baseline_days: int


def baseline(
    counts: Mapping[dt.date, int], day: dt.date, policy: SpikePolicy | None = None
) -> Baseline | None:
    """The baseline of one series before ``day``, or None when it has too little history."""
    policy = policy or SpikePolicy()
    before = [d for d in counts if d < day]
    if not before:
        return None
    first = max(min(before), day - dt.timedelta(days=policy.baseline_days))
    days = (day - first).days
    if days < policy.min_baseline_days:
        return None
    values = [max(counts.get(first + i * _DAY, 0), 0) for i in range(days)]
    mean = sum(values) / days
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / days)
    return Baseline(days, mean, std)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def detect_spikes(
    series: Mapping[str, Mapping[dt.date, int]],
    day: dt.date,
    policy: SpikePolicy | None = None,
) -> list[Spike]:
    """Every series that spikes on ``day`` (see :class:`SpikePolicy`), largest z first (then
    larger count, then key)."""
    policy = policy or SpikePolicy()
    spikes = []
    for key, counts in series.items():
        count = counts.get(day, 0)
        if count < policy.min_count:
            continue
        base = baseline(counts, day, policy)
        if base is None or count < policy.ratio * base.mean:
            continue
        z = (count - base.mean) / max(base.std, policy.std_floor)
        if z < policy.z:
            continue
        ratio = count / base.mean if base.mean > 0 else math.inf
        reason = (
            f"{_plural(count, 'article')} vs a {base.days}-day mean of {base.mean:.1f} "
            f"(sd {base.std:.1f})"
        )
        spikes.append(
            Spike(key, day, count, base.mean, base.std, ratio, z, reason, baseline_days=base.days)
        )
    spikes.sort(key=lambda s: (-s.z, -s.count, s.key))
    return spikes
