"""py3langid's model, restricted to jirga's languages and kept uncompressed in a cache directory.

py3langid ships one model for 142 languages, compressed with LZMA: loading it costs about 0.6
CPU-s and 47 MB in the process that loads it (for a poll, the worker pool's fork server, as
soon as one feed mixes languages). jirga asks it about four languages only. So the first load
writes those four languages' part of the model, uncompressed, to a cache directory, and later
loads map it from there (about 10 ms): the byte-level automaton, 37 MB, is then read from the
file as it is walked, and only the pages that text actually visits come into memory, shared by
every process that maps the same file.

The directory is :func:`jirga.cache.cache_dir`. Its entry is named by a hash of the model file
and the languages, so a new py3langid model gets a new entry; it is written under a temporary
name and renamed into place, so a reader never sees half of one. Deleting the directory is
always safe. Any failure to read or write it falls back on py3langid's own loading, with the
same results (``tests/jirga/test_langid_model.py``).
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from jirga.cache import cache_dir

log = logging.getLogger(__name__)

_FORMAT = "1"  # bumped whenever what is written changes
_ARRAYS = ("ptc", "pc", "classes", "nextmove", "row", "out")


def load_identifier(languages: Sequence[str]) -> Any:
    """A py3langid ``LanguageIdentifier`` for ``languages`` (normalised probabilities)."""
    from py3langid.langid import (  # type: ignore[import-untyped]
        MODEL_DIR,
        MODEL_FILE,
    )

    model_file = MODEL_DIR / MODEL_FILE
    where = cache_dir()
    entry = None
    if where is not None:
        try:
            entry = where / f"langid-{_key(model_file, languages)}"
            if entry.is_dir():
                return _read(entry)
        except (OSError, ValueError) as exc:
            log.info("language model cache %s not used, written again: %s", entry or where, exc)
            if entry is not None:
                shutil.rmtree(entry, ignore_errors=True)
    identifier = _from_package(model_file, languages)
    if entry is not None:
        try:
            _write(identifier, entry)
            # Mapped from the file from now on, like every later process (see the docstring).
            return _read(entry)
        except (OSError, ValueError) as exc:
            log.info("language model cache %s not written: %s", entry, exc)
    return identifier


def _key(model_file: Path, languages: Sequence[str]) -> str:
    digest = hashlib.blake2b(f"{_FORMAT}\n{','.join(languages)}\n".encode(), digest_size=12)
    digest.update(model_file.read_bytes())
    return digest.hexdigest()


def _from_package(model_file: Path, languages: Sequence[str]) -> Any:
    """py3langid's own loading (LZMA, all languages), restricted to ``languages``."""
    from py3langid.langid import LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(model_file, norm_probs=True)
    identifier.set_languages(list(languages))
    # set_languages keeps a copy of the full 142-language model for later calls; jirga never
    # widens the set again, so drop it (about 27 MB per process).
    identifier._full_model = None
    return identifier


def _write(identifier: Any, entry: Path) -> None:
    entry.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{entry.name}-", dir=entry.parent))
    try:
        arrays = {
            "ptc": np.ascontiguousarray(identifier.nb_ptc),
            "pc": np.asarray(identifier.nb_pc),
            "classes": np.array(identifier.nb_classes),
            "nextmove": np.frombuffer(identifier.tk_nextmove, dtype=_uint(identifier.tk_nextmove)),
            "row": np.frombuffer(identifier.tk_row, dtype=_uint(identifier.tk_row)),
            "out": np.array(identifier.tk_output, dtype=np.int64),
        }
        for name, array in arrays.items():
            np.save(tmp / f"{name}.npy", array, allow_pickle=False)
        try:
            tmp.rename(entry)
        except OSError:
            if not entry.is_dir():  # else another process wrote the same entry meanwhile
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _uint(buffer: Any) -> np.dtype[Any]:
    return np.dtype(f"u{memoryview(buffer).itemsize}")


def _read(entry: Path) -> Any:
    from py3langid.langid import LanguageIdentifier

    loaded = {
        name: np.load(entry / f"{name}.npy", mmap_mode="r" if name == "nextmove" else None)
        for name in _ARRAYS
    }
    ptc, pc, classes, nextmove = (loaded[n] for n in ("ptc", "pc", "classes", "nextmove"))
    row, out = loaded["row"].tolist(), loaded["out"].tolist()
    # What the automaton's walk and the scoring index with, checked so that a damaged entry
    # is refused here rather than failing on some later text.
    consistent = (
        ptc.ndim == 2
        and ptc.shape[1] == len(classes) == len(pc)
        and nextmove.ndim == 1
        and nextmove.size % 256 == 0
        and len(row) == len(out) > 0
        and max(row) < nextmove.size // 256
        and max(out) < ptc.shape[0]
    )
    if not consistent:
        raise ValueError(f"{entry} does not hold a consistent model")
    # A memoryview indexes as fast as py3langid's own array; the mapping stays open with it.
    table = memoryview(nextmove).cast("B").cast(nextmove.dtype.char)
    return LanguageIdentifier(ptc, pc, classes.tolist(), table, out, norm_probs=True, tk_row=row)
