"""``jirga serve`` for real: a subprocess that starts its own Prefect server on 127.0.0.1, serves
the deployments, runs what is triggered (overlapping polls, a failing digest), keeps serving, and
stops cleanly on SIGTERM or SIGINT, leaving no process behind. Also ``jirga status`` against it,
and ``prefect.yaml`` against the served deployments."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from click.testing import CliRunner

from flows.cli import cli
from flows.prefect_server import (
    LocalPrefectServer,
    PrefectServerError,
    ServeState,
    clear_state,
    read_state,
    write_state,
)
from flows.schedules import DEPLOYMENTS, DIGEST, POLL, POLL_ANCHOR, POLL_EVERY
from flows.serve import build_deployments, export_settings
from jirga.settings import Settings
from storage.facade import Storage
from storage.models import ArticleRow
from tests.flows.conftest import FeedServer, Route
from tests.flows.feeds import dawn_items, feeds_toml, rss
from tests.flows.prefect_runs import (
    TOKEN_VAR,
    api_client,
    avoid_poll_marks,
    kill_all,
    new_token,
    processes_with,
    wait_final,
    wait_for,
    wait_state,
)
from tests.mailserver import free_port

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime.now(dt.UTC)
ITEMS = dawn_items(NOW, second_age=dt.timedelta(hours=1))


# --- prefect.yaml and the served deployments ---------------------------------------------------


def test_prefect_yaml_holds_the_served_deployments() -> None:
    config = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    assert config["pull"] == []  # module entrypoints: a worker runs the jirga installed beside it
    by_name = {d["name"]: d for d in config["deployments"]}
    assert set(by_name) == {spec.name for spec in DEPLOYMENTS}
    # prefect.yaml is written for the defaults, whatever this environment sets.
    defaults = Settings(
        timezone=Settings.model_fields["timezone"].default,
        digest_time=Settings.model_fields["digest_time"].default,
    )
    served = {d.name: d for d in build_deployments(defaults)}
    for spec in DEPLOYMENTS:
        written, built = by_name[spec.name], served[spec.name]
        assert written["entrypoint"] == spec.entrypoint == built.entrypoint
        assert " ".join(written["description"].split()) == spec.description == built.description
        assert written["tags"] == built.tags == ["jirga"]
        limit = written["concurrency_limit"]
        assert built.concurrency_options is not None
        assert limit["limit"] == built.concurrency_limit == 1
        assert limit["collision_strategy"] == built.concurrency_options.collision_strategy.value
        assert limit["collision_strategy"] == ("CANCEL_NEW" if spec.cancel_overlap else "ENQUEUE")
        assert written["work_pool"]["name"] == "jirga"
        [schedule] = written["schedules"]
        [built_schedule] = built.schedules or []
        if spec is POLL:
            assert schedule["interval"] == POLL_EVERY.total_seconds()
            assert dt.datetime.fromisoformat(schedule["anchor_date"]) == POLL_ANCHOR
            assert built_schedule.schedule.interval == POLL_EVERY
            assert built_schedule.schedule.anchor_date == POLL_ANCHOR
        else:
            assert schedule == {"cron": "0 7 * * *", "timezone": defaults.timezone}
            assert built_schedule.schedule.cron == "0 7 * * *"
            assert built_schedule.schedule.timezone == defaults.timezone == "Asia/Karachi"


def test_the_digest_is_scheduled_at_the_configured_local_time() -> None:
    settings = Settings(digest_time=dt.time(6, 45), timezone="America/New_York")
    digest = next(d for d in build_deployments(settings) if d.name == DIGEST.name)
    [schedule] = digest.schedules or []
    assert schedule.schedule.cron == "45 6 * * *"
    assert schedule.schedule.timezone == "America/New_York"
    assert schedule.active and not digest.paused


# --- pieces ------------------------------------------------------------------------------------


def test_state_file_names_a_live_serve_only(tmp_path: Path) -> None:
    assert read_state(tmp_path) is None
    write_state(tmp_path, ServeState("http://127.0.0.1:1/api", os.getpid(), None))
    assert read_state(tmp_path) == ServeState("http://127.0.0.1:1/api", os.getpid(), None)
    clear_state(tmp_path, os.getpid() + 1)  # not ours: kept
    assert read_state(tmp_path) is not None
    clear_state(tmp_path, os.getpid())
    assert read_state(tmp_path) is None
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    write_state(tmp_path, ServeState("http://127.0.0.1:1/api", dead.pid, None))
    assert read_state(tmp_path) is None  # its process is gone
    (tmp_path / "serve.json").write_text("{not json", encoding="utf-8")
    assert read_state(tmp_path) is None


def test_settings_reach_the_runs_with_absolute_paths_and_no_secret_from_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in list(os.environ):
        if key.startswith("JIRGA_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    env_file = tmp_path / "jirga.env"
    env_file.write_text(
        "JIRGA_DATA_DIR=here\nJIRGA_FETCH_CONCURRENCY=3\nJIRGA_SMTP_PASSWORD=from-a-file\n"
        "OTHER=1\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("JIRGA_FETCH_PER_HOST", "5")
    settings = Settings(_env_file=env_file)  # type: ignore[call-arg]
    export_settings(settings, env_file)
    assert os.environ["JIRGA_DATA_DIR"] == str(tmp_path / "here")
    assert os.environ["JIRGA_CONFIG_DIR"] == str(settings.config_dir.resolve())
    assert os.environ["JIRGA_FETCH_CONCURRENCY"] == "3"
    assert os.environ["JIRGA_FETCH_PER_HOST"] == "5"
    assert "JIRGA_SMTP_PASSWORD" not in os.environ
    assert "OTHER" not in os.environ
    for key in ("JIRGA_DATA_DIR", "JIRGA_CONFIG_DIR", "JIRGA_FETCH_CONCURRENCY"):
        monkeypatch.delenv(key)


def test_a_server_that_cannot_start_is_a_clean_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = LocalPrefectServer(tmp_path / "prefect", port=taken.getsockname()[1])
        with pytest.raises(PrefectServerError, match="exited with status 1 while starting"):
            server.start()
    assert server.exit_status() is None  # stopped and forgotten
    assert "already in use" in server.log_path.read_text()


# --- the real thing ----------------------------------------------------------------------------


def _serve_env(home: Path, token: str, **more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "JIRGA_"))}
    env.update(
        {
            TOKEN_VAR: token,
            "JIRGA_DATA_DIR": str(home / "data"),
            "JIRGA_CONFIG_DIR": str(home / "config"),
            "JIRGA_ALLOW_PRIVATE_NETWORKS": "true",
            "JIRGA_PARSE_WORKERS": "1",
            "PREFECT_SERVER_UI_ENABLED": "false",
            "PREFECT_RUNNER_POLL_FREQUENCY": "1",  # pick triggered runs up at once
            **more,
        }
    )
    return env


@pytest.fixture
def served(jirga_home: Path, feed_server: FeedServer, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A running ``jirga serve`` with one feed and an SMTP server that is down."""
    feed_server.routes["/en.xml"] = Route(body=rss(ITEMS), headers={"ETag": '"en-1"'})
    (jirga_home / "config" / "feeds.toml").write_text(
        feeds_toml([("en", feed_server.url("/en.xml"), "en")])
    )
    token = new_token()
    # A digest that fails: recipients, and nothing listening where the SMTP server should be.
    env = _serve_env(
        jirga_home,
        token,
        JIRGA_SMTP_HOST="127.0.0.1",
        JIRGA_SMTP_PORT=str(free_port()),
        JIRGA_SMTP_TLS="none",
        JIRGA_DIGEST_RECIPIENTS="ana@example.org",
    )
    log = (tmp_path / "serve.log").open("w+b")
    proc = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "serve"],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    prefect_home = jirga_home / "data" / "prefect"
    try:
        state = wait_for("the local Prefect server", lambda: read_state(prefect_home), 240)
        yield {
            "proc": proc,
            "state": state,
            "token": token,
            "home": jirga_home,
            "log": tmp_path / "serve.log",
            "feed_server": feed_server,
        }
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        kill_all(token)
        log.close()


def _deployments(client: Any) -> dict[str, Any]:
    from prefect.exceptions import ObjectNotFound

    found = {}
    for spec in DEPLOYMENTS:
        try:
            found[spec.name] = client.read_deployment_by_name(spec.full_name)
        except ObjectNotFound:
            return {}
    return found


def _scheduled(client: Any, deployment_id: Any) -> list[Any]:
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    return list(
        client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))
            ),
        )
    )


def _article_keys(home: Path) -> list[str]:
    url = f"sqlite:///{(home / 'data' / 'jirga.db').as_posix()}"
    with Storage(url) as store, store.engine.connect() as conn:
        return sorted(conn.execute(sa.select(ArticleRow.entry_key)).scalars())


def _slow(body: bytes, pieces: int) -> Route:
    """The feed trickled out over ``pieces`` seconds, so a poll of it is still running when
    the next one is asked for."""
    size = -(-len(body) // pieces)
    return Route(
        body=lambda: (body[i : i + size] for i in range(0, len(body), size)), chunk_delay=1.0
    )


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_serve_runs_what_is_due_survives_a_failure_and_stops_on_sigterm(
    served: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    avoid_poll_marks(dt.timedelta(minutes=4))
    proc, state, home = served["proc"], served["state"], served["home"]
    feed_server: FeedServer = served["feed_server"]
    with api_client(state.api_url) as client:
        deployments = wait_for("the deployments", lambda: _deployments(client) or None, 120)
        poll, digest = deployments[POLL.name], deployments[DIGEST.name]
        # Registered with their schedules and limits, and scheduled by the server.
        assert not poll.paused and not digest.paused
        assert [s.schedule.interval for s in poll.schedules] == [POLL_EVERY]
        assert [(s.schedule.cron, s.schedule.timezone) for s in digest.schedules] == [
            ("0 7 * * *", "Asia/Karachi")
        ]
        assert poll.global_concurrency_limit.limit == digest.global_concurrency_limit.limit == 1
        assert poll.concurrency_options.collision_strategy.value == "CANCEL_NEW"
        assert digest.concurrency_options.collision_strategy.value == "ENQUEUE"
        wait_for("scheduled polls", lambda: _scheduled(client, poll.id) or None, 120)
        wait_for("a scheduled digest", lambda: _scheduled(client, digest.id) or None, 120)

        # Two polls at once: the second is cancelled, the first stores the articles.
        feed_server.routes["/en.xml"] = _slow(rss(ITEMS), 20)
        first = client.create_flow_run_from_deployment(poll.id)
        wait_state(client, first.id, "RUNNING")
        second = client.create_flow_run_from_deployment(poll.id)
        second = wait_final(client, second.id)
        first = wait_final(client, first.id)
        assert first.state.type.value == "COMPLETED", first.state.message
        assert second.state.type.value == "CANCELLED", second.state.message
        assert _article_keys(home) == ["dawn-1", "dawn-3"]

        # A failing digest fails its run, and serving goes on.
        failed = wait_final(client, client.create_flow_run_from_deployment(digest.id).id)
        assert failed.state.type.value == "FAILED"
        assert "cannot reach SMTP server" in (failed.state.message or "")
        feed_server.routes["/en.xml"] = Route(body=rss(ITEMS), headers={"ETag": '"en-1"'})
        after = wait_final(client, client.create_flow_run_from_deployment(poll.id).id)
        assert after.state.type.value == "COMPLETED", after.state.message
        assert proc.poll() is None
        again = _deployments(client)
        assert not again[POLL.name].paused and all(s.active for s in again[POLL.name].schedules)
        assert _scheduled(client, poll.id) and _scheduled(client, digest.id)

    # `jirga status` finds the serve's API and reports the runs, the schedule and the feed.
    for key in list(os.environ):
        if key.startswith("JIRGA_"):
            monkeypatch.delenv(key)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    env = {"JIRGA_DATA_DIR": str(home / "data"), "JIRGA_CONFIG_DIR": str(home / "config")}
    result = CliRunner().invoke(cli, ["status", "--format", "json"], env=env)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["api"]["reachable"] and report["api"]["source"].startswith("jirga serve")
    polls = [r for r in report["runs"] if r["flow"] == "poll_feeds"]
    assert [r["state"] for r in polls[:3]] == ["Completed", "Cancelled", "Completed"]
    assert all(r["deployment"] == "poll_feeds/poll" for r in polls)
    [digest_run] = [r for r in report["runs"] if r["flow"] == "send_daily_digest"]
    assert digest_run["state"] == "Failed" and "cannot reach SMTP server" in digest_run["message"]
    assert any(
        r["flow"] == "update_narratives" and r["state"] == "Completed" for r in report["runs"]
    )
    assert [n["source"] for n in report["next"]] == ["prefect", "prefect"]
    next_poll = dt.datetime.fromisoformat(report["next"][0]["next_run"])
    assert next_poll.minute in (0, 30) and next_poll > dt.datetime.now(dt.UTC)
    assert [(f["feed"], f["state"], f["articles"]) for f in report["feeds"]] == [("en", "ok", 2)]

    # SIGTERM: the runner stops, the local server is stopped, exit status 0, nothing left.
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(120) == 0, served["log"].read_text()
    output = served["log"].read_text()
    assert "jirga serve stopped" in output and "Traceback" not in output.split("SIGTERM")[-1]
    assert read_state(home / "data" / "prefect") is None
    assert processes_with(served["token"]) == []

    # Without a Prefect API, status says so in one line and computes the next runs.
    result = CliRunner().invoke(cli, ["status"], env=env)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("Prefect API: none (PREFECT_API_URL is not set")
    assert "settings" in result.output and "Feeds: 1 feed: 1 ok" in result.output


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_second_serve_is_refused_and_sigint_stops_the_first(served: dict[str, Any]) -> None:
    proc, state, home = served["proc"], served["state"], served["home"]
    with api_client(state.api_url) as client:
        wait_for("the deployments", lambda: _deployments(client) or None, 120)
    second = subprocess.run(
        [sys.executable, "-m", "flows.cli", "serve"],
        env=_serve_env(home, served["token"]),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert second.returncode == 1
    assert (
        second.stderr.strip()
        .splitlines()[-1]
        .startswith("error: jirga serve is already running for")
    )
    assert "Traceback" not in second.stderr
    proc.send_signal(signal.SIGINT)
    assert proc.wait(120) == 0, served["log"].read_text()
    assert processes_with(served["token"]) == []
    assert read_state(home / "data" / "prefect") is None


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_dead_server_stops_serving_with_a_clean_error(served: dict[str, Any]) -> None:
    proc, state = served["proc"], served["state"]
    with api_client(state.api_url) as client:
        wait_for("the deployments", lambda: _deployments(client) or None, 120)
    os.kill(state.server_pid, signal.SIGKILL)
    assert proc.wait(180) == 1
    output = served["log"].read_text()
    assert (
        output.strip()
        .splitlines()[-1]
        .startswith("error: the local Prefect server stopped on its own")
    ), output[-3000:]
    assert processes_with(served["token"]) == []


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_killed_serve_takes_its_server_with_it(served: dict[str, Any]) -> None:
    proc, state = served["proc"], served["state"]
    proc.kill()  # no cleanup at all: the server is told by the kernel that its parent died
    proc.wait()

    def server_gone() -> bool | None:
        try:
            status = Path(f"/proc/{state.server_pid}/status").read_text()
        except FileNotFoundError:
            return True
        return True if "\nState:\tZ" in status else None  # a zombie has stopped

    wait_for("the server to stop", server_gone, 60)
    wait_for("every process to end", lambda: processes_with(served["token"]) == [] or None, 60)
