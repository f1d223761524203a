"""normalise_date keeps sane dates in UTC and falls back to the fetch time; parse_iso8601 reads
the dates of JSON Lines imports."""

from __future__ import annotations

import datetime as dt

import pytest

from jirga.dates import judge_date, normalise_date, parse_iso8601

UTC = dt.UTC
FETCHED = dt.datetime(2025, 3, 10, 6, 0, tzinfo=UTC)
PKT = dt.timezone(dt.timedelta(hours=5))
AFT = dt.timezone(dt.timedelta(hours=4, minutes=30))


@pytest.mark.parametrize(
    ("parsed", "expected"),
    [
        (dt.datetime(2025, 3, 9, 12, 0, tzinfo=UTC), dt.datetime(2025, 3, 9, 12, 0, tzinfo=UTC)),
        (dt.datetime(2025, 3, 9, 17, 0, tzinfo=PKT), dt.datetime(2025, 3, 9, 12, 0, tzinfo=UTC)),
        (dt.datetime(2025, 3, 9, 16, 30, tzinfo=AFT), dt.datetime(2025, 3, 9, 12, 0, tzinfo=UTC)),
        (dt.datetime(2025, 3, 9, 12, 0), dt.datetime(2025, 3, 9, 12, 0, tzinfo=UTC)),  # naive
        (dt.datetime(1990, 1, 1, tzinfo=UTC), dt.datetime(1990, 1, 1, tzinfo=UTC)),
        (FETCHED + dt.timedelta(hours=23), FETCHED + dt.timedelta(hours=23)),  # clock skew
        (FETCHED + dt.timedelta(days=1), FETCHED + dt.timedelta(days=1)),
    ],
)
def test_sane_dates_are_kept_in_utc(parsed: dt.datetime, expected: dt.datetime) -> None:
    moment, estimated = normalise_date(parsed, FETCHED)
    assert moment == expected
    assert moment.tzinfo is UTC
    assert estimated is False


@pytest.mark.parametrize(
    "parsed",
    [
        None,
        dt.datetime(1970, 1, 1, tzinfo=UTC),  # the epoch a broken CMS writes
        dt.datetime(1989, 12, 31, 23, 59, tzinfo=UTC),
        dt.datetime(1, 1, 1, tzinfo=UTC),
        FETCHED + dt.timedelta(days=1, seconds=1),
        dt.datetime(2099, 1, 1, tzinfo=UTC),
        dt.datetime(9999, 12, 31, 23, 59, tzinfo=UTC),
    ],
)
def test_absurd_or_missing_dates_fall_back_to_fetch_time(parsed: dt.datetime | None) -> None:
    assert normalise_date(parsed, FETCHED) == (FETCHED, True)


def test_fetch_time_is_made_utc() -> None:
    fetched = dt.datetime(2025, 3, 10, 11, 0, tzinfo=PKT)
    moment, estimated = normalise_date(None, fetched)
    assert (moment, estimated) == (FETCHED, True)
    assert moment.tzinfo is UTC
    assert normalise_date(None, dt.datetime(2025, 3, 10, 6, 0)) == (FETCHED, True)


def test_limits_are_parameters() -> None:
    two_hours = FETCHED + dt.timedelta(hours=2)
    assert normalise_date(two_hours, FETCHED, max_future=dt.timedelta(hours=1)) == (FETCHED, True)
    old = dt.datetime(2001, 1, 1, tzinfo=UTC)
    assert normalise_date(old, FETCHED) == (old, False)
    assert normalise_date(old, FETCHED, earliest=dt.datetime(2010, 1, 1, tzinfo=UTC)) == (
        FETCHED,
        True,
    )


@pytest.mark.parametrize(
    ("parsed", "published", "warning"),
    [
        (None, None, "date missing: used fetch time"),
        (None, "   ", "date missing: used fetch time"),
        (None, "Thu,28 Jul 2022 4:35:5 GMT+9", "date unparseable: used fetch time"),
        (dt.datetime(1970, 1, 1, tzinfo=UTC), "x", "date before 1990-01-01: used fetch time"),
        (dt.datetime(2030, 1, 1, tzinfo=UTC), "x", "date in the future: used fetch time"),
        (dt.datetime(2025, 3, 1, tzinfo=UTC), "x", None),
    ],
)
def test_judge_date_says_why(
    parsed: dt.datetime | None, published: str | None, warning: str | None
) -> None:
    assert judge_date(parsed, FETCHED, published=published)[1] == warning


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-08-15T23:58:21Z", dt.datetime(2021, 8, 15, 23, 58, 21, tzinfo=UTC)),
        ("2021-08-15t23:58:21z", dt.datetime(2021, 8, 15, 23, 58, 21, tzinfo=UTC)),
        ("2021-08-15 23:58:21+00:00", dt.datetime(2021, 8, 15, 23, 58, 21, tzinfo=UTC)),
        ("2021-08-15T23:58:21+05:00", dt.datetime(2021, 8, 15, 18, 58, 21, tzinfo=UTC)),
        ("2021-08-15T23:58:21-04:00", dt.datetime(2021, 8, 16, 3, 58, 21, tzinfo=UTC)),
        ("2021-08-15T04:30:00+04:30", dt.datetime(2021, 8, 15, 0, 0, tzinfo=UTC)),
        ("20210815T235821+0500", dt.datetime(2021, 8, 15, 18, 58, 21, tzinfo=UTC)),
        ("2021-08-15T23:58:21.250Z", dt.datetime(2021, 8, 15, 23, 58, 21, 250000, tzinfo=UTC)),
        ("2021-08-15T23:58:21", dt.datetime(2021, 8, 15, 23, 58, 21, tzinfo=UTC)),  # naive: UTC
        ("2021-08-15", dt.datetime(2021, 8, 15, tzinfo=UTC)),
        ("2016-12-31T23:59:60Z", dt.datetime(2016, 12, 31, 23, 59, 59, tzinfo=UTC)),
        ("  2021-08-15T10:00:00Z \n", dt.datetime(2021, 8, 15, 10, 0, tzinfo=UTC)),
    ],
)
def test_parse_iso8601(text: str, expected: dt.datetime) -> None:
    parsed = parse_iso8601(text)
    assert parsed == expected
    assert parsed is not None and parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    [
        "",
        "yesterday",
        "Sun, 15 Aug 2021 23:58:21 GMT",  # RFC 822 is the feed parser's business
        "2021-13-01",
        "2021-02-30T10:00:00Z",
        "2021-08-15T25:00:00Z",
        "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
        "9999-12-31T23:59:59-01:00",  # after year 9999 in UTC
        "2021-08-15T10:00:00Z" + " " * 100 + "x",
        "2" * 10_000,
    ],
)
def test_parse_iso8601_refuses(text: str) -> None:
    assert parse_iso8601(text) is None
