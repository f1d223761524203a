"""jirga's cache directory, and the lists of code points kept in it.

The directory is ``$JIRGA_CACHE_DIR`` if set (empty: no cache), else ``$XDG_CACHE_HOME/jirga``,
else ``~/.cache/jirga``. It holds what is expensive to compute and the same every time: the
language model (:mod:`jirga.langid_model`) and the results of the folding module's scans of
Unicode (:func:`code_point_lists`). Every entry is named by a hash of what decides it and written
under a temporary name, then renamed into place, so a reader never sees half of one; one that
cannot be read is computed again and rewritten, and one that cannot be written is only computed.
Deleting the directory is always safe.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

_FORMAT = "1"  # bumped whenever what code_point_lists writes changes
_UNICODE = 0x110000
# What reading a damaged .npz raises, by where the damage is.
_UNREADABLE = (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile)


def cache_dir() -> Path | None:
    """Where cached entries are kept, or None when caching is turned off."""
    configured = os.environ.get("JIRGA_CACHE_DIR")
    if configured is not None:
        return Path(configured) if configured.strip() else None
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        home = os.path.expanduser("~")
        if home == "~":  # no home directory to be found: not one relative to the working one
            return None
        base = os.path.join(home, ".cache")
    return Path(base) / "jirga"


def code_point_lists(
    owner: Path, names: Sequence[str], compute: Callable[[], Mapping[str, Sequence[str]]]
) -> dict[str, list[str]]:
    """``compute()`` (lists of single characters, by name), kept in the cache directory.

    The entry is keyed by the source of ``owner`` (the module that computes them), Python's
    version and its Unicode database's version: what a scan of Unicode depends on. An entry
    that does not hold exactly ``names``, each a list of code points, counts as damaged.
    """
    where = cache_dir()
    entry = None
    if where is not None:
        try:
            entry = where / f"{owner.stem}-unicode-{_key(owner)}.npz"
            if entry.is_file():
                return _read(entry, names)
        except _UNREADABLE as exc:
            log.info("cache entry %s not used, written again: %s", entry or where, exc)
            if entry is not None:
                entry.unlink(missing_ok=True)
    lists = {name: list(chars) for name, chars in compute().items()}
    if entry is not None:
        try:
            _write(entry, lists)
        except (OSError, ValueError) as exc:
            log.info("cache entry %s not written: %s", entry, exc)
    return lists


def _key(owner: Path) -> str:
    digest = hashlib.blake2b(digest_size=12)
    digest.update(f"{_FORMAT}\n{sys.version}\n{unicodedata.unidata_version}\n".encode())
    digest.update(owner.read_bytes())
    return digest.hexdigest()


def _read(entry: Path, names: Sequence[str]) -> dict[str, list[str]]:
    with np.load(entry, allow_pickle=False) as data:
        if sorted(data.files) != sorted(names):
            raise ValueError(f"{entry} holds {sorted(data.files)}, not {sorted(names)}")
        lists = {}
        for name in names:
            codes = data[name]
            if codes.dtype != np.uint32 or codes.ndim != 1 or np.any(codes >= _UNICODE):
                raise ValueError(f"{entry}: {name} is not a list of code points")
            lists[name] = [chr(cp) for cp in codes.tolist()]
    return lists


def _write(entry: Path, lists: Mapping[str, Sequence[str]]) -> None:
    entry.parent.mkdir(parents=True, exist_ok=True)
    arrays = {
        name: np.array([ord(c) for c in chars], dtype=np.uint32) for name, chars in lists.items()
    }
    fd, tmp = tempfile.mkstemp(prefix=f".{entry.name}-", dir=entry.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            np.savez(out, allow_pickle=False, **arrays)
        os.replace(tmp, entry)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
