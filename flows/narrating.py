"""The narratives stage as plain engine calls against storage, without Prefect.

Recipe: unassigned articles → near-copies follow their original, the rest go through the streaming
clusterer → the narratives they touched get their facts recomputed (days, outlets, languages,
terms, key phrases, representative headline, passages, lifecycle state) → every other live
narrative gets its state refreshed for today → tracked-narrative scores → all stored in one
transaction with the clusterer's state.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sklearn.feature_extraction.text import TfidfVectorizer

from jirga.cluster import ClusterConfig, ClusterState, Doc, StreamClusterer
from jirga.labels import cited_passages, key_phrases, medoid
from jirga.lifecycle import LifecyclePolicy, active_days, narrative_state
from jirga.tracked import TrackedScorer
from jirga.types import (
    Membership,
    NarrativeFacts,
    NarrativeMerge,
    Passage,
    StoredArticle,
    Term,
    TrackedNarrative,
)
from storage.facade import Storage

#: How far back a narrative's state is refreshed every run (older ones stay as they were).
LIVE_DAYS = 60


@dataclass
class NarrativeRun:
    """What one narratives run did."""

    articles: int = 0
    copies: int = 0  # near-copies that followed their original's narrative
    opened: int = 0
    reopened: int = 0
    joined: int = 0
    merges: int = 0
    narratives_updated: int = 0
    states_refreshed: int = 0
    tracked_scores: int = 0
    rebuilt: bool = False
    skipped: str | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        """Plain values, for JSON and Prefect results."""
        return dataclasses.asdict(self)

    def headline(self) -> str:
        """One line for logs and the terminal."""
        if self.skipped:
            return f"narratives skipped: {self.skipped}"
        kind = "rebuilt" if self.rebuilt else "updated"
        return (
            f"narratives {kind}: {self.articles} articles ({self.copies} near-copies) → "
            f"{self.opened} new narratives, {self.reopened} re-opened, {self.joined} joined, "
            f"{self.merges} merges; {self.narratives_updated} narratives refreshed, "
            f"{self.states_refreshed} states refreshed, {self.tracked_scores} tracked "
            f"scores; {self.seconds:.1f} s"
        )


def config_fingerprint(config: ClusterConfig) -> str:
    """A stable text of the clusterer's config, stored with its state to notice changes."""
    return json.dumps(dataclasses.asdict(config), sort_keys=True, default=str)


@dataclass
class NarrativeBuilder:
    """Runs the narratives stage for one database."""

    storage: Storage
    terms: tuple[Term, ...]
    tracked: tuple[TrackedNarrative, ...]
    tz: ZoneInfo
    now: dt.datetime
    config: ClusterConfig = field(default_factory=ClusterConfig)
    lifecycle: LifecyclePolicy = field(default_factory=LifecyclePolicy)

    def local_day(self, at: dt.datetime) -> dt.date:
        """The local calendar day of a time (narrative days follow the digest's time zone)."""
        return at.astimezone(self.tz).date()

    def run(
        self,
        *,
        rebuild: bool = False,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
    ) -> NarrativeRun:
        """Assign every unassigned article (``rebuild``: forget all narratives first and
        regroup the articles published in ``[since, until)`` from scratch, deterministically)."""
        report = NarrativeRun(rebuilt=rebuild)
        saved = None if rebuild else self.storage.load_cluster_state()
        fingerprint = config_fingerprint(self.config)
        state = ClusterState.from_bytes(saved[1]) if saved else None
        clusterer = StreamClusterer(self.config, state)
        if rebuild:
            articles = self.storage.all_articles(since, until)
            known: dict[int, int] = {}
        else:
            articles = self.storage.unclustered_articles()
            originals = [a.duplicate_of for a in articles if a.duplicate_of is not None]
            known = self.storage.narratives_of(originals)
        report.articles = len(articles)
        memberships, touched = self._assign(articles, clusterer, known, report)
        merges = [
            NarrativeMerge(from_id=m.from_key, into_id=m.into_key, similarity=m.similarity, at=m.at)
            for m in clusterer.drain_events()
        ]
        report.merges = len(merges)
        merged_away = {m.from_id for m in merges}
        touched = (touched | {m.into_id for m in merges}) - merged_away
        facts = self._facts(sorted(touched), memberships, merges, articles, rebuild)
        report.narratives_updated = len(facts)
        states = {} if rebuild else self._refreshed_states(set(touched) | merged_away)
        report.states_refreshed = len(states)
        scores, days = self._tracked(articles)
        report.tracked_scores = len(scores)
        self.storage.save_narratives(
            memberships=memberships,
            merges=merges,
            facts=facts,
            states=states,
            tracked_scores=scores,
            tracked_days=days,
            cluster_config=fingerprint,
            cluster_state=clusterer.state.to_bytes(),
            now=self.now,
            reset=rebuild,
        )
        return report

    # --- assignment -----------------------------------------------------------------------
    def _assign(
        self,
        articles: Sequence[StoredArticle],
        clusterer: StreamClusterer,
        known: Mapping[int, int],
        report: NarrativeRun,
    ) -> tuple[list[Membership], set[int]]:
        placed: dict[int, int] = dict(known)
        memberships: list[Membership] = []
        to_cluster: list[StoredArticle] = []
        copies: list[StoredArticle] = []
        for a in articles:
            (copies if a.duplicate_of is not None else to_cluster).append(a)
        assignments = clusterer.add_many(
            Doc(
                key=a.id,
                published_at=a.published_at,
                title=a.title,
                text=a.text,
                language=a.language,
                outlet=a.outlet,
            )
            for a in to_cluster
        )
        for asg in assignments:
            placed[asg.doc_key] = asg.narrative_key
            memberships.append(Membership(asg.doc_key, asg.narrative_key, asg.similarity))
            report.opened += asg.opened
            report.reopened += asg.reopened
            report.joined += not (asg.opened or asg.reopened)
        for a in copies:
            original = placed.get(a.duplicate_of or 0)
            if original is None:
                # Its original is in no narrative (imported before narratives existed, or
                # outside a rebuild's range): the copy is clustered on its own merits.
                asg = clusterer.add(
                    Doc(a.id, a.published_at, a.title, a.text, a.language, a.outlet)
                )
                placed[a.id] = asg.narrative_key
                memberships.append(Membership(a.id, asg.narrative_key, asg.similarity))
                report.opened += asg.opened
                continue
            placed[a.id] = original
            memberships.append(Membership(a.id, original, 1.0))
            report.copies += 1
        return memberships, {m.narrative_id for m in memberships}

    # --- facts ----------------------------------------------------------------------------
    def _facts(
        self,
        ids: Sequence[int],
        memberships: Sequence[Membership],
        merges: Sequence[NarrativeMerge],
        articles: Sequence[StoredArticle],
        rebuild: bool,
    ) -> list[NarrativeFacts]:
        if not ids:
            return []
        by_id = {a.id: a for a in articles}
        groups: dict[int, dict[int, StoredArticle]] = defaultdict(dict)
        if not rebuild:
            stored = self.storage.narrative_members(sorted(set(ids) | {m.from_id for m in merges}))
            for nid, items in stored.items():
                groups[nid].update({a.id: a for a in items})
        for m in memberships:
            groups[m.narrative_id][m.article_id] = by_id[m.article_id]
        for merge in merges:  # the merged narrative's articles now belong to the other one
            groups[merge.into_id].update(groups.pop(merge.from_id, {}))
        members = {
            nid: sorted(groups[nid].values(), key=lambda a: (a.published_at, a.id)) for nid in ids
        }
        stop = [alias.text for term in self.terms for alias in term.aliases]
        phrases = key_phrases(
            {nid: [a.text for a in items] for nid, items in members.items()},
            top_n=8,
            stop_words=stop,
        )
        return [self._one(nid, members[nid], phrases.get(nid, [])) for nid in ids]

    def _one(self, nid: int, items: list[StoredArticle], phrases: list[str]) -> NarrativeFacts:
        per_day: dict[dt.date, list[StoredArticle]] = defaultdict(list)
        for a in items:
            per_day[self.local_day(a.published_at)].append(a)
        daily = {day: len(group) for day, group in per_day.items()}
        outlets: list[str] = []
        for a in items:
            if a.outlet not in outlets:
                outlets.append(a.outlet)
        languages = [lang for lang, _ in Counter(a.language for a in items).most_common()]
        terms = sorted({t for a in items for t in a.terms})
        rep = items[_representative(items)]
        passages = cited_passages([a.text for a in items], list(items), n=3, max_chars=300)
        return NarrativeFacts(
            id=nid,
            label=rep.title,
            key_phrases=tuple(phrases),
            representative_article_id=rep.id,
            state=str(narrative_state(daily, self.local_day(self.now), self.lifecycle)),
            first_seen=items[0].published_at,
            last_seen=items[-1].published_at,
            active_days=active_days(daily),
            article_count=len(items),
            languages=tuple(languages),
            outlets=tuple(outlets),
            terms=tuple(terms),
            passages=tuple(
                Passage(text, a.id, a.outlet, a.published_at, a.language) for text, a in passages
            ),
            daily=tuple(
                (day, len(group), len({a.outlet for a in group}))
                for day, group in sorted(per_day.items())
            ),
        )

    def _refreshed_states(self, skip: set[int]) -> dict[int, str]:
        """Today's state of every live narrative the run did not touch (time alone moves a
        narrative from new to steady, or to fading)."""
        live = [
            n
            for n in self.storage.live_narratives(self.now - dt.timedelta(days=LIVE_DAYS))
            if n not in skip
        ]
        counts = self.storage.narrative_daily_counts(live)
        today = self.local_day(self.now)
        return {
            nid: str(narrative_state(counts.get(nid, {}), today, self.lifecycle)) for nid in live
        }

    # --- tracked narratives ---------------------------------------------------------------
    def _tracked(
        self, articles: Iterable[StoredArticle]
    ) -> tuple[list[tuple[int, str, float]], dict[tuple[str, dt.date], int]]:
        if not self.tracked:
            return [], {}
        scorer = TrackedScorer(self.tracked)
        scores: list[tuple[int, str, float]] = []
        days: Counter[tuple[str, dt.date]] = Counter()
        for a in articles:
            for tracked_id, score in sorted(scorer.matches(a.text, a.terms).items()):
                scores.append((a.id, tracked_id, score))
                days[(tracked_id, self.local_day(a.published_at))] += 1
        return scores, dict(days)


def _representative(items: Sequence[StoredArticle]) -> int:
    """The medoid of the members' titles and texts (character n-grams work in every script)."""
    if len(items) <= 2:
        return 0
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=1)
    matrix = vectorizer.fit_transform([f"{a.title} {a.text[:2000]}" for a in items])
    return medoid(matrix)
