"""The language model's cache: the identifier read from it scores every text exactly as
py3langid's own loading does; it is written once and read after; a damaged, unreadable or
unwritable cache falls back on the package's model and changes no answer."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import numpy as np
import pytest

from jirga import langid_model
from jirga.cache import cache_dir
from jirga.language import LANGUAGES

LABELLED = Path(__file__).resolve().parents[1] / "data" / "language" / "labelled.jsonl"


@pytest.fixture(scope="module")
def texts() -> list[str]:
    rows = [json.loads(line) for line in LABELLED.read_text("utf-8").splitlines() if line]
    # Our labelled sentences in the four languages, and text no feature of the model fits.
    return [row["text"] for row in rows] + ["", "1234", "\u0000\u0001", "Ж" * 50, "😀" * 20]


@pytest.fixture(scope="module")
def reference(texts: list[str]) -> list[list[tuple[str, float]]]:
    """py3langid's own answers, from its packaged model."""
    from py3langid.langid import MODEL_DIR, MODEL_FILE  # type: ignore[import-untyped]

    identifier = langid_model._from_package(MODEL_DIR / MODEL_FILE, LANGUAGES)
    return [identifier.rank(text) for text in texts]


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("JIRGA_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _entries(cache: Path) -> list[Path]:
    return sorted(p for p in cache.glob("langid-*") if p.is_dir())


def _no_package_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object) -> None:
        raise AssertionError("the packaged model was loaded although the cache holds it")

    monkeypatch.setattr(langid_model, "_from_package", refuse)


def test_written_once_then_read_with_the_same_answers(
    cache: Path,
    texts: list[str],
    reference: list[list[tuple[str, float]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = langid_model.load_identifier(LANGUAGES)
    assert [first.rank(text) for text in texts] == reference
    [entry] = _entries(cache)
    assert {p.name for p in entry.iterdir()} == {f"{n}.npy" for n in langid_model._ARRAYS}
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]  # no temporary left

    _no_package_loading(monkeypatch)
    again = langid_model.load_identifier(LANGUAGES)
    assert [again.rank(text) for text in texts] == reference
    assert _entries(cache) == [entry]


def test_other_languages_get_an_entry_of_their_own(cache: Path) -> None:
    langid_model.load_identifier(LANGUAGES)
    other = langid_model.load_identifier(("en", "fa"))
    assert [lang for lang, _ in other.rank("The talks resumed in Doha.")] == ["en", "fa"]
    assert len(_entries(cache)) == 2


@pytest.mark.parametrize("damage", ["truncated", "inconsistent", "missing"])
def test_a_damaged_entry_is_not_used_and_is_written_again(
    cache: Path,
    texts: list[str],
    reference: list[list[tuple[str, float]]],
    damage: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    langid_model.load_identifier(LANGUAGES)
    [entry] = _entries(cache)
    if damage == "truncated":
        path = entry / "nextmove.npy"
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif damage == "inconsistent":  # a well-formed file, but rows pointing past the automaton
        np.save(entry / "row.npy", np.full(10, 1 << 30, dtype=np.uint32))
    else:
        (entry / "out.npy").unlink()
    identifier = langid_model.load_identifier(LANGUAGES)
    assert [identifier.rank(text) for text in texts] == reference
    _no_package_loading(monkeypatch)  # and the entry was written again
    identifier = langid_model.load_identifier(LANGUAGES)
    assert [identifier.rank(text) for text in texts] == reference


def test_a_full_disk_leaves_no_entry_and_changes_nothing(
    cache: Path,
    texts: list[str],
    reference: list[list[tuple[str, float]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_save = np.save

    def save_until_full(path: Path, array: np.ndarray, **kwargs: object) -> None:
        if path.name == "nextmove.npy":  # the big one: half written, then no space left
            path.write_bytes(b"\x93NUMPY" + bytes(1000))
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        real_save(path, array, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(langid_model.np, "save", save_until_full)
    identifier = langid_model.load_identifier(LANGUAGES)
    assert [identifier.rank(text) for text in texts] == reference
    assert list(cache.iterdir()) == []  # neither an entry nor its temporary directory
    monkeypatch.undo()
    monkeypatch.setenv("JIRGA_CACHE_DIR", str(cache))
    langid_model.load_identifier(LANGUAGES)  # space again: written this time
    assert len(_entries(cache)) == 1


def test_a_cache_path_that_is_a_file_changes_nothing(
    cache: Path, texts: list[str], reference: list[list[tuple[str, float]]]
) -> None:
    cache.write_text("not a directory")
    identifier = langid_model.load_identifier(LANGUAGES)
    assert [identifier.rank(text) for text in texts] == reference


def test_caching_can_be_turned_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reference: list[list[tuple[str, float]]]
) -> None:
    monkeypatch.setenv("JIRGA_CACHE_DIR", "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir() is None
    identifier = langid_model.load_identifier(LANGUAGES)
    assert identifier.rank("") == reference[-5]
    assert list(tmp_path.iterdir()) == []
