"""A small corpus for the search and query tests: English, Urdu, Pashto and Persian articles with
their watch-term mentions, stored through the same path as a poll (``store_imported``)."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from jirga.dedup import DedupConfig
from jirga.types import Article, MatchedArticle, Membership, Mention, NarrativeMerge
from storage.facade import Storage

T0 = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Doc:
    key: str
    title: str
    body: str
    language: str = "en"
    outlet: str = "Dawn"
    source: str = "dawn"
    terms: tuple[str, ...] = ("ttp",)
    at: dt.datetime = T0


DOCS = [
    Doc(
        "talks",
        "TTP peace talks resume in Kabul",
        "The TTP said peace talks with the government would resume next week in Kabul.",
    ),
    Doc(
        "reject",
        "Taliban reject talks offer",
        "A spokesman rejected any talks. The cricket series was delayed by rain.",
        terms=("taliban",),
        at=T0 + dt.timedelta(days=1),
    ),
    Doc(
        "envoy",
        "Khalilzad meets envoys",
        "Zalmay Khalilzad met envoys in Doha; peace was on the agenda, talks were not.",
        outlet="Express Tribune",
        source="tribune",
        terms=("khalilzad",),
        at=T0 + dt.timedelta(days=2),
    ),
    # Urdu with the Urdu heh goal and kaf; the query will be typed with Arabic kaf and heh.
    Doc(
        "urdu",
        "کابل میں مذاکرات کا نیا دور",
        "تحریک طالبان پاکستان نے کہا کہ مذاکرات جاری رہیں گے۔ وزیر اعظم نے اجلاس بلایا۔",
        language="ur",
        outlet="Jang",
        source="jang",
        at=T0 + dt.timedelta(days=3),
    ),
    # Pashto with Arabic yeh (ي), which folds onto the Persian yeh (ی).
    Doc(
        "pashto",
        "د طالبانو سره خبرې",
        "د افغانستان حکومت وويل چې د سولې خبرې به پيل شي",
        language="ps",
        outlet="BBC Pashto",
        source="bbc-pashto",
        terms=("taliban",),
        at=T0 + dt.timedelta(days=3, hours=2),
    ),
    # Persian with a ZWNJ inside خلیل‌زاد: folds to خلیلزاد.
    Doc(
        "dari",
        "سفر خلیل‌زاد به دوحه",
        "زلمی خلیل‌زاد برای گفتگوهای صلح به دوحه رفت.",
        language="fa",
        outlet="Tolo",
        source="tolo",
        terms=("khalilzad",),
        at=T0 + dt.timedelta(days=4),
    ),
]


def matched(doc: Doc) -> MatchedArticle:
    """The article and mentions the matcher would have produced for a document."""
    text = f"{doc.title}\n{doc.body}"
    url = f"https://{doc.source}.example/{doc.key}"
    return MatchedArticle(
        Article(
            source=doc.source,
            feed_id=None,
            outlet=doc.outlet,
            entry_key=doc.key,
            url=url,
            canonical_url=url,
            title=doc.title,
            text=text,
            html="",
            language=doc.language,
            published_at=doc.at,
            date_estimated=False,
            fetched_at=doc.at,
            content_hash=hashlib.sha256(text.encode()).hexdigest(),
        ),
        tuple(Mention(term, term, i, i + 1, doc.title) for i, term in enumerate(doc.terms)),
    )


def store_docs(store: Storage, docs: list[Doc] | None = None) -> dict[str, int]:
    """Store the documents; their ids by key."""
    docs = DOCS if docs is None else docs
    store.store_imported([matched(d) for d in docs], DedupConfig())
    ids = {}
    for a in store.all_articles():
        ids[a.url.rsplit("/", 1)[1] if a.url else ""] = a.id
    return ids


def group_into_narratives(store: Storage, groups: dict[int, list[int]]) -> None:
    """Make narratives of article ids, as the narratives stage stores them."""
    store.save_narratives(
        memberships=[
            Membership(article_id=a, narrative_id=n, similarity=1.0)
            for n, ids in groups.items()
            for a in ids
        ],
        merges=[],
        facts=[],
        states={},
        tracked_scores=[],
        tracked_days={},
        cluster_config="test",
        cluster_state=b"",
        now=T0,
    )


def merge_narratives(store: Storage, from_id: int, into_id: int) -> None:
    """Record that one narrative turned out to be another."""
    store.save_narratives(
        memberships=[],
        merges=[NarrativeMerge(from_id=from_id, into_id=into_id, similarity=0.9, at=T0)],
        facts=[],
        states={},
        tracked_scores=[],
        tracked_days={},
        cluster_config="test",
        cluster_state=b"",
        now=T0,
    )
