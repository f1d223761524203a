"""What the tests of served and deployed flows share: a client of a given Prefect API, waiting for
flow runs to end, and finding the processes a test started (by a token in their environment)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
TOKEN_VAR = "TEST_PROCESS_TOKEN"  # marks the processes one test started


def new_token() -> str:
    return uuid.uuid4().hex


@contextmanager
def api_client(url: str) -> Iterator[Any]:
    """A synchronous Prefect client of the API at ``url``."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: url}), get_client(sync_client=True) as c:
        yield c


def wait_for(what: str, probe: Callable[[], T | None], timeout: float, every: float = 0.5) -> T:
    """Call ``probe`` until it returns something other than None; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def wait_final(client: Any, run_id: Any, timeout: float = 240.0) -> Any:
    """The flow run once its state is final."""

    def final() -> Any:
        run = client.read_flow_run(run_id)
        return run if run.state is not None and run.state.is_final() else None

    return wait_for(f"flow run {run_id} to end", final, timeout, every=1.0)


def wait_state(client: Any, run_id: Any, state_type: str, timeout: float = 240.0) -> Any:
    """The flow run once it has reached ``state_type`` (or a final state)."""

    def reached() -> Any:
        run = client.read_flow_run(run_id)
        if run.state is not None and (run.state.type.value == state_type or run.state.is_final()):
            return run
        return None

    return wait_for(f"flow run {run_id} to be {state_type}", reached, timeout, every=0.3)


def processes_with(token: str) -> list[int]:
    """Processes whose environment carries the test's token (they inherit it from the one the
    test started), zombies excluded."""
    found = []
    needle = f"{TOKEN_VAR}={token}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            status = (entry / "status").read_text()
        except OSError:
            continue
        if "\nState:\tZ" not in status:
            found.append(int(entry.name))
    return found


def kill_all(token: str) -> None:
    """SIGKILL whatever a failed test left behind."""
    for pid in processes_with(token):
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def avoid_poll_marks(margin: dt.timedelta) -> None:
    """Wait until the next half hour (when the served poll schedule starts a run of its own) is
    more than ``margin`` away, so that run cannot land in the middle of a test."""
    from flows.schedules import next_poll_times

    now = dt.datetime.now(dt.UTC)
    mark = next_poll_times(now, 1)[0]
    if mark - now < margin:
        time.sleep((mark - now).total_seconds() + 20)
