"""Per-invocation options a caller hands to a flow without making them flow parameters.

Flow parameters must be plain, serialisable values (they are stored with the run). The CLI's
settings (from ``--env-file``) and its progress bar are not, so it sets them here for the flows
it runs in its own process; a deployment run sees the defaults.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from flows.polling import ProgressHook
from jirga.settings import Settings, load_settings


@dataclass(frozen=True)
class RunOptions:
    """What the caller of a flow decided for this process."""

    settings: Settings | None = None
    progress: ProgressHook | None = None


_DEFAULT = RunOptions()
RUN_OPTIONS: ContextVar[RunOptions] = ContextVar("jirga_run_options", default=_DEFAULT)


def current_settings() -> Settings:
    """The caller's settings, or those of the environment."""
    return RUN_OPTIONS.get().settings or load_settings()
