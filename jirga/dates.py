"""Publication dates made trustworthy: UTC always, and the fetch time when the feed's date is not.

Feeds leave dates out, write them in forms nobody parses, stamp items 1970-01-01, or date them
next year. jirga keeps every article's date in UTC and flags the ones it had to estimate.
"""

from __future__ import annotations

import datetime as dt
import re

UTC = dt.UTC
DEFAULT_MAX_FUTURE = dt.timedelta(days=1)
DEFAULT_EARLIEST = dt.datetime(1990, 1, 1, tzinfo=UTC)

_MAX_ISO_CHARS = 64
_LEAP_SECOND = re.compile(r"(T|\s)(\d{2}):?(\d{2}):?60")


def as_utc(moment: dt.datetime) -> dt.datetime:
    """The same instant in UTC; a naive datetime is taken to be UTC already."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def judge_date(
    parsed: dt.datetime | None,
    fetched_at: dt.datetime,
    *,
    max_future: dt.timedelta = DEFAULT_MAX_FUTURE,
    earliest: dt.datetime = DEFAULT_EARLIEST,
    published: str | None = None,
) -> tuple[dt.datetime, str | None]:
    """The date to keep and, when it is the fetch time instead of the feed's, why.

    ``published`` is the date as the feed wrote it, if any: it only tells "missing" from
    "unparseable" in the warning.
    """
    fetched = as_utc(fetched_at)
    if parsed is None:
        if published and published.strip():
            return fetched, "date unparseable: used fetch time"
        return fetched, "date missing: used fetch time"
    try:
        moment = as_utc(parsed)
    except (OverflowError, ValueError):  # year 1 with a positive offset, and the like
        return fetched, "date out of range: used fetch time"
    if moment < as_utc(earliest):
        return fetched, f"date before {as_utc(earliest):%Y-%m-%d}: used fetch time"
    if moment > fetched + max_future:
        return fetched, "date in the future: used fetch time"
    return moment, None


def normalise_date(
    parsed: dt.datetime | None,
    fetched_at: dt.datetime,
    *,
    max_future: dt.timedelta = DEFAULT_MAX_FUTURE,
    earliest: dt.datetime = DEFAULT_EARLIEST,
) -> tuple[dt.datetime, bool]:
    """(UTC datetime, estimated): the feed's date, or ``fetched_at`` flagged as an estimate.

    The fetch time stands in when the date is missing or unparseable (``parsed`` is None),
    earlier than ``earliest``, or more than ``max_future`` after the fetch. Naive datetimes are
    taken to be UTC.
    """
    moment, problem = judge_date(parsed, fetched_at, max_future=max_future, earliest=earliest)
    return moment, problem is not None


def parse_iso8601(text: str) -> dt.datetime | None:
    """An ISO 8601 / RFC 3339 date or date-time as an aware UTC datetime, or None.

    Accepts what ``datetime.fromisoformat`` does on Python 3.11 (``2021-08-15T23:58:21Z``,
    ``2021-08-15 23:58:21+00:00``, ``20210815T235821+0430``, a bare date as midnight, a lower-case
    ``t``/``z``), and a leap second (``:60``) as ``:59``. Input without an offset is assumed to
    be UTC, as JSON Lines exports usually are; give an offset to mean anything else.
    """
    text = text.strip().upper()
    if not text or len(text) > _MAX_ISO_CHARS:
        return None
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    text = _LEAP_SECOND.sub(lambda m: f"{m.group(1)}{m.group(2)}:{m.group(3)}:59", text, count=1)
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    try:
        return as_utc(moment)
    except (OverflowError, ValueError):
        return None
