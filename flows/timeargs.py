"""Command-line times: dates, ISO times, or "how long ago" like ``7d``."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import click

_RELATIVE = re.compile(r"(\d{1,5})\s*([hdw])\Z")
_UNITS = {"h": dt.timedelta(hours=1), "d": dt.timedelta(days=1), "w": dt.timedelta(weeks=1)}


def parse_when(text: str, tz: ZoneInfo, now: dt.datetime) -> dt.datetime:
    """A time from ``2026-03-01`` (start of that local day), an ISO 8601 time (naive: local),
    or ``12h`` / ``7d`` / ``2w`` (that long before ``now``)."""
    value = text.strip().lower()
    if match := _RELATIVE.match(value):
        return now - int(match.group(1)) * _UNITS[match.group(2)]
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            return dt.datetime.combine(day, dt.time(), tzinfo=tz).astimezone(dt.UTC)
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not a date (2026-03-01), an ISO time or an age like 7d, 12h, 2w"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(dt.UTC)
