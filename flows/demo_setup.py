"""The demo's place and settings, made before Prefect is imported: a folder of its own (cleared
on every run), its config (the sample feeds on the loopback server, the shipped watch list and
tracked narratives), the caller's settings moved into that folder, and the week it replays.

The demo changes nothing outside its folder: its settings are the caller's with the data dir,
database, config and outbox moved into the folder, mail off (the outbox only) and fetching
allowed from 127.0.0.1 only — for this process, not in any file or environment.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from jirga.config import FEEDS_FILE, NARRATIVES_FILE, WATCHLIST_FILE
from jirga.demo.corpus import Corpus
from jirga.demo.feeds import DemoWeek, feeds_toml
from jirga.digest_model import due_day
from jirga.errors import JirgaError
from jirga.settings import Settings, default_config_dir

MARKER = ".jirga-demo"
"""The file that marks a folder as the demo's own, so a rerun may clear it."""

_OWN = ("jirga.db", "jirga.db-wal", "jirga.db-shm", "jirga.db-journal")
_OWN_DIRS = ("config", "outbox")  # "prefect" is kept: Prefect's database migrates only once


class DemoError(JirgaError):
    """The demo cannot run here (its folder belongs to something else)."""


def demo_folder(settings: Settings, chosen: Path | None) -> Path:
    """The folder the demo works in: ``chosen``, or ``demo`` under the data dir."""
    return chosen if chosen is not None else settings.data_dir / "demo"


def prepare_folder(folder: Path) -> None:
    """Make ``folder`` an empty demo folder: create it, or clear what an earlier demo left.

    A folder that holds anything and was not made by the demo is refused, not emptied.
    """
    if folder.exists() and not folder.is_dir():
        raise DemoError(f"{folder} is a file; name a folder for the demo with --data-dir")
    if folder.is_dir() and any(folder.iterdir()) and not (folder / MARKER).is_file():
        raise DemoError(
            f"{folder} is not empty and was not made by `jirga demo`; "
            "name another folder with --data-dir"
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name in _OWN:
            (folder / name).unlink(missing_ok=True)
        for name in _OWN_DIRS:
            shutil.rmtree(folder / name, ignore_errors=True)
        (folder / MARKER).write_text(
            "Made by `jirga demo`: each run replaces the database, config/ and outbox/ here "
            "(Prefect's home, prefect/, is kept).\n",
            encoding="utf-8",
        )
    except OSError as exc:
        raise DemoError(f"cannot prepare the demo folder {folder}: {exc.strerror or exc}") from exc


def demo_settings(base: Settings, folder: Path) -> Settings:
    """The caller's settings, moved into the demo folder (see the module docstring)."""
    return base.model_copy(
        update={
            "data_dir": folder,
            "database_url": None,
            "config_dir": folder / "config",
            "allow_private_networks": False,
            "fetch_exempt_networks": ["127.0.0.1/32"],
            "smtp_host": None,
            "digest_recipients": [],
            # The sample documents are a few kilobytes: one parser process is plenty, and each
            # extra one costs a start per poll.
            "parse_workers": 1,
        }
    )


def write_config(settings: Settings, corpus: Corpus, base_url: str) -> None:
    """The demo's config folder: its feeds.toml, and the shipped watch list and narratives."""
    config = settings.config_dir
    config.mkdir(parents=True, exist_ok=True)
    (config / FEEDS_FILE).write_text(feeds_toml(corpus, base_url), encoding="utf-8")
    for name in (WATCHLIST_FILE, NARRATIVES_FILE):
        shutil.copyfile(default_config_dir() / name, config / name)


def demo_week(settings: Settings, now: dt.datetime) -> DemoWeek:
    """The week replayed: it ends on the latest day whose digest is due at ``now``."""
    return DemoWeek.ending(due_day(now, settings.tz, settings.digest_time), settings.tz)
