"""Storing a feed's matching articles: exact duplicates skipped, near-copies linked to the first
original, on both databases, however many articles one call holds."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random

import sqlalchemy as sa

from jirga.dedup import DedupConfig, band_keys, signature
from jirga.types import MatchedArticle
from storage.facade import Storage
from tests.storage.corpus import DOCS, matched

T = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
CONFIG = DedupConfig()
_WORDS = (
    "elders", "council", "border", "crossing", "trade", "talks", "ceasefire", "prisoners",
    "mediators", "province", "district", "spokesman", "statement", "officials", "security",
    "operation", "market", "convoy", "highway", "flood", "relief", "wheat", "prices", "fuel",
    "school", "university", "court", "hearing", "appeal",
)  # fmt: skip


def _story(seed: int, words: int = 80) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(_WORDS) for _ in range(words))


def _edited(text: str) -> str:
    """A light edit: a copy (Jaccard well over the 0.7 threshold)."""
    return text.replace(" ", " also ", 1) + " officials said."


def _item(key: str, text: str, at: dt.datetime, source: str = "dawn") -> MatchedArticle:
    base = matched(DOCS[0])
    sig = signature(text, CONFIG)
    keys = tuple(band_keys(sig, CONFIG)) if sig is not None else ()
    article = dataclasses.replace(
        base.article,
        source=source,
        entry_key=key,
        url=f"https://{source}.example/{key}",
        canonical_url=f"https://{source}.example/{key}",
        title=f"Story {key}",
        text=text,
        published_at=at,
    )
    return MatchedArticle(article, base.mentions, keys)


def _links(storage: Storage) -> dict[str, str | None]:
    """Each stored article's entry key, and the entry key of the original it copies."""
    query = sa.text(
        "SELECT a.entry_key, o.entry_key FROM articles a LEFT JOIN articles o"
        " ON o.id = a.duplicate_of"
    )
    with storage.engine.connect() as conn:
        return {str(k): o for k, o in conn.execute(query)}


def test_copies_link_to_stored_and_same_call_originals(storage: Storage) -> None:
    one, two = _story(1), _story(2)
    storage.store_imported([_item("a", one, T)], CONFIG)
    report = storage.store_imported(
        [
            _item("b", _edited(one), T + dt.timedelta(hours=3), "tolo"),  # copies a (stored)
            _item("c", two, T),
            _item("d", _edited(two), T + dt.timedelta(hours=1)),  # copies c (same call)
            _item("e", _edited(one), T + dt.timedelta(days=20)),  # too late to be a copy
            _item("f", _story(3), T),
        ],
        CONFIG,
    )
    assert (report.new, report.near_duplicates, report.duplicates) == (5, 2, 0)
    assert _links(storage) == {"a": None, "b": "a", "c": None, "d": "c", "e": None, "f": None}


def test_a_copy_of_a_copy_links_to_the_first_original(storage: Storage) -> None:
    one = _story(4)
    items = [
        _item("a", one, T),
        _item("b", _edited(one), T + dt.timedelta(hours=1)),
        _item("c", _edited(_edited(one)), T + dt.timedelta(hours=2)),
    ]
    storage.store_imported(items, CONFIG)
    assert _links(storage) == {"a": None, "b": "a", "c": "a"}


def test_exact_duplicates_are_skipped_whichever_key_repeats(storage: Storage) -> None:
    storage.store_imported([_item("a", _story(5), T)], CONFIG)
    stored_url = _item("x", _story(6), T)
    stored_url = dataclasses.replace(
        stored_url,
        article=dataclasses.replace(stored_url.article, canonical_url="https://dawn.example/a"),
    )
    same_key = _item("g", _story(7), T)
    report = storage.store_imported(
        [
            _item("a", _story(8), T),  # same feed and entry key as a stored article
            stored_url,  # new key, but a stored canonical URL: skipped
            dataclasses.replace(  # the same key as the item above, with a URL of its own
                same_key, article=dataclasses.replace(same_key.article, entry_key="x")
            ),
            _item("h", _story(9), T),
            _item("h", _story(10), T),  # repeats the one before it
        ],
        CONFIG,
    )
    assert (report.new, report.duplicates) == (2, 3)
    with storage.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT entry_key, canonical_url FROM articles")).all()
    assert sorted(tuple(r) for r in rows) == [
        ("a", "https://dawn.example/a"),
        ("h", "https://dawn.example/h"),
        ("x", "https://dawn.example/g"),
    ]
    # The stored "x" is the item that went in: its words are what the index holds for it.
    assert sorted(_indexed_title(storage, "x").split()) == ["g", "story"]


def _indexed_title(storage: Storage, entry_key: str) -> str:
    with storage.engine.connect() as conn:
        if storage.engine.dialect.name == "postgresql":
            query = (
                "SELECT string_agg(word, ' ' ORDER BY word) FROM article_search s"
                " JOIN articles a ON a.id = s.article_id,"
                " unnest(tsvector_to_array(s.document)) AS word WHERE a.entry_key = :k"
                " AND word IN ('story', 'g', 'x')"
            )
        else:
            query = (
                "SELECT s.title FROM article_search s JOIN articles a ON a.id = s.rowid"
                " WHERE a.entry_key = :k"
            )
        return str(conn.execute(sa.text(query), {"k": entry_key}).scalar_one())


def test_many_articles_in_one_call_are_linked_as_one_at_a_time_would_be(
    storage: Storage,
) -> None:
    # More articles than one candidate query takes, originals and copies interleaved, some of
    # the originals stored before.
    stories = [_story(100 + i) for i in range(30)]
    storage.store_imported([_item(f"o{i}", stories[i], T) for i in range(0, 30, 3)], CONFIG)
    items = []
    for i in range(30):
        if i % 3:
            items.append(_item(f"o{i}", stories[i], T + dt.timedelta(minutes=i)))
        items.append(_item(f"c{i}", _edited(stories[i]), T + dt.timedelta(hours=1, minutes=i)))
    report = storage.store_imported(items, CONFIG)
    assert (report.new, report.near_duplicates) == (50, 30)
    links = _links(storage)
    assert all(links[f"c{i}"] == f"o{i}" for i in range(30))
    assert all(links[f"o{i}"] is None for i in range(30))


def test_a_group_of_feeds_stored_at_once_reports_each_feed(storage: Storage) -> None:
    from storage import polls

    one = _story(11)
    first = [_item("a", one, T), _item("b", _story(12), T)]
    second = [
        _item("c", _edited(one), T + dt.timedelta(hours=2), "tolo"),  # copies a, one group up
        dataclasses.replace(  # the canonical URL of b: the same article, already in
            _item("d", _story(13), T, "tolo"),
            article=dataclasses.replace(
                _item("d", _story(13), T, "tolo").article, canonical_url="https://dawn.example/b"
            ),
        ),
    ]
    with storage.engine.begin() as conn:
        reports = polls.store_article_groups(conn, [first, [], second], CONFIG)

    assert [(r.new, r.near_duplicates, r.duplicates, r.mentions) for r in reports] == [
        (2, 0, 0, 2 * len(first[0].mentions)),
        (0, 0, 0, 0),
        (1, 1, 1, len(second[0].mentions)),
    ]
    assert _links(storage) == {"a": None, "b": None, "c": "a"}


def test_the_batch_index_finds_exactly_the_articles_sharing_enough_band_keys() -> None:
    # Against the rule spelled out, on keys drawn from a small pool so that articles share
    # none, some or all of their keys, and some have fewer keys than the rule asks for.
    from storage import polls

    rng = random.Random(5)
    batch, added = polls._Batch(), []
    for n in range(400):
        keys = tuple({(rng.randrange(4), rng.randrange(6)) for _ in range(rng.randrange(1, 6))})
        need = min(CONFIG.min_shared_bands, len(keys))
        expected = [s for s in added if len(set(keys) & s.band_keys) >= need]
        assert batch.sharing(keys, CONFIG) == expected
        stored = polls._Stored(n, f"text {n}", T, frozenset(keys))
        batch.add(stored)
        added.append(stored)
    assert CONFIG.min_shared_bands > 1  # else the case of too few keys was not tried
