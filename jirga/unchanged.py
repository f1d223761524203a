"""Entries a feed still carries from its last poll, left out before parsing.

A news feed that changed usually gained an entry or two and still holds the forty-odd it held
before, which were parsed, matched and (when they mentioned a watch term) stored then. Each
entry's bytes are hashed, and the hashes of a feed's entries are kept with its state; at the
next poll the entries whose bytes hash the same are cut out of the document before it is
parsed, so only the new and the edited ones cost anything.

A hash is keyed with everything else the entry's outcome depends on (:func:`scope_key`: the
watch terms, the caps, the near-duplicate rule, the feed's own settings, and the code:
:func:`code_fingerprint`), so changing the watch list, or jirga, say, makes every entry new
once. Nothing is left out when the entries cannot be told apart safely (an entry inside
another, an unclosed one) or when the document has more entries than are kept (which ones are
kept depends on all of them); then no hashes are kept either, and the next poll parses
everything.
"""

from __future__ import annotations

import functools
import hashlib
import unicodedata
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

from jirga import __version__
from jirga.parse import EntryTags, entry_spans

DIGEST_SIZE = 8  # bytes per entry: 1.6 KB for a feed of 200 entries


# The libraries whose behaviour decides what becomes of an entry: parsing, sanitising, the
# matcher's automaton, fingerprints and language detection.
_LIBRARIES = ("feedparser", "lxml", "nh3", "numpy", "pyahocorasick", "py3langid")


_PACKAGE = Path(__file__).resolve().parent


@functools.cache
def code_fingerprint(package: Path = _PACKAGE) -> str:
    """What identifies the code an entry is processed with: jirga's engine sources (not only its
    version, which a checkout between two releases keeps), the libraries above and the Unicode
    tables that folding uses. A checkout that changes how entries are read parses all of them
    once more instead of taking the old outcome for the new one."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{__version__}\n{unicodedata.unidata_version}\n".encode())
    for name in _LIBRARIES:
        try:
            digest.update(f"{name}={metadata.version(name)}\n".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{name}=?\n".encode())
    try:
        for source in sorted(package.glob("*.py")):
            digest.update(source.name.encode() + b"\0" + source.read_bytes())
    except OSError:
        digest.update(b"sources unreadable")  # the version and libraries still count
    return digest.hexdigest()


def scope_key(*parts: object) -> bytes:
    """A hash key from everything besides an entry's bytes that decides what becomes of it."""
    return hashlib.blake2b(repr(parts).encode("utf-8"), digest_size=32).digest()


def pack(digests: Iterable[bytes]) -> bytes:
    """Digests as they are kept with a feed's state: sorted, one after the other."""
    return b"".join(sorted(set(digests)))


def unpack(packed: bytes | None) -> frozenset[bytes]:
    """The digests of :func:`pack`'s bytes."""
    if not packed:
        return frozenset()
    return frozenset(packed[i : i + DIGEST_SIZE] for i in range(0, len(packed), DIGEST_SIZE))


class UnchangedEntries:
    """Cuts the entries of a document whose hashes were kept from the last poll.

    Call it with the document's bytes (prolog cleaned, entries counted and capped: see
    :func:`jirga.parse.parse_feed`'s ``select``) and, when already found, their entry tags;
    it returns the bytes to parse, and leaves
    ``hashes`` (every entry's digest, packed, to keep for the next poll; None when the entries
    could not be told apart or were too many) and ``unchanged`` (how many were cut).
    """

    def __init__(self, seen: bytes | None, key: bytes, max_entries: int) -> None:
        self._seen = unpack(seen)
        self._key = key
        self._max_entries = max_entries
        self.hashes: bytes | None = None
        self.unchanged = 0

    def __call__(self, data: bytes, tags: EntryTags | None = None) -> bytes:
        self.hashes, self.unchanged = None, 0
        spans = entry_spans(data, tags)
        if spans is None or len(spans) > self._max_entries:
            return data
        key = self._key
        digests = [
            hashlib.blake2b(data[a:b], digest_size=DIGEST_SIZE, key=key).digest() for a, b in spans
        ]
        self.hashes = pack(digests)
        cut = [span for span, digest in zip(spans, digests, strict=True) if digest in self._seen]
        if not cut:
            return data
        self.unchanged = len(cut)
        pieces, pos = [], 0
        for a, b in cut:
            pieces.append(data[pos:a])
            pos = b
        pieces.append(data[pos:])
        return b"".join(pieces)
