"""The one exception tree of jirga.

JirgaError
├── ConfigError        a config file or setting is wrong (names the file, the place and the reason)
├── FetchError         a feed could not be fetched; recorded on the feed, never fails the run
│   └── FetchRefused   the request was refused by policy (scheme, address, size, redirects)
├── ParseError         a feed document could not be parsed at all
├── StorageError       the database failed; driver errors are wrapped in this one type
├── QueryError         a search query is malformed (jirga.query: names the place and why)
├── MailError          the digest could not be handed to the SMTP server (jirga.mail)
└── DigestNotDue       a digest was asked for a day that is not over yet (flows.digesting)

Each lives next to the code that raises it when only that code needs it.
"""

from __future__ import annotations

from dataclasses import dataclass


class JirgaError(Exception):
    """Root of every error jirga raises on purpose."""


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong in one config file: where, and why."""

    file: str
    place: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.place}: {self.reason}"


class ConfigError(JirgaError):
    """One or more config problems; the message lists each on its own line."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class FetchError(JirgaError):
    """A feed could not be fetched."""


class FetchRefused(FetchError):
    """A request was refused before or while it was made, by jirga's own limits."""


class ParseError(JirgaError):
    """A feed document yielded nothing usable."""


class StorageError(JirgaError):
    """The database refused or failed an operation.

    ``transient`` is set when trying again may succeed: a lock held too long, a dropped
    connection, a serialization failure.
    """

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient
