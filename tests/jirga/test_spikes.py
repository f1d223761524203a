"""Spike detection on hand-built daily series: flat, a jump, short history, a zero baseline."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from jirga.spikes import SpikePolicy, baseline, detect_spikes

DAY = dt.date(2024, 5, 30)


def before(*counts: int) -> dict[dt.date, int]:
    """``counts[0]`` is the count ``len(counts)`` days before DAY, the last one the day before."""
    n = len(counts)
    return {DAY - dt.timedelta(days=n - i): c for i, c in enumerate(counts)}


def test_a_flat_series_does_not_spike() -> None:
    series = {"term:ttp": before(*[5] * 14) | {DAY: 6}}
    assert detect_spikes(series, DAY) == []


def test_a_jump_spikes_with_its_baseline() -> None:
    history = [2, 3, 1, 2, 4, 2, 1, 3, 2, 2, 1, 3, 2, 2]  # mean 2.142857, sd ~0.83
    series = {"outlet:dawn": before(*history) | {DAY: 12}}
    [spike] = detect_spikes(series, DAY)
    assert spike.key == "outlet:dawn"
    assert spike.day == DAY
    assert spike.count == 12
    assert spike.baseline_days == 14
    assert spike.baseline_mean == pytest.approx(30 / 14)
    mean = 30 / 14
    std = math.sqrt(sum((c - mean) ** 2 for c in history) / 14)
    assert spike.baseline_std == pytest.approx(std)
    assert spike.ratio == pytest.approx(12 / mean)
    # The sd is under the floor of 1, so z divides by 1.
    assert spike.z == pytest.approx(12 - mean)
    assert spike.reason == f"12 articles vs a 14-day mean of 2.1 (sd {std:.1f})"


def test_only_the_last_baseline_days_count() -> None:
    # A busy month long ago does not hide today's jump.
    old = {DAY - dt.timedelta(days=d): 50 for d in range(15, 45)}
    series = {"term:taliban": old | before(*[1] * 14) | {DAY: 9}}
    [spike] = detect_spikes(series, DAY)
    assert spike.baseline_mean == pytest.approx(1.0)


def test_missing_days_count_as_zero_within_the_window() -> None:
    series = {"narrative:42": {DAY - dt.timedelta(days=14): 2, DAY: 4}}
    base = baseline(series["narrative:42"], DAY)
    assert base is not None
    assert base.days == 14
    assert base.mean == pytest.approx(2 / 14)
    assert [s.key for s in detect_spikes(series, DAY)] == ["narrative:42"]


def test_too_little_history_never_spikes() -> None:
    series = {"outlet:new": before(0, 0) | {DAY: 40}}
    assert baseline(series["outlet:new"], DAY) is None
    assert detect_spikes(series, DAY) == []
    assert baseline({DAY: 40}, DAY) is None
    # An explicit zero says since when the series was watched: three days are enough.
    series = {"outlet:new": before(0, 0, 0) | {DAY: 40}}
    assert [s.baseline_days for s in detect_spikes(series, DAY)] == [3]


def test_a_zero_baseline_spikes_from_min_count() -> None:
    series = {"a": before(*[0] * 14) | {DAY: 3}, "b": before(*[0] * 14) | {DAY: 2}}
    [spike] = detect_spikes(series, DAY)
    assert spike.key == "a"
    assert spike.ratio == math.inf
    assert spike.z == pytest.approx(3.0)
    assert spike.reason == "3 articles vs a 14-day mean of 0.0 (sd 0.0)"


def test_each_condition_is_needed() -> None:
    noisy = before(*[0, 10] * 7) | {DAY: 12}  # mean 5, sd 5: ratio 2.4 but z 1.4
    assert detect_spikes({"k": noisy}, DAY) == []
    assert detect_spikes({"k": noisy}, DAY, SpikePolicy(z=1.0))
    big = before(*[20] * 14) | {DAY: 30}  # z 10 (floored sd), ratio 1.5
    assert detect_spikes({"k": big}, DAY) == []
    assert detect_spikes({"k": big}, DAY, SpikePolicy(ratio=1.5))


def test_spikes_are_ordered_by_z_then_count_then_key() -> None:
    flat = before(*[0] * 14)
    series = {"b": flat | {DAY: 5}, "a": flat | {DAY: 5}, "c": flat | {DAY: 9}}
    assert [s.key for s in detect_spikes(series, DAY)] == ["c", "a", "b"]


def test_days_after_the_day_do_not_count() -> None:
    counts = before(*[1] * 14) | {DAY: 8, DAY + dt.timedelta(days=1): 100}
    [spike] = detect_spikes({"k": counts}, DAY)
    assert spike.baseline_mean == pytest.approx(1.0)


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="min_baseline_days"):
        SpikePolicy(baseline_days=3, min_baseline_days=5)
    with pytest.raises(ValueError, match="std_floor"):
        SpikePolicy(std_floor=0)
