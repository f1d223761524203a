"""Reads by lists of ids, shared by the narrative and digest queries: ids go in ``IN (...)``
lists of bounded length, and an article's watch terms are read that way."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, select

from storage.models import MentionRow

CHUNK = 500  # ids per IN (...) list: well under every driver's parameter limit


def chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    """``ids`` in slices of at most :data:`CHUNK`."""
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def terms_of(conn: Connection, ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
    """The watch terms each article mentions, sorted; articles with none are left out."""
    found: dict[int, set[str]] = defaultdict(set)
    for chunk in chunks(ids):
        rows = conn.execute(
            select(MentionRow.article_id, MentionRow.term)
            .where(MentionRow.article_id.in_(chunk))
            .distinct()
        )
        for article_id, term in rows:
            found[article_id].add(term)
    return {k: tuple(sorted(v)) for k, v in found.items()}
