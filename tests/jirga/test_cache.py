"""The cache directory, and code point lists kept in it: written once and read after, the same
lists as computed; a damaged entry is computed again and rewritten; a cache that cannot be
written, or is turned off, changes nothing but the time taken."""

from __future__ import annotations

import errno
from pathlib import Path

import numpy as np
import pytest

from jirga import arabic, cache
from jirga.cache import cache_dir, code_point_lists

NAMES = ("letters", "marks")
LISTS = {"letters": ["a", "\u06cc", "\U0001f600"], "marks": ["\u064b", "\n"]}


@pytest.fixture
def where(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("JIRGA_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def owner(tmp_path: Path) -> Path:
    path = tmp_path / "scanner.py"
    path.write_text("# what computes the lists\n")
    return path


class _Compute:
    """LISTS, counting the calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> dict[str, list[str]]:
        self.calls += 1
        return {name: list(chars) for name, chars in LISTS.items()}


def _entries(where: Path) -> list[Path]:
    return sorted(where.iterdir()) if where.exists() else []


def test_the_default_place_follows_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JIRGA_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir() == tmp_path / "jirga"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_dir() == tmp_path / ".cache" / "jirga"
    monkeypatch.setattr(cache.os.path, "expanduser", lambda path: path)  # no home at all
    assert cache_dir() is None


def test_lists_are_computed_once_then_read(where: Path, owner: Path) -> None:
    compute = _Compute()
    assert code_point_lists(owner, NAMES, compute) == LISTS
    assert [p.name[:16] for p in _entries(where)] == ["scanner-unicode-"]

    assert code_point_lists(owner, NAMES, compute) == LISTS
    assert compute.calls == 1


def test_the_folding_scans_read_back_are_the_scans(where: Path) -> None:
    computed = arabic._scans()
    names = tuple(computed)
    owner = Path(arabic.__file__)
    assert code_point_lists(owner, names, lambda: computed) == computed  # written
    never = _Compute()
    assert code_point_lists(owner, names, never) == computed  # read
    assert never.calls == 0
    assert computed == arabic._SCANS  # what this process's import found or made


def test_the_entry_changes_with_the_source_and_the_unicode_version(
    where: Path, owner: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    compute = _Compute()
    code_point_lists(owner, NAMES, compute)
    owner.write_text("# another way of computing them\n")
    code_point_lists(owner, NAMES, compute)
    monkeypatch.setattr(cache.unicodedata, "unidata_version", "0.0.0")
    code_point_lists(owner, NAMES, compute)
    assert compute.calls == 3
    assert len(_entries(where)) == 3


def _damage_by_truncating(entry: Path) -> None:
    entry.write_bytes(entry.read_bytes()[:100])


def _damage_by_other_names(entry: Path) -> None:
    np.savez(entry, letters=np.array([97], dtype=np.uint32))


def _damage_by_type(entry: Path) -> None:
    np.savez(entry, letters=np.array([97.5]), marks=np.array([1], dtype=np.uint32))


def _damage_by_range(entry: Path) -> None:
    codes = np.array([0x110000], dtype=np.uint32)
    np.savez(entry, letters=codes, marks=codes)


@pytest.mark.parametrize(
    "damage", [_damage_by_truncating, _damage_by_other_names, _damage_by_type, _damage_by_range]
)
def test_a_damaged_entry_is_computed_again_and_rewritten(where: Path, owner: Path, damage) -> None:
    compute = _Compute()
    code_point_lists(owner, NAMES, compute)
    (entry,) = _entries(where)
    damage(entry)

    assert code_point_lists(owner, NAMES, compute) == LISTS
    assert compute.calls == 2
    assert code_point_lists(owner, NAMES, compute) == LISTS  # read again: it was rewritten
    assert compute.calls == 2
    assert _entries(where) == [entry]


def test_a_full_disk_leaves_no_entry_and_no_temporary_file(
    where: Path, owner: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def savez(out, **arrays) -> None:
        out.write(b"PK\x03\x04 half of it")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cache.np, "savez", savez)
    assert code_point_lists(owner, NAMES, _Compute()) == LISTS
    assert _entries(where) == []


def test_an_unusable_directory_is_only_not_used(tmp_path: Path, owner: Path, monkeypatch) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the directory should be")
    monkeypatch.setenv("JIRGA_CACHE_DIR", str(blocked))
    compute = _Compute()
    assert code_point_lists(owner, NAMES, compute) == LISTS
    assert code_point_lists(owner, NAMES, compute) == LISTS
    assert compute.calls == 2


def test_caching_can_be_turned_off(tmp_path: Path, owner: Path, monkeypatch) -> None:
    monkeypatch.setenv("JIRGA_CACHE_DIR", "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() is None
    compute = _Compute()
    assert code_point_lists(owner, NAMES, compute) == LISTS
    assert code_point_lists(owner, NAMES, compute) == LISTS
    assert compute.calls == 2
    assert not (tmp_path / "xdg").exists()
