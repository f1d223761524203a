"""Digest sources built from plain values, for the engine's digest tests: an ordinary day with
narratives in English and Urdu, and ways to put hostile text into every feed-derived field."""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

from jirga.digest_data import (
    DayArticle,
    DigestSource,
    FeedActivity,
    NarrativeRecord,
    TrackedRecord,
)
from jirga.types import FeedHealth, MemberArticle, OutletRole, Passage

TZ = ZoneInfo("Asia/Karachi")
DAY = dt.date(2026, 3, 3)
GENERATED = dt.datetime(2026, 3, 4, 2, 0, tzinfo=dt.UTC)  # 07:00 in Karachi, the day after
URDU_TITLE = "ٹی ٹی پی سے مذاکرات کے لیے جرگہ کابل پہنچ گیا"
URDU_PASSAGE = "حکومت نے کالعدم ٹی ٹی پی سے مذاکرات کے لیے قبائلی عمائدین کا جرگہ تشکیل دیا ہے"


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """A local time on a day, as aware UTC."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=TZ).astimezone(dt.UTC)


def article(
    id: int,
    day: dt.date,
    *,
    hour: int = 9,
    title: str = "",
    outlet: str = "Dawn",
    language: str = "en",
    terms: tuple[str, ...] = ("ttp",),
    narrative: int | None = None,
    copy_of: int | None = None,
    url: str | None = None,
) -> DayArticle:
    return DayArticle(
        id=id,
        title=title or f"Article {id}",
        url=url if url is not None else f"https://news.example/{id}",
        outlet=outlet,
        source=outlet.lower(),
        feed_id=outlet.lower(),
        language=language,
        published_at=at(day, hour),
        duplicate_of=copy_of,
        terms=terms,
        narrative_id=narrative,
    )


def member(a: DayArticle) -> MemberArticle:
    return MemberArticle(
        article_id=a.id,
        title=a.title,
        url=a.url,
        outlet=a.outlet,
        language=a.language,
        published_at=a.published_at,
        similarity=0.9,
        duplicate_of=a.duplicate_of,
        terms=a.terms,
    )


def day_minus(n: int) -> dt.date:
    return DAY - dt.timedelta(days=n)


def ordinary_source() -> DigestSource:
    """A day with a new narrative (Urdu and English), a recurring one, a steady one, an
    article in no narrative, a week of history, a tracked narrative and some sick feeds."""
    history = [
        article(100 + i, day_minus(d), hour=10, outlet=o, narrative=3)
        for i, (d, o) in enumerate([(9, "Dawn"), (8, "Dawn"), (7, "The News")])
    ] + [
        article(200 + d, day_minus(d), hour=11, outlet="Khaama Press", terms=("taliban",))
        for d in range(1, 8)
    ]
    today = [
        article(1, DAY, hour=8, title="Jirga formed for talks with TTP", narrative=1),
        article(
            2,
            DAY,
            hour=9,
            title=URDU_TITLE,
            outlet="Jang",
            language="ur",
            narrative=1,
        ),
        article(3, DAY, hour=10, title="Jirga for TTP talks", outlet="The News", narrative=1),
        article(
            4, DAY, hour=11, title="Jirga for TTP talks", outlet="Express", copy_of=3, narrative=1
        ),
        article(5, DAY, hour=12, title="TTP claims attack again", narrative=3),
        article(
            6,
            DAY,
            hour=13,
            title="Taliban at the airport",
            outlet="Khaama Press",
            terms=("taliban",),
            narrative=7,
        ),
        article(8, DAY, hour=14, title="Khalilzad speaks", outlet="Ariana", terms=("khalilzad",)),
    ]
    new_one = NarrativeRecord(
        id=1,
        label="Jirga formed for talks with TTP",
        key_phrases=("tribal jirga", "talks with the TTP", "Kabul"),
        representative_article_id=1,
        representative=member(today[0]),
        passages=(
            Passage("Islamabad named a jirga of tribal elders.", 1, "Dawn", at(DAY, 8), "en"),
            Passage(URDU_PASSAGE, 2, "Jang", at(DAY, 9), "ur"),
        ),
        daily=((DAY, 4, 4),),
        outlets=(
            OutletRole("Dawn", at(DAY, 8), 1, 0, "first"),
            OutletRole("Jang", at(DAY, 9), 1, 0, "amplified"),
            OutletRole("The News", at(DAY, 10), 1, 0, "amplified"),
            OutletRole("Express", at(DAY, 11), 1, 1, "amplified"),
        ),
        first_seen=at(DAY, 8),
        article_count=4,
    )
    recurring = NarrativeRecord(
        id=3,
        label="TTP claims attack",
        key_phrases=("claims", "attack"),
        representative_article_id=100,
        representative=member(history[0]),
        passages=(Passage("The TTP claimed it.", 100, "Dawn", history[0].published_at, "en"),),
        daily=((day_minus(9), 1, 1), (day_minus(8), 1, 1), (day_minus(7), 1, 1), (DAY, 1, 1)),
        outlets=(
            OutletRole("Dawn", history[0].published_at, 3, 0, "first"),
            OutletRole("The News", history[2].published_at, 1, 0, "amplified"),
        ),
        first_seen=history[0].published_at,
        article_count=4,
    )
    steady = NarrativeRecord(
        id=7,
        label="Taliban at the airport",
        key_phrases=("airport",),
        representative_article_id=6,
        representative=member(today[5]),
        passages=(),
        daily=((day_minus(2), 1, 1), (day_minus(1), 1, 1), (DAY, 1, 1)),
        outlets=(OutletRole("Khaama Press", at(day_minus(2), 11), 3, 0, "first"),),
        first_seen=at(day_minus(2), 11),
        article_count=3,
    )
    feeds = (
        FeedHealth("dawn", "Dawn", True, "https://dawn.example/rss", GENERATED, GENERATED,
                   200, 0, None, None, False, None, 40),
        FeedHealth("jang", "Jang", True, "https://jang.example/rss", GENERATED,
                   at(day_minus(3), 5), 500, 4, "HTTP 500", GENERATED + dt.timedelta(hours=2),
                   False, None, 12),
        FeedHealth("old", "Old Times", True, "https://old.example/rss", GENERATED, None, 410, 3,
                   "HTTP 410", None, True, None, 0),
        FeedHealth("quiet", "Quiet Post", True, "https://quiet.example/rss", GENERATED,
                   GENERATED, 200, 0, None, None, False, None, 9),
        FeedHealth("off", "Switched Off", False, "https://off.example/rss", None, None, None, 9,
                   "HTTP 500", None, False, None, 0),
    )  # fmt: skip
    quiet_times = tuple(at(day_minus(20 - 2 * i), 9) for i in range(6))  # every 2 days, then none
    return DigestSource(
        day=DAY,
        timezone="Asia/Karachi",
        generated_at=GENERATED,
        window_start=DAY - dt.timedelta(days=14),
        articles=tuple(sorted(history + today, key=lambda a: (a.published_at, a.id))),
        watching_since=day_minus(12),
        narratives=(new_one, recurring, steady),
        tracked=(
            TrackedRecord(
                "dialogue-with-ttp",
                "Talks with the TTP instead of military action",
                "Pakistan should negotiate with the TTP.",
                ((day_minus(3), 1), (DAY, 3)),
            ),
        ),
        feeds=feeds,
        feed_activity=(FeedActivity("quiet", quiet_times),),
        term_names=(
            ("ttp", "Tehrik-i-Taliban Pakistan"),
            ("taliban", "Taliban"),
            ("khalilzad", "Zalmay Khalilzad"),
        ),
    )


def empty_source() -> DigestSource:
    """A day on which nothing was published (the feeds are fine)."""
    source = ordinary_source()
    return dataclasses.replace(
        source,
        articles=tuple(a for a in source.articles if a.published_at < at(DAY, 0)),
        narratives=(),
        feeds=source.feeds[:1],
        feed_activity=(),
    )
