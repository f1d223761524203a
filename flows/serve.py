"""``jirga serve``: the poll and digest deployments served, on their schedules, from this process.

Recipe: the settings exported for the flow runs' own processes → the Prefect API
(``PREFECT_API_URL``, or a local server started here) → the deployments registered with their
schedules and concurrency limits → Prefect's runner starts each scheduled run in a child
process until SIGINT or SIGTERM → the runner stops (runs in progress are cancelled and marked
so; every flow is safe to rerun) → the local server is stopped last.

A failed run is only a failed run: the runner keeps serving, and the next scheduled run comes.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import httpx

from flows.prefect_server import (
    LocalPrefectServer,
    PrefectServerError,
    ServeState,
    api_problem,
    clear_state,
    read_state,
    write_state,
)
from flows.schedules import (
    DIGEST,
    POLL,
    POLL_ANCHOR,
    POLL_EVERY,
    DeploymentSpec,
    digest_cron,
    next_digest_times,
    next_poll_times,
)
from jirga.errors import JirgaError
from jirga.settings import SECRET_FIELDS, Settings, env_name

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment

RUN_LIMIT = 4  # flow runs at once in this process: a poll, a digest and a manual run or two
Say = Callable[[str], None]


class _Stop(KeyboardInterrupt):
    """SIGTERM before Prefect's runner took over: unwind to the cleanup. A KeyboardInterrupt,
    because asyncio tasks pass that on instead of keeping it as their own failure."""


def prefect_home(settings: Settings) -> Path:
    """Prefect's home under the data dir (as ``flows.prefect_env`` sets it)."""
    return (settings.data_dir / "prefect").resolve()


def export_settings(settings: Settings, env_file: Path | None) -> None:
    """Give the flow runs, which start in processes of their own, this process's settings.

    Paths are made absolute (a run may start in another folder); the values of ``--env-file``
    become environment variables unless the environment already sets them. Secrets are not
    taken from the file (they come from the environment only, which the runs inherit).
    """
    if env_file is not None:
        from dotenv import dotenv_values

        secret_names = {env_name(name) for name in SECRET_FIELDS}
        for key, value in dotenv_values(env_file).items():
            upper = key.upper()
            if upper.startswith("JIRGA_") and upper not in secret_names and value is not None:
                os.environ.setdefault(upper, value)
    os.environ[env_name("data_dir")] = str(settings.data_dir.resolve())
    os.environ[env_name("config_dir")] = str(settings.config_dir.resolve())


def describe_schedule(spec: DeploymentSpec, settings: Settings) -> str:
    """The schedule of a deployment in words."""
    if spec is POLL:
        return f"every {int(POLL_EVERY.total_seconds() // 60)} minutes"
    return f"daily at {settings.digest_time.strftime('%H:%M')} {settings.timezone}"


def next_times(
    spec: DeploymentSpec, settings: Settings, after: dt.datetime, n: int
) -> list[dt.datetime]:
    """The next run times of a deployment, computed from the settings."""
    if spec is POLL:
        return next_poll_times(after, n)
    return next_digest_times(after, settings.digest_time, settings.tz, n)


def build_deployments(settings: Settings) -> list[RunnerDeployment]:
    """The deployments of :data:`flows.schedules.DEPLOYMENTS` as Prefect builds them."""
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
    from prefect.deployments.runner import RunnerDeployment
    from prefect.schedules import Cron, Interval
    from prefect.types.entrypoint import EntrypointType

    from flows.digest import send_daily_digest
    from flows.poll import poll_feeds

    def limit(spec: DeploymentSpec) -> ConcurrencyLimitConfig:
        strategy = (
            ConcurrencyLimitStrategy.CANCEL_NEW
            if spec.cancel_overlap
            else ConcurrencyLimitStrategy.ENQUEUE
        )
        return ConcurrencyLimitConfig(limit=1, collision_strategy=strategy)

    common: dict[str, Any] = {"entrypoint_type": EntrypointType.MODULE_PATH, "tags": ["jirga"]}
    poll = poll_feeds.to_deployment(
        POLL.name,
        schedules=[Interval(POLL_EVERY, anchor_date=POLL_ANCHOR, timezone="UTC")],
        concurrency_limit=limit(POLL),
        description=POLL.description,
        paused=False,
        **common,
    )
    digest = send_daily_digest.to_deployment(
        DIGEST.name,
        schedules=[Cron(digest_cron(settings.digest_time), timezone=settings.timezone)],
        concurrency_limit=limit(DIGEST),
        description=DIGEST.description,
        paused=False,
        **common,
    )
    # Called outside an event loop, to_deployment returns the deployment, not a coroutine.
    assert isinstance(poll, RunnerDeployment)
    assert isinstance(digest, RunnerDeployment)
    return [poll, digest]


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop


def _ignore(signum: int, frame: FrameType | None) -> None:
    """While cleaning up, a second signal must not cut the server's shutdown short."""


def serve(
    settings: Settings,
    *,
    port: int = 0,
    limit: int = RUN_LIMIT,
    env_file: Path | None = None,
    say: Say = print,
) -> None:
    """Serve the deployments until SIGINT or SIGTERM; returns after a clean shutdown.

    Raises :class:`PrefectServerError` when the local server will not start or stops on its
    own, and :class:`JirgaError` when another ``jirga serve`` holds this data dir.
    """
    try:
        digest_cron(settings.digest_time)
    except ValueError as exc:
        raise JirgaError(f"{env_name('digest_time')}: {exc}") from None
    home = prefect_home(settings)
    running = read_state(home)
    if running is not None:
        raise JirgaError(
            f"jirga serve is already running for {settings.data_dir} "
            f"(pid {running.pid}, Prefect API {running.api_url})"
        )
    export_settings(settings, env_file)
    server: LocalPrefectServer | None = None
    died = threading.Event()
    stopping = threading.Event()
    # SIGTERM unwinds to the cleanup until Prefect's runner installs its own handler (which
    # stops the runner, so that serving returns); SIGINT stays Python's KeyboardInterrupt,
    # which asyncio and the runner understand.
    original_term = signal.signal(signal.SIGTERM, _raise_stop)
    try:
        api = os.environ.get("PREFECT_API_URL")
        if api:
            problem = api_problem(api)
            if problem is not None:
                raise PrefectServerError(f"the Prefect API at {api} does not answer: {problem}")
            say(f"serving against the Prefect API at {api}")
            write_state(home, ServeState(api, os.getpid(), None))
        else:
            server = LocalPrefectServer(home, port=port)
            say(
                f"starting a local Prefect server on 127.0.0.1:{server.port} "
                f"(log: {server.log_path})"
            )
            api = server.start()
            os.environ["PREFECT_API_URL"] = api
            write_state(home, ServeState(api, os.getpid(), server.pid))
            _watch(server, stopping, died)
            say(f"Prefect API: {api} (its UI: http://127.0.0.1:{server.port})")
        try:
            _run(settings, limit, say)
        except httpx.HTTPError as exc:
            # Prefect's client errors are httpx's: the API went away or refused a request.
            if not died.is_set():
                raise PrefectServerError(f"the Prefect API at {api} failed: {exc}") from exc
    except KeyboardInterrupt:  # SIGINT, or SIGTERM before the runner started (_Stop)
        pass
    except SystemExit as exc:
        # The runner's SIGTERM handler exits when the runner is stopping already (a second
        # signal, or the watchdog's after the server died): that is a stop like any other.
        if exc.code not in (0, None):
            raise
    finally:
        stopping.set()
        signal.signal(signal.SIGINT, _ignore)
        signal.signal(signal.SIGTERM, _ignore)
        try:
            clear_state(home, os.getpid())
            if server is not None:
                say("stopping the local Prefect server")
                server.stop()
        finally:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.signal(signal.SIGTERM, original_term)
    if died.is_set():
        raise PrefectServerError(
            "the local Prefect server stopped on its own; serving stopped too "
            f"(see {home / 'server.log'})"
        )
    say("jirga serve stopped")


def _watch(server: LocalPrefectServer, stopping: threading.Event, died: threading.Event) -> None:
    """If the local server dies while serving, stop serving (the runner cannot work without
    it) instead of retrying against nothing for ever."""

    def wait() -> None:
        server.wait()
        if not stopping.is_set():
            died.set()
            os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=wait, name="jirga-prefect-server-watch", daemon=True).start()


def _run(settings: Settings, limit: int, say: Say) -> None:
    from prefect import serve as prefect_serve

    deployments = build_deployments(settings)
    now = dt.datetime.now(dt.UTC)
    for spec in (POLL, DIGEST):
        first = next_times(spec, settings, now, 1)[0]
        say(
            f"deployment {spec.full_name}: {describe_schedule(spec, settings)}, "
            f"next at {first:%Y-%m-%d %H:%M} UTC"
        )
    say("serving; stop with Ctrl-C or SIGTERM")
    prefect_serve(*deployments, limit=limit, print_starting_message=False)
