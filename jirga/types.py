"""Domain types shared by every stage: frozen values with timezone-aware UTC datetimes."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class AliasRule(enum.StrEnum):
    """How one alias of a watch term is allowed to match.

    ``acronym``   case-sensitive, whole token (``TTP`` but not ``ttp`` or ``TTPs``).
    ``word``      case-insensitive, whole word, in any script.
    ``context``   a whole word that only counts when one of the term's context words is near it
                  (the bare ``طالبان`` also means "students").
    """

    ACRONYM = "acronym"
    WORD = "word"
    CONTEXT = "context"


@dataclass(frozen=True)
class Feed:
    """A feed the user watches, as written in ``config/feeds.toml``."""

    id: str
    name: str
    url: str
    country: str
    language: str
    tags: tuple[str, ...] = ()
    enabled: bool = True


@dataclass(frozen=True)
class Alias:
    """One spelling of a watch term and the rule it matches by."""

    text: str
    rule: AliasRule


@dataclass(frozen=True)
class Term:
    """A watch term: every article that mentions one is stored."""

    id: str
    name: str
    aliases: tuple[Alias, ...]
    context: tuple[str, ...] = ()


@dataclass(frozen=True)
class TrackedNarrative:
    """A narrative the analyst follows by name, from ``config/narratives.toml``."""

    id: str
    name: str
    description: str
    phrases: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Watchlist:
    """Everything jirga watches: feeds, terms and tracked narratives."""

    feeds: tuple[Feed, ...]
    terms: tuple[Term, ...]
    narratives: tuple[TrackedNarrative, ...]
