"""The poll's run summary: counted as the run goes, then logged, printed and kept as an artifact."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass
class PollSummary:
    """What one poll did, feed by feed and in total."""

    feeds_configured: int = 0
    feeds_due: int = 0
    ok: int = 0
    not_modified: int = 0
    failed: int = 0
    retry_later: int = 0
    gone: int = 0
    backing_off: int = 0  # not due yet: waiting after errors or a Retry-After
    entries_seen: int = 0
    entries_unchanged: int = 0  # of those, left out as they were when last stored
    new_articles: int = 0
    duplicates: int = 0
    near_duplicates: int = 0
    mentions: int = 0
    seconds: float = 0.0
    skipped: str | None = None  # why the whole poll did nothing (another poll holds the lease)
    narratives: str | None = None  # the narratives run that followed, in one line
    errors: list[tuple[str, str]] = field(default_factory=list)  # (feed id, reason)
    warnings: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Plain values, for JSON and Prefect results."""
        return dataclasses.asdict(self)

    def headline(self) -> str:
        """One line for logs and the terminal."""
        if self.skipped:
            return f"poll skipped: {self.skipped}"
        return (
            f"{self.feeds_due} feeds polled: {self.ok} ok, {self.not_modified} not modified, "
            f"{self.failed} failed, {self.retry_later} asked to retry later, {self.gone} gone; "
            f"{self.backing_off} backing off. {self.entries_seen} entries seen"
            f"{f' ({self.entries_unchanged} unchanged)' if self.entries_unchanged else ''}, "
            f"{self.new_articles} new matching articles ({self.mentions} mentions), "
            f"{self.duplicates} duplicates, {self.near_duplicates} near-copies linked; "
            f"{self.seconds:.1f} s"
        )

    def markdown(self) -> str:
        """The summary as a Markdown report (the Prefect artifact)."""
        lines = ["# Poll summary", "", self.headline(), ""]
        rows = [
            ("feeds configured", self.feeds_configured),
            ("feeds polled", self.feeds_due),
            ("ok", self.ok),
            ("not modified", self.not_modified),
            ("failed", self.failed),
            ("asked to retry later", self.retry_later),
            ("gone", self.gone),
            ("backing off", self.backing_off),
            ("entries seen", self.entries_seen),
            ("unchanged since last stored", self.entries_unchanged),
            ("new matching articles", self.new_articles),
            ("mentions", self.mentions),
            ("duplicates", self.duplicates),
            ("near-copies linked", self.near_duplicates),
        ]
        lines += ["| | count |", "| --- | ---: |"]
        lines += [f"| {name} | {value} |" for name, value in rows]
        if self.errors:
            lines += ["", "## Failed feeds", "", "| feed | error |", "| --- | --- |"]
            lines += [f"| {fid} | {_md(reason)} |" for fid, reason in self.errors]
        if self.warnings:
            lines += ["", "## Warnings", "", "| feed | warning |", "| --- | --- |"]
            lines += [f"| {fid} | {_md(text)} |" for fid, text in self.warnings[:200]]
        return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")[:500]
