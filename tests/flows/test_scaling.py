"""Scaling out for real, on this machine: a Prefect server whose database is PostgreSQL, a process
work pool with a worker, the deployments of ``prefect.yaml``, jirga's data in PostgreSQL. A poll
deployment is triggered, a worker runs it, the articles land in the database.

Slow (a server, a worker and a flow run in processes of their own); select it with
``-m "slow and postgres"``. Every process is stopped and the server's database dropped after.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from flows.prefect_server import LocalPrefectServer
from flows.schedules import DEPLOYMENTS, POLL
from storage.facade import Storage
from storage.models import ArticleRow, MentionRow
from tests.conftest import POSTGRES_URL
from tests.flows.conftest import FeedServer, Route
from tests.flows.feeds import Item, feeds_toml, rss
from tests.flows.prefect_runs import (
    TOKEN_VAR,
    api_client,
    avoid_poll_marks,
    kill_all,
    new_token,
    processes_with,
    wait_final,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime.now(dt.UTC)
ITEMS = [
    Item(
        "TTP claims attack on checkpoint in Khyber",
        "Tehrik-i-Taliban Pakistan said its fighters attacked a checkpoint; officials denied it.",
        "https://tribune.example/1",
        guid="t-1",
        published=NOW - dt.timedelta(hours=3),
    ),
    Item(
        "Kabul says the Taliban will host a regional meeting",
        "The Taliban administration in Kabul will host envoys from neighbouring states.",
        "https://tolo.example/2",
        guid="t-2",
        published=NOW - dt.timedelta(hours=1),
    ),
    Item("Weather: rain expected", "Light rain is expected in the north.", "https://x.example/3"),
]


@pytest.fixture
def prefect_database() -> Iterator[str]:
    """A PostgreSQL database of its own for the Prefect server, dropped after."""
    name = f"prefect_it_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(POSTGRES_URL).set(drivername="postgresql+asyncpg", database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _run(args: list[str], env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "prefect", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"prefect {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def test_a_worker_of_a_process_pool_runs_the_poll_into_postgresql(
    prefect_database: str,
    postgres_url: str,
    jirga_home: Path,
    feed_server: FeedServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The poll deployment is scheduled every half hour: keep its own run out of the test.
    avoid_poll_marks(dt.timedelta(minutes=4))
    token = new_token()
    feed_server.routes["/feed.xml"] = Route(body=rss(ITEMS))
    (jirga_home / "config" / "feeds.toml").write_text(
        feeds_toml([("tribune", feed_server.url("/feed.xml"), "en")])
    )
    with Storage(postgres_url) as store:
        store.upgrade()  # a server database is migrated by `jirga db upgrade`, never implicitly

    base = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "JIRGA_"))}
    base[TOKEN_VAR] = token
    # The server host: PostgreSQL for Prefect's own database.
    for key in [k for k in os.environ if k.startswith("PREFECT_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv(TOKEN_VAR, token)
    monkeypatch.setenv("PREFECT_API_DATABASE_CONNECTION_URL", prefect_database)
    monkeypatch.setenv("PREFECT_SERVER_UI_ENABLED", "false")
    monkeypatch.setenv("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    server = LocalPrefectServer(tmp_path / "server-home")
    worker: subprocess.Popen[bytes] | None = None
    try:
        api = server.start()
        # The deploying machine: only the API URL; the deployments come from prefect.yaml.
        deployer = {**base, "PREFECT_API_URL": api, "PREFECT_HOME": str(tmp_path / "deployer")}
        project = tmp_path / "project"
        project.mkdir()
        shutil.copy(ROOT / "prefect.yaml", project / "prefect.yaml")
        _run(["work-pool", "create", "jirga", "--type", "process"], deployer, project)
        _run(["--no-prompt", "deploy", "--all"], deployer, project)

        # A worker host: the API URL, jirga's database and config, its own Prefect home.
        worker_env = {
            **base,
            "PREFECT_API_URL": api,
            "PREFECT_HOME": str(tmp_path / "worker-home"),
            "JIRGA_DATABASE_URL": postgres_url,
            "JIRGA_CONFIG_DIR": str(jirga_home / "config"),
            "JIRGA_DATA_DIR": str(tmp_path / "worker-data"),
            "JIRGA_ALLOW_PRIVATE_NETWORKS": "true",
            "JIRGA_PARSE_WORKERS": "1",
        }
        worker_log = (tmp_path / "worker.log").open("wb")
        worker = subprocess.Popen(
            [sys.executable, "-m", "prefect", "worker", "start", "--pool", "jirga"],
            env=worker_env,
            cwd=tmp_path,
            stdout=worker_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        with api_client(api) as client:
            deployed = {
                spec.name: client.read_deployment_by_name(spec.full_name) for spec in DEPLOYMENTS
            }
            assert {d.work_pool_name for d in deployed.values()} == {"jirga"}
            assert deployed["digest"].schedules[0].schedule.cron == "0 7 * * *"
            run = client.create_flow_run_from_deployment(deployed[POLL.name].id)
            run = wait_final(client, run.id, timeout=400)
            logs = (tmp_path / "worker.log").read_text(errors="replace")
            assert run.state.type.value == "COMPLETED", f"{run.state.message}\n{logs[-4000:]}"
            assert run.work_pool_name == "jirga"
            assert f"flow run '{run.name}'" in logs.lower() or str(run.id) in logs
        with Storage(postgres_url) as store, store.engine.connect() as conn:
            keys = sorted(conn.execute(sa.select(ArticleRow.entry_key)).scalars())
            terms = set(conn.execute(sa.select(MentionRow.term)).scalars())
        assert keys == ["t-1", "t-2"]
        assert terms == {"ttp", "taliban"}
    finally:
        if worker is not None:
            _stop(worker)
        server.stop()
        kill_all(token)
    assert processes_with(token) == []
