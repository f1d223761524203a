"""The schedules of the deployments: the digest at a local time across DST changes, the poll on
the half hour, each checked against the times Prefect's own schedules produce."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest

from flows.schedules import (
    DEPLOYMENTS,
    POLL_ANCHOR,
    POLL_EVERY,
    digest_cron,
    local_run_time,
    next_digest_times,
    next_poll_times,
)

UTC = dt.UTC
NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
KARACHI = ZoneInfo("Asia/Karachi")


def prefect_cron_times(cron: str, tz: str, after: dt.datetime, n: int) -> list[dt.datetime]:
    from prefect.server.schemas.schedules import CronSchedule

    dates = asyncio.run(CronSchedule(cron=cron, timezone=tz).get_dates(n, start=after))
    return [d.astimezone(UTC) for d in dates]


def test_digest_cron_is_minute_and_hour() -> None:
    assert digest_cron(dt.time(7, 0)) == "0 7 * * *"
    assert digest_cron(dt.time(18, 45)) == "45 18 * * *"
    with pytest.raises(ValueError, match="whole minutes"):
        digest_cron(dt.time(7, 0, 30))


def test_new_york_spring_forward_keeps_seven_local() -> None:
    # Clocks go forward on Sunday 8 March 2026 at 02:00: 07:00 is 12:00Z before, 11:00Z after.
    after = dt.datetime(2026, 3, 6, 13, 0, tzinfo=UTC)
    times = next_digest_times(after, dt.time(7, 0), NEW_YORK, 4)
    assert times == [
        dt.datetime(2026, 3, 7, 12, 0, tzinfo=UTC),
        dt.datetime(2026, 3, 8, 11, 0, tzinfo=UTC),
        dt.datetime(2026, 3, 9, 11, 0, tzinfo=UTC),
        dt.datetime(2026, 3, 10, 11, 0, tzinfo=UTC),
    ]
    assert {t.astimezone(NEW_YORK).time() for t in times} == {dt.time(7, 0)}


def test_new_york_fall_back_keeps_seven_local() -> None:
    # Clocks go back on Sunday 1 November 2026 at 02:00: 07:00 is 11:00Z before, 12:00Z after.
    after = dt.datetime(2026, 10, 31, 0, 0, tzinfo=UTC)
    times = next_digest_times(after, dt.time(7, 0), NEW_YORK, 3)
    assert times == [
        dt.datetime(2026, 10, 31, 11, 0, tzinfo=UTC),
        dt.datetime(2026, 11, 1, 12, 0, tzinfo=UTC),
        dt.datetime(2026, 11, 2, 12, 0, tzinfo=UTC),
    ]


def test_london_both_changes() -> None:
    spring = next_digest_times(dt.datetime(2026, 3, 28, 0, 0, tzinfo=UTC), dt.time(7, 0), LONDON, 2)
    assert spring == [
        dt.datetime(2026, 3, 28, 7, 0, tzinfo=UTC),
        dt.datetime(2026, 3, 29, 6, 0, tzinfo=UTC),  # BST from 01:00 GMT that morning
    ]
    autumn = next_digest_times(
        dt.datetime(2026, 10, 24, 0, 0, tzinfo=UTC), dt.time(7, 0), LONDON, 2
    )
    assert autumn == [
        dt.datetime(2026, 10, 24, 6, 0, tzinfo=UTC),
        dt.datetime(2026, 10, 25, 7, 0, tzinfo=UTC),
    ]


def test_karachi_has_no_change() -> None:
    times = next_digest_times(dt.datetime(2026, 3, 1, tzinfo=UTC), dt.time(7, 0), KARACHI, 300)
    assert {t.time() for t in times} == {dt.time(2, 0)}  # PKT is UTC+5 all year
    assert all(b - a == dt.timedelta(days=1) for a, b in itertools.pairwise(times))


def test_a_run_later_today_comes_first_and_the_start_counts() -> None:
    morning = dt.datetime(2026, 6, 1, 1, 0, tzinfo=UTC)  # 06:00 in Karachi
    assert next_digest_times(morning, dt.time(7, 0), KARACHI, 1) == [
        dt.datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
    ]
    exactly = dt.datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
    assert next_digest_times(exactly, dt.time(7, 0), KARACHI, 1) == [exactly]


def test_skipped_and_repeated_local_times() -> None:
    # 02:30 does not exist in New York on 8 March 2026: it becomes 03:30 daylight time. 01:30
    # happens twice on 1 November 2026: the first one, still in daylight time, is taken.
    assert local_run_time(dt.date(2026, 3, 8), dt.time(2, 30), NEW_YORK) == dt.datetime(
        2026, 3, 8, 7, 30, tzinfo=UTC
    )
    assert local_run_time(dt.date(2026, 11, 1), dt.time(1, 30), NEW_YORK) == dt.datetime(
        2026, 11, 1, 5, 30, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("tz", "at", "after"),
    [
        ("America/New_York", dt.time(7, 0), dt.datetime(2026, 3, 1, tzinfo=UTC)),
        ("America/New_York", dt.time(7, 0), dt.datetime(2026, 10, 25, tzinfo=UTC)),
        ("America/New_York", dt.time(2, 30), dt.datetime(2026, 3, 5, tzinfo=UTC)),
        ("America/New_York", dt.time(1, 30), dt.datetime(2026, 10, 29, tzinfo=UTC)),
        ("Europe/London", dt.time(7, 0), dt.datetime(2026, 3, 25, tzinfo=UTC)),
        ("Europe/London", dt.time(1, 15), dt.datetime(2026, 10, 22, tzinfo=UTC)),
        ("Asia/Karachi", dt.time(7, 0), dt.datetime(2026, 12, 30, 20, tzinfo=UTC)),
        ("Australia/Lord_Howe", dt.time(2, 15), dt.datetime(2026, 4, 1, tzinfo=UTC)),
    ],
)
def test_the_same_times_as_prefect_cron(tz: str, at: dt.time, after: dt.datetime) -> None:
    ours = next_digest_times(after, at, ZoneInfo(tz), 10)
    assert ours == prefect_cron_times(digest_cron(at), tz, after, 10)


def test_poll_on_the_half_hour() -> None:
    after = dt.datetime(2026, 3, 8, 6, 59, 59, tzinfo=UTC)
    assert next_poll_times(after, 3) == [
        dt.datetime(2026, 3, 8, 7, 0, tzinfo=UTC),
        dt.datetime(2026, 3, 8, 7, 30, tzinfo=UTC),
        dt.datetime(2026, 3, 8, 8, 0, tzinfo=UTC),
    ]
    on_time = dt.datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    assert next_poll_times(on_time, 1) == [on_time]


def test_the_same_poll_times_as_prefect_interval() -> None:
    from prefect.server.schemas.schedules import IntervalSchedule

    after = dt.datetime(2026, 3, 8, 6, 10, tzinfo=UTC)
    schedule = IntervalSchedule(interval=POLL_EVERY, anchor_date=POLL_ANCHOR, timezone="UTC")
    theirs = [d.astimezone(UTC) for d in asyncio.run(schedule.get_dates(5, start=after))]
    assert next_poll_times(after, 5) == theirs


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        next_digest_times(dt.datetime(2026, 1, 1), dt.time(7, 0), KARACHI, 1)
    with pytest.raises(ValueError, match="aware"):
        next_poll_times(dt.datetime(2026, 1, 1), 1)


def test_deployments_name_importable_flows() -> None:
    import importlib

    for spec in DEPLOYMENTS:
        module, _, name = spec.entrypoint.rpartition(".")
        flow = getattr(importlib.import_module(module), name)
        assert flow.name == spec.flow_name
