"""Narrative states from small hand-built daily counts, one rule at a time, and their edges."""

from __future__ import annotations

import datetime as dt

import pytest

from jirga.lifecycle import LifecyclePolicy, State, active_days, gaps, narrative_state

TODAY = dt.date(2024, 3, 20)


def days_ago(*counts: tuple[int, int]) -> dict[dt.date, int]:
    """``{today - ago: count}`` from (ago, count) pairs."""
    return {TODAY - dt.timedelta(days=ago): n for ago, n in counts}


def every_day(first_ago: int, last_ago: int, n: int = 1) -> dict[dt.date, int]:
    """``n`` articles on every day from ``first_ago`` days ago to ``last_ago`` days ago."""
    return days_ago(*((ago, n) for ago in range(last_ago, first_ago + 1)))


def test_a_single_article_today_is_new() -> None:
    assert narrative_state(days_ago((0, 1)), TODAY) == "new"


def test_first_seen_yesterday_is_still_new_and_two_days_ago_is_not() -> None:
    assert narrative_state(days_ago((1, 1), (0, 2)), TODAY) == State.NEW
    assert narrative_state(days_ago((2, 1), (1, 1), (0, 1)), TODAY) != State.NEW


def test_new_even_when_today_has_zero() -> None:
    assert narrative_state(days_ago((1, 4), (0, 0)), TODAY) == State.NEW


def test_a_single_day_long_ago_is_fading() -> None:
    assert narrative_state(days_ago((10, 5)), TODAY) == State.FADING


def test_quiet_today_and_yesterday_is_fading() -> None:
    daily = every_day(20, 2, n=3)
    assert narrative_state(daily, TODAY) == State.FADING
    # Only today quiet: not yet.
    assert narrative_state(every_day(20, 1, n=1), TODAY) == State.STEADY


def test_no_articles_at_all_is_fading() -> None:
    assert narrative_state({}, TODAY) == State.FADING
    assert narrative_state(days_ago((0, 0), (3, 0)), TODAY) == State.FADING


def test_a_return_after_a_long_gap_is_recurring() -> None:
    daily = every_day(30, 20, n=2) | days_ago((0, 1))
    assert narrative_state(daily, TODAY) == State.RECURRING


def test_recurring_needs_gap_days_of_quiet() -> None:
    # Active 10..5 days ago, quiet 4, 3 and 2 days ago (three days), back yesterday.
    daily = every_day(10, 5) | days_ago((1, 1))
    assert narrative_state(daily, TODAY) == State.RECURRING
    # Two quiet days only: the same run continues.
    daily = every_day(10, 4) | days_ago((1, 1))
    assert narrative_state(daily, TODAY) != State.RECURRING


def test_a_return_stops_being_recurring_after_recurring_days() -> None:
    daily = every_day(30, 20) | every_day(5, 0)
    assert narrative_state(daily, TODAY) == State.GROWING
    longer = LifecyclePolicy(recurring_days=6)
    assert narrative_state(daily, TODAY, longer) == State.RECURRING


def test_growing_when_the_last_window_outgrows_the_one_before() -> None:
    daily = every_day(13, 7, n=1) | every_day(6, 0, n=2)  # 7 articles, then 14
    assert narrative_state(daily, TODAY) == State.GROWING


def test_growth_needs_min_count() -> None:
    # One article, then three: a tripling, but fewer than min_count articles.
    daily = days_ago((8, 1), (5, 1), (3, 1), (1, 1))
    assert narrative_state(daily, TODAY, LifecyclePolicy(min_count=4)) == State.STEADY
    assert narrative_state(daily, TODAY, LifecyclePolicy(min_count=3)) == State.GROWING


def test_a_young_narrative_grows_once_it_has_min_count() -> None:
    assert narrative_state(days_ago((3, 1), (2, 1), (0, 1)), TODAY) == State.GROWING


def test_flat_counts_are_steady() -> None:
    assert narrative_state(every_day(40, 0, n=3), TODAY) == State.STEADY


def test_declining_counts_are_fading_even_with_an_article_today() -> None:
    daily = every_day(13, 7, n=3) | days_ago((3, 1), (1, 2), (0, 1))  # 21, then 4
    assert narrative_state(daily, TODAY) == State.FADING


def test_days_after_today_are_ignored() -> None:
    daily = days_ago((10, 5)) | {TODAY + dt.timedelta(days=1): 9}
    assert narrative_state(daily, TODAY) == State.FADING


def test_states_are_plain_strings() -> None:
    assert narrative_state(days_ago((0, 1)), TODAY) == "new"
    assert {s.value for s in State} == {"new", "growing", "steady", "fading", "recurring"}


def test_active_days_counts_days_with_articles() -> None:
    assert active_days({}) == 0
    assert active_days(days_ago((0, 3), (1, 0), (5, 1))) == 2


def test_gaps_are_the_quiet_stretches_between_active_days() -> None:
    daily = days_ago((10, 1), (9, 2), (5, 1), (4, 0), (1, 1))
    assert gaps(daily) == [
        (TODAY - dt.timedelta(days=8), TODAY - dt.timedelta(days=6)),
        (TODAY - dt.timedelta(days=4), TODAY - dt.timedelta(days=2)),
    ]
    assert gaps(daily, min_days=4) == []
    assert gaps(days_ago((3, 1))) == []
    assert gaps(days_ago((3, 1), (2, 1))) == []


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="growth_ratio"):
        LifecyclePolicy(growth_ratio=1.0)
    with pytest.raises(ValueError, match="gap_days"):
        LifecyclePolicy(gap_days=0)
