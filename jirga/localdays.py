"""Cutting a UTC range into pieces of constant UTC offset in a time zone.

A database without time zones (SQLite) can still count by local day: within a piece where the
zone's offset does not change, the local day of a UTC time is the UTC date of ``time + offset``.
"""

from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo

_STEP = dt.timedelta(hours=6)  # zones change offset at most twice a year, never twice in 6 h


def _offset(tz: ZoneInfo, at: dt.datetime) -> dt.timedelta:
    return at.astimezone(tz).utcoffset() or dt.timedelta(0)


def _transition(tz: ZoneInfo, lo: dt.datetime, hi: dt.datetime) -> dt.datetime:
    """The first whole second in ``(lo, hi]`` with the offset of ``hi``; zones change offset on
    whole seconds, and the ends have different offsets."""
    target = _offset(tz, hi)
    low, high = math.floor(lo.timestamp()), math.ceil(hi.timestamp())
    while high - low > 1:  # offset(low) is not the target, offset(high) is
        mid = (low + high) // 2
        if _offset(tz, dt.datetime.fromtimestamp(mid, dt.UTC)) == target:
            high = mid
        else:
            low = mid
    return max(dt.datetime.fromtimestamp(high, dt.UTC), lo)


def offset_spans(
    tz: ZoneInfo, start: dt.datetime, end: dt.datetime
) -> list[tuple[dt.datetime, dt.datetime, dt.timedelta]]:
    """``(from, to, offset)`` pieces covering ``[start, end)`` in UTC, in order, each with the
    zone's UTC offset throughout it."""
    if end <= start:
        return []
    spans = []
    piece_start, current = start, _offset(tz, start)
    probe = start
    while probe < end:
        nxt = min(probe + _STEP, end)
        if (offset := _offset(tz, nxt)) != current:
            at = _transition(tz, probe, nxt)
            if at < end:
                spans.append((piece_start, at, current))
                piece_start, current = at, offset
        probe = nxt
    spans.append((piece_start, end, current))
    return spans
