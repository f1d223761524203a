"""A thread that saves a poll's groups of feeds in order while the poll goes on.

Saving a group (one transaction of up to 100 feeds with articles) takes the main thread a
quarter of a second or more; done in line, the parser processes, which get their next document
only from the main thread, sit idle meanwhile. Handed to this thread, the saves overlap the
parsing: most of a save's time is spent in the database driver, which lets go of the GIL.

Groups are saved one at a time in the order given, so what a crash leaves is what it left
before: every group up to some point, none after. A failed save stops the thread; the error is
raised in the poll's thread at its next :meth:`SaveThread.submit` or at :meth:`SaveThread.close`,
and nothing after the failed group is saved.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Generic, TypeVar, cast

T = TypeVar("T")

_STOP = object()
_POLL = 0.1  # seconds between looks at a thread that may have died while the queue is full


class SaveThread(Generic[T]):
    """Runs ``save`` on each submitted item, in submission order, on a thread of its own.

    At most ``depth`` items wait (``submit`` blocks beyond that), so a slow database slows the
    poll down instead of letting fetched work pile up in memory.
    """

    def __init__(self, save: Callable[[T], None], *, depth: int = 2) -> None:
        self._save = save
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._abandoned = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="jirga-save", daemon=True)

    def __enter__(self) -> SaveThread[T]:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if kind is None:
            self.close()
            return
        # The poll failed or was interrupted: what is still waiting is not saved (its feeds keep
        # their old validators and are fetched again next time), the save under way finishes.
        self._abandoned.set()
        with contextlib.suppress(queue.Full):  # a full queue is read again, and seen abandoned
            self._queue.put_nowait(_STOP)
        self._thread.join()

    def submit(self, item: T) -> None:
        """Queue ``item`` to be saved after those before it; raise the error of a failed save."""
        self._raise_failure()
        self._put(item)

    def close(self) -> None:
        """Wait for every submitted item to be saved; raise the error of a failed save."""
        self._put(_STOP)
        self._thread.join()
        self._raise_failure()

    def _put(self, item: object) -> None:
        while True:
            try:
                self._queue.put(item, timeout=_POLL)
                return
            except queue.Full:
                if not self._thread.is_alive():
                    return  # nobody will take it; the failure (if any) is raised by the caller
                self._raise_failure()

    def _raise_failure(self) -> None:
        if self._error is not None:
            raise self._error

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP or self._abandoned.is_set():
                return
            try:
                self._save(cast(T, item))
            except BaseException as exc:  # re-raised in the poll's thread
                self._error = exc
                return
