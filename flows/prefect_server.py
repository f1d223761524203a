"""A local Prefect server in a child process: started on 127.0.0.1, waited for, stopped for sure.

``jirga serve`` starts one when ``PREFECT_API_URL`` is not set. The server gets a session of its
own, so a Ctrl-C in the terminal reaches jirga first and jirga stops the server last (after the
runs in progress have reported their end to it); on Linux it is also told to stop when jirga
dies without cleaning up. Its output goes to ``server.log`` in Prefect's home.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from jirga.errors import JirgaError

STARTUP_TIMEOUT = 180.0  # the first start migrates the server's database: slow on a small machine
STOP_TIMEOUT = 20.0
STATE_FILE = "serve.json"  # where a running `jirga serve` says which API it serves against
_PR_SET_PDEATHSIG = 1


class PrefectServerError(JirgaError):
    """The local Prefect server would not start, or stopped on its own."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the parent dies (Linux), so no server outlives a
    jirga that was killed."""
    if not sys.platform.startswith("linux"):
        return
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return
    libc = ctypes.CDLL(libc_name, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class LocalPrefectServer:
    """``prefect server start`` on 127.0.0.1, for the life of a ``with`` block."""

    def __init__(self, home: Path, *, port: int = 0, startup_timeout: float = STARTUP_TIMEOUT):
        self.home = home
        self.port = port or free_port()
        self.startup_timeout = startup_timeout
        self.log_path = home / "server.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def api_url(self) -> str:
        """The server's API URL, as ``PREFECT_API_URL`` takes it."""
        return f"http://127.0.0.1:{self.port}/api"

    @property
    def pid(self) -> int | None:
        """The server process's id while it runs."""
        return self._process.pid if self._process is not None else None

    def start(self) -> str:
        """Start the server and wait until its API answers; its URL. Whatever interrupts the
        wait (a signal included) stops the server before it goes on."""
        self.home.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
        env.update(PREFECT_HOME=str(self.home), PREFECT_SERVER_ANALYTICS_ENABLED="false")
        command = [sys.executable, "-m", "prefect", "server", "start"]
        command += ["--host", "127.0.0.1", "--port", str(self.port)]
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
                command,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,  # one prctl call, before exec
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self.api_url

    def _wait_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.startup_timeout
        # trust_env off: a proxy from the environment must not stand between us and loopback.
        with httpx.Client(timeout=2.0, trust_env=False) as client:
            while True:
                code = self._process.poll()
                if code is not None:
                    raise PrefectServerError(
                        f"the local Prefect server exited with status {code} while starting; "
                        f"see {self.log_path}{self._log_tail()}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(f"{self.api_url}/health").status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise PrefectServerError(
                        f"the local Prefect server did not answer within "
                        f"{self.startup_timeout:.0f} s; see {self.log_path}"
                    )
                time.sleep(0.5)

    def _log_tail(self) -> str:
        try:
            lines = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return ""
        last = [line.strip() for line in lines if line.strip()][-1:]
        return f" (last line: {last[0][:200]})" if last else ""

    def exit_status(self) -> int | None:
        """The server's exit status once it has stopped, None while it runs."""
        return self._process.poll() if self._process is not None else None

    def wait(self) -> int:
        """Block until the server process ends; its exit status."""
        assert self._process is not None
        return self._process.wait()

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM to the server's process group, then SIGKILL after ``timeout`` seconds."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            _signal_group(process.pid, signal.SIGKILL)
            process.wait()
        else:
            # Anything the server started in its group goes with it.
            _signal_group(process.pid, signal.SIGKILL)

    def __enter__(self) -> LocalPrefectServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def api_problem(url: str) -> str | None:
    """Why the Prefect API at ``url`` does not answer, in one line; None when it does. Asked
    once, without Prefect's retries: a check says quickly that the API is not there."""
    from prefect.client.orchestration import get_client
    from prefect.settings import (
        PREFECT_API_REQUEST_TIMEOUT,
        PREFECT_API_URL,
        PREFECT_CLIENT_MAX_RETRIES,
        temporary_settings,
    )

    updates: dict[Any, Any] = {
        PREFECT_API_URL: url,
        PREFECT_CLIENT_MAX_RETRIES: 0,
        PREFECT_API_REQUEST_TIMEOUT: 10.0,
    }
    with temporary_settings(updates=updates), get_client(sync_client=True) as client:
        problem = client.api_healthcheck()
    if problem is None:
        return None
    text = str(problem).strip() or type(problem).__name__
    return text.splitlines()[0][:200]


# --- the state file of a running `jirga serve` ------------------------------------------------


@dataclass(frozen=True)
class ServeState:
    """What a running ``jirga serve`` tells other commands: its API and its process."""

    api_url: str
    pid: int
    server_pid: int | None


def write_state(home: Path, state: ServeState) -> None:
    """Record the serving process (written beside, then renamed: never half a file)."""
    home.mkdir(parents=True, exist_ok=True)
    tmp = home / f".{STATE_FILE}.tmp"
    tmp.write_text(json.dumps(state.__dict__), encoding="utf-8")
    tmp.replace(home / STATE_FILE)


def clear_state(home: Path, pid: int) -> None:
    """Remove the record if it is this process's."""
    state = read_state(home)
    if state is not None and state.pid == pid:
        (home / STATE_FILE).unlink(missing_ok=True)


def read_state(home: Path) -> ServeState | None:
    """The record of a ``jirga serve`` whose process still runs on this host, else None."""
    try:
        raw = json.loads((home / STATE_FILE).read_text(encoding="utf-8"))
        state = ServeState(
            api_url=str(raw["api_url"]),
            pid=int(raw["pid"]),
            server_pid=int(raw["server_pid"]) if raw.get("server_pid") is not None else None,
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return state if _alive(state.pid) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
