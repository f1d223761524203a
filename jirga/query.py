"""The search query language, parsed into a plain value (no database involved).

    peace talks                  both words (any order, anywhere in title or text)
    "peace talks"                the phrase
    talks OR negotiations        either word; OR binds tighter than the implied AND
    -cricket  -"press release"   without the word or phrase
    term:ttp outlet:dawn lang:ur narrative:12 since:7d until:2026-03-01
                                 field filters; a field given twice (or ``lang:ur,ps``) takes
                                 any of its values; ``-outlet:dawn`` excludes

Words are folded the way the matcher folds them (:mod:`jirga.searchtext`), so ``طالبان`` finds
every spelling of it. Dates are a local day (``2026-03-01``; for ``until:`` the whole day is
included), an ISO time, or an age before ``now`` (``12h``, ``7d``, ``2w``).
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from jirga.errors import JirgaError
from jirga.searchtext import words

__all__ = [
    "FIELDS",
    "ArticleFilters",
    "Phrase",
    "Query",
    "QueryError",
    "parse_query",
    "parse_when",
    "unknown_terms",
]

#: Field filters of the query language.
FIELDS = ("term", "outlet", "lang", "narrative", "since", "until")
_FIELD_ALIASES = {"language": "lang"}
MAX_QUERY_CHARS = 2000
MAX_CLAUSES = 64
_QUOTES = {'"': '"', "“": "”", "”": "”"}  # opening quote -> the closing quote it needs
_FIELD = re.compile(r"([A-Za-z]+):")
_RELATIVE = re.compile(r"(\d{1,5})\s*([hdw])\Z")
_UNITS = {"h": dt.timedelta(hours=1), "d": dt.timedelta(days=1), "w": dt.timedelta(weeks=1)}
_DATE_HELP = "a date (2026-03-01), an ISO time (2026-03-01T09:30) or an age like 12h, 7d, 2w"


class QueryError(JirgaError):
    """A query jirga cannot or will not run: a search query or filter it cannot understand, or
    a SQL statement that is not a read. The message says why and where."""


@dataclass(frozen=True)
class Phrase:
    """Search words that must stand together, in order; a one-word phrase is a word."""

    words: tuple[str, ...]
    text: str  # as the user wrote it

    @property
    def is_word(self) -> bool:
        return len(self.words) == 1


@dataclass(frozen=True)
class ArticleFilters:
    """Filters on articles' fields: each tuple takes any of its values, ``exclude_*`` none."""

    terms: tuple[str, ...] = ()
    outlets: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    narratives: tuple[int, ...] = ()
    exclude_terms: tuple[str, ...] = ()
    exclude_outlets: tuple[str, ...] = ()
    exclude_languages: tuple[str, ...] = ()
    exclude_narratives: tuple[int, ...] = ()
    since: dt.datetime | None = None  # published at or after (UTC)
    until: dt.datetime | None = None  # published before (UTC)


@dataclass(frozen=True)
class Query:
    """A parsed query: every ``must`` phrase, one phrase of each ``any_of`` group, none of
    ``must_not``, and the field filters."""

    must: tuple[Phrase, ...] = ()
    any_of: tuple[tuple[Phrase, ...], ...] = ()
    must_not: tuple[Phrase, ...] = ()
    filters: ArticleFilters = field(default_factory=ArticleFilters)

    @property
    def has_text(self) -> bool:
        """Whether there is something to look for in the text (not only to exclude)."""
        return bool(self.must or self.any_of)

    def wanted(self) -> list[tuple[str, ...]]:
        """Every phrase whose occurrences a hit may show, for highlighting."""
        return [p.words for p in self.must] + [p.words for g in self.any_of for p in g]


def parse_when(
    text: str, tz: ZoneInfo, now: dt.datetime, *, end_of_day: bool = False
) -> dt.datetime:
    """A UTC time from a local date, an ISO time (naive: local) or an age before ``now``.

    A bare date is the start of that local day, or with ``end_of_day`` the start of the next
    one, so that an "until" date includes the day it names.
    """
    value = text.strip()
    if match := _RELATIVE.match(value.lower()):
        return now - int(match.group(1)) * _UNITS[match.group(2)]
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            if end_of_day:
                day += dt.timedelta(days=1)
            return dt.datetime.combine(day, dt.time(), tzinfo=tz).astimezone(dt.UTC)
        moment = dt.datetime.fromisoformat(value)
    except (ValueError, OverflowError):
        raise QueryError(f"{text!r} is not {_DATE_HELP}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(dt.UTC)


@dataclass(frozen=True)
class _Text:
    phrase: Phrase
    negated: bool
    at: int


@dataclass(frozen=True)
class _Field:
    name: str
    value: str
    negated: bool
    at: int


@dataclass(frozen=True)
class _Or:
    at: int


_Token = _Text | _Field | _Or


def _read_quoted(text: str, start: int) -> tuple[str, int]:
    """The text inside the quote at ``start`` and the index after its closing quote."""
    closing = _QUOTES[text[start]]
    end = text.find(closing, start + 1)
    if closing == "”":  # a plain " also closes a curly opening quote
        plain = text.find('"', start + 1)
        end = plain if end < 0 or 0 <= plain < end else end
    if end < 0:
        raise QueryError(
            f"unbalanced quote: the {text[start]} at character {start + 1} is never closed"
        )
    return text[start + 1 : end], end + 1


def _field_name(name: str, at: int) -> str:
    lowered = name.lower()
    lowered = _FIELD_ALIASES.get(lowered, lowered)
    if lowered in FIELDS:
        return lowered
    guess = difflib.get_close_matches(lowered, [*FIELDS, *_FIELD_ALIASES], n=1, cutoff=0.6)
    hint = f' (did you mean "{_FIELD_ALIASES.get(guess[0], guess[0])}:"?)' if guess else ""
    raise QueryError(
        f'unknown field "{name}:" at character {at + 1}{hint}; fields are '
        f"{', '.join(f + ':' for f in FIELDS)}. To search for text with a colon, quote it"
    )


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        at = i
        negated = text[i] == "-" and i + 1 < n and not text[i + 1].isspace()
        if negated:
            i += 1
        if text[i] in _QUOTES:
            inner, i = _read_quoted(text, i)
            out.append(_Text(Phrase(tuple(words(inner)), inner), negated, at))
            continue
        end = i
        while end < n and not text[end].isspace() and text[end] not in _QUOTES:
            end += 1
        bare = text[i:end]
        if (match := _FIELD.match(bare)) is not None:
            name = _field_name(match.group(1), i)
            value = bare[match.end() :]
            if not value and end < n and text[end] in _QUOTES:
                value, end = _read_quoted(text, end)
            if not value.strip():
                raise QueryError(f'"{name}:" at character {i + 1} needs a value')
            out.append(_Field(name, value.strip(), negated, at))
            i = end
            continue
        i = end
        if bare == "OR" and not negated:
            out.append(_Or(at))
        elif bare == "AND" and not negated:
            continue  # AND is what juxtaposition means already
        else:
            out.append(_Text(Phrase(tuple(words(bare)), bare), negated, at))
    return out


def _values(field_token: _Field) -> list[str]:
    parts = [p.strip() for p in field_token.value.split(",")]
    if field_token.name == "outlet":
        # Outlet names may hold commas ("Dawn, Karachi"); only ids are split.
        parts = [field_token.value.strip()]
    return [p for p in parts if p]


class _Builder:
    """Collects clauses and filters while the tokens are read."""

    def __init__(self, tz: ZoneInfo, now: dt.datetime) -> None:
        self.tz, self.now = tz, now
        self.must: list[Phrase] = []
        self.any_of: list[tuple[Phrase, ...]] = []
        self.must_not: list[Phrase] = []
        self.include: dict[str, list[str]] = {}
        self.exclude: dict[str, list[str]] = {}
        self.times: dict[str, dt.datetime] = {}

    def text(self, group: list[Phrase]) -> None:
        kept = [p for p in dict.fromkeys(group) if p.words]
        if len(kept) == 1:
            self.must.append(kept[0])
        elif kept:
            self.any_of.append(tuple(kept))

    def field(self, token: _Field) -> None:
        if token.name in ("since", "until"):
            if token.negated:
                raise QueryError(f'"{token.name}:" cannot be excluded; use the other bound')
            if token.name in self.times:
                raise QueryError(f'"{token.name}:" is given twice')
            self.times[token.name] = parse_when(
                token.value, self.tz, self.now, end_of_day=token.name == "until"
            )
            return
        target = self.exclude if token.negated else self.include
        for value in _values(token):
            target.setdefault(token.name, []).append(self._checked(token.name, value))

    def _checked(self, name: str, value: str) -> str:
        if name == "narrative":
            if not value.isascii() or not value.isdigit() or not 0 < int(value) < 2**63:
                raise QueryError(f'"narrative:" takes a narrative id (a number), not {value!r}')
            return str(int(value))
        if name == "outlet":
            return value
        return value.lower()

    def query(self) -> Query:
        since, until = self.times.get("since"), self.times.get("until")
        if since is not None and until is not None and since >= until:
            raise QueryError(
                f"since: {since:%Y-%m-%d %H:%M}Z is not before until: {until:%Y-%m-%d %H:%M}Z"
            )

        def tup(d: dict[str, list[str]], name: str) -> tuple[str, ...]:
            return tuple(dict.fromkeys(d.get(name, ())))

        def ids(d: dict[str, list[str]]) -> tuple[int, ...]:
            return tuple(int(v) for v in tup(d, "narrative"))

        filters = ArticleFilters(
            terms=tup(self.include, "term"),
            outlets=tup(self.include, "outlet"),
            languages=tup(self.include, "lang"),
            narratives=ids(self.include),
            exclude_terms=tup(self.exclude, "term"),
            exclude_outlets=tup(self.exclude, "outlet"),
            exclude_languages=tup(self.exclude, "lang"),
            exclude_narratives=ids(self.exclude),
            since=since,
            until=until,
        )
        return Query(
            must=tuple(dict.fromkeys(self.must)),
            any_of=tuple(dict.fromkeys(self.any_of)),
            must_not=tuple(dict.fromkeys(p for p in self.must_not if p.words)),
            filters=filters,
        )


def _or_error(token: _Token | None, where: str) -> QueryError:
    if isinstance(token, _Field):
        return QueryError(
            f'OR {where} joins a field filter ("{token.name}:"); OR joins words and phrases, '
            f"and a field given twice already takes either value"
        )
    if isinstance(token, _Text) and token.negated:
        return QueryError(f"OR {where} joins an excluded word; OR joins words and phrases")
    return QueryError(f"OR {where} needs a word or phrase on both sides")


def parse_query(text: str, *, now: dt.datetime, tz: ZoneInfo) -> Query:
    """Parse a search query (see the module docstring); a bad one raises :class:`QueryError`."""
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"the query is {len(text)} characters long; at most {MAX_QUERY_CHARS}")
    tokens = _tokens(text)
    if sum(not isinstance(t, _Or) for t in tokens) > MAX_CLAUSES:
        raise QueryError(f"the query has more than {MAX_CLAUSES} words, phrases and filters")
    built = _Builder(tz, now)
    group: list[Phrase] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if isinstance(token, _Or):
            before = tokens[i - 1] if i > 0 else None
            after = tokens[i + 1] if i + 1 < len(tokens) else None
            where = f"at character {token.at + 1}"
            for side in (before, after):
                if not isinstance(side, _Text) or side.negated:
                    raise _or_error(side, where)
            i += 1
            continue
        if isinstance(token, _Field):
            built.field(token)
        elif token.negated:
            built.must_not.append(token.phrase)
        else:
            group.append(token.phrase)
            if i + 1 < len(tokens) and isinstance(tokens[i + 1], _Or):
                i += 1
                continue
            built.text(group)
            group = []
        i += 1
    query = built.query()
    if not query.has_text and not query.must_not and query.filters == ArticleFilters():
        raise QueryError(f"nothing to search for in {text!r}: no words, phrases or filters")
    return query


def unknown_terms(filters: ArticleFilters, known: Collection[str]) -> list[str]:
    """A warning for each ``term:`` value that is not a watch term, with the closest one.

    Not an error: articles keep the ids of terms since removed from the watch list.
    """
    out = []
    for value in (*filters.terms, *filters.exclude_terms):
        if value in known:
            continue
        guess = difflib.get_close_matches(value, sorted(known), n=1, cutoff=0.5)
        hint = f' (did you mean "{guess[0]}"?)' if guess else ""
        out.append(
            f"{value!r} is not a watch term{hint}; the watch terms are {', '.join(sorted(known))}"
        )
    return out
