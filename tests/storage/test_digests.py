"""The digest's storage on both databases: the rows a digest is made of (checked against plain
SQL counts), the digest stored once per day, and the claim protocol — one winner however many
runs claim at once, stale claims taken over, tokens that fence a run that lost its claim."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import threading
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from jirga.dedup import DedupConfig
from jirga.digest_data import DeliveryStatus
from jirga.digest_model import build_digest, day_bounds
from jirga.types import (
    Alias,
    AliasRule,
    Article,
    Feed,
    MatchedArticle,
    Membership,
    Mention,
    NarrativeFacts,
    Passage,
    Term,
    TrackedNarrative,
)
from storage.facade import Storage

TZ = ZoneInfo("Asia/Karachi")
DAY = dt.date(2026, 3, 3)
NOW = dt.datetime(2026, 3, 4, 2, 30, tzinfo=dt.UTC)
FEEDS = [
    Feed("dawn", "Dawn", "https://dawn.example/rss", "pk", "en"),
    Feed("jang", "Jang", "https://jang.example/rss", "pk", "ur"),
]
TERMS = [
    Term("ttp", "Tehrik-i-Taliban Pakistan", (Alias("TTP", AliasRule.ACRONYM),)),
    Term("taliban", "Taliban", (Alias("Taliban", AliasRule.WORD),)),
]
TRACKED = [TrackedNarrative("dialogue-with-ttp", "Talks with the TTP", "Talks.")]
_WORDS = [f"{a}{b}" for a in ("ka", "lo", "mi", "nu", "pe", "ru") for b in range(50)]


def local(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=TZ).astimezone(dt.UTC)


def _item(i: int, at: dt.datetime, feed: str, terms: tuple[str, ...]) -> MatchedArticle:
    words = " ".join(random.Random(i).sample(_WORDS, 40))
    text = f"TTP Taliban report {i}. {words}"
    outlet = "Dawn" if feed == "dawn" else "Jang"
    article = Article(
        source=feed,
        feed_id=feed,
        outlet=outlet,
        entry_key=f"e{i}",
        url=f"https://{feed}.example/{i}",
        canonical_url=f"https://{feed}.example/{i}",
        title=f"Report {i}",
        text=text,
        html=f"<p>{text}</p>",
        language="en" if feed == "dawn" else "ur",
        published_at=at,
        date_estimated=False,
        fetched_at=at,
        content_hash=hashlib.sha256(text.encode()).hexdigest(),
    )
    mentions = tuple(Mention(t, t.upper(), 0, 3, text[:40]) for t in terms)
    return MatchedArticle(article, mentions)


def fill(storage: Storage) -> dict[str, int]:
    """Articles over two weeks, two narratives (one active on DAY), tracked counts."""
    storage.sync_feeds(FEEDS, NOW - dt.timedelta(days=30))
    plan = [  # (article number, local day offset from DAY, hour, feed, terms)
        (1, -10, 9, "dawn", ("ttp",)),
        (2, -9, 9, "dawn", ("ttp",)),
        (3, -2, 9, "jang", ("taliban",)),
        (4, 0, 1, "dawn", ("ttp", "taliban")),  # 01:00 local: the previous UTC day
        (5, 0, 12, "jang", ("ttp",)),
        (6, 0, 23, "dawn", ("taliban",)),  # 23:00 local: the next UTC day
        (7, 1, 8, "dawn", ("ttp",)),  # after the day: must not count
    ]
    items = [_item(n, local(DAY + dt.timedelta(days=off), h), f, t) for n, off, h, f, t in plan]
    storage.store_imported(items, DedupConfig())
    ids = {a.title: a.id for a in storage.all_articles()}
    a = lambda n: ids[f"Report {n}"]  # noqa: E731
    storage.save_narratives(
        memberships=[Membership(a(n), 1, 0.9) for n in (1, 2, 4, 5, 7)]
        + [Membership(a(3), 2, 0.9)],
        merges=[],
        facts=[
            NarrativeFacts(
                id=1,
                label="Report 1",
                key_phrases=("report",),
                representative_article_id=a(7),  # published after the day
                state="steady",
                first_seen=local(DAY - dt.timedelta(days=10), 9),
                last_seen=local(DAY + dt.timedelta(days=1), 8),
                active_days=4,
                article_count=5,
                languages=("en", "ur"),
                outlets=("Dawn", "Jang"),
                terms=("ttp",),
                passages=(
                    Passage(
                        "An early sentence.",
                        a(1),
                        "Dawn",
                        local(DAY - dt.timedelta(days=10), 9),
                        "en",
                    ),
                    Passage(
                        "A later sentence.",
                        a(7),
                        "Dawn",
                        local(DAY + dt.timedelta(days=1), 8),
                        "en",
                    ),
                ),
                daily=(
                    (DAY - dt.timedelta(days=10), 1, 1),
                    (DAY - dt.timedelta(days=9), 1, 1),
                    (DAY, 2, 2),
                    (DAY + dt.timedelta(days=1), 1, 1),
                ),
            ),
            NarrativeFacts(
                id=2,
                label="Report 3",
                key_phrases=(),
                representative_article_id=a(3),
                state="fading",
                first_seen=local(DAY - dt.timedelta(days=2), 9),
                last_seen=local(DAY - dt.timedelta(days=2), 9),
                active_days=1,
                article_count=1,
                languages=("ur",),
                outlets=("Jang",),
                terms=("taliban",),
                passages=(),
                daily=((DAY - dt.timedelta(days=2), 1, 1),),
            ),
        ],
        states={},
        tracked_scores=[],
        tracked_days={
            ("dialogue-with-ttp", DAY): 2,
            ("dialogue-with-ttp", DAY - dt.timedelta(days=9)): 1,
        },
        cluster_config="{}",
        cluster_state=b"",
        now=NOW,
    )
    return {f"a{n}": a(n) for n, *_ in plan}


def test_the_source_of_a_day_is_the_rows_of_that_local_day(storage: Storage) -> None:
    ids = fill(storage)
    source = storage.digest_source(DAY, tz=TZ, now=NOW, tracked=TRACKED, terms=TERMS)
    start, end = day_bounds(DAY, TZ)
    with storage.engine.connect() as conn:
        in_day = conn.execute(
            sa.text("SELECT count(*) FROM articles WHERE published_at >= :s AND published_at < :e"),
            {"s": start if storage.dialect == "postgresql" else start.replace(tzinfo=None),
             "e": end if storage.dialect == "postgresql" else end.replace(tzinfo=None)},
        ).scalar_one()  # fmt: skip
    on_day = [x for x in source.articles if start <= x.published_at < end]
    assert len(on_day) == in_day == 3
    assert {x.id for x in on_day} == {ids["a4"], ids["a5"], ids["a6"]}
    assert ids["a7"] not in {x.id for x in source.articles}  # after the day
    assert source.watching_since == DAY - dt.timedelta(days=10)
    by_id = {x.id: x for x in source.articles}
    assert by_id[ids["a4"]].terms == ("taliban", "ttp")
    assert by_id[ids["a4"]].narrative_id == 1 and by_id[ids["a6"]].narrative_id is None
    # Only narrative 1 has articles on the day; its figures stop at the end of the day.
    (n,) = source.narratives
    assert n.id == 1 and n.article_count == 4
    assert [d for d, *_ in n.daily] == [
        DAY - dt.timedelta(days=10),
        DAY - dt.timedelta(days=9),
        DAY,
    ]
    assert n.representative is None  # the stored representative came after the day
    assert [o.outlet for o in n.outlets] == ["Dawn", "Jang"] and n.outlets[0].role == "first"
    assert {t.id: t.daily for t in source.tracked} == {
        "dialogue-with-ttp": ((DAY - dt.timedelta(days=9), 1), (DAY, 2))
    }
    assert {f.feed_id for f in source.feeds} == {"dawn", "jang"}
    activity = {a.feed_id: len(a.published) for a in source.feed_activity}
    assert activity == {"dawn": 4, "jang": 2}  # the 30 days before now (a7 comes later)
    digest = build_digest(source)
    (item,) = digest.narratives
    assert item.state == "recurring" and item.articles_on_day == 2
    assert [q.text for q in item.quotes] == ["An early sentence."]  # no quote from the future
    assert item.headline is not None and item.headline.id in {ids["a4"], ids["a5"]}
    assert [a.id for a in digest.other_articles] == [ids["a6"]]


def test_an_empty_database_has_an_empty_source(storage: Storage) -> None:
    source = storage.digest_source(DAY, tz=TZ, now=NOW, tracked=TRACKED, terms=TERMS)
    assert source.articles == () and source.narratives == () and source.watching_since is None
    assert build_digest(source).empty


def test_a_day_has_one_digest_and_the_first_one_stays(storage: Storage) -> None:
    first = storage.save_digest(DAY, subject="s1", html="<p>1</p>", text="1", markdown="1", now=NOW)
    second = storage.save_digest(
        DAY, subject="s2", html="<p>2</p>", text="2", markdown="2", now=NOW + dt.timedelta(hours=1)
    )
    assert second == first and second.subject == "s1" and second.created_at == NOW
    assert storage.stored_digest(DAY) == first
    assert storage.stored_digest(digest_id=first.id) == first
    assert storage.stored_digest(DAY + dt.timedelta(days=1)) is None


def _delivery(storage: Storage) -> int:
    digest = storage.save_digest(DAY, subject="s", html="h", text="t", markdown="m", now=NOW)
    storage.add_deliveries(digest.id, [("a@example.org", "<m1@x>"), ("b@example.org", "<m2@x>")])
    storage.add_deliveries(digest.id, [("a@example.org", "<m1@x>")])  # a rerun adds nothing
    rows = storage.deliveries(digest.id)
    assert [(d.recipient, d.status, d.attempts) for d in rows] == [
        ("a@example.org", "pending", 0),
        ("b@example.org", "pending", 0),
    ]
    return rows[0].id


def test_claim_send_mark(storage: Storage) -> None:
    did = _delivery(storage)
    stale = NOW - dt.timedelta(minutes=30)
    token = storage.claim_delivery(did, now=NOW, stale_before=stale)
    assert token == 1
    assert storage.claim_delivery(did, now=NOW, stale_before=stale) is None  # claimed
    due = storage.deliveries_due(since=DAY, stale_before=stale)
    assert [d.recipient for d in due] == ["b@example.org"]
    assert storage.mark_delivered(did, attempt=token, now=NOW)
    assert storage.claim_delivery(did, now=NOW, stale_before=NOW + dt.timedelta(days=9)) is None
    (sent,) = [d for d in storage.deliveries(due[0].digest_id) if d.id == did]
    assert sent.status == DeliveryStatus.SENT and sent.sent_at == NOW and sent.attempts == 1


def test_a_failed_send_is_pending_again_with_its_reason(storage: Storage) -> None:
    did = _delivery(storage)
    stale = NOW - dt.timedelta(minutes=30)
    token = storage.claim_delivery(did, now=NOW, stale_before=stale)
    assert token is not None
    assert storage.release_delivery(did, attempt=token, error="cannot reach SMTP server")
    (again,) = [d for d in storage.deliveries_due(since=DAY, stale_before=stale) if d.id == did]
    assert again.status == "pending" and again.last_error == "cannot reach SMTP server"
    assert storage.claim_delivery(did, now=NOW, stale_before=stale) == 2


def test_a_stale_claim_is_taken_over_and_fences_the_old_run(storage: Storage) -> None:
    did = _delivery(storage)
    old = storage.claim_delivery(did, now=NOW, stale_before=NOW - dt.timedelta(minutes=30))
    assert old == 1
    later = NOW + dt.timedelta(minutes=31)
    assert (
        storage.claim_delivery(did, now=later, stale_before=later - dt.timedelta(minutes=30)) == 2
    )
    # The first run comes back: its token is no longer the claim's, so it changes nothing.
    assert not storage.mark_delivered(did, attempt=1, now=later)
    assert not storage.release_delivery(did, attempt=1, error="late")
    assert storage.mark_delivered(did, attempt=2, now=later)


def test_only_one_of_many_simultaneous_claims_wins(storage: Storage) -> None:
    did = _delivery(storage)
    runs = 8
    barrier = threading.Barrier(runs)
    results: list[int | None] = []
    lock = threading.Lock()

    def claim() -> None:
        with Storage(storage.url.render_as_string(hide_password=False)) as own:
            barrier.wait()
            token = own.claim_delivery(did, now=NOW, stale_before=NOW - dt.timedelta(minutes=1))
        with lock:
            results.append(token)

    threads = [threading.Thread(target=claim) for _ in range(runs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results, key=lambda r: r or 0) == [None] * (runs - 1) + [1]
