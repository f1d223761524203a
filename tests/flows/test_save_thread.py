"""The poll's save thread: saves in order, bounded, and a failure reaches the poll's thread."""

from __future__ import annotations

import threading

import pytest

from flows.save_thread import SaveThread


def test_items_are_saved_in_order_on_another_thread() -> None:
    saved: list[int] = []
    threads: set[int] = set()

    def save(item: int) -> None:
        threads.add(threading.get_ident())
        saved.append(item)

    with SaveThread(save) as saver:
        for i in range(100):
            saver.submit(i)
    assert saved == list(range(100))
    assert threads and threading.get_ident() not in threads


def test_a_full_queue_makes_submit_wait() -> None:
    release = threading.Event()
    started = threading.Event()

    def save(item: int) -> None:
        started.set()
        release.wait(5)

    with SaveThread(save, depth=1) as saver:
        saver.submit(0)  # being saved
        started.wait(5)
        saver.submit(1)  # waiting in the queue
        blocked = threading.Thread(target=saver.submit, args=(2,))
        blocked.start()
        blocked.join(0.3)
        assert blocked.is_alive()  # no room until the first save ends
        release.set()
        blocked.join(5)
        assert not blocked.is_alive()


def test_a_failed_save_is_raised_at_the_next_submit_and_stops_the_saves() -> None:
    saved: list[int] = []
    failed = threading.Event()

    def save(item: int) -> None:
        if item == 1:
            failed.set()
            raise RuntimeError("disk full")
        saved.append(item)

    def poll() -> None:
        with SaveThread(save) as saver:
            saver.submit(0)
            saver.submit(1)
            failed.wait(5)
            for i in range(2, 50):
                saver.submit(i)

    with pytest.raises(RuntimeError, match="disk full"):
        poll()
    assert saved == [0]


def test_a_failed_last_save_is_raised_at_close() -> None:
    def save(item: int) -> None:
        raise OSError("database is locked")

    with pytest.raises(OSError, match="locked"), SaveThread(save) as saver:
        saver.submit(0)


def test_an_error_in_the_poll_drops_what_still_waits() -> None:
    saved: list[int] = []
    started, release = threading.Event(), threading.Event()

    def save(item: int) -> None:
        started.set()
        release.wait(5)
        saved.append(item)

    # The first save ends only after the poll has failed.
    timer = threading.Timer(0.3, release.set)

    def poll() -> None:
        with SaveThread(save, depth=5) as saver:
            for i in range(4):
                saver.submit(i)
            # Only once the first save is under way: on a busy machine the save thread may not
            # have taken it yet, and then it too is still waiting.
            assert started.wait(5)
            timer.start()
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        poll()
    # The save under way finishes; what was still queued is not saved.
    assert saved == [0]
