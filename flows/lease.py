"""A lease in the database so that two runs of one flow never overlap, on one host or many.

A holder is ``host:pid:token``. A lease whose holder ran on this host and whose process is gone
(it was killed) is taken over at once, so a rerun after a crash does not wait for the lease to
expire; holders on other hosts are trusted until the lease expires.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from storage.facade import Storage


def new_holder() -> str:
    """A holder name for this process."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def holder_is_dead(holder: str) -> bool:
    """Whether a holder ran on this host in a process that no longer exists."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@contextmanager
def lease(storage: Storage, name: str, now: dt.datetime, ttl: dt.timedelta) -> Iterator[str | None]:
    """Hold the lease ``name`` for the block; yields None when another live run holds it."""
    holder = new_holder()
    acquired = storage.acquire_lock(name, holder, now, ttl)
    if not acquired:
        current = storage.lock_holder(name)
        if current is not None and holder_is_dead(current):
            storage.release_lock(name, current)
            acquired = storage.acquire_lock(name, holder, now, ttl)
    if not acquired:
        yield None
        return
    try:
        yield holder
    finally:
        storage.release_lock(name, holder)
