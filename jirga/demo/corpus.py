"""The demo's sample outlets, read from the TOML files beside this module.

Each file is one invented outlet: its feed's identity (id, name, country, language, RSS or Atom),
how its server misbehaves on which days, and its items, each on a day of the demo week (0 is the
first day, ``DAYS - 1`` the last) at a local time. An item may be a syndicated copy of another
outlet's earlier item (``copy_of = "outlet/slug"``): it takes the original's text with its own
dateline in front, and the original's title unless it has its own, as agencies' clients do.

Every problem in the files is reported at once, with the file, the place and the reason.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from jirga.config import LANGUAGES
from jirga.errors import ConfigError, ConfigProblem

__all__ = ["DAYS", "OUTLETS_DIR", "Corpus", "Outlet", "SampleItem", "load_corpus"]

DAYS = 7
"""Days in the demo week."""

OUTLETS_DIR = Path(__file__).resolve().parent / "outlets"
"""The shipped sample outlets (package data: it ships in the wheel with the module)."""

_SLUG = re.compile(r"[a-z0-9][a-z0-9-]*\Z")
_TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d\Z")


def _must(test: Any, why: str) -> AfterValidator:
    def check(value: Any) -> Any:
        if not test(value):
            raise ValueError(why.format(v=value))
        return value

    return AfterValidator(check)


_Slug = Annotated[str, _must(lambda v: bool(_SLUG.match(v)), "{v!r} is not a lowercase slug")]
_Day = Annotated[int, Field(ge=0, lt=DAYS)]
_Text = Annotated[str, _must(lambda v: bool(v.strip()), "must not be empty")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class _ItemTable(_Strict):
    day: _Day
    time: Annotated[str, _must(lambda v: bool(_TIME.match(v)), "{v!r} is not HH:MM")]
    slug: _Slug
    title: _Text | None = None
    body: _Text | None = None
    copy_of: str | None = None
    lead: _Text | None = None


class _OutletTable(_Strict):
    id: _Slug
    name: _Text
    country: Annotated[str, Field(pattern=r"^[a-z]{2}$")]
    language: Annotated[str, _must(lambda v: v in LANGUAGES, f"must be one of {LANGUAGES}")]
    format: Literal["rss", "atom"]
    site: Annotated[str, Field(pattern=r"^https://[a-z0-9.-]+\.example$")]
    fail_days: list[_Day] = Field(default_factory=list)
    wrong_charset_days: list[_Day] = Field(default_factory=list)
    item: list[dict[str, Any]] = Field(min_length=1)  # each checked on its own (_items)


@dataclass(frozen=True)
class SampleItem:
    """One item of an outlet, on day ``day`` of the demo week at local ``time``."""

    outlet: str
    slug: str
    day: int
    time: dt.time
    title: str
    body: str  # plain text; paragraphs separated by a blank line
    copy_of: str | None = None  # "outlet/slug" of the original, for a syndicated copy

    @property
    def ref(self) -> str:
        """``outlet/slug``, how a copy names its original."""
        return f"{self.outlet}/{self.slug}"

    def published(self, first_day: dt.date, tz: dt.tzinfo) -> dt.datetime:
        """When the item is published (aware, UTC) in a week starting on ``first_day``."""
        local = dt.datetime.combine(first_day + dt.timedelta(days=self.day), self.time, tz)
        return local.astimezone(dt.UTC)


@dataclass(frozen=True)
class Outlet:
    """An invented outlet: its feed's identity, its server's faults and its items by time."""

    id: str
    name: str
    country: str
    language: str
    format: Literal["rss", "atom"]
    site: str
    fail_days: frozenset[int]  # days its server answers HTTP 500
    wrong_charset_days: frozenset[int]  # days it sends Windows-1256 labelled UTF-8
    items: tuple[SampleItem, ...]  # oldest first

    @property
    def path(self) -> str:
        """The feed's path on the demo server."""
        return f"/{self.id}.{'atom' if self.format == 'atom' else 'xml'}"


@dataclass(frozen=True)
class Corpus:
    """Every sample outlet, in file-name order."""

    outlets: tuple[Outlet, ...]

    def items(self) -> tuple[SampleItem, ...]:
        """Every item of every outlet."""
        return tuple(i for o in self.outlets for i in o.items)

    def copies(self) -> tuple[tuple[SampleItem, SampleItem], ...]:
        """``(copy, original)`` for every syndicated copy."""
        by_ref = {i.ref: i for i in self.items()}
        return tuple((i, by_ref[i.copy_of]) for i in self.items() if i.copy_of)


def _place(loc: tuple[str | int, ...]) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts[-1] += f"[{part + 1}]"  # tables counted from 1, as a reader counts them
        else:
            parts.append(part)
    return ".".join(parts) or "file"


def _read(
    path: Path, problems: list[ConfigProblem]
) -> tuple[_OutletTable, list[_ItemTable | None]] | None:
    """One outlet file, its items checked one by one so that every bad item is reported."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        problems.append(ConfigProblem(str(path), "file", f"cannot read: {exc}"))
        return None
    try:
        table = _OutletTable.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            problems.append(ConfigProblem(str(path), _place(err["loc"]), err["msg"]))
        return None
    items: list[_ItemTable | None] = []
    for n, raw in enumerate(table.item):
        try:
            items.append(_ItemTable.model_validate(raw))
        except ValidationError as exc:
            items.append(None)
            for err in exc.errors(include_url=False):
                where = _place(("item", n, *err["loc"]))
                problems.append(ConfigProblem(str(path), where, err["msg"]))
    return table, items


@dataclass(frozen=True)
class _Draft:
    """An item as its file states it, before a copy is given its original's text."""

    path: Path
    outlet: str
    slug: str
    day: int
    time: dt.time
    title: str | None
    body: str | None
    copy_of: str | None
    lead: str | None

    @property
    def ref(self) -> str:
        return f"{self.outlet}/{self.slug}"


def _drafts(
    path: Path, table: _OutletTable, items: list[_ItemTable | None], problems: list[ConfigProblem]
) -> list[_Draft]:
    out = []
    for n, it in enumerate(items, start=1):
        if it is None:
            continue  # reported by _read
        where = f"item[{n}]"
        if it.copy_of is None and (it.title is None or it.body is None):
            problems.append(ConfigProblem(str(path), where, "needs a title and a body"))
            continue
        if it.copy_of is not None and it.body is not None:
            problems.append(ConfigProblem(str(path), where, "a copy takes its original's body"))
            continue
        if it.copy_of is None and it.lead is not None:
            problems.append(ConfigProblem(str(path), where, "only a copy has a lead"))
            continue
        hour, minute = (int(x) for x in it.time.split(":"))
        out.append(
            _Draft(
                path=path,
                outlet=table.id,
                slug=it.slug,
                day=it.day,
                time=dt.time(hour, minute),
                title=it.title,
                body=it.body,
                copy_of=it.copy_of,
                lead=it.lead,
            )
        )
    return out


def _resolve(drafts: dict[str, _Draft], problems: list[ConfigProblem]) -> list[SampleItem]:
    """The items, each copy with its original's text; checks that the original exists, is in
    another outlet and came first."""
    out = []
    for d in drafts.values():
        title, body = d.title, d.body
        if d.copy_of is not None:
            where = f"item {d.slug!r}"
            original = drafts.get(d.copy_of)
            if original is None or original.copy_of is not None:
                why = f"copy_of {d.copy_of!r} is not an original item of another outlet"
                problems.append(ConfigProblem(str(d.path), where, why))
                continue
            if original.outlet == d.outlet or (original.day, original.time) >= (d.day, d.time):
                why = f"a copy must follow {d.copy_of!r} in another outlet, later in the week"
                problems.append(ConfigProblem(str(d.path), where, why))
                continue
            title = title or original.title
            body = f"{d.lead} {original.body}" if d.lead else original.body
        out.append(SampleItem(d.outlet, d.slug, d.day, d.time, title or "", body or "", d.copy_of))
    return out


def load_corpus(folder: Path = OUTLETS_DIR) -> Corpus:
    """The outlets of every ``*.toml`` in ``folder``; :class:`ConfigError` lists every problem."""
    problems: list[ConfigProblem] = []
    tables: list[tuple[Path, _OutletTable, list[_ItemTable | None]]] = []
    for path in sorted(folder.glob("*.toml")):
        read = _read(path, problems)
        if read is not None:
            tables.append((path, *read))
    if not tables and not problems:
        problems.append(ConfigProblem(str(folder), "folder", "no sample outlet (*.toml) found"))
    drafts: dict[str, _Draft] = {}
    seen_ids: dict[str, Path] = {}
    for path, table, table_items in tables:
        if table.id in seen_ids:
            why = f"outlet id {table.id!r} is also used by {seen_ids[table.id].name}"
            problems.append(ConfigProblem(str(path), "id", why))
            continue
        seen_ids[table.id] = path
        for d in _drafts(path, table, table_items, problems):
            if d.ref in drafts:
                problems.append(ConfigProblem(str(path), "item", f"slug {d.slug!r} twice"))
                continue
            drafts[d.ref] = d
    items = _resolve(drafts, problems)
    if problems:
        raise ConfigError(problems)
    outlets = []
    for _path, table, _items in tables:
        own = sorted((i for i in items if i.outlet == table.id), key=lambda i: (i.day, i.time))
        outlets.append(
            Outlet(
                id=table.id,
                name=table.name,
                country=table.country,
                language=table.language,
                format=table.format,
                site=table.site,
                fail_days=frozenset(table.fail_days),
                wrong_charset_days=frozenset(table.wrong_charset_days),
                items=tuple(own),
            )
        )
    return Corpus(tuple(outlets))
