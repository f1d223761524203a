"""A daily digest's content built from plain data, and the decisions behind it.

:func:`build_digest` takes a :class:`~jirga.digest_data.DigestSource` (rows read for one local
day) and returns a :class:`Digest`: the day at a glance against trailing averages, the narratives
that matter most first, tracked narratives, feed health and every article of the day under its
narrative. Nothing here reads a clock, a database or a file; every count shown is counted here
from the rows given, so it can be traced back to them.

Feed-supplied text is made plain and bounded here (one line, no control or bidi-override
characters, capped length); links are kept only when they are absolute http(s) URLs. Escaping
for HTML, Markdown or a terminal is the renderer's job.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from jirga.digest_content import (
    FEATURED_STATES,
    ArticleLine,
    Average,
    Digest,
    DigestLimits,
    FeedProblem,
    Glance,
    NarrativeItem,
    Quote,
    SpikeNote,
    TrackedItem,
    Trend,
    Volume,
)
from jirga.digest_data import DayArticle, DigestSource, FeedActivity, NarrativeRecord
from jirga.lifecycle import LifecyclePolicy, narrative_state
from jirga.sanitize import clean_text
from jirga.spikes import Spike, SpikePolicy, detect_spikes
from jirga.types import FeedHealth, OutletRole

__all__ = [
    "AVERAGE_DAYS",
    "TREND_DAYS",
    "build_digest",
    "day_bounds",
    "due_at",
    "due_day",
    "feed_problems",
    "importance",
    "one_line",
    "silence",
    "text_direction",
    "trailing_mean",
    "trend_words",
    "web_link",
]

_DAY = dt.timedelta(days=1)
AVERAGE_DAYS = 7  # "against the trailing 7-day average"
TREND_DAYS = 14  # the trend picture of a narrative
SPIKE_BASELINE_DAYS = 14  # what jirga.spikes compares a day with
SILENCE_WINDOW = dt.timedelta(days=30)  # how far back a feed's usual rhythm is read
SILENCE_MIN_ARTICLES = 5  # fewer articles than this: no notion of "usual" yet
SILENCE_MIN = dt.timedelta(hours=24)  # a quiet night is not a silence
RTL_LANGUAGES = frozenset({"ur", "ps", "fa", "ar"})
_SPACES = re.compile(r"\s+")
_ELLIPSIS = "…"


# --- time --------------------------------------------------------------------------------------


def day_bounds(day: dt.date, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """The UTC start and end of a local calendar day (23 or 25 hours long on DST changes)."""
    start = dt.datetime.combine(day, dt.time(), tzinfo=tz).astimezone(dt.UTC)
    end = dt.datetime.combine(day + _DAY, dt.time(), tzinfo=tz).astimezone(dt.UTC)
    return start, end


def due_at(day: dt.date, tz: ZoneInfo, digest_time: dt.time) -> dt.datetime:
    """When the digest of ``day`` falls due: at ``digest_time`` on the next local day, once the
    day is over and its last articles have had a night's polls to arrive."""
    return dt.datetime.combine(day + _DAY, digest_time, tzinfo=tz).astimezone(dt.UTC)


def due_day(now: dt.datetime, tz: ZoneInfo, digest_time: dt.time) -> dt.date:
    """The latest day whose digest is due at ``now``."""
    yesterday = now.astimezone(tz).date() - _DAY
    return yesterday if now >= due_at(yesterday, tz, digest_time) else yesterday - _DAY


# --- plain values ------------------------------------------------------------------------------


def trailing_mean(
    counts: Mapping[dt.date, int],
    day: dt.date,
    days: int = AVERAGE_DAYS,
    since: dt.date | None = None,
) -> Average | None:
    """The mean count of the ``days`` days before ``day`` (missing days count 0).

    Days before ``since`` (when watching began) are not counted; with no such day at all there
    is no average, rather than a misleading zero.
    """
    first = day - days * _DAY
    if since is not None:
        first = max(first, since)
    n = (day - first).days
    if n <= 0:
        return None
    total = sum(max(counts.get(first + i * _DAY, 0), 0) for i in range(n))
    return Average(total / n, n)


def one_line(text: str, limit: int) -> str:
    """Feed text as one plain line of at most ``limit`` characters (an ellipsis marks a cut)."""
    line = _SPACES.sub(" ", clean_text(text)).strip()
    if len(line) <= limit:
        return line
    return line[: max(limit - 1, 0)].rstrip() + _ELLIPSIS


def text_direction(text: str, language: str | None = None) -> str:
    """``rtl`` or ``ltr``: the direction of the first strong character, else the language's."""
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind in ("R", "AL"):
            return "rtl"
        if kind == "L":
            return "ltr"
    return "rtl" if language in RTL_LANGUAGES else "ltr"


def web_link(url: str | None) -> str | None:
    """``url`` when it is an absolute http(s) address a mail client can open safely, else None.

    Refused: other schemes (``javascript:``, ``data:``, ``file:``…), credentials in the address,
    whitespace, control and bidi characters, and over-long links.
    """
    if not url or len(url) > 2048 or clean_text(url) != url:
        return None
    if any(c.isspace() or c in "\\<>\"'`" for c in url):
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host or "@" in parts.netloc:
        return None
    return url


# --- decisions ---------------------------------------------------------------------------------


def importance(item: NarrativeItem) -> tuple[int, int, int, int]:
    """How much a narrative matters on the day, higher first: a spike, then the outlets that
    told it that day, then its articles that day, then its articles so far."""
    return (
        int(item.spike is not None),
        item.outlets_on_day,
        item.articles_on_day,
        item.articles_to_date,
    )


def trend_words(trend_counts: Sequence[int], first_day: dt.date, average: Average | None) -> str:
    """The trend picture in words: every day's count, the peak, and the day against its average."""
    if not trend_counts:
        return "no days"
    last = first_day + (len(trend_counts) - 1) * _DAY
    day_count = trend_counts[-1]
    peak = max(trend_counts)
    peak_day = first_day + trend_counts.index(peak) * _DAY if peak else None
    text = (
        f"articles a day from {first_day:%d %b} to {last:%d %b}: "
        + " ".join(str(n) for n in trend_counts)
        + f" (total {sum(trend_counts)}"
    )
    if peak_day is not None:
        text += f", peak {peak} on {peak_day:%d %b}"
    text += ")"
    if average is not None:
        text += (
            f"; {day_count} on {last:%d %b} against a {average.days}-day average of "
            f"{average.mean:.1f}"
        )
    return text


def silence(
    published: Sequence[dt.datetime], now: dt.datetime
) -> tuple[dt.timedelta, dt.timedelta] | None:
    """``(current silence, longest earlier gap)`` when a feed has been quiet for longer than
    it ever was in the window it was read from, and for at least a day; otherwise None.

    ``published`` is sorted, oldest first. Fewer than a handful of articles set no rhythm.
    """
    if len(published) < SILENCE_MIN_ARTICLES:
        return None
    longest = max(b - a for a, b in itertools.pairwise(published))
    current = now - published[-1]
    if current > longest and current >= SILENCE_MIN:
        return current, longest
    return None


def _days_text(delta: dt.timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours < 48:
        return f"{hours:.0f} hours"
    return f"{hours / 24:.1f} days"


def feed_problems(
    feeds: Iterable[FeedHealth],
    activity: Iterable[FeedActivity],
    now: dt.datetime,
    tz: ZoneInfo,
    limits: DigestLimits | None = None,
) -> tuple[FeedProblem, ...]:
    """Enabled feeds that are gone, failing, backing off, or silent for longer than usual.

    Gone first, then failing (most consecutive errors first), then backing off, then silent;
    feed id breaks ties.
    """
    limits = limits or DigestLimits()
    times = {a.feed_id: a.published for a in activity}

    def when(at: dt.datetime | None) -> str:
        return f"{at.astimezone(tz):%Y-%m-%d %H:%M}" if at else "never"

    out: list[tuple[int, int, str, FeedProblem]] = []
    for f in feeds:
        if not f.enabled:
            continue
        name = one_line(f.name, limits.name_chars)
        error = one_line(f.last_error or "", limits.error_chars)
        waiting = f.next_attempt_at is not None and f.next_attempt_at > now
        if f.gone:
            detail = f"the server answers 410 Gone; last success {when(f.last_success_at)}"
            out.append((0, 0, f.feed_id, FeedProblem(f.feed_id, name, "gone", detail)))
        elif f.consecutive_errors > 0:
            detail = (
                f"{f.consecutive_errors} failed attempts in a row"
                + (f" ({error})" if error else "")
                + f"; last success {when(f.last_success_at)}"
                + (f"; backing off until {when(f.next_attempt_at)}" if waiting else "")
            )
            problem = FeedProblem(f.feed_id, name, "failing", detail)
            out.append((1, -f.consecutive_errors, f.feed_id, problem))
        elif waiting:
            detail = f"asked to wait until {when(f.next_attempt_at)}" + (
                f" ({error})" if error else ""
            )
            out.append((2, 0, f.feed_id, FeedProblem(f.feed_id, name, "backing off", detail)))
        else:
            published = times.get(f.feed_id, ())
            quiet = silence(published, now)
            if quiet is not None:
                detail = (
                    f"no matching article since {when(published[-1])} "
                    f"({_days_text(quiet[0])}); its longest silence in the "
                    f"{SILENCE_WINDOW.days} days before was {_days_text(quiet[1])}"
                )
            elif not published and f.articles >= SILENCE_MIN_ARTICLES:
                detail = (
                    f"no matching article in {SILENCE_WINDOW.days} days "
                    f"({f.articles} stored before)"
                )
            else:
                continue
            out.append((3, 0, f.feed_id, FeedProblem(f.feed_id, name, "silent", detail)))
    return tuple(p for *_key, p in sorted(out, key=lambda t: t[:3]))


# --- building ----------------------------------------------------------------------------------


class _Builder:
    """One digest being assembled from one source (kept as a class to share the time zone,
    the local days and the limits between the parts)."""

    def __init__(
        self,
        source: DigestSource,
        limits: DigestLimits,
        lifecycle: LifecyclePolicy,
        spikes: SpikePolicy,
    ) -> None:
        self.source = source
        self.limits = limits
        self.lifecycle = lifecycle
        self.spikes = spikes
        self.tz = ZoneInfo(source.timezone)
        self.day = source.day
        self.since = source.watching_since
        self.local = {a.id: a.published_at.astimezone(self.tz) for a in source.articles}
        self.on_day = [a for a in source.articles if self.local[a.id].date() == self.day]

    # series of counts ----------------------------------------------------------------------
    def _series(
        self, key_of: Iterable[tuple[DayArticle, Iterable[str]]]
    ) -> dict[str, Counter[dt.date]]:
        series: dict[str, Counter[dt.date]] = defaultdict(Counter)
        start = self.source.window_start
        if self.since is not None:
            start = max(start, self.since)
        for article, keys in key_of:
            day = self.local[article.id].date()
            for key in keys:
                series[key][day] += 1
        for counts in series.values():
            # Watching began at ``start``: days from then on with no article are zeros.
            counts.setdefault(start, 0)
        return series

    def _volumes(
        self,
        kind: str,
        series: Mapping[str, Mapping[dt.date, int]],
        labels: Mapping[str, str],
        spiked: Mapping[str, Spike],
        keep: Iterable[str] = (),
    ) -> list[Volume]:
        keys = {k for k, c in series.items() if c.get(self.day, 0) > 0} | set(keep)
        rows = [
            Volume(
                key=k,
                label=labels.get(k, k),
                count=series.get(k, {}).get(self.day, 0),
                average=trailing_mean(series.get(k, {}), self.day, since=self.since),
                spike=spiked.get(f"{kind}:{k}"),
            )
            for k in keys
        ]
        rows.sort(key=lambda v: (-v.count, -(v.average.mean if v.average else 0.0), v.label))
        return rows

    def glance(self) -> Glance:
        articles = self.source.articles
        by_term = self._series((a, a.terms) for a in articles)
        by_language = self._series((a, (a.language,)) for a in articles)
        by_outlet = self._series((a, (a.outlet,)) for a in articles)
        total = self._series((a, ("all",)) for a in articles).get("all", Counter())
        flat = {f"term:{k}": v for k, v in by_term.items()}
        flat |= {f"language:{k}": v for k, v in by_language.items()}
        flat |= {f"outlet:{k}": v for k, v in by_outlet.items()}
        found = {s.key: s for s in detect_spikes(flat, self.day, self.spikes)}
        names = dict(self.source.term_names)
        terms = self._volumes("term", by_term, names, found, keep=names)
        languages = self._volumes("language", by_language, {}, found)
        outlet_labels = {k: one_line(k, self.limits.name_chars) for k in by_outlet}
        outlets = self._volumes("outlet", by_outlet, outlet_labels, found)
        labels = {"term": names, "outlet": outlet_labels}
        notes = []
        for s in found.values():
            kind, _, key = s.key.partition(":")
            notes.append(SpikeNote(kind, labels.get(kind, {}).get(key, key), s))
        return Glance(
            total=len(self.on_day),
            average=trailing_mean(total, self.day, since=self.since),
            near_copies=sum(1 for a in self.on_day if a.duplicate_of is not None),
            terms=tuple(terms),
            languages=tuple(languages),
            outlets=tuple(outlets[: self.limits.max_outlets]),
            outlets_omitted=max(len(outlets) - self.limits.max_outlets, 0),
            spikes=tuple(notes),
        )

    # lines ---------------------------------------------------------------------------------
    def line(self, a: DayArticle) -> ArticleLine:
        title = one_line(a.title, self.limits.title_chars) or "(untitled)"
        return ArticleLine(
            id=a.id,
            title=title,
            url=web_link(a.url),
            outlet=one_line(a.outlet, self.limits.name_chars),
            language=a.language,
            published=self.local[a.id],
            copy_of=a.duplicate_of,
            direction=text_direction(title, a.language),
        )

    def trend(self, counts: Mapping[dt.date, int], average: Average | None) -> Trend:
        first = self.day - (TREND_DAYS - 1) * _DAY
        values = tuple(max(counts.get(first + i * _DAY, 0), 0) for i in range(TREND_DAYS))
        return Trend(first, values, trend_words(values, first, average))

    def narrative(
        self, record: NarrativeRecord, day_articles: Sequence[DayArticle], spike: Spike | None
    ) -> NarrativeItem:
        lim = self.limits
        daily = {d: n for d, n, _o in record.daily if d <= self.day}
        outlets_on_day = next((o for d, _n, o in record.daily if d == self.day), 0)
        average = trailing_mean(daily, self.day, since=min(daily, default=self.day))
        lines = [self.line(a) for a in day_articles]
        rep = next((a for a in day_articles if a.id == record.representative_article_id), None)
        headline: ArticleLine | None
        if rep is not None:
            headline = self.line(rep)
        elif record.representative is not None:
            m = record.representative
            local = m.published_at.astimezone(self.tz)
            title = one_line(m.title, lim.title_chars) or "(untitled)"
            headline = ArticleLine(
                m.article_id,
                title,
                web_link(m.url),
                one_line(m.outlet, lim.name_chars),
                m.language,
                local,
                m.duplicate_of,
                text_direction(title, m.language),
            )
        else:
            headline = lines[0] if lines else None
        quotes = tuple(
            Quote(
                text=one_line(p.text, lim.passage_chars),
                outlet=one_line(p.outlet, lim.name_chars),
                day=p.published_at.astimezone(self.tz).date(),
                language=p.language,
                direction=text_direction(p.text, p.language),
            )
            for p in record.passages
            if p.published_at.astimezone(self.tz).date() <= self.day and p.text.strip()
        )[:3]
        label = one_line(record.label, lim.title_chars) or (headline.title if headline else "")
        phrases = tuple(
            dict.fromkeys(
                p for p in (one_line(k, lim.phrase_chars) for k in record.key_phrases) if p
            )
        )[: lim.key_phrases]
        outlets = tuple(
            OutletRole(one_line(o.outlet, lim.name_chars), o.first_at, o.articles, o.copies, o.role)
            for o in record.outlets
        )
        days = [d for d, n in daily.items() if n > 0]
        return NarrativeItem(
            id=record.id,
            state=str(narrative_state(daily, self.day, self.lifecycle)),
            label=label,
            label_direction=text_direction(label),
            key_phrases=phrases,
            headline=headline,
            quotes=quotes,
            outlets=outlets[: lim.outlets_per_narrative],
            outlets_omitted=max(len(outlets) - lim.outlets_per_narrative, 0),
            first_seen=record.first_seen.astimezone(self.tz).date(),
            active_days=len(days),
            articles_on_day=daily.get(self.day, 0),
            outlets_on_day=outlets_on_day,
            articles_to_date=record.article_count,
            average=average,
            spike=spike,
            trend=self.trend(daily, average),
            articles=tuple(lines[: lim.max_articles_per_narrative]),
            articles_omitted=max(len(lines) - lim.max_articles_per_narrative, 0),
        )

    def build(self) -> Digest:
        lim = self.limits
        glance = self.glance()
        by_narrative: dict[int, list[DayArticle]] = defaultdict(list)
        for a in self.on_day:
            if a.narrative_id is not None:
                by_narrative[a.narrative_id].append(a)
        for group in by_narrative.values():
            group.sort(key=lambda a: (a.published_at, a.id))
        series = {
            f"narrative:{r.id}": {d: n for d, n, _o in r.daily if d <= self.day}
            for r in self.source.narratives
        }
        spiked = {s.key: s for s in detect_spikes(series, self.day, self.spikes)}
        items = [
            self.narrative(r, by_narrative.get(r.id, []), spiked.get(f"narrative:{r.id}"))
            for r in self.source.narratives
            if any(d == self.day and n > 0 for d, n, _o in r.daily)
        ]
        # The cap keeps the most important (featured states first); what is shown is then
        # ordered by section (new, growing, recurring, the rest), most important first in each.
        items.sort(key=lambda n: (not n.featured, tuple(-x for x in importance(n)), n.id))
        shown = items[: lim.max_narratives]
        dropped = items[lim.max_narratives :]
        section = {state: i for i, state in enumerate(FEATURED_STATES)}
        shown.sort(
            key=lambda n: (
                section.get(n.state, len(section)),
                tuple(-x for x in importance(n)),
                n.id,
            )
        )
        listed = {a.id for n in shown for a in n.articles}
        known = {r.id for r in self.source.narratives}
        other = sorted(
            (a for a in self.on_day if a.narrative_id not in known),
            key=lambda a: (a.published_at, a.id),
        )
        other_shown = [self.line(a) for a in other[: lim.max_other_articles]]
        listed |= {a.id for a in other_shown}
        spike_notes = list(glance.spikes)
        for n in shown:
            if n.spike is not None:
                spike_notes.append(SpikeNote("narrative", f"narrative {n.id}", n.spike))
        spike_notes.sort(key=lambda s: (-s.spike.z, -s.spike.count, s.kind, s.label))
        glance = dataclasses.replace(glance, spikes=tuple(spike_notes))
        return Digest(
            day=self.day,
            timezone=self.source.timezone,
            generated_at=self.source.generated_at,
            glance=glance,
            narratives=tuple(shown),
            narratives_omitted=len(dropped),
            articles_omitted=len(self.on_day) - len(listed),
            tracked=self.tracked(),
            feed_problems=feed_problems(
                self.source.feeds, self.source.feed_activity, self.source.generated_at, self.tz, lim
            ),
            other_articles=tuple(other_shown),
            limits=lim,
        )

    def tracked(self) -> tuple[TrackedItem, ...]:
        series = {f"tracked:{t.id}": dict(t.daily) for t in self.source.tracked}
        for counts in series.values():
            if self.since is not None:
                counts.setdefault(max(self.since, self.source.window_start), 0)
        spiked = {s.key: s for s in detect_spikes(series, self.day, self.spikes)}
        out = []
        for t in self.source.tracked:
            counts = series[f"tracked:{t.id}"]
            average = trailing_mean(counts, self.day, since=self.since)
            out.append(
                TrackedItem(
                    id=t.id,
                    name=one_line(t.name, self.limits.title_chars),
                    description=one_line(t.description, self.limits.passage_chars),
                    count=counts.get(self.day, 0),
                    average=average,
                    spike=spiked.get(f"tracked:{t.id}"),
                    trend=self.trend(counts, average),
                )
            )
        return tuple(out)


def build_digest(
    source: DigestSource,
    *,
    limits: DigestLimits | None = None,
    lifecycle: LifecyclePolicy | None = None,
    spikes: SpikePolicy | None = None,
) -> Digest:
    """The digest of ``source.day`` (see the module docstring)."""
    return _Builder(
        source, limits or DigestLimits(), lifecycle or LifecyclePolicy(), spikes or SpikePolicy()
    ).build()
