"""Load and check the user's config: ``feeds.toml``, ``watchlist.toml`` and ``narratives.toml``.

A loader reports every problem it finds, not just the first, each naming the file, the place
(``line N`` when the offending key can be found in the text, else a key path such as
``feed[3].url`` with tables counted from 1, as a reader counts them) and the reason.
"""

from __future__ import annotations

import difflib
import re
import tomllib
import unicodedata
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from jirga.errors import ConfigError, ConfigProblem
from jirga.types import Alias, AliasRule, Feed, Term, TrackedNarrative, Watchlist

LANGUAGES = ("en", "ur", "ps", "fa")
"""Language codes a feed may have; ``fa`` covers Dari and Iranian Persian alike."""

FEEDS_FILE = "feeds.toml"
WATCHLIST_FILE = "watchlist.toml"
NARRATIVES_FILE = "narratives.toml"

Loc = tuple[str | int, ...]
Table = dict[str, Any]
_Rows = list[tuple[Loc, Table]]
_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]*\Z")
_COUNTRY = re.compile(r"[a-z]{2}\Z")


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a feed URL (absolute http/https with a host), or None when it can."""
    if any(ch.isspace() for ch in url):
        return f"URL {url!r} contains whitespace"
    try:
        parts = urlsplit(url)
        _ = parts.port  # a non-numeric or out-of-range port only raises when asked for
    except ValueError as exc:
        return f"URL {url!r} is malformed ({exc})"
    if parts.scheme.lower() not in ("http", "https"):
        return f"URL {url!r} is not an absolute http(s) URL"
    if not parts.hostname:
        return f"URL {url!r} has no host"
    return None


# --- field rules (pydantic turns each ValueError into one problem) ------------------------------


def _must(ok: Callable[[str], bool], why: str) -> AfterValidator:
    """A field rule: values for which ``ok`` fails are refused with ``why`` (``{v!r}``: value)."""

    def check(value: str) -> str:
        if not ok(value):
            raise ValueError(why.format(v=value))
        return value

    return AfterValidator(check)


def _url(value: str) -> str:
    if reason := url_problem(value):
        raise ValueError(reason)
    return value


_RULES = ", ".join(rule.value for rule in AliasRule)
_SLUG_WHY = "{v!r} is not a slug (lowercase letters, digits, '-' and '_')"
_COUNTRY_WHY = "unknown country {v!r}: use a lowercase ISO 3166 alpha-2 code like 'pk', or 'intl'"
_LANGUAGE_WHY = f"unknown language {{v!r}} (allowed: {', '.join(LANGUAGES)}; fa is Dari/Persian)"
Slug = Annotated[str, _must(lambda v: bool(_SLUG.match(v)), _SLUG_WHY)]
_EMPTY = "empty"  # replaced by "'<key>' must not be empty" once the key is known
Text = Annotated[str, _must(lambda v: bool(v.strip()), _EMPTY)]
Url = Annotated[str, AfterValidator(_url)]
Country = Annotated[str, _must(lambda v: v == "intl" or bool(_COUNTRY.match(v)), _COUNTRY_WHY)]
Language = Annotated[str, _must(lambda v: v in LANGUAGES, _LANGUAGE_WHY)]
AliasText = Annotated[
    str,
    _must(lambda v: bool(v.strip()), "empty alias: text must hold the spelling to match"),
    _must(lambda v: v == v.strip(), "alias {v!r} has leading or trailing whitespace"),
]
_RULE_WHY = f"unknown rule {{v!r}} (allowed: {_RULES})"
Rule = Annotated[str, _must(lambda v: v in _RULES.split(", "), _RULE_WHY)]


class _Table(BaseModel):
    # strict: TOML already has types, so "yes" must not become True; forbid: catches typos.
    model_config = ConfigDict(extra="forbid", strict=True)


class _FeedTable(_Table):
    id: Slug
    name: Text
    url: Url
    country: Country
    language: Language
    tags: list[Slug] = Field(default_factory=list)
    enabled: bool = True


class _AliasTable(_Table):
    text: AliasText
    rule: Rule


class _TermTable(_Table):
    id: Slug
    name: Text
    context: list[Text] = Field(default_factory=list)
    alias: list[_AliasTable] = Field(min_length=1)


class _NarrativeTable(_Table):
    id: Slug
    name: Text
    description: Text
    phrases: list[Text] = Field(default_factory=list)
    terms: list[Slug] = Field(default_factory=list)


_M = TypeVar("_M", bound=_Table)


class _FeedsFile(_Table):
    feed: list[_FeedTable] = Field(min_length=1)


class _WatchlistFile(_Table):
    term: list[_TermTable] = Field(min_length=1)


class _NarrativesFile(_Table):
    narrative: list[_NarrativeTable] = Field(default_factory=list)


# Which model a table name stands for, to list the keys allowed where an unknown one is found.
_TABLES: dict[str, type[_Table]] = {"feed": _FeedTable, "term": _TermTable}
_TABLES |= {"alias": _AliasTable, "narrative": _NarrativeTable}
_KINDS = {"string_type": "a string", "bool_type": "a boolean (true or false)"}
_KINDS |= {"list_type": "an array", "model_type": "a table", "dict_type": "a table"}


def _key_path(loc: Loc) -> str:
    path = ""
    for part in loc:
        path += f"[{part + 1}]" if isinstance(part, int) else f".{part}"
    return path.lstrip(".") or "(top level)"


# --- finding lines in the raw text ---------------------------------------------------------------

_HEADER = re.compile(r"\s*(\[\[?)([^\[\]]+)\]\]?\s*(#.*)?\Z")


class _Lines:
    """Where each table and key of a TOML text is, by the paths pydantic reports."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.headers: dict[Loc, int] = {(): 0}  # table path -> line of its header; root: 0
        latest: dict[tuple[str, ...], Loc] = {}  # header name -> path of its latest table
        counts: dict[Loc, int] = {}
        for number, line in enumerate(self.lines, 1):
            if match := _HEADER.match(line):
                names = tuple(name.strip().strip("\"'") for name in match[2].split("."))
                path = (*latest.get(names[:-1], names[:-1]), names[-1])
                if match[1] == "[[":
                    counts[path] = counts.get(path, -1) + 1
                    path = (*path, counts[path])
                latest[names], self.headers[path] = path, number

    def _key_line(self, table: Loc, key: str) -> int | None:
        quoted = re.escape(key)
        pattern = re.compile(rf"\s*(?:{quoted}|\"{quoted}\"|'{quoted}')\s*=")
        for number in range(self.headers[table] + 1, len(self.lines) + 1):
            line = self.lines[number - 1]
            if _HEADER.match(line):
                return None  # the table ended without the key
            if pattern.match(line):
                return number
        return None

    def place(self, loc: Loc) -> str:
        """``line N`` of the key at ``loc`` (or of its table), else the key path."""
        table: Loc = ()
        while len(loc) > len(table) + 1 and loc[: len(table) + 2] in self.headers:
            table = loc[: len(table) + 2]
        rest = loc[len(table) :]
        line = self._key_line(table, rest[0]) if rest and isinstance(rest[0], str) else None
        # A key that is a table (`[feed]` where `[[feed]]` belongs, `[[feeds]]`): its first header.
        inner = (*table, *rest[:1])
        heads = (number for path, number in self.headers.items() if path[: len(inner)] == inner)
        line = line or (next(heads, None) if rest else None) or self.headers[table]
        return f"line {line}" if line else _key_path(loc)


# --- one file ------------------------------------------------------------------------------------


class _Doc:
    """One config file being checked: its data, its lines and the problems found so far."""

    def __init__(self, path: Path) -> None:
        self.file = str(path)
        self.problems: list[ConfigProblem] = []
        self.data: dict[str, Any] = {}
        self.lines = _Lines("")
        self.parsed = False
        try:
            text = path.read_bytes().decode("utf-8-sig")  # tolerate the BOM Windows editors add
        except (OSError, UnicodeDecodeError) as exc:
            why = "file not found" if isinstance(exc, FileNotFoundError) else f"cannot read: {exc}"
            self.problems.append(ConfigProblem(self.file, "file", why))
            return
        self.lines = _Lines(text)
        try:
            self.data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            # tomllib ends its message with "(at line N, column M)" or "(at end of document)".
            message, _, where = str(exc).rpartition(" (at ")
            line = re.match(r"line (\d+), column (\d+)", where)
            place = f"line {line[1]}" if line else f"line {max(len(self.lines.lines), 1)}"
            column = f" (column {line[2]})" if line else ""
            reason = f"TOML syntax error: {message or exc}{column}"
            self.problems.append(ConfigProblem(self.file, place, reason))
        self.parsed = not self.problems

    def problem(self, loc: Loc, reason: str) -> None:
        """Record a problem at ``loc``."""
        self.problems.append(ConfigProblem(self.file, self.lines.place(loc), reason))

    def validate(self, model: type[_M]) -> _M | None:
        """The file as ``model``, or None after recording every validation error."""
        try:
            return model.model_validate(self.data)
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                self.problem(tuple(error["loc"]), _reason(model, error))
            return None

    def tables(self, name: str, node: Table | None = None, at: Loc = ()) -> _Rows:
        """The tables of the array ``name`` (in ``node``, found at ``at``), with their paths."""
        items = (self.data if node is None else node).get(name)
        items = items if isinstance(items, list) else []
        return [((*at, name, i), item) for i, item in enumerate(items) if isinstance(item, dict)]

    def unique(self, what: str, tables: _Rows, key: str, fold: Callable[[str], str] = str) -> None:
        """Record a problem for each table whose ``key`` repeats an earlier table's."""
        seen: dict[str, Loc] = {}
        for loc, table in tables:
            value = table.get(key)
            if not isinstance(value, str):
                continue  # missing or of the wrong type: reported by the model
            if (folded := fold(value)) in seen:
                first = self.lines.place(seen[folded])
                self.problem((*loc, key), f"duplicate {what} {value!r} (first at {first})")
            else:
                seen[folded] = (*loc, key)


def _reason(model: type[_Table], error: Any) -> str:
    loc: Loc = tuple(error["loc"])
    kind: str = error["type"]
    key = next((str(part) for part in reversed(loc) if isinstance(part, str)), "")
    if kind == "missing":
        if key in _TABLES:
            dotted = ".".join(str(part) for part in loc if isinstance(part, str))
            return f"missing required key {key!r}: no [[{dotted}]] tables"
        return f"missing required key {key!r}"
    if kind == "extra_forbidden":
        owner = next((str(p) for p in reversed(loc[:-1]) if isinstance(p, str)), "")
        allowed = list(_TABLES[owner].model_fields if owner in _TABLES else model.model_fields)
        hint = difflib.get_close_matches(key, allowed, n=1)
        suggestion = f"did you mean {hint[0]!r}? " if hint else ""
        return f"unknown key {key!r} ({suggestion}allowed: {', '.join(allowed)})"
    item = f" item {loc[-1] + 1}" if isinstance(loc[-1], int) else ""
    if kind == "value_error" and str(error["ctx"]["error"]) != _EMPTY:
        return str(error["ctx"]["error"])
    if kind in ("value_error", "too_short"):
        return f"{key!r}{item} must not be empty"
    expected = _KINDS.get(kind, error["msg"])
    return f"wrong type for {key!r}{item}: expected {expected}, got {error['input']!r}"


# --- the three files -----------------------------------------------------------------------------


def _feeds(doc: _Doc) -> tuple[Feed, ...]:
    model = doc.validate(_FeedsFile) if doc.parsed else None
    doc.unique("feed id", doc.tables("feed"), "id")
    doc.unique("feed URL", doc.tables("feed"), "url", lambda url: url.rstrip("/").lower())
    if model is None or doc.problems:
        return ()
    return tuple(Feed(**f.model_dump() | {"tags": tuple(f.tags)}) for f in model.feed)


def _terms(doc: _Doc) -> tuple[Term, ...]:
    model = doc.validate(_WatchlistFile) if doc.parsed else None
    doc.unique("term id", doc.tables("term"), "id")
    for term_loc, term in doc.tables("term"):
        aliases = doc.tables("alias", term, term_loc)
        # Two aliases are the same spelling when they differ only in case or Unicode composition.
        doc.unique("alias", aliases, "text", lambda t: unicodedata.normalize("NFC", t).casefold())
        for loc, alias in aliases:
            text, rule = alias.get("text"), alias.get("rule")
            if rule == "acronym" and isinstance(text, str) and any(c.islower() for c in text):
                why = f"acronym alias {text!r} has lowercase letters (use rule 'word' for those)"
                doc.problem((*loc, "text"), why)
            if rule == "context" and not term.get("context"):
                doc.problem((*loc, "rule"), "rule 'context' needs context words; the list is empty")
    if model is None or doc.problems:
        return ()
    aliases_of = {
        t.id: tuple(Alias(a.text, AliasRule(a.rule)) for a in t.alias) for t in model.term
    }
    return tuple(Term(t.id, t.name, aliases_of[t.id], tuple(t.context)) for t in model.term)


def _narratives(doc: _Doc, term_ids: Collection[str] | None) -> tuple[TrackedNarrative, ...]:
    model = doc.validate(_NarrativesFile) if doc.parsed else None
    doc.unique("narrative id", doc.tables("narrative"), "id")
    for loc, narrative in doc.tables("narrative"):
        terms = narrative.get("terms")
        for index, term_id in enumerate(terms if isinstance(terms, list) else []):
            if term_ids is not None and isinstance(term_id, str) and term_id not in term_ids:
                known = ", ".join(sorted(term_ids)) or "none"
                doc.problem((*loc, "terms", index), f"unknown term {term_id!r} (known: {known})")
    if model is None or doc.problems:
        return ()
    return tuple(
        TrackedNarrative(n.id, n.name, n.description, tuple(n.phrases), tuple(n.terms))
        for n in model.narrative
    )


_T = TypeVar("_T")


def _load(path: Path, check: Callable[[_Doc], _T]) -> _T:
    doc = _Doc(path)
    values = check(doc)
    if doc.problems:
        raise ConfigError(doc.problems)
    return values


def load_feeds(path: Path) -> tuple[Feed, ...]:
    """The feeds of a ``feeds.toml``; raises :class:`ConfigError` listing every problem."""
    return _load(path, _feeds)


def load_terms(path: Path) -> tuple[Term, ...]:
    """The terms of a ``watchlist.toml``; raises :class:`ConfigError` listing every problem."""
    return _load(path, _terms)


def load_narratives(
    path: Path, term_ids: Collection[str] | None = None
) -> tuple[TrackedNarrative, ...]:
    """The tracked narratives of a ``narratives.toml``.

    With ``term_ids``, a narrative naming a term not among them is a problem. Raises
    :class:`ConfigError` listing every problem.
    """
    return _load(path, lambda doc: _narratives(doc, term_ids))


def load_watchlist(config_dir: Path) -> Watchlist:
    """Feeds, terms and narratives of a config folder; :class:`ConfigError` lists all problems."""
    feeds_doc = _Doc(config_dir / FEEDS_FILE)
    terms_doc = _Doc(config_dir / WATCHLIST_FILE)
    narratives_doc = _Doc(config_dir / NARRATIVES_FILE)
    feeds = _feeds(feeds_doc)
    terms = _terms(terms_doc)
    # Narratives' term references are only checked against a watchlist that loaded cleanly:
    # against a broken one every reference would look unknown.
    term_ids = {t.id for t in terms} if not terms_doc.problems else None
    narratives = _narratives(narratives_doc, term_ids)
    if problems := feeds_doc.problems + terms_doc.problems + narratives_doc.problems:
        raise ConfigError(problems)
    return Watchlist(feeds, terms, narratives)


def check_config(config_dir: Path) -> list[ConfigProblem]:
    """Every problem of a config folder; empty when the config loads."""
    try:
        load_watchlist(config_dir)
    except ConfigError as exc:
        return exc.problems
    return []
