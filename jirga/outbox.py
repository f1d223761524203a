"""The outbox: digests written to a folder instead of sent, when no SMTP server is configured.

Each digest leaves two files per delivery: ``digest-<day>[-<recipient>].eml``, the very message
that would have been sent (open it in any mail program), and ``digest-<day>.html``, the HTML
with its charts inlined, for a browser. Files are written to a temporary name in the same folder,
flushed to disk and renamed over the final name, so a reader never sees half a file and a
rerun after a crash simply writes the same bytes again.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from pathlib import Path

__all__ = ["outbox_paths", "preview_path", "write_atomic"]

_UNSAFE = re.compile(r"[^a-z0-9@._+-]+")


def _slug(recipient: str) -> str:
    """A file-name part from an address: lower case, nothing that could leave the folder."""
    slug = _UNSAFE.sub("_", recipient.lower()).strip("._")
    return slug[:120] or "recipient"


def outbox_paths(outbox: Path, day: dt.date, recipient: str | None) -> tuple[Path, Path]:
    """The ``.eml`` and ``.html`` files of one delivery (``recipient`` None: no recipient)."""
    stem = f"digest-{day.isoformat()}"
    eml = outbox / (f"{stem}-{_slug(recipient)}.eml" if recipient else f"{stem}.eml")
    return eml, outbox / f"{stem}.html"


def preview_path(outbox: Path, day: dt.date) -> Path:
    """Where ``jirga digest --preview`` writes the HTML of a day."""
    return outbox / f"preview-{day.isoformat()}.html"


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that it is either the old file or all of the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
