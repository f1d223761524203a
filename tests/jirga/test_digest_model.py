"""The digest's pure decisions: days and due times, trailing averages, importance, lifecycle as
of the day, silences, feed problems, and figures that add up to the rows they came from."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from zoneinfo import ZoneInfo

import pytest

from jirga.digest_content import Average
from jirga.digest_data import FeedActivity
from jirga.digest_model import (
    build_digest,
    day_bounds,
    due_at,
    due_day,
    feed_problems,
    one_line,
    silence,
    text_direction,
    trailing_mean,
    trend_words,
    web_link,
)
from jirga.types import FeedHealth
from tests.jirga.digest_samples import (
    DAY,
    GENERATED,
    TZ,
    URDU_TITLE,
    article,
    at,
    ordinary_source,
)

D = dt.date
LONDON = ZoneInfo("Europe/London")


def test_day_bounds_follow_the_local_calendar_across_dst() -> None:
    start, end = day_bounds(D(2026, 3, 29), LONDON)  # clocks go forward: a 23-hour day
    assert start == dt.datetime(2026, 3, 29, 0, 0, tzinfo=dt.UTC)
    assert end - start == dt.timedelta(hours=23)
    start, end = day_bounds(DAY, TZ)
    assert start == dt.datetime(2026, 3, 2, 19, 0, tzinfo=dt.UTC)
    assert end - start == dt.timedelta(hours=24)


def test_the_digest_of_a_day_falls_due_the_next_morning() -> None:
    seven = dt.time(7, 0)
    assert due_at(DAY, TZ, seven) == at(DAY + dt.timedelta(days=1), 7)
    assert due_day(at(D(2026, 3, 4), 7), TZ, seven) == DAY
    assert due_day(at(D(2026, 3, 4), 6, 59), TZ, seven) == D(2026, 3, 2)
    assert due_day(at(D(2026, 3, 4), 23, 59), TZ, seven) == DAY


def test_trailing_mean() -> None:
    counts = {DAY - dt.timedelta(days=i): i for i in range(1, 10)}  # 1..9 before the day
    assert trailing_mean(counts, DAY) == Average(sum(range(1, 8)) / 7, 7)
    # Watching began three days before: only those days count, and missing days are zeros.
    young = trailing_mean({DAY - dt.timedelta(days=1): 6}, DAY, since=DAY - dt.timedelta(days=3))
    assert young == Average(2.0, 3)
    assert trailing_mean(counts, DAY, since=DAY) is None  # no day before the day was watched
    assert trailing_mean({}, DAY, since=None) == Average(0.0, 7)


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://www.dawn.com/news/1", True),
        ("http://example.org/a?b=1&c=2#x", True),
        ("javascript:alert(1)", False),
        ("JAVASCRIPT:alert(1)", False),
        ("data:text/html,<script>", False),
        ("vbscript:x", False),
        ("file:///etc/passwd", False),
        ("//example.org/x", False),
        ("/relative/path", False),
        ("https://user:pw@example.org/", False),
        ("https://example.org/a b", False),
        ('https://example.org/"><script>', False),
        ("https://example.org/\u202e", False),
        ("https://example.org/\r\nX: 1", False),
        ("https://" + "a" * 2100, False),
        ("https:///nohost", False),
        (None, False),
    ],
)
def test_web_links(url: str | None, ok: bool) -> None:
    assert web_link(url) == (url if ok else None)


def test_text_is_one_bounded_plain_line_with_its_direction() -> None:
    assert one_line("  a\r\n b\tc\u202e d\x00 ", 100) == "a b c d"
    assert one_line("abcdefghij", 5) == "abcd…"
    assert text_direction(URDU_TITLE) == "rtl"
    assert text_direction("TTP: " + URDU_TITLE) == "ltr"  # first strong character decides
    assert text_direction("2026 — ", "ur") == "rtl"  # no strong character: the language
    assert text_direction("«۲۰۲۶»", "fa") == "rtl"


def test_silence_is_longer_than_any_gap_before() -> None:
    now = dt.datetime(2026, 3, 4, tzinfo=dt.UTC)
    every_day = [now - dt.timedelta(days=d) for d in range(10, 0, -1)]
    assert silence(every_day, now) is None  # one day of quiet is its rhythm
    quiet = every_day[:5]  # then nothing for six days
    found = silence(quiet, now)
    assert found is not None and found[0] == dt.timedelta(days=6)
    assert found[1] == dt.timedelta(days=1)
    assert silence(quiet[:4], now) is None  # too few articles to have a rhythm
    # A feed that is always quiet for a week is not "silent" after five days.
    weekly = [now - dt.timedelta(days=d) for d in (33, 26, 19, 12, 5)]
    assert silence(weekly, now) is None


def _feed(fid: str, **kw: object) -> FeedHealth:
    values: dict[str, object] = {
        "feed_id": fid, "name": fid.title(), "enabled": True, "url": f"https://{fid}.example/rss",
        "last_fetched_at": GENERATED, "last_success_at": GENERATED, "last_status": 200,
        "consecutive_errors": 0, "last_error": None, "next_attempt_at": None, "gone": False,
        "redirect_url": None, "articles": 0,
    }  # fmt: skip
    values.update(kw)
    return FeedHealth(**values)  # type: ignore[arg-type]


def test_feed_problems_in_order_of_gravity() -> None:
    later = GENERATED + dt.timedelta(hours=3)
    feeds = [
        _feed("ok"),
        _feed("waits", next_attempt_at=later, last_error="HTTP 429: asked to retry later"),
        _feed("flaky", consecutive_errors=1, last_error="timeout"),
        _feed("broken", consecutive_errors=7, last_error="HTTP 500\r\nX", next_attempt_at=later),
        _feed("gone", gone=True, consecutive_errors=3),
        _feed("off", enabled=False, consecutive_errors=9),
        _feed("mute", articles=40),
    ]
    activity = [FeedActivity("ok", (GENERATED - dt.timedelta(hours=1),))]
    problems = feed_problems(feeds, activity, GENERATED, TZ)
    assert [(p.feed_id, p.kind) for p in problems] == [
        ("gone", "gone"),
        ("broken", "failing"),
        ("flaky", "failing"),
        ("waits", "backing off"),
        ("mute", "silent"),
    ]
    broken = problems[1].detail
    assert "7 failed attempts in a row (HTTP 500 X)" in broken
    assert "backing off until 2026-03-04 10:00" in broken
    assert "asked to wait until 2026-03-04 10:00 (HTTP 429" in problems[3].detail


def test_states_are_those_of_the_day_not_of_today() -> None:
    d = build_digest(ordinary_source())
    states = {n.id: n.state for n in d.narratives}
    assert states == {1: "new", 7: "growing", 3: "recurring"}
    # Seen from five days later the same rows are another day's digest: nothing on that day.
    later = dataclasses.replace(ordinary_source(), day=DAY + dt.timedelta(days=5))
    assert build_digest(later).narratives == ()
    # Two days on, with one more article, the new narrative is no longer new.
    source = ordinary_source()
    two_days = DAY + dt.timedelta(days=2)
    extra = article(50, two_days, narrative=1)
    first = dataclasses.replace(source.narratives[0], daily=((DAY, 4, 4), (two_days, 1, 1)))
    source = dataclasses.replace(
        source,
        day=two_days,
        articles=(*source.articles, extra),
        narratives=(first,),
        generated_at=at(two_days + dt.timedelta(days=1), 7),
    )
    (item,) = build_digest(source).narratives
    assert item.state == "growing" and item.articles_on_day == 1 and item.articles[0].id == 50


def test_narratives_are_ordered_by_state_then_importance() -> None:
    d = build_digest(ordinary_source())
    assert [n.id for n in d.narratives] == [1, 7, 3]  # shown in section order
    assert [n.id for n in d.featured("new")] == [1]
    new = d.narratives[0]
    assert (new.articles_on_day, new.outlets_on_day, new.active_days) == (4, 4, 1)
    assert [o.role for o in new.outlets] == ["first", "amplified", "amplified", "amplified"]
    assert new.headline is not None and new.headline.id == 1
    assert [q.direction for q in new.quotes] == ["ltr", "rtl"]
    assert new.trend.counts == (0,) * 13 + (4,)
    recurring = d.featured("recurring")[0]
    assert recurring.first_seen == DAY - dt.timedelta(days=9)
    assert recurring.trend.counts[-10:] == (1, 1, 1, 0, 0, 0, 0, 0, 0, 1)


def test_every_figure_adds_up_to_the_rows() -> None:
    source = ordinary_source()
    d = build_digest(source)
    start, end = day_bounds(DAY, TZ)
    on_day = [a for a in source.articles if start <= a.published_at < end]
    g = d.glance
    assert g.total == len(on_day) == 7
    assert g.near_copies == sum(1 for a in on_day if a.duplicate_of)
    assert {v.key: v.count for v in g.terms} == dict(Counter(t for a in on_day for t in a.terms))
    assert {v.key: v.count for v in g.languages} == dict(Counter(a.language for a in on_day))
    assert {v.key: v.count for v in g.outlets} == dict(Counter(a.outlet for a in on_day))
    # Every article of the day is listed once, under its narrative or among the others.
    listed = [a.id for n in d.narratives for a in n.articles] + [a.id for a in d.other_articles]
    assert sorted(listed) == sorted(a.id for a in on_day) and d.articles_omitted == 0
    # Trailing averages: the Khaama Press series had one article on each of the 7 days before.
    khaama = next(v for v in g.outlets if v.key == "Khaama Press")
    assert khaama.average == Average(1.0, 7)
    tracked = d.tracked[0]
    assert tracked.count == 3 and tracked.trend.counts[-4:] == (1, 0, 0, 3)


def test_spikes_carry_their_baseline() -> None:
    d = build_digest(ordinary_source())
    spikes = {(s.kind, s.label): s.spike for s in d.glance.spikes}
    ttp = spikes[("term", "Tehrik-i-Taliban Pakistan")]
    assert ttp.count == 5 and ttp.baseline_days == 12
    assert "vs a 12-day mean of" in ttp.reason


def test_trend_words_say_what_the_chart_shows() -> None:
    words = trend_words((0, 2, 5), DAY - dt.timedelta(days=2), Average(1.5, 7))
    assert words == (
        "articles a day from 01 Mar to 03 Mar: 0 2 5 (total 7, peak 5 on 03 Mar); "
        "5 on 03 Mar against a 7-day average of 1.5"
    )
    assert trend_words((0, 0), DAY, None) == "articles a day from 03 Mar to 04 Mar: 0 0 (total 0)"
